import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventBus } from '../kernel/bus';
import type { SecretStore } from '../kernel/ports';
import { openDatabase, type Db } from '../store';
import { ANTHROPIC_KEY, createSummaryService, extractiveSummary, type SummaryMessage, type SummaryRooms } from './summary';

const log = pino({ level: 'silent' });
const dbs: Db[] = [];
const tempDb = (): Db => {
  const { db } = openDatabase({ dir: fs.mkdtempSync(path.join(os.tmpdir(), 'summary-')) });
  dbs.push(db);
  return db;
};

const msg = (id: number, name: string, text: string, extra: Partial<SummaryMessage> = {}): SummaryMessage => ({
  id,
  roomId: 'r1',
  author: { kind: name === 'Claude Desktop' ? 'desktop' : 'agent', id: name.toLowerCase(), name },
  text,
  ...extra,
});

const conversation: SummaryMessage[] = [
  msg(1, 'Ana', 'Should we store tokens hashed with scrypt or SHA-256?', { act: 'question' }),
  msg(2, 'Coder', 'SHA-256 is fine for random 256-bit tokens. We decided to use SHA-256 with a per-token salt.', { replyTo: 1 }),
  msg(3, 'Ana', 'Who writes the migration?', { act: 'question' }),
  msg(4, 'Reviewer', 'TODO: add a test for expired tokens.'),
  msg(5, 'Coder', "I'll write the rate limiter tomorrow."),
  msg(6, 'Tester', 'Please run the load test at 20k msg/s.', { act: 'request' }),
  msg(7, 'Ana', '+1', { act: 'accept' }),
  msg(8, 'Reviewer', 'Looks good to me.'),
];

