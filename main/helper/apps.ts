// VAPIX application management for deploys: a streamed multipart upload that counts the bytes it
// sends, control.cgi, list.cgi, config.cgi (AllowUnsigned) and the app's system log. Axis answers
// these with `OK` / `Error: <n>` text or small XML; an `Error: <n>` is a result, not an exception,
// so the caller can tell "the camera refused the package" from "the camera is unreachable".
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { authenticateHeaders, digestAuthorization, DigestSession, parseChallenge, readBody, VapixError, type Target } from './digest';

const where = (t: Target): string => `${t.host}:${t.port}`;

export interface AxisReply {
  ok: boolean;
  /** The Axis error number when ok is false and the camera gave one. */
  code: number | null;
  text: string;
}

/** `OK…` (prefix match: some firmware appends details) or `Error: <n>`. */
export function parseAxisReply(text: string): AxisReply {
  const t = text.trim();
  if (/^OK/i.test(t)) return { ok: true, code: null, text: t };
  const m = /^Error:\s*(\d+)/i.exec(t);
  return { ok: false, code: m ? Number(m[1]) : null, text: t.slice(0, 300) };
}

export interface AppRow {
  name: string;
  niceName: string;
  vendor: string;
  version: string;
  status: string;
}

/** list.cgi XML, read leniently: attributes in any order, extra attributes and children ignored. */
export function parseAppList(xml: string): AppRow[] {
  if (/<reply[^>]*result="error"/i.test(xml)) {
    const msg = /message="([^"]*)"/.exec(xml)?.[1] ?? 'unknown error';
    throw new VapixError('bad_reply', `list.cgi answered with an error: ${msg}`);
  }
  if (!/<reply[^>]*result="ok"/i.test(xml)) throw new VapixError('bad_reply', 'list.cgi did not answer with <reply result="ok">. Update the camera firmware or check the address.');
  const rows: AppRow[] = [];
  for (const m of xml.matchAll(/<application\b([^>]*)>/gi)) {
    const attrs: Record<string, string> = {};
    for (const a of m[1]!.matchAll(/([A-Za-z_:][\w:.-]*)\s*=\s*"([^"]*)"/g)) attrs[a[1]!] = a[2]!.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    if (!attrs.Name) continue;
    rows.push({ name: attrs.Name, niceName: attrs.NiceName ?? attrs.Name, vendor: attrs.Vendor ?? '', version: attrs.Version ?? '', status: attrs.Status ?? 'Unknown' });
  }
  return rows;
}

async function getText(session: DigestSession, p: string, method: 'GET' | 'POST', timeoutMs: number, what: string): Promise<string> {
  const res = await session.open({ method, path: p, timeoutMs, ...(method === 'POST' ? { body: '', contentType: 'application/x-www-form-urlencoded' } : {}) });
  if (res.statusCode === 403) {
    res.resume();
    throw new VapixError('forbidden', `User "${session.target.username}" on ${where(session.target)} is not an administrator; ${what} needs one. Enter an administrator account for this camera.`);
  }
  if (res.statusCode !== 200) {
    res.resume();
    throw new VapixError(res.statusCode === 404 ? 'not_axis' : 'http', `${where(session.target)} answered ${what} with HTTP ${res.statusCode}. Check that this is an Axis camera with application support.`);
  }
  return (await readBody(res, 512 * 1024, session.target, timeoutMs)).toString('utf8');
}

export class AppClient {
  private readonly session: DigestSession;

  constructor(
    readonly target: Target,
    private readonly timeoutMs = 10_000,
  ) {
    this.session = new DigestSession(target);
  }

  async list(): Promise<AppRow[]> {
    return parseAppList(await getText(this.session, '/axis-cgi/applications/list.cgi', 'POST', this.timeoutMs, 'list.cgi'));
  }

  async control(action: 'start' | 'stop' | 'restart' | 'remove', pkg: string): Promise<AxisReply> {
    const p = `/axis-cgi/applications/control.cgi?action=${action}&package=${encodeURIComponent(pkg)}`;
    return parseAxisReply(await getText(this.session, p, 'GET', this.timeoutMs, 'control.cgi'));
  }

