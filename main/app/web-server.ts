// Browser mode's front door: the built renderer over HTTP and the contract over one WebSocket, on
// 127.0.0.1 only. Every upgrade must carry the per-launch token (as a WebSocket subprotocol, so it
// never appears in a URL or a log line), come from an allowed Origin and name this host.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import type { AuditLog } from '../audit';
import type { EventBus } from '../kernel/bus';
import type { Dispatcher } from '../kernel/dispatcher';
import type { Logger } from '../kernel/logger';

export const WS_PROTOCOL = 'omnisight.v1';
export const TOKEN_PROTOCOL_PREFIX = 'token.';
export const MAX_MESSAGE_BYTES = 1024 * 1024;

const clientMessage = z
  .object({ type: z.literal('call'), id: z.number().int().nonnegative(), method: z.string().max(200), input: z.unknown() })
  .strict();
/** A page's acknowledgement of the frame bytes it has taken (read by the frame channel, main/fleet/frames.ts). */
const frameAck = z.object({ type: z.literal('ack'), bytes: z.number().int().nonnegative() }).strict();

export type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

export interface WebServerOptions {
  port: number;
  token: string;
  rendererDir: string;
  dispatcher: Dispatcher;
  bus: EventBus;
  audit: AuditLog;
  log: Logger;
}

export interface WebServer {
  readonly port: number;
  readonly url: string;
  /** Adds an HTTP route that requires the token as "Authorization: Bearer <token>". */
  addTokenRoute(pathname: string, handler: RouteHandler): void;
  /** Lets a capability take binary frames over the same socket (e.g. camera feeds). */
  onClient(listener: (ws: WebSocket) => void): void;
  clientCount(): number;
  close(): Promise<void>;
}

const digest = (s: string): Buffer => crypto.createHash('sha256').update(s).digest();
/** Constant-time comparison; hashing first makes the lengths equal. */
export const tokenMatches = (given: string | undefined, expected: string): boolean =>
  given !== undefined && crypto.timingSafeEqual(digest(given), digest(expected));

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

export function contentSecurityPolicy(port: number): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self' ws://127.0.0.1:${port} ws://localhost:${port}`,
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'none'",
  ].join('; ');
}

const MAX_LOGGED_HEADER = 200;
/** A header value as it may be logged: at most MAX_LOGGED_HEADER characters, with the cut said. */
export const capHeader = (v: string): string => (v.length > MAX_LOGGED_HEADER ? `${v.slice(0, MAX_LOGGED_HEADER)}…(${v.length} chars)` : v);

/**
 * The renderer file a URL path names, or undefined when the path is not clean: it must decode,
 * and then hold only the characters a built asset name uses, in segments that are neither empty,
 * `.` nor `..` (so no NUL, no control character, no backslash, no traversal, no double slash).
 */
