import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SimUser } from './types';

/** Server side of HTTP Digest (RFC 7616) with MD5 and qop="auth", as Axis firmware speaks it. */
export interface DigestServer {
  realm: string;
  challenge(stale: boolean): string;
  verify(method: string, url: string, header: string | undefined): { ok: true; user: SimUser } | { ok: false; stale: boolean; reason: string };
}

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

export function parseAuthParams(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let m = re.exec(header); m; m = re.exec(header)) out[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  return out;
}

function safeEqualHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

export function createDigestServer(opts: { realm: string; users: () => readonly SimUser[]; now: () => number; nonceTtlMs?: number }): DigestServer {
  const ttl = opts.nonceTtlMs ?? 5 * 60_000;
  const nonces = new Map<string, { issued: number; nc: number }>();

  const challenge = (stale: boolean): string => {
    const nonce = randomBytes(16).toString('hex');
    const t = opts.now();
    nonces.set(nonce, { issued: t, nc: 0 });
    if (nonces.size > 4096) {
      for (const [k, v] of nonces) if (t - v.issued > ttl || nonces.size > 4096) nonces.delete(k);
    }
    return `Digest realm="${opts.realm}", nonce="${nonce}", algorithm=MD5, qop="auth"${stale ? ', stale=true' : ''}`;
  };

  const verify: DigestServer['verify'] = (method, url, header) => {
    if (!header) return { ok: false, stale: false, reason: 'no credentials' };
    const sp = header.indexOf(' ');
    if (sp < 0 || header.slice(0, sp).toLowerCase() !== 'digest') return { ok: false, stale: false, reason: 'not digest' };
    const p = parseAuthParams(header.slice(sp + 1));
    const { username, realm, nonce, uri, response, qop, nc, cnonce } = p;
    if (!username || !nonce || !uri || !response || !nc || !cnonce) return { ok: false, stale: false, reason: 'incomplete digest' };
    if (realm !== opts.realm) return { ok: false, stale: false, reason: 'wrong realm' };
    if (qop !== 'auth') return { ok: false, stale: false, reason: 'qop must be auth' };
    if (p.algorithm && p.algorithm.toUpperCase() !== 'MD5') return { ok: false, stale: false, reason: 'algorithm must be MD5' };
    if (uri !== url) return { ok: false, stale: false, reason: 'uri does not match the request' };
    if (!/^[0-9a-fA-F]{8}$/.test(nc)) return { ok: false, stale: false, reason: 'bad nc' };
    const user = opts.users().find((u) => u.username === username);
    if (!user) return { ok: false, stale: false, reason: 'unknown user' };
    const ha1 = md5(`${username}:${opts.realm}:${user.password}`);
    const ha2 = md5(`${method}:${uri}`);
    const expected = md5(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`);
    if (!safeEqualHex(expected, response.toLowerCase())) return { ok: false, stale: false, reason: 'wrong password' };
    // The client knows the password: only the nonce's freshness remains.
    const entry = nonces.get(nonce);
    if (!entry || opts.now() - entry.issued > ttl) {
      nonces.delete(nonce);
      return { ok: false, stale: true, reason: 'nonce expired' };
    }
    const count = parseInt(nc, 16);
    if (count <= entry.nc) return { ok: false, stale: false, reason: 'nonce count replayed' };
    entry.nc = count;
    return { ok: true, user };
  };

  return { realm: opts.realm, challenge, verify };
}