  /** AllowUnsigned: read it, or set it and read it back. null = the firmware has no such setting. */
  async allowUnsigned(set?: boolean): Promise<boolean | null> {
    // Firmware before AXIS OS 11.2 has no config.cgi (404): it installs unsigned apps, there is no toggle.
    const config = async (query: string): Promise<string | null> => {
      try {
        return await getText(this.session, `/axis-cgi/applications/config.cgi?${query}`, 'GET', this.timeoutMs, 'config.cgi');
      } catch (e) {
        if (e instanceof VapixError && e.kind === 'not_axis') return null;
        throw e;
      }
    };
    if (set !== undefined) {
      const r = await config(`action=set&name=AllowUnsigned&value=${set}`);
      if (r === null) return null;
      if (/result="error"/.test(r)) throw new VapixError('bad_reply', `${where(this.target)} refused to change AllowUnsigned: ${/message="([^"]*)"/.exec(r)?.[1] ?? r.slice(0, 200)}`);
    }
    const r = await config('action=get&name=AllowUnsigned');
    const v = r === null ? undefined : /name="AllowUnsigned"\s+value="(true|false)"/i.exec(r)?.[1];
    return v === undefined ? null : v.toLowerCase() === 'true';
  }

  async log(app: string): Promise<string> {
    const text = await getText(this.session, `/axis-cgi/admin/systemlog.cgi?appname=${encodeURIComponent(app)}`, 'GET', this.timeoutMs, 'systemlog.cgi');
    return text.slice(-8000);
  }
}

export interface UploadOptions {
  onProgress?: (sent: number, total: number) => void;
  signal?: AbortSignal;
  /** No byte moving for this long aborts the upload. */
  idleTimeoutMs?: number;
  /** Multipart field name: `file` (documented) or `packfil` (Axis's own client). */
  field?: string;
}

// A deploy sends one package to many cameras: read it from disk once, not once per camera. Two
// entries (the new build and a rollback's previous one), each bounded; bigger files stream from disk.
const CACHE_MAX_BYTES = 64 * 1024 * 1024;
const SLICE = 256 * 1024;
const fileCache = new Map<string, { key: string; data: Buffer }>();
async function cachedFile(file: string, st: fs.Stats): Promise<Buffer | undefined> {
  // Timestamps tick coarsely: a file changed within the last seconds could keep size and mtime, so only settled files are cached.
  if (st.size > CACHE_MAX_BYTES || Date.now() - st.mtimeMs < 2000) return undefined;
  const key = `${st.size}:${st.mtimeMs}:${st.ino}`;
  const hit = fileCache.get(file);
  if (hit?.key === key) {
    fileCache.delete(file);
    fileCache.set(file, hit);
    return hit.data;
  }
  const data = await fs.promises.readFile(file);
  if (data.length !== st.size) return undefined; // changed while read: stream it instead
  fileCache.delete(file);
  fileCache.set(file, { key, data });
  while (fileCache.size > 2) fileCache.delete(fileCache.keys().next().value!);
  return data;
}

/**
 * Streams the file as multipart/form-data to upload.cgi. The Digest challenge is fetched with an
 * empty request first, so the package is sent once, authorised. Progress counts bytes the socket
 * has accepted (backpressure-paced), not bytes read from disk.
 */
