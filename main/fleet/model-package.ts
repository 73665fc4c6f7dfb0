// Adds a federated model version to a build: the package is unpacked and written again by
// main/packaging's reproducible writer with model/head-v<N>.bin (the parameters, Float32
// little-endian) and model/head-v<N>.json (what they are) added. Same build + same model gives the
// same bytes, so the result is kept by content hash like any other build.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { buildEap, readEap, type BuiltEap, type EapExtraFile } from '../packaging';

/** One stored model version as the federated service keeps it. */
export interface ModelArtifact {
  version: number;
  round: number;
  aggregation: string;
  classes: number;
  features: number;
  /** Float32 little-endian, classes × (features + 1): each class's weights, then its bias. */
  parameters: Buffer;
  /** The fl1 head (omnisight.head.confirm.v1) travels with the JSON the camera app reads (docs/protocol.md). */
  name?: string;
}

const FL1_HEAD = 'omnisight.head.confirm.v1';
/** Detections the head scores below this are dropped by the camera app (fl1 model file). */
const FL1_DROP_BELOW = 0.05;

export interface ModelFileMeta {
  version: number;
  sha256: string;
  dtype: 'float32le';
  /** [classes, features + 1]: row-major, the last column is the bias. */
  shape: [number, number];
  round: number;
  aggregation: string;
}

export const modelFileNames = (version: number): { bin: string; json: string } => ({ bin: `model/head-v${version}.bin`, json: `model/head-v${version}.json` });

/** The two files a model version travels as; the .json names the .bin's sha256. */
export function modelFiles(m: ModelArtifact): { bin: Buffer; json: Buffer; meta: ModelFileMeta } {
  const expected = m.classes * (m.features + 1) * 4;
  if (m.parameters.length !== expected) throw new Error(`model v${m.version} has ${m.parameters.length} parameter bytes; its shape ${m.classes}×${m.features + 1} needs ${expected}`);
  const meta: ModelFileMeta = {
    version: m.version,
    sha256: createHash('sha256').update(m.parameters).digest('hex'),
    dtype: 'float32le',
    shape: [m.classes, m.features + 1],
    round: m.round,
    aggregation: m.aggregation,
  };
  // The fl1 head's .json is exactly what the camera apps parse (docs/protocol.md, fl1).
  const body = m.name === FL1_HEAD ? { name: FL1_HEAD, version: m.version, features: m.features, round: m.round, dropBelow: FL1_DROP_BELOW } : meta;
  return { bin: m.parameters, json: Buffer.from(JSON.stringify(body, null, 2) + '\n'), meta };
}

/** Every regular file of a package with its mode and mtime (seconds). */
async function unpack(eap: Buffer): Promise<{ name: string; mode: number; mtime: number; data: Buffer }[]> {
  const out: { name: string; mode: number; mtime: number; data: Buffer }[] = [];
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => {
        chunks.push(c as Buffer);
      });
      stream.on('end', () => {
        if ((h.type ?? 'file') === 'file') out.push({ name: h.name.replace(/^\.\//, ''), mode: h.mode ?? 0o644, mtime: h.mtime ? Math.floor(h.mtime.getTime() / 1000) : 0, data: Buffer.concat(chunks) });
        next();
      });
      stream.on('error', reject);
    });
    extract.on('finish', () => resolve());
    extract.on('error', reject);
  });
  // readEap ran first (bounded sizes), so this gunzip is of a package already accepted.
  Readable.from([gunzipSync(eap)]).pipe(extract);
  await done;
  return out;
}

/**
 * Writes `eap` again with the model's two files added. Throws with what to do when the build cannot
 * carry a model (no manifest.json, problems, or a model file already in it).
 */
export async function addModelToEap(eap: Buffer, model: ModelArtifact): Promise<BuiltEap & { model: ModelFileMeta }> {
  const info = await readEap(eap);
  if (!info.valid || !info.appName) throw new Error(`the build has problems (${info.problems.join('; ')}); fix it first`);
  if (!info.manifest) throw new Error('the build has no manifest.json (package.conf only); rebuild it with a manifest to add a model');
  const files = await unpack(eap);
  const names = modelFileNames(model.version);
  const { bin, json, meta } = modelFiles(model);
  // package.conf and param.conf are derived from the manifest again; the other files travel as they are.
  const fixed = new Set([info.appName, 'manifest.json', 'package.conf', 'param.conf', 'LICENSE']);
  const extra: EapExtraFile[] = files.filter((f) => !fixed.has(f.name)).map((f) => ({ name: f.name, data: f.data, mode: f.mode & 0o7777 }));
  if (extra.some((f) => f.name.startsWith('model/'))) throw new Error('the build already carries a model/ folder; add the model to the plain build instead');
  extra.push({ name: names.bin, data: bin, mode: 0o644 }, { name: names.json, data: json, mode: 0o644 });
  const exe = files.find((f) => f.name === info.appName)!;
  const license = files.find((f) => f.name === 'LICENSE')?.data ?? Buffer.alloc(0);
  const arch = info.architecture === 'armv7hf' ? 'armv7hf' : 'aarch64';
  // The original entries' time keeps the result reproducible and independent of when it was made.
  const built = await buildEap({ manifest: info.manifest, executable: exe.data, license, extraFiles: extra, sourceDateEpoch: exe.mtime, defaultArch: arch });
  return { ...built, model: meta };
}
