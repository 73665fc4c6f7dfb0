import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTestApp, tempDir, type TestApp } from './testkit';
import { silentLogger } from '../kernel/logger';
import { startWebServer, type WebServer } from './web-server';

const TOKEN = 'test-token-0123456789abcdef';
let app: TestApp;
let server: WebServer;

beforeAll(async () => {
  app = createTestApp();
  const rendererDir = tempDir();
  fs.writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>t</title>');
  server = await startWebServer({ port: 0, token: TOKEN, rendererDir, dispatcher: app.dispatcher, bus: app.bus, audit: app.audit, log: silentLogger() });
  server.addTokenRoute('/metrics', (_req, res) => {
    res.end('ok_total 1\n');
  });
});
afterAll(async () => {
  await server.close();
  await app.close();
});

/** Tries a WebSocket handshake; resolves with the HTTP status of a refusal, or 101 when accepted. */
function handshake(opts: { protocols?: string[]; origin?: string; host?: string }): Promise<{ status: number; ws?: WebSocket }> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = {};
    if (opts.host) headers.Host = opts.host;
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, opts.protocols ?? [], { origin: opts.origin, headers });
    ws.on('open', () => resolve({ status: 101, ws }));
    ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
    ws.on('error', () => resolve({ status: -1 }));
  });
}

const refusals = async (): Promise<{ message: string; detail: Record<string, unknown> }[]> => {
  const r = await app.dispatcher.dispatch('audit.list', { kind: 'transport.refused', limit: 500 }, { transport: 'internal', peer: 't' });
  return r.ok ? (r.value as { events: { message: string; detail: Record<string, unknown> }[] }).events : [];
};

