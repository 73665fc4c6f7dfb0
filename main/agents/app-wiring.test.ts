// Through the real composition root: the contract methods, the bridge starting with the app, and a
// vote between two agents and the user that survives a restart.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../app/testkit';
import { connectBridge } from './index';

const ctx = { transport: 'internal' as const, peer: 'test' };
let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  if (app) fs.rmSync(app.dataDir, { recursive: true, force: true });
  app = undefined;
});

const call = async <T>(a: TestApp, method: string, input: unknown): Promise<T> => {
  const r = await a.dispatcher.dispatch(method, input, ctx);
  if (!r.ok) throw new Error(`${method}: ${r.error.message}`);
  return r.value as T;
};

describe('rooms and agents in the app', () => {
  it('starts the bridge with the app; two agents and the user hold a vote; all of it is there after a restart', async () => {
    app = createTestApp();
    const port = await app.agents.start();
    expect(JSON.parse(fs.readFileSync(path.join(app.dataDir, 'bridge.json'), 'utf8'))).toMatchObject({ port, pid: process.pid });

    const room = await call<{ id: string }>(app, 'rooms.create', { name: 'Release', defaultRule: 'majority' });
    const t1 = await call<{ token: string }>(app, 'agents.tokens.create', { name: 'coder-1', scopes: ['rooms:read', 'rooms:write', 'actions:propose'] });
    const t2 = await call<{ token: string }>(app, 'agents.tokens.create', { name: 'reviewer-1', scopes: ['rooms:read', 'rooms:write'], roles: ['reviewer'] });
    const url = `ws://127.0.0.1:${port}`;
    const a1 = await connectBridge({ url, token: t1.token });
    const a2 = await connectBridge({ url, token: t2.token });
    const p = await a1.call<{ id: number }>('rooms.propose', { roomId: room.id, title: 'Ship 1.2', subject: 'release', outcome: 'ship 1.2 on Friday' });
    // Agents join without a vote; the owner gives reviewer-1 one.
    await expect(a2.call('rooms.vote', { proposalId: p.id, choice: 'yes' })).rejects.toMatchObject({ code: 'forbidden' });
    await call(app, 'rooms.updateMember', { roomId: room.id, memberId: a2.welcome.memberId, canVote: true });
    await a2.call('rooms.vote', { proposalId: p.id, choice: 'yes' });
    // the user, as owner, through the contract; a weight field is refused at the edge
    const refused = await app.dispatcher.dispatch('rooms.vote', { proposalId: p.id, choice: 'yes', weight: 9 }, ctx);
    expect(refused.ok).toBe(false);
    expect((await call<{ status: string }>(app, 'rooms.vote', { proposalId: p.id, choice: 'yes' })).status).toBe('passed'); // 2 of 2 (coder-1 has no vote)
    expect((await call<{ agents: unknown[] }>(app, 'agents.connected', {})).agents).toHaveLength(2);
    await a1.close();
    await a2.close();
    await call(app, 'rooms.post', { roomId: room.id, text: 'thanks all', act: 'inform' });

    const dataDir = app.dataDir;
    await app.close();
    expect(fs.existsSync(path.join(dataDir, 'bridge.json'))).toBe(false);
    app = createTestApp({ dataDir });
    await app.agents.start();
    const got = await call<{ room: { name: string }; members: unknown[] }>(app, 'rooms.get', { roomId: room.id });
    expect(got.room.name).toBe('Release');
    expect(got.members).toHaveLength(3);
    const [proposal] = (await call<{ proposals: { status: string; votes: unknown[] }[] }>(app, 'rooms.proposals', { roomId: room.id })).proposals;
    expect(proposal).toMatchObject({ status: 'passed' });
    expect(proposal!.votes).toHaveLength(2);
    const { decisions } = await call<{ decisions: { outcome: string }[] }>(app, 'rooms.decisions', { roomId: room.id });
    expect(decisions.map((d) => d.outcome)).toEqual(['ship 1.2 on Friday']);
    const { rooms } = await call<{ rooms: { id: string; unread: number }[] }>(app, 'rooms.list', {});
    expect(rooms.find((r) => r.id === room.id)!.unread).toBe(1); // the proposal message; the user's own post does not count
    const hits = await call<{ hits: { kind: string }[] }>(app, 'rooms.search', { query: 'friday' });
    expect(hits.hits.map((h) => h.kind).sort()).toEqual(['decision', 'message']);
    // tokens too: the same token still connects after the restart
    const again = await connectBridge({ url: `ws://127.0.0.1:${app.agents.port()}`, token: t1.token });
    await again.close();
  });

  it('uploads and downloads files through the contract within the limits', async () => {
    app = createTestApp();
    const room = await call<{ id: string }>(app, 'rooms.create', { name: 'Files', maxFileBytes: 16 });
    const f = await call<{ id: string; name: string }>(app, 'rooms.files.upload', { roomId: room.id, name: 'a/b/notes.txt', dataBase64: Buffer.from('hello').toString('base64') });
    expect(f.name).toBe('notes.txt');
    const back = await call<{ dataBase64: string }>(app, 'rooms.files.download', { fileId: f.id });
    expect(Buffer.from(back.dataBase64, 'base64').toString()).toBe('hello');
    const big = await app.dispatcher.dispatch('rooms.files.upload', { roomId: room.id, name: 'big', dataBase64: Buffer.alloc(17).toString('base64') }, ctx);
    expect(big).toMatchObject({ ok: false, error: { code: 'too_large' } });
  });
});
