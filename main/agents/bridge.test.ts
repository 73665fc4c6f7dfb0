import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Message } from '../../preload/contract';
import { BridgeCallError, connectBridge, httpCall, signingInput, type BridgeClient } from './index';
import { refusals, startRig, type Rig } from './testkit';

let rig: Rig;
const clients: BridgeClient[] = [];
const connect = async (token: string): Promise<BridgeClient> => {
  const c = await connectBridge({ url: rig.url, token });
  clients.push(c);
  return c;
};
const issue = (scopes: ('rooms:read' | 'rooms:write' | 'fleet:read' | 'actions:propose')[] = ['rooms:read', 'rooms:write', 'actions:propose'], extra = {}) =>
  rig.bridge.tokens.create({ name: `agent-${crypto.randomBytes(2).toString('hex')}`, scopes, ratePerMinute: 100_000, burst: 10_000, ...extra });
const until = async (cond: () => boolean, ms = 3000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
};

beforeEach(async () => {
  rig = await startRig();
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  await rig.stop();
});

describe('authentication and refusals', () => {
  it('refuses missing, malformed, wrong, expired and revoked tokens on the socket and over HTTP, and audits each', async () => {
    const good = issue();
    const expiring = rig.bridge.tokens.create({ name: 'short', scopes: ['rooms:read'], expiresInDays: 1 });
    const revoked = issue();
    rig.bridge.handlers['agents.tokens.revoke']!({ id: revoked.info.id }, { transport: 'internal', peer: 't' });
    rig.clock.t += 2 * 86_400_000;
    const wrong = good.token.slice(0, -4) + (good.token.endsWith('AAAA') ? 'BBBB' : 'AAAA');

    for (const t of ['', 'hello', wrong, expiring.token, revoked.token]) {
      await expect(connectBridge({ url: rig.url, token: t })).rejects.toMatchObject({ code: 'unauthorized' });
      await expect(httpCall(rig.url, t, 'rooms.list', {})).rejects.toMatchObject({ code: 'unauthorized' });
    }
    expect(refusals(rig).map((r) => r.reason)).toEqual(
      ['missing token', 'missing token', 'malformed token', 'malformed token', 'wrong token', 'wrong token', 'expired token', 'expired token', 'revoked token', 'revoked token'],
    );
    // The good one still works on both doors.
    const c = await connect(good.token);
    expect(c.welcome.tokenId).toBe(good.info.id);
    expect(await httpCall(rig.url, good.token, 'rooms.list', {})).toEqual({ rooms: [] });
  });

  it('revoking a token closes its open connections', async () => {
    const t = issue();
    const c = await connect(t.token);
    rig.bridge.handlers['agents.tokens.revoke']!({ id: t.info.id }, { transport: 'internal', peer: 't' });
    await new Promise((r) => setTimeout(r, 100));
    await expect(c.call('rooms.list')).rejects.toBeInstanceOf(BridgeCallError);
    await expect(connectBridge({ url: rig.url, token: t.token })).rejects.toMatchObject({ code: 'unauthorized' });
  });

  it('refuses an acknowledgement for messages the connection was never sent', async () => {
    const room = rig.rooms.createRoom({ name: 'Acks' });
    const poster = await connect(issue().token);
    const cheat = await connect(issue().token);
    await cheat.subscribe(room.id);
    const m = await poster.call<Message>('rooms.post', { roomId: room.id, text: 'one' });
    await until(() => rig.rooms.deliveries(m.id).length === 1);
    cheat.ack({ roomId: room.id, id: m.id + 1000 });
    await until(() => refusals(rig).some((r) => r.reason === 'invalid ack'));
    await new Promise((r) => setTimeout(r, 20)); // a flush would have run by now
    const mark = rig.db.prepare('SELECT delivered_upto FROM room_deliveries WHERE member_id = ?').get(cheat.welcome.memberId) as { delivered_upto: number };
    expect(mark.delivered_upto).toBe(m.id);
  });

  it('enforces scopes, validates input at the edge (10,000 characters) and audits refusals', async () => {
    const room = rig.rooms.createRoom({ name: 'Ops' });
    const reader = await connect(issue(['rooms:read']).token);
    await expect(reader.call('rooms.post', { roomId: room.id, text: 'hi' })).rejects.toMatchObject({ code: 'forbidden' });
    await expect(reader.call('rooms.propose', { roomId: room.id, title: 't', subject: 's', outcome: 'o' })).rejects.toMatchObject({ code: 'forbidden' });
    await expect(reader.call('fleet.status', {})).rejects.toMatchObject({ code: 'forbidden' });
    const writer = await connect(issue().token);
    await expect(writer.call('rooms.post', { roomId: room.id, text: 'x'.repeat(10_001) })).rejects.toMatchObject({ code: 'invalid_input' });
    expect(await writer.call<Message>('rooms.post', { roomId: room.id, text: 'x'.repeat(10_000) })).toMatchObject({ author: { kind: 'agent' } });
    await expect(writer.call('rooms.post', { roomId: '../etc', text: 'x' })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(writer.call('rooms.vote', { proposalId: 1, choice: 'yes', weight: 100 })).rejects.toThrow(/weight/);
    await expect(writer.call('nope.op', {})).rejects.toMatchObject({ code: 'unknown_method' });
    const reasons = refusals(rig).map((r) => r.reason);
    expect(reasons.filter((r) => r === 'scope')).toHaveLength(3);
    expect(reasons.filter((r) => r === 'invalid input')).toHaveLength(3);
    expect(reasons).toContain('unknown op');
  });

  it('rate-limits per token with a token bucket, whatever the client sends', async () => {
    rig.rooms.createRoom({ name: 'Ops' });
    const limited = rig.bridge.tokens.create({ name: 'slow', scopes: ['rooms:read'], ratePerMinute: 60, burst: 3 });
    const other = issue(['rooms:read']);
    const a = await connect(limited.token);
    const a2 = await connect(limited.token); // a second socket shares the same bucket
    await a.call('rooms.list');
    await a2.call('rooms.list');
    await httpCall(rig.url, limited.token, 'rooms.list', {});
    await expect(a.call('rooms.list')).rejects.toMatchObject({ code: 'rate_limited' });
    await expect(httpCall(rig.url, limited.token, 'rooms.list', {})).rejects.toMatchObject({ code: 'rate_limited' });
    expect(await httpCall(rig.url, other.token, 'rooms.list', {})).toBeTruthy();
    rig.clock.t += 1000; // 60 a minute: one more call a second
    await a2.call('rooms.list');
    await expect(a2.call('rooms.list')).rejects.toMatchObject({ code: 'rate_limited' });
    expect(refusals(rig).filter((r) => r.reason === 'rate limited' && r.source === `agent:${limited.info.id}`)).toHaveLength(3);
  });
});

describe('messages, delivery and resume', () => {
  it('delivers to the other members, records acknowledgements, and a reconnect resumes without loss', async () => {
    const room = rig.rooms.createRoom({ name: 'Team' });
    const alice = await connect(issue().token);
    const bob = await connect(issue().token);
    const got: Message[] = [];
    bob.onMessage((m) => got.push(m));
    await alice.subscribe(room.id);
    await bob.subscribe(room.id);
    const first = await alice.call<Message>('rooms.post', { roomId: room.id, text: 'hello @bob', act: 'request' });
    expect(rig.rooms.getMessage(first.id)!.text).toBe('hello @bob'); // acknowledged = committed
    await until(() => got.length === 1);
    await until(() => rig.rooms.deliveries(first.id).length === 1);
    expect(rig.rooms.deliveries(first.id)[0]!.memberId).toBe(bob.welcome.memberId);

    bob.terminate(); // a crash: no goodbye
    const sent = await Promise.all(Array.from({ length: 40 }, (_, i) => alice.call<Message>('rooms.post', { roomId: room.id, text: `m${i}` })));
    await bob.reconnect();
    await until(() => got.length === 41);
    expect(got.map((m) => m.id)).toEqual([first.id, ...sent.map((m) => m.id)]);
    expect(new Set(got.map((m) => m.id)).size).toBe(41);
    // and live delivery carries on after the resume
    const after = await alice.call<Message>('rooms.post', { roomId: room.id, text: 'after' });
    await until(() => got.length === 42);
    expect(got.at(-1)!.id).toBe(after.id);
    await until(() => rig.rooms.deliveries(after.id).length === 1);
  });

  it('wait blocks until another member posts', async () => {
    const room = rig.rooms.createRoom({ name: 'Team' });
    const t = issue();
    const a = await connect(t.token);
    const b = await connect(issue().token);
    const mine = await a.call<Message>('rooms.post', { roomId: room.id, text: 'mine' });
    const waiting = httpCall<{ messages: Message[] }>(rig.url, t.token, 'rooms.wait', { roomId: room.id, after: mine.id, timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 30));
    await b.call('rooms.post', { roomId: room.id, text: 'yours' });
    expect((await waiting).messages.map((m) => m.text)).toEqual(['yours']);
    expect((await a.call<{ messages: Message[] }>('rooms.wait', { roomId: room.id, after: 1e9, timeoutMs: 10 })).messages).toEqual([]);
  });

  it('verifies Ed25519-signed messages against the key registered with the token', async () => {
    const room = rig.rooms.createRoom({ name: 'Signed' });
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
    const t = issue();
    const c = await connect(t.token);
    await expect(c.call('rooms.post', { roomId: room.id, text: 'x', sig: 'AAAA' })).rejects.toMatchObject({ code: 'invalid_input' });
    await c.call('agent.registerKey', { publicKey: raw });
    let n = 0;
    const signed = (text: string, ts = rig.clock.t, nonce = `nonce-${n++}-abcdef`) => ({
      roomId: room.id,
      text,
      ts,
      nonce,
      sig: crypto.sign(null, signingInput({ tokenId: t.info.id, roomId: room.id, act: 'inform', ts, nonce, text }), privateKey).toString('base64'),
    });
    const first = signed('signed');
    const m = await c.call<Message>('rooms.post', first);
    expect(m).toMatchObject({ signed: true, verified: true });
    await expect(c.call('rooms.post', { ...signed('signed'), text: 'tampered' })).rejects.toMatchObject({ code: 'unauthorized' });
    // With a key registered, an unsigned message from this token is refused: it could be anyone holding the token.
    await expect(c.call('rooms.post', { roomId: room.id, text: 'plain' })).rejects.toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/must be signed/) });
    expect(refusals(rig).some((r) => r.reason === 'bad signature')).toBe(true);
    // Replay protection: the very same signed frame again, on another socket too, is refused...
    await expect(c.call('rooms.post', first)).rejects.toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/nonce/) });
    const c2 = await connect(t.token);
    await expect(c2.call('rooms.post', first)).rejects.toMatchObject({ code: 'unauthorized' });
    // ...and so is a signature without nonce/ts, one from too long ago, or one from the future.
    const { nonce: _n, ts: _t, ...bare } = signed('bare');
    await expect(c.call('rooms.post', bare)).rejects.toMatchObject({ code: 'invalid_input' });
    rig.clock.t += 200_000;
    await expect(c.call('rooms.post', signed('old', rig.clock.t - 150_000))).rejects.toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/too old/) });
    await expect(c.call('rooms.post', signed('ahead', rig.clock.t + 60_000))).rejects.toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/future/) });
    expect(await c.call<Message>('rooms.post', signed('fresh'))).toMatchObject({ verified: true });
    expect(refusals(rig).filter((r) => r.reason.startsWith('signature ')).map((r) => r.reason)).toEqual(['signature replayed', 'signature replayed', 'signature stale', 'signature future']);
    const texts = rig.rooms.listMessages({ roomId: room.id, limit: 50 }).messages.map((x) => x.text);
    expect(texts).toEqual(['signed', 'fresh']);
    expect(refusals(rig).filter((r) => r.reason === 'unsigned')).toHaveLength(1);
  });

  it('refuses a signed message replayed after a restart (signed before the app started)', async () => {
    const room = rig.rooms.createRoom({ name: 'Signed' });
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
    const t = issue(undefined, { publicKey: publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64') });
    const ts = rig.clock.t;
    const frame = { roomId: room.id, text: 'once', ts, nonce: 'restart-nonce-1', sig: '' };
    frame.sig = crypto.sign(null, signingInput({ tokenId: t.info.id, roomId: room.id, act: 'inform', ts, nonce: frame.nonce, text: 'once' }), privateKey).toString('base64');
    expect(await httpCall<Message>(rig.url, t.token, 'rooms.post', frame)).toMatchObject({ verified: true });
    const dir = rig.dir;
    await rig.stop(false);
    rig = await startRig({ dir, clockStart: ts + 30_000 }); // well inside the window, but a new process
    await expect(httpCall(rig.url, t.token, 'rooms.post', frame)).rejects.toMatchObject({ code: 'unauthorized' });
    expect(rig.rooms.listMessages({ roomId: room.id, limit: 10 }).messages.map((m) => m.text)).toEqual(['once']);
  });

  it('refuses a signed message replayed right after a restart (the nonce is kept on disk)', async () => {
    const room = rig.rooms.createRoom({ name: 'Signed' });
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
    const t = issue(undefined, { publicKey: publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64') });
    const ts = rig.clock.t;
    const frame = { roomId: room.id, text: 'once', ts, nonce: 'restart-nonce-2', sig: '' };
    frame.sig = crypto.sign(null, signingInput({ tokenId: t.info.id, roomId: room.id, act: 'inform', ts, nonce: frame.nonce, text: 'once' }), privateKey).toString('base64');
    expect(await httpCall<Message>(rig.url, t.token, 'rooms.post', frame)).toMatchObject({ verified: true });
    const dir = rig.dir;
    await rig.stop(false);
    rig = await startRig({ dir, clockStart: ts + 1000 }); // restarted a second later: the signature's time still passes
    await expect(httpCall(rig.url, t.token, 'rooms.post', frame)).rejects.toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/already received/) });
    expect(rig.rooms.listMessages({ roomId: room.id, limit: 10 }).messages.map((m) => m.text)).toEqual(['once']);
    // The nonce is on disk once (swept when its time can no longer pass).
    expect(rig.db.prepare('SELECT count(*) AS n FROM agent_nonces').get()).toEqual({ n: 1 });
  });

  it('a read-only token cannot register a signing key', async () => {
    const reader = await connect(issue(['rooms:read']).token);
    const raw = crypto.generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
    await expect(reader.call('agent.registerKey', { publicKey: raw })).rejects.toMatchObject({ code: 'forbidden' });
    expect(rig.bridge.tokens.list().find((x) => x.id === reader.welcome.tokenId)!.hasPublicKey).toBe(false);
  });

  it('answers 429 with Retry-After, and a malformed call frame with a result carrying its id', async () => {
    const t = rig.bridge.tokens.create({ name: 'slow', scopes: ['rooms:read'], ratePerMinute: 6, burst: 1 });
    const http = rig.url.replace(/^ws:/, 'http:');
    const post = () => fetch(`${http}/api/rooms.list`, { method: 'POST', headers: { Authorization: `Bearer ${t.token}`, 'Content-Type': 'application/json' }, body: '{}' });
    expect((await post()).status).toBe(200);
    const limited = await post();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('10'); // 6 a minute: the next call in 10 s

    const { WebSocket } = await import('ws');
    const ws = new WebSocket(`${rig.url}/ws`, 'omnisight.agent.v1', { headers: { Authorization: `Bearer ${issue().token}` } });
    const frames: Record<string, unknown>[] = [];
    ws.on('message', (d) => frames.push(JSON.parse(String(d)) as Record<string, unknown>));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'call', id: 17, op: 'rooms.list', input: {}, extra: 1 }));
    ws.send(JSON.stringify({ type: 'nope' }));
    await until(() => frames.length >= 3);
    ws.close();
    expect(frames[1]).toEqual({ type: 'result', id: 17, ok: false, error: { code: 'invalid_input', message: expect.stringMatching(/^Malformed frame \(unknown field "extra"/) } });
    expect(frames[2]).toMatchObject({ type: 'error', message: expect.stringMatching(/^Malformed frame/) });
  });

  it('votes through the bridge use the owner-set weight; propose_deploy only proposes', async () => {
    const room = rig.rooms.createRoom({ name: 'Vote', defaultRule: 'weighted' });
    const a = await connect(issue().token);
    const p = await a.call<{ id: number }>('deploy.propose', { roomId: room.id, build: 'omnisight-1.2.0.eap', cameraIds: ['cam-1'], reason: 'fixes fps' });
    // The agent joined without a vote; the owner gives it one with a weight.
    await expect(a.call('rooms.vote', { proposalId: p.id, choice: 'yes' })).rejects.toMatchObject({ code: 'forbidden', message: expect.stringMatching(/without a vote/) });
    rig.rooms.updateMember({ roomId: room.id, memberId: a.welcome.memberId, weight: 3, canVote: true, by: 'user' });
    const voted = await a.call<{ status: string; votes: { weight: number }[]; kind: string; needsApproval: boolean }>('rooms.vote', { proposalId: p.id, choice: 'yes' });
    // 3 of 4 meets the weighted rule, but a deploy also needs the owner's yes.
    expect(voted).toMatchObject({ status: 'open', kind: 'deploy', needsApproval: true });
    expect(voted.votes[0]!.weight).toBe(3);
    expect(rig.rooms.vote({ proposalId: p.id, voter: 'user', choice: 'yes' })).toMatchObject({ status: 'passed', approvedBy: 'user' });
    expect(await a.call('fleet.status', {}).catch((e: BridgeCallError) => e.code)).toBe('forbidden');
    const f = await connect(issue(['fleet:read']).token);
    expect(await f.call('fleet.status', {})).toMatchObject({ available: false });
  });

  it('tracks presence: online on connect, idle after a quiet spell, offline on disconnect', async () => {
    await rig.stop();
    rig = await startRig({ idleMs: 1000 });
    const c = await connect(issue().token);
    const id = c.welcome.memberId;
    expect(rig.rooms.presenceOf(id)).toBe('online');
    rig.clock.t += 1500;
    await until(() => rig.rooms.presenceOf(id) === 'idle', 2000);
    await c.call('rooms.list');
    expect(rig.rooms.presenceOf(id)).toBe('online');
    expect(rig.bridge.handlers['agents.connected']!({}, { transport: 'internal', peer: 't' })).toMatchObject({ agents: [{ tokenId: c.welcome.tokenId }] });
    await c.close();
    await until(() => rig.rooms.presenceOf(id) === 'offline');
  });

  it('writes bridge.json (0600) and keeps tokens and messages across a restart', async () => {
    const file = path.join(rig.dir, 'bridge.json');
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ port: Number(rig.url.split(':').at(-1)), pid: process.pid });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const room = rig.rooms.createRoom({ name: 'Keep' });
    const t = issue();
    const m = await httpCall<Message>(rig.url, t.token, 'rooms.post', { roomId: room.id, text: 'kept' });
    const dir = rig.dir;
    await rig.stop(false);
    expect(fs.existsSync(file)).toBe(false);
    rig = await startRig({ dir });
    const again = await httpCall<{ messages: Message[] }>(rig.url, t.token, 'rooms.read', { roomId: room.id });
    expect(again.messages.map((x) => x.id)).toEqual([m.id]);
  });
});
