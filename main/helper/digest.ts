// Client side of HTTP Digest authentication (RFC 7616 subset: SHA-256 preferred, MD5, qop=auth) over node:http, so
// that response sizes, timeouts and streaming bodies stay under our control.
import crypto from 'node:crypto';
import http from 'node:http';

export interface Target {
  host: string;
  port: number;
  username: string;
  password: string;
}

export type VapixErrorKind =
  | 'refused'
  | 'unreachable'
  | 'timeout'
  | 'unauthorized'
  | 'forbidden'
  | 'not_axis'
  | 'bad_reply'
  | 'too_large'
  | 'http'
  | 'unsupported';

/** A failure talking to a camera, with a message meant for the person who typed the address. */
export class VapixError extends Error {
  constructor(
    readonly kind: VapixErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'VapixError';
  }
}

export interface Challenge {
  realm: string;
  nonce: string;
  opaque?: string;
  qop?: string;
  algorithm?: string;
  stale?: boolean;
}

/**
 * Every challenge in one or more `WWW-Authenticate` values. Node joins repeated headers with ", ",
 * so a value may hold several challenges (`Basic realm="x", Digest realm="y", nonce="z"`); pass
 * `res.rawHeaders` values where available. One left-to-right scan: a hostile 15 kB header costs
 * linear time (the regex it replaces backtracked quadratically on `Digest aaaa…`).
 */
