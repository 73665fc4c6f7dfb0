// The head's files as a deploy ships them (FL-SPEC "Shipped with a deploy"): model/head-v<N>.bin
// (14 float32 LE) beside model/head-v<N>.json {"name","version","features":13,"round","dropBelow"}.
// The app loads the highest N present at start, from the installed package's model/ folder or from
// the heads it adopted after rounds (kept in its local data, the same two files).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { f32FromBytes, f32ToB64 } from './crypto';
import { builtinHead, FEATURES, HEAD_NAME, type Head } from './head';

// Extra fields (the desktop's build may add sha256, dtype, shape, aggregation) are allowed; a
// sha256, when present, must match the .bin.
const metaSchema = z
  .object({
    name: z.literal(HEAD_NAME),
    version: z.number().int().min(0),
    features: z.literal(FEATURES),
    round: z.union([z.number().int().min(0), z.string().max(64)]).optional(),
    dropBelow: z.number().min(0).max(1).optional(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  })
  .loose();

const FILE = /^head-v(\d{1,9})\.json$/;

function readDir(dir: string | undefined, source: Head['source'], warnings: string[]): Head[] {
  if (!dir || !fs.existsSync(dir)) return [];
  const out: Head[] = [];
  for (const name of fs.readdirSync(dir)) {
    const m = FILE.exec(name);
    if (!m) continue;
    const n = Number(m[1]);
    const where = path.join(dir, name);
    try {
      const meta = metaSchema.safeParse(JSON.parse(fs.readFileSync(where, 'utf8')));
      if (!meta.success) throw new Error(`not a ${HEAD_NAME} description: ${meta.error.issues[0]?.message ?? 'invalid'}`);
      if (meta.data.version !== n) throw new Error(`says version ${meta.data.version}`);
      const bin = fs.readFileSync(path.join(dir, `head-v${n}.bin`));
      if (meta.data.sha256 && createHash('sha256').update(bin).digest('hex') !== meta.data.sha256) throw new Error('the .bin does not match its sha256');
      const params = f32FromBytes(bin);
      if (!params) throw new Error(`head-v${n}.bin holds ${bin.length} bytes, not 14 finite float32`);
      out.push({ name: HEAD_NAME, version: n, params, dropBelow: meta.data.dropBelow ?? 0.05, source, ...(meta.data.round !== undefined ? { round: meta.data.round } : {}) });
    } catch (e) {
      warnings.push(`model ${where} skipped: ${(e as Error).message}`);
    }
  }
  return out;
}

/** The highest version among the package's and the adopted heads; the built-in head when there is none. */
export function loadHead(o: { packageDir?: string; adoptedDir?: string }): { head: Head; warnings: string[] } {
  const warnings: string[] = [];
  const all = [...readDir(o.packageDir, 'package', warnings), ...readDir(o.adoptedDir, 'round', warnings)];
  let head = builtinHead();
  for (const h of all) if (h.version > head.version) head = h;
  return { head, warnings };
}

/** Writes a head's two files (temporary name, then rename: a crash leaves the old files or the new ones). */
export function saveHead(dir: string, h: Head): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const bin = Buffer.from(f32ToB64(h.params), 'base64');
  const meta = { name: h.name, version: h.version, features: FEATURES, ...(h.round !== undefined ? { round: h.round } : {}), dropBelow: h.dropBelow, sha256: createHash('sha256').update(bin).digest('hex') };
  const put = (name: string, data: Buffer | string): void => {
    const tmp = path.join(dir, `.${name}.tmp`);
    fs.writeFileSync(tmp, data, { mode: 0o600 });
    fs.renameSync(tmp, path.join(dir, name));
  };
  put(`head-v${h.version}.bin`, bin);
  put(`head-v${h.version}.json`, `${JSON.stringify(meta)}\n`);
}
