// Issue 12 items 1 and 8: no request can end browser mode, and a flood of refused handshakes from
// new ports folds into a few audit rows and log lines, with header values cut short.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, tempDir, type TestApp } from './testkit';
import pino from 'pino';
import { startWebServer, type WebServer } from './web-server';

const TOKEN = 'test-token-0123456789abcdef';
let app: TestApp;
let server: WebServer;
/** Every log line the server writes (JSON, one per entry). */
const logLines: string[] = [];

beforeAll(async () => {
  app = createTestApp();
  const rendererDir = tempDir();
  fs.writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>t</title>');
  fs.mkdirSync(path.join(rendererDir, 'assets'));
  fs.writeFileSync(path.join(rendererDir, 'assets', 'app-1.js'), 'export {};');
  const log = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
  server = await startWebServer({ port: 0, token: TOKEN, rendererDir, dispatcher: app.dispatcher, bus: app.bus, audit: app.audit, log });
  server.addTokenRoute('/throws', () => {
    throw new Error('route failed synchronously');
  });
  server.addTokenRoute('/rejects', async () => {
    throw new Error('route failed asynchronously');
  });
});
afterAll(async () => {
  await server.close();
  await app.close();
});

/** One raw HTTP/1.1 request (the path is sent exactly as given); resolves with the status code. */
function raw(pathAndQuery: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(server.port, '127.0.0.1', () => {
      const lines = [`${method} ${pathAndQuery} HTTP/1.1`, `Host: 127.0.0.1:${server.port}`, 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
      sock.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
    let data = '';
    sock.on('data', (d) => (data += d.toString('latin1')));
    sock.on('end', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      resolve({ status, body: data.split('\r\n\r\n').slice(1).join('\r\n\r\n') });
    });
    sock.on('error', reject);
  });
}

const get = (p: string): Promise<number> =>
  new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: server.port, path: p }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });

describe('browser-mode server under hostile requests', () => {
  it('answers a NUL, a traversal or a malformed path with a 4xx and keeps serving', async () => {
    for (const p of ['/%00', '/index.html%00.png', '/a%00b', '/assets/%00', '/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fetc/passwd', '/assets%5c..%5cindex.html', '/%E0%A4%A', '/%c0%ae%c0%ae/', '/index.html%0a', '//index.html']) {
      const r = await raw(p);
      expect([400, 404], `${p} → ${r.status}`).toContain(r.status);
    }
    expect(await get('/')).toBe(200);
    expect(await get('/assets/app-1.js')).toBe(200);
    expect(await get('/index.html?x=%00')).toBe(200); // the query is not part of the file path
  });

  it('turns a route that throws, synchronously or not, into a 500 and keeps serving', async () => {
    const auth = { Authorization: `Bearer ${TOKEN}` };
    expect((await raw('/throws', auth)).status).toBe(500);
    expect((await raw('/rejects', auth)).status).toBe(500);
    expect(await get('/')).toBe(200);
  });

  it('folds a flood of refused handshakes from new ports into a few audit rows and log lines, header values cut short', async () => {
    const origin = `http://evil.example/${'a'.repeat(4000)}`;
    const before = logLines.length;
    const countBefore = app.db.prepare("SELECT count(*) AS n FROM audit_events WHERE kind = 'transport.refused'").get() as { n: number };
    const events: unknown[] = [];
    const off = app.bus.subscribe('audit.recorded', (e) => events.push(e));
    const N = 300;
    for (let i = 0; i < N; i++) {
      const r = await raw('/ws', { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', Origin: origin });
      expect(r.status).toBe(403);
    }
    off();
    const countAfter = app.db.prepare("SELECT count(*) AS n FROM audit_events WHERE kind = 'transport.refused'").get() as { n: number };
    // Every handshake came from a new port: folded by address and reason, at most 20 a minute are rows.
    expect(countAfter.n - countBefore.n).toBeLessThanOrEqual(20);
    expect(events.length).toBeLessThanOrEqual(20);
    const rows = app.db.prepare("SELECT source, detail FROM audit_events WHERE kind = 'transport.refused' ORDER BY id DESC LIMIT 20").all() as { source: string; detail: string }[];
    for (const r of rows) expect(JSON.parse(r.detail).origin?.length ?? 0).toBeLessThanOrEqual(260);
    // The log: a bounded number of lines, none carrying the 4 kB Origin.
    const lines = logLines.slice(before).filter((l) => l.includes('connection refused'));
    expect(lines.length).toBeLessThanOrEqual(21);
    expect(Math.max(0, ...lines.map((l) => l.length))).toBeLessThan(1000);
  });
});
