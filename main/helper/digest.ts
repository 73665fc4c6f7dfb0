// Client side of HTTP Digest authentication (RFC 7616 subset: MD5, qop=auth) over node:http, so
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
  | 'http';

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

/** Parses `Digest realm="…", nonce="…", qop="auth"`; undefined when it is not a Digest challenge. */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*Digest\s+(.*)$/is.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([a-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/gi;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[1]!))) params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  if (!params.realm || !params.nonce) return undefined;
  return {
    realm: params.realm,
    nonce: params.nonce,
    opaque: params.opaque,
    qop: params.qop,
    algorithm: params.algorithm,
    stale: params.stale?.toLowerCase() === 'true',
  };
}

const md5 = (s: string): string => crypto.createHash('md5').update(s).digest('hex');

/** The Authorization header for one request; nc counts requests made with the same nonce. */
export function digestAuthorization(
  c: Challenge,
  t: Pick<Target, 'username' | 'password'>,
  method: string,
  uri: string,
  nc: number,
  cnonce: string,
): string {
  if (c.algorithm && c.algorithm.toUpperCase() !== 'MD5')
    throw new VapixError('bad_reply', `The camera asks for Digest ${c.algorithm}; only MD5 is supported.`);
  const ha1 = md5(`${t.username}:${c.realm}:${t.password}`);
  const ha2 = md5(`${method}:${uri}`);
  const qops = (c.qop ?? '').split(',').map((q) => q.trim());
  const ncHex = nc.toString(16).padStart(8, '0');
  const quote = (s: string): string => s.replace(/(["\\])/g, '\\$1');
  const parts = [`username="${quote(t.username)}"`, `realm="${quote(c.realm)}"`, `nonce="${quote(c.nonce)}"`, `uri="${quote(uri)}"`];
  if (qops.includes('auth')) {
    parts.push(`qop=auth`, `nc=${ncHex}`, `cnonce="${cnonce}"`, `response="${md5(`${ha1}:${c.nonce}:${ncHex}:${cnonce}:auth:${ha2}`)}"`);
  } else {
    parts.push(`response="${md5(`${ha1}:${c.nonce}:${ha2}`)}"`);
  }
  parts.push('algorithm=MD5');
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
      const c = parseChallenge(res.headers['www-authenticate']);
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