describe('browser-mode server', () => {
  it('listens on the loopback address only', () => {
    // /proc/net/tcp lists every listening socket with its local address in hex; ours must be 127.0.0.1.
    const port = server.port.toString(16).toUpperCase().padStart(4, '0');
    const lines = fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1).concat(fs.readFileSync('/proc/net/tcp6', 'utf8').split('\n').slice(1));
    const listening = lines.map((l) => l.trim().split(/\s+/)).filter((f) => f[1]?.endsWith(`:${port}`) && f[3] === '0A');
    expect(listening.length).toBe(1);
    expect(listening[0]![1]).toBe(`0100007F:${port}`);
  });

  it('refuses a handshake without a token, and records it', async () => {
    const before = (await refusals()).length;
    expect((await handshake({ protocols: ['omnisight.v1'] })).status).toBe(401);
    const after = await refusals();
    expect(after.length).toBe(before + 1);
    expect(after[0]!.message).toMatch(/missing token/);
  });

  it('refuses a wrong token, and records it', async () => {
    expect((await handshake({ protocols: ['omnisight.v1', 'token.wrong'] })).status).toBe(401);
    expect((await refusals())[0]!.message).toMatch(/wrong token/);
  });

  it('refuses a foreign Origin even with the right token, and records it', async () => {
    expect((await handshake({ protocols: ['omnisight.v1', `token.${TOKEN}`], origin: 'http://evil.example' })).status).toBe(403);
    const last = (await refusals())[0]!;
    expect(last.message).toMatch(/foreign origin/);
    expect(last.detail.origin).toBe('http://evil.example');
  });

  it('refuses a rebinding Host header, and records it', async () => {
    expect((await handshake({ protocols: ['omnisight.v1', `token.${TOKEN}`], host: `evil.example:${server.port}` })).status).toBe(421);
    expect((await refusals())[0]!.message).toMatch(/Host/);
  });

  it('accepts the right token from the app origin and answers calls', async () => {
    const { status, ws } = await handshake({ protocols: ['omnisight.v1', `token.${TOKEN}`], origin: `http://127.0.0.1:${server.port}` });
    expect(status).toBe(101);
    const reply = await new Promise<Record<string, unknown>>((resolve) => {
      ws!.on('message', (d) => {
        const m = JSON.parse(String(d));
        if (m.type === 'result') resolve(m);
      });
      ws!.send(JSON.stringify({ type: 'call', id: 7, method: 'app.ping', input: { sentAt: 5 } }));
    });
    expect(reply).toMatchObject({ id: 7, ok: true, value: { sentAt: 5 } });
    ws!.close();
  });

  it('answers a malformed envelope with an error and keeps the connection', async () => {
    const { ws } = await handshake({ protocols: ['omnisight.v1', `token.${TOKEN}`] });
    const msgs: Record<string, unknown>[] = [];
    ws!.on('message', (d) => msgs.push(JSON.parse(String(d))));
    ws!.send('not json');
    ws!.send(JSON.stringify({ type: 'call', id: 1, method: 'app.ping', input: { sentAt: 1 } }));
    await new Promise((r) => setTimeout(r, 200));
    expect(msgs.find((m) => m.type === 'error')).toMatchObject({ message: expect.stringMatching(/Malformed/) });
    expect(msgs.find((m) => m.type === 'result')).toMatchObject({ ok: true });
    ws!.close();
  });

  it("takes a page's frame acknowledgement quietly (the frame channel reads it) but answers an ack with extra fields as malformed", async () => {
    const { ws } = await handshake({ protocols: ['omnisight.v1', `token.${TOKEN}`] });
    const msgs: Record<string, unknown>[] = [];
    ws!.on('message', (d) => msgs.push(JSON.parse(String(d))));
    ws!.send('{"type":"ack","bytes":0}');
    ws!.send(JSON.stringify({ type: 'call', id: 3, method: 'app.ping', input: { sentAt: 1 } }));
    await new Promise((r) => setTimeout(r, 200));
    expect(msgs.filter((m) => m.type === 'error')).toEqual([]);
    expect(msgs.find((m) => m.type === 'result')).toMatchObject({ id: 3, ok: true });
    ws!.send('{"type":"ack","bytes":-1}');
    await new Promise((r) => setTimeout(r, 200));
    expect(msgs.find((m) => m.type === 'error')).toMatchObject({ message: expect.stringMatching(/Malformed/) });
    ws!.close();
  });

  it('answers a malformed call whose id can be read as that call, so it fails at once instead of hanging', async () => {
    const { ws } = await handshake({ protocols: ['omnisight.v1', `token.${TOKEN}`] });
    const msgs: Record<string, unknown>[] = [];
    ws!.on('message', (d) => msgs.push(JSON.parse(String(d))));
    ws!.send(JSON.stringify({ type: 'call', id: 42, method: 'app.ping', input: { sentAt: 1 }, extra: true }));
    await new Promise((r) => setTimeout(r, 200));
    expect(msgs).toContainEqual({ type: 'result', id: 42, ok: false, error: { code: 'invalid_input', message: expect.stringMatching(/^Malformed message/) } });
    ws!.close();
  });

  it('carries a 3 MB room file over the socket in chunks, never a frame over the limit (the socket stays up)', async () => {
    const { ws } = await handshake({ protocols: ['omnisight.v1', `token.${TOKEN}`] });
    let next = 1;
    const pending = new Map<number, (m: { ok: boolean; value?: unknown; error?: unknown }) => void>();
    let largest = 0;
    let closedWith: number | undefined;
    ws!.on('close', (code) => (closedWith = code));
    ws!.on('message', (d) => {
      const m = JSON.parse(String(d)) as { type: string; id: number; ok: boolean };
      if (m.type === 'result') pending.get(m.id)?.(m);
    });
    const call = <T,>(method: string, input: unknown): Promise<T> =>
      new Promise((resolve, reject) => {
        const id = next++;
        const frame = JSON.stringify({ type: 'call', id, method, input });
        largest = Math.max(largest, Buffer.byteLength(frame));
        pending.set(id, (m) => (m.ok ? resolve(m.value as T) : reject(new Error(JSON.stringify(m.error)))));
        ws!.send(frame);
      });
    const room = await call<{ id: string }>('rooms.create', { name: 'Big files', maxFileBytes: 8 * 1024 * 1024 });
    const data = Buffer.alloc(3 * 1024 * 1024 + 123);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
    const { uploadId, chunkBytes } = await call<{ uploadId: string; chunkBytes: number }>('rooms.files.begin', { roomId: room.id, name: 'clip.bin', size: data.length });
    const progress: number[] = [];
    for (let i = 0, at = 0; at < data.length; i++, at += chunkBytes)
      progress.push((await call<{ received: number }>('rooms.files.chunk', { uploadId, index: i, dataBase64: data.subarray(at, at + chunkBytes).toString('base64') })).received);
    const file = await call<{ id: string; size: number; sha256: string }>('rooms.files.finish', { uploadId });
    expect(progress.at(-1)).toBe(data.length);
    expect(progress).toHaveLength(7);
    expect(file.size).toBe(data.length);
    const back = await call<{ dataBase64: string }>('rooms.files.download', { fileId: file.id });
    expect(Buffer.from(back.dataBase64, 'base64').equals(data)).toBe(true);
    expect(largest).toBeLessThan(1024 * 1024); // every frame fits the socket's limit
    expect(closedWith).toBeUndefined();
    ws!.close();
  });

  it('pushes bus events to connected clients', async () => {
    const { ws } = await handshake({ protocols: ['omnisight.v1', `token.${TOKEN}`] });
    const got = new Promise<Record<string, unknown>>((resolve) => ws!.on('message', (d) => resolve(JSON.parse(String(d)))));
    app.bus.publish('app.notification', { title: 'hi', body: 'there', severity: 'info' });
    expect(await got).toMatchObject({ type: 'event', topic: 'app.notification', payload: { title: 'hi' } });
    ws!.close();
  });

  it('serves the UI with a strict CSP and refuses path traversal', async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const trav = await fetch(`http://127.0.0.1:${server.port}/..%2f..%2fetc%2fpasswd`);
    expect(trav.status).toBe(400); // not a clean path: refused before any file is looked up
  });

  it('protects token routes with a bearer token', async () => {
    expect((await fetch(`http://127.0.0.1:${server.port}/metrics`)).status).toBe(401);
    const ok = await fetch(`http://127.0.0.1:${server.port}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(await ok.text()).toBe('ok_total 1\n');
  });
});
