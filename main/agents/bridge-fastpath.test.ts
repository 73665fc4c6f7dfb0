// The bridge's hand-written checks on the hot path must accept nothing the zod schemas refuse.
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AGENT_WS_PROTOCOL, fastPost, parseFrame, postSchema } from './bridge';
import { refusals, startRig } from './testkit';

describe('parseFrame', () => {
  it('accepts the three frames and refuses unknown fields, wrong types and bad ids', () => {
    expect(parseFrame({ type: 'call', id: 3, op: 'rooms.post', input: { a: 1 } })).toEqual({ type: 'call', id: 3, op: 'rooms.post', input: { a: 1 } });
    expect(parseFrame({ type: 'ack', roomId: 'r_ab-1', upTo: 9 })).toEqual({ type: 'ack', roomId: 'r_ab-1', upTo: 9 });
    expect(parseFrame({ type: 'ping' })).toEqual({ type: 'ping' });
    for (const bad of [
      null,
      [],
      'call',
      { type: 'nope' },
      { type: 'ping', extra: 1 },
      { type: 'call', id: -1, op: 'x' },
      { type: 'call', id: 1.5, op: 'x' },
      { type: 'call', id: '1', op: 'x' },
      { type: 'call', id: 1, op: 'x'.repeat(101) },
      { type: 'call', id: 1, op: 'x', admin: true },
      { type: 'ack', roomId: '../etc', upTo: 1 },
      { type: 'ack', roomId: 'r', upTo: 0 },
      { type: 'ack', roomId: 'r', upTo: 1, ids: [1] },
      JSON.parse('{"type":"ping","__proto__":{"x":1}}'),
    ])
      expect(typeof parseFrame(bad)).toBe('string');
  });
});

describe('fastPost', () => {
  const inputs: unknown[] = [
    { roomId: 'r_1', text: 'hi' },
    { roomId: 'r_1', text: 'hi', act: 'request' },
    { roomId: 'r_1', text: 'x'.repeat(10_000) },
    { roomId: 'r_1', text: 'x'.repeat(10_001) },
    { roomId: 'r_1', text: '' },
    { roomId: '../etc', text: 'hi' },
    { roomId: 'r'.repeat(65), text: 'hi' },
    { roomId: 'r_1', text: 'hi', act: 'shout' },
    { roomId: 'r_1', text: 'hi', weight: 3 },
    { roomId: 'r_1', text: 'hi', channel: 'dev' },
    { roomId: 'r_1', text: 'hi', sig: 'abc', nonce: 'n1234567', ts: 1 },
    { roomId: 'r_1', text: 7 },
    { roomId: 'r_1' },
    [],
    null,
  ];
  it('agrees with postSchema wherever it answers, and leaves every other input to the schema', () => {
    let answered = 0;
    for (const input of inputs) {
      const quick = fastPost(input);
      const full = postSchema.safeParse(input);
      if (quick === undefined) continue;
      answered++;
      expect(full.success).toBe(true);
      expect(quick).toEqual(full.data);
    }
    expect(answered).toBe(3); // the plain {roomId, text, act?} posts
    expect(fastPost({ roomId: 'r_1', text: 'hi', channel: 'dev' })).toBeUndefined();
  });
});

describe('the wire', () => {
  it('audits a malformed frame, and a post is answered with the very message the others receive', async () => {
    const rig = await startRig({ realClock: true });
    try {
      const room = rig.rooms.createRoom({ name: 'Wire' });
      const tokens = [0, 1].map((i) => rig.bridge.tokens.create({ name: `a${i}`, scopes: ['rooms:read', 'rooms:write'] }).token);
      const open = (token: string): Promise<{ ws: WebSocket; frames: unknown[] }> =>
        new Promise((resolve, reject) => {
          const ws = new WebSocket(`${rig.url}/ws`, AGENT_WS_PROTOCOL, { headers: { Authorization: `Bearer ${token}` } });
          const frames: unknown[] = [];
          ws.on('message', (d) => {
            const f = JSON.parse(d.toString()) as { type: string; frames?: unknown[] };
            frames.push(...(f.type === 'batch' ? f.frames! : [f]));
            if (f.type === 'welcome') resolve({ ws, frames });
          });
          ws.once('error', reject);
        });
      const until = async (ok: () => boolean): Promise<void> => {
        for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
        expect(ok()).toBe(true);
      };
      const a = await open(tokens[0]!);
      const b = await open(tokens[1]!);
      b.ws.send(JSON.stringify({ type: 'call', id: 1, op: 'rooms.subscribe', input: { roomId: room.id } }));
      await until(() => b.frames.some((f) => (f as { id?: number }).id === 1));
      a.ws.send('{"type":"call","id":7,"op":"rooms.post","input":{"roomId":"' + room.id + '","text":"same bytes"},"sudo":true}');
      // The call's id can be read: the refusal is that call's result, so the caller is not left waiting.
      await until(() => a.frames.some((f) => (f as { id?: number; ok?: boolean }).id === 7 && (f as { ok?: boolean }).ok === false));
      expect(refusals(rig).map((r) => r.reason)).toContain('malformed frame');
      a.ws.send(JSON.stringify({ type: 'call', id: 8, op: 'rooms.post', input: { roomId: room.id, text: 'same bytes' } }));
      await until(() => b.frames.some((f) => (f as { type: string }).type === 'message'));
      await until(() => a.frames.some((f) => (f as { id?: number }).id === 8));
      const result = a.frames.find((f) => (f as { id?: number }).id === 8) as { ok: boolean; value: { id: number } };
      const delivered = (b.frames.find((f) => (f as { type: string }).type === 'message') as { message: unknown }).message;
      expect(result.ok).toBe(true);
      expect(result.value).toEqual(delivered);
      expect(rig.rooms.getMessage(result.value.id)).toMatchObject({ text: 'same bytes', mentions: [], attachments: [] });
      a.ws.close();
      b.ws.close();
    } finally {
      await rig.stop();
    }
  });
});