export function cleanPath(pathname: string): string | undefined {
  let rel: string;
  try {
    rel = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (rel === '/' || rel === '') return '/index.html';
  if (!/^(\/[A-Za-z0-9_@~+-][A-Za-z0-9._@~+-]*)+$/.test(rel)) return undefined;
  if (rel.split('/').some((seg) => seg === '.' || seg === '..')) return undefined;
  return rel;
}

export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const { dispatcher, bus, audit, log, token } = opts;
  const routes = new Map<string, RouteHandler>();
  const clientListeners: ((ws: WebSocket) => void)[] = [];
  let port = 0;
  const allowedHosts = (): Set<string> => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  const allowedOrigins = (): Set<string> => new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);
  const rendererRoot = path.resolve(opts.rendererDir);

  // A refusal is audited (folded per peer address and reason by the audit log) and logged only when
  // the audit kept it, so a flood of handshakes leaves a few rows and lines, not one per attempt;
  // header values an attacker chose (Origin, Host, path) are cut short first.
  const refuse = (peer: string, reason: string, detail: Record<string, string>): void => {
    const capped = Object.fromEntries(Object.entries(detail).map(([k, v]) => [k, capHeader(v)]));
    const kept = audit.record({ kind: 'transport.refused', severity: 'warning', source: peer, message: `Refused a browser-mode connection: ${reason}`, detail: { reason, ...capped } });
    if (kept) log.warn({ peer, reason, ...capped }, 'connection refused');
  };

  const serveStatic = (req: http.IncomingMessage, res: http.ServerResponse, pathname: string): void => {
    const rel = cleanPath(pathname);
    if (rel === undefined) {
      res.writeHead(400, { 'Content-Type': 'text/plain' }).end('Bad path');
      return;
    }
    const file = path.resolve(rendererRoot, `.${rel}`);
    if (!file.startsWith(rendererRoot + path.sep)) {
      res.writeHead(404).end('Not found');
      return;
    }
    fs.readFile(file, (err, body) => {
      if (err) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found');
        return;
      }
      res.writeHead(200, {
        'Content-Type': contentTypes[path.extname(file)] ?? 'application/octet-stream',
        'Content-Security-Policy': contentSecurityPolicy(port),
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cache-Control': file.endsWith('.html') ? 'no-store' : 'public, max-age=31536000, immutable',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  };

  // No request may end the process: whatever a handler throws becomes a 500 (or a closed socket).
  const server = http.createServer((req, res) => {
    try {
      handleRequest(req, res);
    } catch (err) {
      log.error({ err, url: capHeader(String(req.url)) }, 'request failed');
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' }).end('Internal error');
      else res.destroy();
    }
  });
  const handleRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const peer = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    // DNS rebinding: a page on evil.example that resolves to 127.0.0.1 still sends its own Host.
    if (!allowedHosts().has(req.headers.host ?? '')) {
      refuse(peer, 'unexpected Host header', { host: String(req.headers.host ?? '') });
      res.writeHead(421, { 'Content-Type': 'text/plain' }).end('Misdirected request');
      return;
    }
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    const route = routes.get(pathname);
    if (route) {
      const auth = req.headers.authorization;
      const given = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
      if (!tokenMatches(given, token)) {
        refuse(peer, given ? 'wrong token' : 'missing token', { path: pathname });
        res.writeHead(401, { 'Content-Type': 'text/plain', 'WWW-Authenticate': 'Bearer' }).end('A valid token is required');
        return;
      }
      Promise.resolve()
        .then(() => route(req, res))
        .catch((err: unknown) => {
          log.error({ err, pathname }, 'route failed');
          if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' }).end('Internal error');
          else res.destroy();
        });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    serveStatic(req, res, pathname);
  };

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE_BYTES,
    handleProtocols: (protocols) => (protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
  });

  server.on('upgrade', (req, socket, head) => {
    try {
      handleUpgrade(req, socket, head);
    } catch (err) {
      log.error({ err, url: capHeader(String(req.url)) }, 'handshake failed');
      socket.destroy();
    }
  });
  const handleUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const peer = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    const reject = (status: number, text: string, reason: string, detail: Record<string, string> = {}): void => {
      refuse(peer, reason, detail);
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if ((req.url ?? '').split('?')[0] !== '/ws') return reject(404, 'Not Found', 'unknown socket path', { path: String(req.url) });
    if (!allowedHosts().has(req.headers.host ?? '')) return reject(421, 'Misdirected Request', 'unexpected Host header', { host: String(req.headers.host ?? '') });
    // Browsers always send Origin and do not apply CORS to WebSocket handshakes; scripts and tests
    // send none and are held to the token alone.
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins().has(origin)) return reject(403, 'Forbidden', 'foreign origin', { origin });
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim());
    const given = offered.find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX))?.slice(TOKEN_PROTOCOL_PREFIX.length);
    if (!tokenMatches(given, token)) return reject(401, 'Unauthorized', given ? 'wrong token' : 'missing token');
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  };

  wss.on('connection', (ws: WebSocket, req: http.IncomingMessage) => {
    const peer = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    log.info({ peer }, 'browser client connected');
    const unsubscribe = bus.subscribeAll((ev) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'event', topic: ev.topic, payload: ev.payload }));
    });
    ws.on('close', () => {
      unsubscribe();
      log.info({ peer }, 'browser client disconnected');
    });
    ws.on('error', (err) => log.warn({ err, peer }, 'socket error'));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return; // binary frames belong to capabilities that registered onClient
      let msg: z.infer<typeof clientMessage>;
      let raw: unknown;
      try {
        const parsed = clientMessage.safeParse((raw = JSON.parse(data.toString())));
        if (!parsed.success && frameAck.safeParse(raw).success) return;
        if (!parsed.success) throw new Error(parsed.error.issues[0]?.message ?? 'bad envelope');
        msg = parsed.data;
      } catch (err) {
        audit.record({ kind: 'input.rejected', severity: 'warning', source: `ws:${peer}`, message: `Malformed message: ${(err as Error).message}` });
        const message = 'Malformed message: expected {"type":"call","id":n,"method":"…","input":…}';
        // When the request id can be read, the answer is that call's result: it fails now instead of hanging.
        const id = (raw as { id?: unknown } | null)?.id;
        ws.send(JSON.stringify(Number.isSafeInteger(id) ? { type: 'result', id, ok: false, error: { code: 'invalid_input', message } } : { type: 'error', message }));
        return;
      }
      void dispatcher
        .dispatch(msg.method, msg.input, { transport: 'ws', peer })
        .then((result) => {
          if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'result', id: msg.id, ...result }));
        })
        .catch((err: unknown) => log.error({ err, method: msg.method }, 'could not send a result'));
    });
    for (const l of clientListeners) l(ws);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;

  return {
    port,
    url: `http://127.0.0.1:${port}/`,
    addTokenRoute: (p, h) => routes.set(p, h),
    onClient: (l) => clientListeners.push(l),
    clientCount: () => wss.clients.size,
    async close() {
      for (const ws of wss.clients) ws.close(1001, 'server shutting down');
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
