// The simulated camera's HTTP plumbing: replies in AXIS OS's shapes, bounded body reads, Digest roles.
import type http from 'node:http';
import type { DigestServer } from './digest';
import type { SimUser } from './types';

export const ROLE_RANK = { viewer: 1, operator: 2, administrator: 3 } as const;
export type Role = keyof typeof ROLE_RANK | 'anonymous';

export type Req = http.IncomingMessage;
export type Res = http.ServerResponse;

/** A reply that ends the request with a status and a plain-text line (bad video parameters and the like). */
export class HttpFail extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const send = (res: Res, status: number, type: string, body: string | Buffer, headers: Record<string, string | number> = {}): void => {
  if (res.headersSent || res.destroyed) return;
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': buf.length, ...headers });
  res.end(buf);
};

export const htmlError = (status: number, title: string, text: string): string => `<HTML><HEAD><TITLE>${status} ${title}</TITLE></HEAD><BODY><H1>${status} ${title}</H1>\n${text}\n</BODY></HTML>\n`;

export const notFound = (res: Res): void => send(res, 404, 'text/html', htmlError(404, 'Not Found', 'The requested URL was not found on this server.'));

export const methodNotAllowed = (res: Res, allow: string): void => send(res, 405, 'text/plain', 'Method Not Allowed\n', { Allow: allow });

/** Read a request body up to `limit` bytes; undefined when it was larger (the rest is drained so the reply can still be read). */
export const readBody = (req: Req, limit: number): Promise<Buffer | undefined> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    // A declared length (every upload client sends one) fills one buffer: no chunk list, no 5 MB concat copy.
    const declared = Number(req.headers['content-length']);
    let whole = Number.isInteger(declared) && declared > 0 && declared <= limit ? Buffer.allocUnsafe(declared) : undefined;
    req.on('data', (c: Buffer) => {
      if (whole && size + c.length > whole.length) {
        chunks.push(whole.subarray(0, size)); // more than declared: back to a chunk list
        whole = undefined;
      }
      if (size + c.length > limit) over = true; // keep draining so the reply can still be read
      else if (whole) c.copy(whole, size);
      else chunks.push(c);
      size += c.length;
    });
    req.on('end', () => resolve(over ? undefined : whole ? whole.subarray(0, size) : Buffer.concat(chunks)));
    req.on('error', reject);
  });

/** Digest in three steps, so a request is verified once (a nonce count may be used only once). */
export interface Auth {
  /** Who sent the request: a user, undefined for no credentials, or false for wrong ones (stale: an old nonce). */
  identify(req: Req): SimUser | undefined | { wrong: true; stale: boolean };
  /** 401 with a fresh challenge. */
  challenge(res: Res, stale?: boolean): void;
  /** 403: the user's role is below what the resource needs. */
  forbid(res: Res, user: SimUser): void;
}

export const roleAllows = (user: SimUser | undefined, need: Role): boolean => need === 'anonymous' || (user !== undefined && ROLE_RANK[user.role] >= ROLE_RANK[need]);

export function createAuth(digest: DigestServer): Auth {
  return {
    identify: (req) => {
      const header = req.headers.authorization;
      if (!header) return undefined;
      const r = digest.verify(req.method ?? 'GET', req.url ?? '/', header);
      return r.ok ? r.user : { wrong: true, stale: r.stale };
    },
    challenge: (res, stale = false) =>
      send(res, 401, 'text/html', htmlError(401, 'Unauthorized', 'Your client does not have permission to get this URL from this server.'), {
        'WWW-Authenticate': digest.challenge(stale),
      }),
    forbid: (res, user) => send(res, 403, 'text/html', htmlError(403, 'Forbidden', `Your user ${user.username} (${user.role}) may not access this resource.`)),
  };
}

/**
 * Check a request that reached a resource needing `need`: 401 when credentials are missing or wrong,
 * 403 when the role is too low. Returns the user (undefined for anonymous resources), or false when it replied.
 */
export function gate(auth: Auth, req: Req, res: Res, need: Role, who = auth.identify(req)): SimUser | undefined | false {
  if (who && 'wrong' in who) {
    auth.challenge(res, who.stale);
    return false;
  }
  if (need === 'anonymous') return who;
  if (!who) {
    auth.challenge(res);
    return false;
  }
  if (!roleAllows(who, need)) {
    auth.forbid(res, who);
    return false;
  }
  return who;
}

/** Pull one named file part out of a multipart/form-data body. */
export function multipartFile(contentType: string, body: Buffer, names: readonly string[]): Buffer | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!/^multipart\/form-data/i.test(contentType) || !m) return undefined;
  const delim = Buffer.from(`--${m[1] ?? m[2]}`);
  let pos = body.indexOf(delim);
  while (pos >= 0) {
    const start = pos + delim.length;
    if (body[start] === 0x2d && body[start + 1] === 0x2d) return undefined; // closing delimiter
    const headEnd = body.indexOf('\r\n\r\n', start);
    if (headEnd < 0) return undefined;
    const head = body.subarray(start, headEnd).toString('latin1');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]), headEnd + 4);
    if (next < 0) return undefined;
    const name = /content-disposition:[^\r\n]*\bname="([^"]*)"/i.exec(head)?.[1];
    if (name && names.includes(name)) return body.subarray(headEnd + 4, next);
    pos = next + 2;
  }
  return undefined;
}

/** One entry of a camera's route table: a path, the role it needs, and its handler. */
export interface Route {
  path: string;
  /**
   * The role the path needs before anything else is looked at (the router answers 401/403 itself).
   * JSON APIs with some anonymous methods say 'by-method': the router then only refuses wrong
   * credentials, and the API checks the method's role once it has read the request.
   */
  need: Role | 'by-method';
  handle(req: Req, res: Res, url: URL, user: SimUser | undefined): void | Promise<void>;
  /** The first AXIS OS version that serves this path (older firmware answers 404). */
  since?: string;
  /** How API discovery lists this path, when it is a listed API. */
  api?: { id: string; version: string; name: string; docLink: string; status?: string };
}
