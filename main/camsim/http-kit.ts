// The simulated camera's HTTP plumbing: replies in AXIS OS's shapes, bounded body reads, Digest roles.
import type http from 'node:http';
import type { DigestServer } from './digest';

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

export type Authorise = (req: Req, res: Res, need: Role) => boolean;

/** Digest check: 401 for missing or wrong credentials (stale=true for an old nonce), 403 for a role too low. */
export function createAuthoriser(digest: DigestServer): Authorise {
  return (req, res, need) => {
    if (need === 'anonymous') return true;
    const r = digest.verify(req.method ?? 'GET', req.url ?? '/', req.headers.authorization);
    if (!r.ok) {
      send(res, 401, 'text/html', htmlError(401, 'Unauthorized', 'Your client does not have permission to get this URL from this server.'), {
        'WWW-Authenticate': digest.challenge(r.stale),
      });
      return false;
    }
    if (ROLE_RANK[r.user.role] < ROLE_RANK[need]) {
      send(res, 403, 'text/html', htmlError(403, 'Forbidden', `Your user ${r.user.username} (${r.user.role}) may not access this resource.`));
      return false;
    }
    return true;
  };
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
   * The role the path needs before anything else is looked at. JSON APIs whose methods differ
   * (some anonymous) say 'by-method' and authorise inside, once the method is known.
   */
  need: Role | 'by-method';
  handle(req: Req, res: Res, url: URL): void | Promise<void>;
}