function memoryRooms(messages: SummaryMessage[], decisions: { text: string }[] = []) {
  const listeners = new Set<(m: SummaryMessage) => void>();
  const rooms: SummaryRooms = {
    // Pages the way a real store does: ids ascending, strictly after the cursor.
    listMessages: ({ roomId, after, limit }) =>
      messages.filter((m) => String(m.roomId) === roomId && (after === undefined || Number(m.id) > Number(after))).slice(0, limit),
    listDecisions: () => decisions,
    onMessage: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  const add = (m: SummaryMessage): void => {
    messages.push(m);
    listeners.forEach((l) => l(m));
  };
  return { rooms, add };
}

const memorySecrets = (init: Record<string, string> = {}): SecretStore => {
  const m = new Map(Object.entries(init));
  return { protection: 'file-key', get: (k) => m.get(k), set: (k, v) => void m.set(k, v), delete: (k) => void m.delete(k) };
};

describe('extractive summary', () => {
  it('finds decisions, action items and only the unanswered questions', () => {
    const text = extractiveSummary(conversation, [{ text: 'Deploy requires a two-thirds vote' }]);
    const part = (title: string): string => text.split('\n\n').find((p) => p.startsWith(title))!;
    expect(text.split('\n')[0]).toBe('8 messages from 4 participants.');
    expect(part('Decisions')).toContain('- Deploy requires a two-thirds vote');
    expect(part('Decisions')).toContain('We decided to use SHA-256 with a per-token salt. (Coder)');
    expect(part('Action items')).toContain('Reviewer: TODO: add a test for expired tokens.');
    expect(part('Action items')).toContain("Coder: I'll write the rate limiter tomorrow.");
    expect(part('Action items')).toContain('Tester: Please run the load test at 20k msg/s.');
    expect(part('Open questions')).toContain('Ana: Who writes the migration?');
    expect(part('Open questions')).not.toContain('scrypt'); // answered by message 2
    expect(text).not.toContain('+1');
    expect(text).not.toContain('Looks good');
  });

  it('says so when a section is empty', () => {
    expect(extractiveSummary([msg(1, 'Ana', 'hello there')])).toContain('Decisions\n- none recorded');
  });
});

// A local stand-in for the Messages API that streams Server-Sent Events like the real one.
describe('summaries streamed from the Anthropic SDK (local SSE server)', () => {
  let server: http.Server;
  let baseURL = '';
  const requests: { key: string; body: { model: string; stream: boolean; messages: { content: string }[] } }[] = [];
  const pieces = ['Decisions: use SHA-256', ' with a salt.\n', 'Action items: Coder writes', ' the rate limiter.\n', 'Open questions: who writes the migration?'];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (d: Buffer) => (raw += d.toString()));
      req.on('end', () => {
        // This SDK generation sends the key as a bearer token; older ones used x-api-key.
        const key = String(req.headers['x-api-key'] ?? req.headers.authorization?.replace(/^Bearer /, '') ?? '');
        requests.push({ key, body: JSON.parse(raw) });
        const fail = (status: number, type: string, message: string): void => {
          res.writeHead(status, { 'content-type': 'application/json', 'x-should-retry': 'false' });
          res.end(JSON.stringify({ type: 'error', error: { type, message } }));
        };
        if (req.url !== '/v1/messages') return fail(404, 'not_found_error', 'no route');
        if (key.includes('bad')) return fail(401, 'authentication_error', 'invalid x-api-key');
        if (key.includes('busy')) return fail(529, 'overloaded_error', 'Overloaded');
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        const send = (type: string, data: object): boolean => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
        send('message_start', {
          message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 120, output_tokens: 1 } },
        });
        send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
        let i = 0;
        const next = (): void => {
          if (i < pieces.length) {
            send('content_block_delta', { index: 0, delta: { type: 'text_delta', text: pieces[i++] } });
            setTimeout(next, 5); // separate network writes, so the client really sees a stream
            return;
          }
          send('content_block_stop', { index: 0 });
          send('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 40 } });
          send('message_stop', {});
          res.end();
        };
        next();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    dbs.forEach((d) => d.close());
  });

  const setup = (key?: string) => {
    const bus = createEventBus();
    const deltas: { index: number; delta: string; text: string }[] = [];
    const done: string[] = [];
    bus.subscribe('assist.summary.delta', (d) => deltas.push(d));
    bus.subscribe('assist.summary.done', (d) => done.push(d.summary.text));
    const r = memoryRooms([...conversation]);
    const svc = createSummaryService({
      db: tempDb(),
      bus,
      log,
      now: () => 42,
      secrets: memorySecrets(key ? { [ANTHROPIC_KEY]: key } : {}),
      rooms: r.rooms,
      baseURL,
      maxRetries: 0,
    });
    return { svc, deltas, done, ...r };
  };

  it('streams the deltas in order and stores the final text', async () => {
    const s = setup('sk-ant-good-key-000');
    s.svc.config({ model: 'claude-test-model' });
    const summary = await s.svc.run('r1');
    expect(s.deltas.map((d) => d.delta)).toEqual(pieces);
    expect(s.deltas.map((d) => d.index)).toEqual([0, 1, 2, 3, 4]);
    expect(s.deltas.at(-1)!.text).toBe(pieces.join(''));
    expect(summary).toMatchObject({ source: 'model', model: 'claude-test-model', text: pieces.join(''), messageCount: 8, note: null, createdAt: 42 });
    expect(s.svc.latest('r1')).toEqual(summary);
    expect(s.done).toEqual([pieces.join('')]);
    const req = requests.at(-1)!;
    expect(req.key).toBe('sk-ant-good-key-000');
    expect(req.body).toMatchObject({ model: 'claude-test-model', stream: true });
    expect(req.body.messages[0]!.content).toContain('[5] Coder (agent): I\'ll write the rate limiter tomorrow.');
  });

  it.each([
    ['sk-ant-bad-key-0000', /refused the saved API key \(401\)/],
    ['sk-ant-busy-key-000', /overloaded right now \(529\)/],
  ])('an API error (%s) gives a clear message and falls back to extractive', async (key, message) => {
    const s = setup(key);
    const summary = await s.svc.run('r1');
    expect(summary.source).toBe('extractive');
    expect(summary.note).toMatch(message);
    expect(summary.note).toContain('extractive summary was made instead');
    expect(summary.text).toContain('Open questions\n- Ana: Who writes the migration?');
    expect(s.done).toHaveLength(1);
  });

  it('without a key, summarises extractively and says how to get a written one', async () => {
    const s = setup();
    const before = requests.length;
    const summary = await s.svc.run('r1');
    expect(requests.length).toBe(before);
    expect(summary).toMatchObject({ source: 'extractive', model: null });
    expect(summary.note).toMatch(/No Anthropic API key/);
  });

  it('summarises automatically at the threshold of new messages, and persists the threshold', async () => {
    const s = setup();
    expect(s.svc.config().threshold).toBe(50);
    s.svc.config({ threshold: 3 });
    s.add(msg(9, 'Ana', 'one more'));
    s.add(msg(10, 'Ana', 'and another'));
    await s.svc.idle();
    expect(s.svc.latest('r1')).toBeNull();
    s.add(msg(11, 'Ana', 'We agreed: ship on Friday.'));
    await new Promise((r) => setImmediate(r));
    await s.svc.idle();
    const latest = s.svc.latest('r1');
    expect(latest).toMatchObject({ source: 'extractive', messageCount: 11 });
    expect(latest!.text).toContain('We agreed: ship on Friday. (Ana)');
    s.svc.close();
  });

  it('refuses an empty room and a key that is not an Anthropic key', async () => {
    const s = setup();
    await expect(s.svc.run('empty')).rejects.toThrow(/no messages yet/);
    expect(() => (s.svc.handlers['assist.summary.setApiKey'] as (i: { apiKey: string }) => unknown)({ apiKey: 'hello' })).toThrow(/sk-ant-/);
  });
});