export async function uploadApp(t: Target, file: string, o: UploadOptions = {}): Promise<AxisReply & { sent: number; total: number }> {
  const idle = o.idleTimeoutMs ?? 20_000;
  const p = '/axis-cgi/applications/upload.cgi';
  const st = await fs.promises.stat(file);
  const size = st.size;
  const boundary = `----omnisight${crypto.randomBytes(12).toString('hex')}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${o.field ?? 'file'}"; filename="${path.basename(file).replace(/"/g, '')}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const total = head.length + size + tail.length;

  const request = (auth: string | undefined, body: boolean): Promise<{ status: number; text: string; challenge?: string[]; sent: number }> =>
    new Promise((resolve, reject) => {
      let sent = 0;
      let lastReport = 0;
      let settled = false;
      const done = (err: Error | undefined, v?: { status: number; text: string; challenge?: string[]; sent: number }): void => {
        if (settled) return;
        settled = true;
        o.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(v!);
      };
      const headers: http.OutgoingHttpHeaders = { 'User-Agent': 'OmniSight-helper/1', 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': body ? total : 0 };
      if (auth) headers.Authorization = auth;
      const req = http.request({ host: t.host, port: t.port, method: 'POST', path: p, headers, agent: false }, (res) => {
        readBody(res, 16 * 1024, t, idle).then(
          (b) => done(undefined, { status: res.statusCode ?? 0, text: b.toString('utf8'), challenge: authenticateHeaders(res), sent }),
          (e: Error) => done(e),
        );
      });
      const onAbort = (): void => {
        req.destroy();
        done(new VapixError('timeout', `The upload to ${where(t)} was cancelled after ${sent} of ${total} bytes.`));
      };
      if (o.signal?.aborted) return onAbort();
      o.signal?.addEventListener('abort', onAbort);
      req.setTimeout(idle, () => req.destroy(Object.assign(new Error('idle'), { code: 'ETIMEDOUT' })));
      req.on('error', (err: NodeJS.ErrnoException) => {
        const msg =
          err.code === 'ECONNREFUSED'
            ? `Nothing answers at ${where(t)} (connection refused); the camera may be restarting.`
            : err.code === 'ETIMEDOUT'
              ? `${where(t)} stopped taking the upload for ${Math.round(idle / 1000)} s.`
              : `${where(t)} dropped the connection after ${sent} of ${total} bytes (${err.code ?? err.message}).`;
        done(new VapixError(err.code === 'ETIMEDOUT' ? 'timeout' : err.code === 'ECONNREFUSED' ? 'refused' : 'unreachable', msg));
      });
      if (!body) return void req.end();
      const write = (chunk: Buffer): Promise<void> =>
        new Promise((res2) => {
          const more = req.write(chunk, () => {
            sent += chunk.length;
            const n = Date.now();
            if (n - lastReport >= 100 || sent === total) {
              lastReport = n;
              o.onProgress?.(sent, total);
            }
          });
          if (more) res2();
          else req.once('drain', () => res2());
        });
      void (async () => {
        try {
          await write(head);
          const data = await cachedFile(file, st);
          if (data) {
            // Slices of the cached bytes (no copies), paced by the socket like the disk stream.
            for (let off = 0; off < data.length; off += SLICE) {
              if (settled) return;
              await write(data.subarray(off, off + SLICE));
            }
          } else {
            const rs = fs.createReadStream(file, { highWaterMark: SLICE });
            for await (const c of rs) {
              if (settled) {
                rs.destroy();
                return;
              }
              await write(c as Buffer);
            }
          }
          await write(tail);
          req.end();
        } catch (e) {
          req.destroy(e as Error);
        }
      })();
    });

  // Round 1: no body, to learn the nonce. Round 2: the package, authorised.
  const first = await request(undefined, false);
  let auth: string | undefined;
  if (first.status === 401) {
    const c = parseChallenge(first.challenge);
    if (!c) throw new VapixError('not_axis', `${where(t)} asks for a login the way Axis cameras do not. Check that this is an Axis camera.`);
    auth = digestAuthorization(c, t, 'POST', p, 1, crypto.randomBytes(8).toString('hex'));
  }
  const r = await request(auth, true);
  if (r.status === 401) throw new VapixError('unauthorized', `The camera at ${where(t)} refused user "${t.username}" and its password. Check both and try again.`);
  if (r.status === 403) throw new VapixError('forbidden', `User "${t.username}" on ${where(t)} is not an administrator; uploading apps needs one.`);
  if (r.status !== 200) throw new VapixError('http', `${where(t)} answered upload.cgi with HTTP ${r.status}.`);
  return { ...parseAxisReply(r.text), sent: r.sent, total };
}