export function parseChallenges(headers: string | readonly string[] | undefined): { scheme: string; params: Record<string, string> }[] {
  const out: { scheme: string; params: Record<string, string> }[] = [];
  for (const header of typeof headers === 'string' ? [headers] : (headers ?? [])) {
    const s = header.slice(0, 16_384); // longer than any real challenge; the rest is ignored
    let i = 0;
    let current: { scheme: string; params: Record<string, string> } | undefined;
    const isTokenChar = (c: string): boolean => /[A-Za-z0-9!#$%&'*+.^_`|~-]/.test(c);
    const skipSpace = (): void => {
      while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
    };
    while (i < s.length) {
      skipSpace();
      if (s[i] === ',') {
        i++;
        continue;
      }
      const start = i;
      while (i < s.length && isTokenChar(s[i]!)) i++;
      if (i === start) {
        i++; // a stray character: skip it rather than stall
        continue;
      }
      const token = s.slice(start, i);
      skipSpace();
      if (s[i] === '=') {
        // auth-param of the current challenge (token68 values of other schemes end up here too)
        i++;
        skipSpace();
        let value = '';
        if (s[i] === '"') {
          i++;
          while (i < s.length && s[i] !== '"') {
            if (s[i] === '\\' && i + 1 < s.length) i++;
            value += s[i]!;
            i++;
          }
          i++; // closing quote (or the end)
        } else {
          const vs = i;
          while (i < s.length && s[i] !== ',' && s[i] !== ' ' && s[i] !== '\t') i++;
          value = s.slice(vs, i);
        }
        if (current) current.params[token.toLowerCase()] = value;
      } else {
        current = { scheme: token.toLowerCase(), params: {} };
        out.push(current);
      }
    }
  }
  return out;
}

const supportedAlgorithms = ['SHA-256', 'MD5'] as const;

/**
 * The Digest challenge to answer among all offered: SHA-256 when the camera offers it (RFC 7616
 * asks clients to prefer it), else MD5; undefined when there is no Digest challenge we can answer.
 */
export function parseChallenge(headers: string | readonly string[] | undefined): Challenge | undefined {
  const digests = parseChallenges(headers)
    .filter((c) => c.scheme === 'digest' && c.params.realm !== undefined && c.params.nonce)
    .map(
      (c): Challenge => ({
        realm: c.params.realm!,
        nonce: c.params.nonce!,
        opaque: c.params.opaque,
        qop: c.params.qop,
        algorithm: c.params.algorithm,
        stale: c.params.stale?.toLowerCase() === 'true',
      }),
    );
  for (const alg of supportedAlgorithms) {
    const found = digests.find((c) => (c.algorithm ?? 'MD5').toUpperCase() === alg);
    if (found) return found;
  }
  return digests[0]; // an algorithm we cannot answer: digestAuthorization says so
}

const hashes = { MD5: 'md5', 'SHA-256': 'sha256' } as const;

/** The Authorization header for one request; nc counts requests made with the same nonce. */
export function digestAuthorization(
  c: Challenge,
  t: Pick<Target, 'username' | 'password'>,
  method: string,
  uri: string,
  nc: number,
  cnonce: string,
): string {
  const algorithm = (c.algorithm ?? 'MD5').toUpperCase() as keyof typeof hashes;
  if (!(algorithm in hashes))
    throw new VapixError('bad_reply', `The camera asks for Digest ${c.algorithm}; only SHA-256 and MD5 are supported.`);
  const h = (s: string): string => crypto.createHash(hashes[algorithm]).update(s).digest('hex');
  const ha1 = h(`${t.username}:${c.realm}:${t.password}`);
  const ha2 = h(`${method}:${uri}`);
  const qops = (c.qop ?? '').split(',').map((q) => q.trim());
  const ncHex = nc.toString(16).padStart(8, '0');
  const quote = (s: string): string => s.replace(/(["\\])/g, '\\$1');
  const parts = [`username="${quote(t.username)}"`, `realm="${quote(c.realm)}"`, `nonce="${quote(c.nonce)}"`, `uri="${quote(uri)}"`];
  if (qops.includes('auth')) {
    parts.push(`qop=auth`, `nc=${ncHex}`, `cnonce="${cnonce}"`, `response="${h(`${ha1}:${c.nonce}:${ncHex}:${cnonce}:auth:${ha2}`)}"`);
  } else {
    parts.push(`response="${h(`${ha1}:${c.nonce}:${ha2}`)}"`);
  }
  parts.push(`algorithm=${algorithm}`);
  if (c.opaque !== undefined) parts.push(`opaque="${quote(c.opaque)}"`);
  return `Digest ${parts.join(', ')}`;
}

export interface RequestOptions {
  method?: 'GET' | 'POST';
  path: string;
  body?: string;
  contentType?: string;
  timeoutMs?: number;
}

const where = (t: Target): string => `${t.host}:${t.port}`;

function networkError(err: NodeJS.ErrnoException, t: Target, timeoutMs: number): VapixError {
  switch (err.code) {
    case 'ECONNREFUSED':
      return new VapixError('refused', `Nothing answers at ${where(t)} (connection refused). Check the address and port, and that the camera is powered and on the network.`);
    case 'ETIMEDOUT':
    case 'ESOCKETTIMEDOUT':
      return new VapixError('timeout', `${where(t)} did not answer within ${Math.round(timeoutMs / 1000)} s. Check the address; a busy camera may need another try.`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new VapixError('unreachable', `The host name ${t.host} could not be resolved. Check the spelling, or use the camera's IP address.`);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
      return new VapixError('unreachable', `${t.host} cannot be reached from this computer. Check the address and that this computer is on the camera's network.`);
    case 'ECONNRESET':
    case 'EPIPE':
      return new VapixError('unreachable', `${where(t)} closed the connection before replying. Check that this is the camera's HTTP port, then try again.`);
    default:
      return new VapixError('unreachable', `${where(t)} cannot be reached (${err.code ?? err.message}). Check the address and port.`);
  }
}

/** Each WWW-Authenticate header as sent (Node joins repeated ones in res.headers). */
export function authenticateHeaders(res: http.IncomingMessage): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) if (res.rawHeaders[i]!.toLowerCase() === 'www-authenticate') out.push(res.rawHeaders[i + 1]!);
  return out;
}

/** Digest state per camera, so that requests after the first skip the 401 round trip. */
export class DigestSession {
  private challenge: Challenge | undefined;
  private nc = 0;

  constructor(readonly target: Target) {}

  /**
   * Sends one request and resolves with the response once its status is not 401. The body is
   * left unread, so callers either bound it (readBody) or stream it (MJPEG).
   */
  async open(o: RequestOptions): Promise<http.IncomingMessage> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const res = await this.send(o);
      if (res.statusCode !== 401) return res;
      res.resume();
      const c = parseChallenge(authenticateHeaders(res));
      if (!c) throw new VapixError('not_axis', `${where(this.target)} asks for a login the way Axis cameras do not (no Digest challenge). Check that this is an Axis camera.`);
      const hadAnswer = this.challenge !== undefined && attempt > 0;
      this.challenge = c;
      this.nc = 0;
      // A second 401 on a fresh nonce means the credentials are wrong (stale nonces get another go).
      if (hadAnswer && !c.stale) break;
    }
    throw new VapixError('unauthorized', `The camera at ${where(this.target)} refused user "${this.target.username}" and its password. Check both and try again.`);
  }

  private send(o: RequestOptions): Promise<http.IncomingMessage> {
    const t = this.target;
    const method = o.method ?? 'GET';
    const timeoutMs = o.timeoutMs ?? 8000;
    const headers: http.OutgoingHttpHeaders = { Accept: '*/*', 'User-Agent': 'OmniSight-helper/1' };
    if (this.challenge) {
      this.nc += 1;
      headers.Authorization = digestAuthorization(this.challenge, t, method, o.path, this.nc, crypto.randomBytes(8).toString('hex'));
    }
    if (o.body !== undefined) {
      headers['Content-Type'] = o.contentType ?? 'application/json';
      headers['Content-Length'] = Buffer.byteLength(o.body);
    }
    return new Promise((resolve, reject) => {
      const req = http.request({ host: t.host, port: t.port, method, path: o.path, headers, agent: false }, (res) => {
        clearTimeout(timer);
        resolve(res);
      });
      // Connect + first byte deadline; streaming bodies set their own stall watch afterwards.
      const timer = setTimeout(() => {
        req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }));
      }, timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(networkError(err, t, timeoutMs));
      });
      req.end(o.body);
    });
  }
}

/** Reads a body up to maxBytes; more than that is refused rather than buffered. */
export function readBody(res: http.IncomingMessage, maxBytes: number, t: Target, timeoutMs = 8000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      res.destroy();
      reject(new VapixError('timeout', `${where(t)} stopped sending its reply. Try again; check the camera's load if it keeps happening.`));
    }, timeoutMs);
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        clearTimeout(timer);
        res.destroy();
        reject(new VapixError('too_large', `${where(t)} sent a reply larger than ${maxBytes} bytes; refused. Check that this is an Axis camera.`));
        return;
      }
      chunks.push(c);
    });
    res.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    res.on('error', (err) => {
      clearTimeout(timer);
      reject(new VapixError('unreachable', `${where(t)} broke off its reply (${err.message}). Try again.`));
    });
  });
}
