// The camera web server's reverse proxy for installed apps, as AXIS OS sets it up from a manifest's
// configuration.reverseProxy: /local/<appName>/<apiPath>[/rest] is forwarded to <target>[/rest]
// after the camera checked the caller against the entry's access level. Only what the manifest
// declares is reachable; a route a package does not declare is a 404 here as on a camera.
import http from 'node:http';
import type { InstalledApp } from './apps';
import type { ReverseProxyEntry } from './eap';

export type ProxyRole = 'anonymous' | 'viewer' | 'operator' | 'administrator';

const ROLE: Record<ReverseProxyEntry['access'], ProxyRole> = { anonymous: 'anonymous', viewer: 'viewer', operator: 'operator', admin: 'administrator' };
const MAX_BODY = 64 * 1024;

export interface LocalRouteDeps {
  app(name: string): InstalledApp | undefined;
  /** Checks Digest credentials for the role; answers 401/403 itself and returns false. */
  authorise(req: http.IncomingMessage, res: http.ServerResponse, need: ProxyRole): boolean;
  /** The port a natively running program listens on, when one runs. */
  nativePort(name: string): number | undefined;
  /** An in-process stand-in for the app (the built-in agent), when no program runs. */
  inProcess(name: string): ((r: { method: string; path: string; query: string; body: Buffer }) => { status: number; body: string }) | undefined;
  send(res: http.ServerResponse, status: number, type: string, body: string): void;
  notFound(res: http.ServerResponse): void;
  unavailable(res: http.ServerResponse, why: string): void;
}

/** Finds the entry for /local/<app>/<rest>: the apiPath itself or a path below it. */
export function matchProxy(entries: readonly ReverseProxyEntry[], rest: string): { entry: ReverseProxyEntry; tail: string } | undefined {
  let best: { entry: ReverseProxyEntry; tail: string } | undefined;
  for (const e of entries) {
    const p = e.apiPath.replace(/\/+$/, '');
    if (rest === p || rest.startsWith(`${p}/`)) if (!best || p.length > best.entry.apiPath.length) best = { entry: e, tail: rest.slice(p.length) };
  }
  return best;
}

const readBody = (req: http.IncomingMessage): Promise<Buffer | undefined> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => resolve(size > MAX_BODY ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });

/** Serves /local/<appName>/… ; returns false when the path is not under /local/. */
export async function serveLocal(req: http.IncomingMessage, res: http.ServerResponse, url: URL, deps: LocalRouteDeps): Promise<boolean> {
  const m = /^\/local\/([A-Za-z][A-Za-z0-9_]{0,25})\/(.+)$/.exec(url.pathname);
  if (!m) return false;
  const app = deps.app(m[1]!);
  const hit = app ? matchProxy(app.reverseProxy ?? [], m[2]!) : undefined;
  if (!app || !hit) {
    // As for any unknown path: 404 only for a caller who logged in.
    if (deps.authorise(req, res, 'viewer')) deps.notFound(res);
    req.resume();
    return true;
  }
  if (!deps.authorise(req, res, ROLE[hit.entry.access])) {
    req.resume();
    return true;
  }
  const target = new URL(hit.entry.target);
  const forwardPath = `${target.pathname.replace(/\/+$/, '')}${hit.tail}` || '/';
  const body = await readBody(req);
  if (!body) return void deps.send(res, 413, 'text/plain', 'Request body too large\n'), true;
  if (app.status !== 'Running') return void deps.unavailable(res, 'The application is not running.'), true;
  const port = deps.nativePort(app.name);
  if (port !== undefined) {
    await new Promise<void>((resolve) => {
      const out = http.request(
        { host: '127.0.0.1', port, method: req.method, path: `${forwardPath}${url.search}`, headers: { 'content-type': req.headers['content-type'] ?? 'application/octet-stream', 'content-length': body.length, 'x-forwarded-for': req.socket.remoteAddress ?? '' }, timeout: 5000 },
        (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => {
            deps.send(res, r.statusCode ?? 502, String(r.headers['content-type'] ?? 'application/octet-stream'), Buffer.concat(chunks).toString('utf8'));
            resolve();
          });
          r.on('error', () => {
            deps.unavailable(res, 'The application closed the connection.');
            resolve();
          });
        },
      );
      out.on('timeout', () => out.destroy(new Error('timeout')));
      out.on('error', () => {
        deps.unavailable(res, 'The application does not answer.');
        resolve();
      });
      out.end(body);
    });
    return true;
  }
  const local = deps.inProcess(app.name);
  if (!local) return void deps.unavailable(res, 'The application does not answer.'), true;
  const r = local({ method: req.method ?? 'GET', path: forwardPath, query: url.search.replace(/^\?/, ''), body });
  deps.send(res, r.status, 'application/json', r.body);
  return true;
}
