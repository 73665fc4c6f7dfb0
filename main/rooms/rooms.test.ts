import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Author } from '../../preload/contract';
import { createEventBus, type AnyEvent } from '../kernel/bus';
import { AppError } from '../kernel/errors';
import { openDatabase, type Db } from '../store';
import { createRoomsService, normaliseSubject, sanitiseFileName, type RoomsService } from './index';
import { judge } from './service';

const alice: Author = { kind: 'agent', id: 'agent:alice', name: 'Alice' };
const bob: Author = { kind: 'agent', id: 'agent:bob', name: 'Bob' };
const carol: Author = { kind: 'human', id: 'carol', name: 'Carol' };

let dir: string;
let db: Db;
let clock: number;
let events: AnyEvent[];
let timers: { fn: () => void; at: number }[];
let rooms: RoomsService;

const seeded = (): ((n: number) => Buffer) => {
  let i = 0;
  return (n) => crypto.createHash('sha256').update(`seed-${i++}`).digest().subarray(0, n);
};

const open = (): RoomsService => {
  db = openDatabase({ dir, now: () => clock }).db;
  const bus = createEventBus();
  bus.subscribeAll((e) => events.push(e));
  return createRoomsService({
    db,
    bus,
    now: () => clock,
    dataDir: dir,
    randomBytes: seeded(),
    schedule: (fn, ms) => {
      const t = { fn, at: clock + ms };
      timers.push(t);
      return () => (timers = timers.filter((x) => x !== t));
    },
  });
};

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rooms-'));
  clock = 1_700_000_000_000;
  events = [];
  timers = [];
  rooms = open();
});
afterEach(() => {
  rooms.close();
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const team = (rule?: 'majority' | 'two-thirds' | 'unanimous' | 'weighted', vetoRoles?: string[]) => {
  const room = rooms.createRoom({ name: 'Design', roles: ['architect'], vetoRoles, defaultRule: rule });
  // Alice and Bob are agents: they vote because the owner gives them a vote.
  rooms.addMember({ roomId: room.id, member: alice, roles: ['coder'], canVote: true });
  rooms.addMember({ roomId: room.id, member: bob, roles: ['reviewer', 'architect'], canVote: true });
  rooms.addMember({ roomId: room.id, member: carol, roles: ['tester'] });
  return room; // 4 voters: the owner ("user", coordinator), alice, bob, carol
};

const propose = (roomId: string, extra: Partial<Parameters<RoomsService['propose']>[0]> = {}) =>
  rooms.propose({ roomId, by: alice, title: 'Pick a database', subject: 'Database', outcome: 'use SQLite', ...extra });

describe('rooms, members, messages', () => {
  it('creates rooms, adds members with built-in and custom roles, refuses unknown roles', () => {
    const room = team();
    expect(rooms.listMembers(room.id).map((m) => [m.id, m.roles])).toEqual([
      ['user', ['coordinator']],
      ['agent:alice', ['coder']],
      ['agent:bob', ['reviewer', 'architect']],
      ['carol', ['tester']],
    ]);
    expect(() => rooms.addMember({ roomId: room.id, member: { kind: 'agent', id: 'x', name: 'X' }, roles: ['wizard'] })).toThrow(/Unknown role "wizard"/);
    expect(() => rooms.addMember({ roomId: room.id, member: alice, roles: [] })).toThrow(/already a member/);
    expect(() => rooms.getRoom('nope')).toThrow(AppError);
  });

  it('posts with speech acts, threads, mentions and attachments; pages both ways; counts unread', () => {
    const room = team();
    const a = rooms.postMessage({ roomId: room.id, author: alice, text: 'Can @Bob review the parser?', act: 'request' });
    const b = rooms.postMessage({ roomId: room.id, author: bob, text: 'On it', act: 'accept', replyTo: a.id });
    const f = rooms.uploadFile({ roomId: room.id, name: 'notes.txt', data: Buffer.from('hi'), by: bob.id });
    rooms.postMessage({ roomId: room.id, author: bob, text: 'notes attached', attachments: [f.id] });
    expect(a.mentions).toEqual(['bob']);
    expect(b.replyTo).toBe(a.id);
    expect(() => rooms.postMessage({ roomId: room.id, author: bob, text: 'x', attachments: ['f_0000000000000000'] })).toThrow(/upload it/);
    const other = rooms.createRoom({ name: 'Other' });
    expect(() => rooms.postMessage({ roomId: other.id, author: bob, text: 'x', replyTo: a.id })).toThrow(/not in "Other"/);

    const thread = rooms.listMessages({ roomId: room.id, thread: a.id, limit: 10 });
    expect(thread.messages.map((m) => m.id)).toEqual([a.id, b.id]);
    expect(thread.messages[0]!.replies).toBe(1);
    const after = rooms.listMessages({ roomId: room.id, after: a.id, limit: 1 });
    expect(after.messages.map((m) => m.id)).toEqual([b.id]);
    expect(after.hasMore).toBe(true);
    const latest = rooms.listMessages({ roomId: room.id, limit: 2 });
    expect(latest.messages.map((m) => m.text)).toEqual(['On it', 'notes attached']);
    expect(rooms.listMessages({ roomId: room.id, before: b.id, limit: 5 }).messages.map((m) => m.id)).toEqual([a.id]);

    expect(rooms.listRooms('user').find((r) => r.id === room.id)!.unread).toBe(3);
    expect(rooms.markRead(room.id, 'user', b.id)).toBe(1);
    expect(rooms.listRooms('agent:bob').find((r) => r.id === room.id)!.unread).toBe(1); // only alice's
    expect(events.filter((e) => e.topic === 'rooms.message')).toHaveLength(3);
  });

  it('group-commits many messages; a bad one fails alone', () => {
    const room = team();
    const res = rooms.postMany([
      { roomId: room.id, author: alice, text: 'one' },
      { roomId: 'missing', author: alice, text: 'two' },
      { roomId: room.id, author: bob, text: 'three' },
    ]);
    expect(res.map((r) => r.ok)).toEqual([true, false, true]);
    expect(rooms.listMessages({ roomId: room.id, limit: 10 }).messages.map((m) => m.text)).toEqual(['one', 'three']);
  });

  it('wakes a waiter when a message arrives and times out otherwise', async () => {
    const room = team();
    const first = rooms.postMessage({ roomId: room.id, author: alice, text: 'before' });
    const waiting = rooms.waitForMessages({ roomId: room.id, after: first.id, timeoutMs: 2000, excludeAuthor: bob.id });
    rooms.postMessage({ roomId: room.id, author: bob, text: 'mine, skipped' });
    rooms.postMessage({ roomId: room.id, author: alice, text: 'for you' });
    expect((await waiting).map((m) => m.text)).toEqual(['for you']);
    expect(await rooms.waitForMessages({ roomId: room.id, after: 1e9, timeoutMs: 20 })).toEqual([]);
  });

  it('keeps a shared task list', () => {
    const room = team();
    const t = rooms.createTask({ roomId: room.id, title: 'Write tests', by: alice.id });
    expect(rooms.updateTask({ taskId: t.id, assignee: bob.id, progress: 40, by: alice.id })).toMatchObject({ assignee: bob.id, progress: 40, done: false });
    expect(rooms.updateTask({ taskId: t.id, done: true, by: bob.id })).toMatchObject({ progress: 100, done: true });
    expect(rooms.listTasks(room.id)).toHaveLength(1);
  });
});

describe('votes and decisions', () => {
  it('judges each quorum rule', () => {
    const t = (yes: number, no: number, abstain: number, eligible: number, voters = yes + no + abstain) => ({ yes, no, abstain, eligible, voters });
    expect(judge('majority', t(2, 0, 0, 4), false)).toBeNull(); // 2 of 4 is not more than half
    expect(judge('majority', t(3, 0, 0, 4), false)?.status).toBe('passed');
    expect(judge('majority', t(0, 2, 0, 4), false)?.status).toBe('rejected');
    // A deadline never turns silence into consent: what has not passed by then expires.
    expect(judge('majority', t(1, 0, 1, 4), true)?.status).toBe('expired');
    expect(judge('majority', t(1, 0, 0, 4), true)?.status).toBe('expired');
    expect(judge('majority', t(1, 1, 0, 4), true)?.status).toBe('expired');
    expect(judge('majority', t(0, 0, 2, 4), true)?.status).toBe('expired');
    expect(judge('majority', t(3, 0, 0, 4), true)?.status).toBe('passed');
    expect(judge('two-thirds', t(2, 0, 0, 3), false)?.status).toBe('passed');
    expect(judge('two-thirds', t(2, 0, 0, 4), false)).toBeNull();
    expect(judge('two-thirds', t(0, 2, 0, 4), false)?.status).toBe('rejected');
    expect(judge('two-thirds', t(2, 1, 0, 6), true)?.status).toBe('expired');
    expect(judge('two-thirds', t(2, 0, 0, 6), true)?.status).toBe('expired');
    expect(judge('two-thirds', t(4, 0, 0, 6), true)?.status).toBe('passed');
    expect(judge('unanimous', t(3, 0, 0, 4), false)).toBeNull();
    expect(judge('unanimous', t(3, 0, 1, 4), false)?.status).toBe('passed');
    expect(judge('unanimous', t(3, 1, 0, 4), false)?.status).toBe('rejected');
    expect(judge('unanimous', t(3, 0, 0, 4), true)?.status).toBe('expired');
    expect(judge('weighted', t(5, 1, 0, 8), false)?.status).toBe('passed');
    expect(judge('weighted', t(4, 1, 0, 8), false)).toBeNull();
    expect(judge('weighted', t(4, 1, 0, 8), true)?.status).toBe('expired');
  });

  it('majority passes once more than half said yes, and records a decision with its votes', () => {
    const room = team('majority');
    const p = propose(room.id);
    expect(rooms.vote({ proposalId: p.id, voter: alice.id, choice: 'yes' }).status).toBe('open');
    expect(rooms.vote({ proposalId: p.id, voter: bob.id, choice: 'yes' }).status).toBe('open');
    const done = rooms.vote({ proposalId: p.id, voter: 'user', choice: 'yes' });
    expect(done.status).toBe('passed');
    expect(() => rooms.vote({ proposalId: p.id, voter: carol.id, choice: 'no' })).toThrow(/already closed/);
    const [d] = rooms.listDecisions(room.id);
    expect(d).toMatchObject({ proposalId: p.id, subject: 'database', outcome: 'use SQLite', warning: null, contradicts: [] });
    expect(d!.votes.map((v) => v.memberId).sort()).toEqual(['agent:alice', 'agent:bob', 'user']);
    expect(events.some((e) => e.topic === 'rooms.decision')).toBe(true);
  });

  it('two-thirds and unanimous close as soon as the result is certain', () => {
    const room = team('two-thirds');
    const p = propose(room.id);
    rooms.vote({ proposalId: p.id, voter: alice.id, choice: 'no' });
    expect(rooms.vote({ proposalId: p.id, voter: bob.id, choice: 'no' }).status).toBe('rejected'); // 2 of 4 > a third
    const u = propose(room.id, { rule: 'unanimous', subject: 'editor' });
    for (const v of ['user', alice.id, bob.id]) rooms.vote({ proposalId: u.id, voter: v, choice: 'yes' });
    expect(rooms.getProposal(u.id).status).toBe('open');
    expect(rooms.vote({ proposalId: u.id, voter: carol.id, choice: 'abstain' }).status).toBe('passed');
  });

  it('weighted: only the owner sets weights, and the weight counted is the owner-set one', () => {
    const room = team('weighted');
    expect(() => rooms.updateMember({ roomId: room.id, memberId: alice.id, weight: 10, by: alice.id })).toThrow(/Only the room's owner/);
    rooms.updateMember({ roomId: room.id, memberId: bob.id, weight: 5, by: 'user' }); // total weight 1+1+5+1 = 8
    const p = propose(room.id);
    const afterAlice = rooms.vote({ proposalId: p.id, voter: alice.id, choice: 'yes' });
    expect(afterAlice.tally).toMatchObject({ yes: 1, eligible: 8 });
    expect(afterAlice.votes[0]!.weight).toBe(1);
    expect(rooms.vote({ proposalId: p.id, voter: bob.id, choice: 'yes' }).status).toBe('passed'); // 6 of 8
  });

  it('observers cannot vote; only a veto role can veto, and a veto closes the proposal', () => {
    const room = team('majority', ['architect']);
    rooms.addMember({ roomId: room.id, member: { kind: 'agent', id: 'agent:obs', name: 'Obs' }, roles: ['observer'], canVote: true });
    const p = propose(room.id);
    expect(() => rooms.vote({ proposalId: p.id, voter: 'agent:obs', choice: 'yes' })).toThrow(/observer/);
    expect(() => rooms.vote({ proposalId: p.id, voter: alice.id, choice: 'no', veto: true })).toThrow(/architect/);
    rooms.vote({ proposalId: p.id, voter: alice.id, choice: 'yes' });
    const vetoed = rooms.vote({ proposalId: p.id, voter: bob.id, choice: 'yes', veto: true });
    expect(vetoed).toMatchObject({ status: 'vetoed' });
    expect(vetoed.reason).toMatch(/Bob/);
    expect(rooms.listDecisions(room.id)).toHaveLength(0);
  });

  it('the deadline timer ends a vote; silence is not consent (1 yes of 4 expires)', () => {
    const room = team('majority');
    const p = propose(room.id, { deadlineMs: 60_000 });
    rooms.vote({ proposalId: p.id, voter: alice.id, choice: 'yes' });
    expect(timers.at(-1)!.at).toBe(p.createdAt + 60_000);
    clock += 59_000;
    expect(rooms.closeDueVotes()).toHaveLength(0);
    clock += 1_000;
    timers.at(-1)!.fn();
    expect(rooms.getProposal(p.id)).toMatchObject({ status: 'expired', closedAt: clock });
    expect(rooms.getProposal(p.id).reason).toMatch(/1 yes, 0 no of 4/);
    expect(rooms.listDecisions(room.id)).toHaveLength(0);
    const q = propose(room.id, { deadlineMs: 1000, subject: 'x' });
    clock += 1000;
    expect(() => rooms.vote({ proposalId: q.id, voter: alice.id, choice: 'yes' })).toThrow(/deadline/);
  });

  it('agents join without a vote until the owner gives one; only the owner gives or takes it', () => {
    const room = rooms.createRoom({ name: 'Votes' });
    const agent: Author = { kind: 'agent', id: 'agent:x', name: 'X' };
    const desk: Author = { kind: 'desktop', id: 'desktop:y', name: 'Y' };
    expect(rooms.ensureMember(room.id, agent, ['coder'])).toMatchObject({ roles: ['coder'], canVote: false });
    expect(rooms.ensureMember(room.id, desk, ['coder']).canVote).toBe(false);
    expect(rooms.ensureMember(room.id, carol, ['tester']).canVote).toBe(true);
    expect(rooms.addMember({ roomId: room.id, member: alice, roles: ['coder'] }).canVote).toBe(false);
    const p = propose(room.id);
    expect(p.tally.eligible).toBe(2); // the owner and Carol
    expect(() => rooms.vote({ proposalId: p.id, voter: agent.id, choice: 'yes' })).toThrow(/without a vote/);
    expect(() => rooms.updateMember({ roomId: room.id, memberId: agent.id, canVote: true, by: agent.id })).toThrow(/Only the room's owner/);
    expect(rooms.updateMember({ roomId: room.id, memberId: agent.id, canVote: true, by: 'user' }).canVote).toBe(true);
    expect(rooms.vote({ proposalId: p.id, voter: agent.id, choice: 'yes' }).tally).toMatchObject({ yes: 1, eligible: 3 });
    rooms.updateMember({ roomId: room.id, memberId: agent.id, canVote: false, by: 'user' });
    expect(rooms.getProposal(p.id).tally).toMatchObject({ yes: 0, eligible: 2 }); // a vote taken away no longer counts
  });

  it('a proposal that acts on cameras passes only with a yes from the owner (or the approver role), whatever the rule', () => {
    for (const rule of ['majority', 'two-thirds', 'weighted', 'unanimous'] as const) {
      const room = rooms.createRoom({ name: `Fleet ${rule}`, roles: ['operator'], approverRole: 'operator', defaultRule: rule });
      const agents = [0, 1, 2].map((i): Author => ({ kind: 'agent', id: `agent:${rule}-${i}`, name: `A${i}` }));
      // The owner gives the agents votes and heavy weights, and one of them even the approver role: still not enough.
      for (const a of agents) rooms.addMember({ roomId: room.id, member: a, roles: ['operator'], canVote: true, weight: 50 });
      rooms.addMember({ roomId: room.id, member: carol, roles: ['operator'] });
      const deploy = propose(room.id, { kind: 'deploy', subject: 'cams', deadlineMs: 60_000 });
      expect(deploy).toMatchObject({ needsApproval: true, approvedBy: null });
      for (const a of agents) expect(rooms.vote({ proposalId: deploy.id, voter: a.id, choice: 'yes' }).status).toBe('open');
      clock += 60_000;
      rooms.closeDueVotes();
      const expired = rooms.getProposal(deploy.id);
      expect(expired.status).toBe('expired');
      // Majority and weighted rules are met by the agents alone (3 of 5, 150 of 152): the missing approval is the reason.
      if (rule === 'majority' || rule === 'weighted') expect(expired.reason).toMatch(/owner or a person with the role operator/);

      // The same with a person who holds the approver role: it passes once the rule is met too.
      const again = propose(room.id, { kind: 'deploy', subject: 'cams' });
      for (const a of agents) rooms.vote({ proposalId: again.id, voter: a.id, choice: 'yes' });
      const passed = rooms.vote({ proposalId: again.id, voter: carol.id, choice: 'yes' });
      if (rule === 'unanimous') expect(rooms.vote({ proposalId: again.id, voter: 'user', choice: 'yes' }).status).toBe('passed');
      else expect(passed).toMatchObject({ status: 'passed', approvedBy: carol.id });

      // An approver's no rejects it, whatever the others say.
      const refused = propose(room.id, { kind: 'deploy', subject: 'cams' });
      for (const a of agents) rooms.vote({ proposalId: refused.id, voter: a.id, choice: 'yes' });
      expect(rooms.vote({ proposalId: refused.id, voter: 'user', choice: 'no' })).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/You voted no/) });
    }
    // A general proposal is not held back: the agents given votes may pass it alone.
    const room = rooms.createRoom({ name: 'Words' });
    for (const a of [alice, bob]) rooms.addMember({ roomId: room.id, member: a, roles: ['coder'], canVote: true });
    const words = propose(room.id);
    rooms.vote({ proposalId: words.id, voter: alice.id, choice: 'yes' });
    expect(rooms.vote({ proposalId: words.id, voter: bob.id, choice: 'yes' })).toMatchObject({ status: 'passed', needsApproval: false });
  });

  it('warns when a decision contradicts an earlier one on the same subject', () => {
    const room = team('majority');
    const pass = (outcome: string, subject = 'Database') => {
      const p = propose(room.id, { outcome, subject });
      for (const v of ['user', alice.id, bob.id]) rooms.vote({ proposalId: p.id, voter: v, choice: 'yes' });
      return rooms.listDecisions(room.id)[0]!;
    };
    const first = pass('use SQLite');
    expect(pass('Use  sqlite', '  database!').warning).toBeNull(); // same subject, same outcome
    const clash = pass('use PostgreSQL', 'DATABASE');
    expect(clash.contradicts).toContain(first.id);
    expect(clash.warning).toMatch(/contradicts/);
    expect(pass('tabs', 'indentation').warning).toBeNull();
    expect(normaliseSubject('  Déjà Vu — DB! ')).toBe('deja-vu-db');
  });
});

describe('files and search', () => {
  it('enforces the per-file limit and the room quota, sanitises names and stores by content hash', () => {
    const room = rooms.createRoom({ name: 'Files', maxFileBytes: 1000, quotaBytes: 1500 });
    expect(() => rooms.uploadFile({ roomId: room.id, name: 'big.bin', data: Buffer.alloc(1001), by: 'user' })).toThrow(/limited to/);
    const data = Buffer.alloc(800, 7);
    const a = rooms.uploadFile({ roomId: room.id, name: '../../etc/passwd', data, by: 'user' });
    expect(a.name).toBe('passwd');
    expect(fs.readFileSync(path.join(dir, 'files', a.sha256))).toEqual(data);
    expect(a.sha256).toBe(crypto.createHash('sha256').update(data).digest('hex'));
    expect(() => rooms.uploadFile({ roomId: room.id, name: 'b', data: Buffer.alloc(800), by: 'user' })).toThrow(/quota/);
    expect(rooms.readFile(a.id).data).toEqual(data);
    expect(rooms.listFiles(room.id).usedBytes).toBe(800);
    expect(sanitiseFileName('C:\\Users\\x\\..\\report<1>.pdf')).toBe('report_1_.pdf');
    expect(sanitiseFileName('..hidden\u0000\u202e.txt')).toBe('hidden.txt');
    // Long names are cut by whole characters: no lone surrogate, no half of an emoji sequence.
    const wellFormed = (s: string): boolean => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
    const cams = sanitiseFileName('🎥'.repeat(70));
    expect(wellFormed(cams)).toBe(true);
    expect(cams).toBe('🎥'.repeat(63)); // 252 bytes
    const clip = sanitiseFileName(`${'🎥'.repeat(70)}.mp4`);
    expect(clip).toBe(`${'🎥'.repeat(62)}.mp4`);
    expect(sanitiseFileName('🇸🇪'.repeat(40))).toBe('🇸🇪'.repeat(31)); // 8 bytes a flag: whole flags only
    expect(sanitiseFileName('👍🏽'.repeat(40))).toBe('👍🏽'.repeat(31));
    expect(Buffer.byteLength(sanitiseFileName('é'.repeat(300)))).toBeLessThanOrEqual(255);
    expect(sanitiseFileName('CON.txt')).toBe('_CON.txt');
    expect(sanitiseFileName('...')).toBe('file');
    expect(Buffer.byteLength(sanitiseFileName(`${'é'.repeat(300)}.md`))).toBeLessThanOrEqual(255);
    expect(sanitiseFileName(`${'é'.repeat(300)}.md`).endsWith('.md')).toBe(true);
  });

  it('takes a large file in ordered chunks within the room limits, and refuses what does not fit', () => {
    const room = rooms.createRoom({ name: 'Chunks', maxFileBytes: 2 * 1024 * 1024, quotaBytes: 3 * 1024 * 1024 });
    const data = crypto.randomBytes(1024 * 1024 + 5);
    const h = rooms.handlers;
    const ctx = { transport: 'internal' as const, peer: 't' };
    const { uploadId, chunkBytes } = h['rooms.files.begin']!({ roomId: room.id, name: 'a.bin', size: data.length }, ctx) as { uploadId: string; chunkBytes: number };
    expect(chunkBytes).toBe(512 * 1024);
    const chunk = (index: number) => ({ uploadId, index, dataBase64: data.subarray(index * chunkBytes, (index + 1) * chunkBytes).toString('base64') });
    expect(() => h['rooms.files.chunk']!(chunk(1), ctx)).toThrow(/chunk 0 comes next/);
    expect(h['rooms.files.chunk']!(chunk(0), ctx)).toEqual({ received: chunkBytes, size: data.length });
    expect(() => h['rooms.files.finish']!({ uploadId }, ctx)).toThrow(/send the missing chunks/);
    h['rooms.files.chunk']!(chunk(1), ctx);
    h['rooms.files.chunk']!(chunk(2), ctx);
    const file = h['rooms.files.finish']!({ uploadId }, ctx) as { id: string; size: number };
    expect(file.size).toBe(data.length);
    expect(rooms.readFile(file.id).data.equals(data)).toBe(true);
    expect(() => h['rooms.files.finish']!({ uploadId }, ctx)).toThrow(/not under way/);
    // Announced sizes are checked at once: over the file limit, over what is left of the quota.
    expect(() => h['rooms.files.begin']!({ roomId: room.id, name: 'b.bin', size: 2 * 1024 * 1024 + 1 }, ctx)).toThrow(/limited to 2.0 MB/);
    expect(() => h['rooms.files.begin']!({ roomId: room.id, name: 'c.bin', size: 2 * 1024 * 1024 }, ctx)).toThrow(/quota/);
    // A chunk beyond the announced size is refused; a cancelled upload leaves no temporary file.
    const small = h['rooms.files.begin']!({ roomId: room.id, name: 'd.bin', size: 10 }, ctx) as { uploadId: string };
    expect(() => h['rooms.files.chunk']!({ uploadId: small.uploadId, index: 0, dataBase64: Buffer.alloc(11).toString('base64') }, ctx)).toThrow(/announced as 10 bytes/);
    expect(h['rooms.files.cancel']!({ uploadId: small.uploadId }, ctx)).toEqual({ cancelled: true });
    expect(fs.readdirSync(path.join(dir, 'files')).filter((f) => f.startsWith('.upload-'))).toEqual([]);
  });

  it('finds messages and decisions with FTS5, tolerating query syntax in user text', () => {
    const room = team('majority');
    rooms.postMessage({ roomId: room.id, author: alice, text: 'The camera firmware upgrade is scheduled' });
    rooms.postMessage({ roomId: room.id, author: bob, text: 'Unrelated chatter' });
    const p = propose(room.id, { title: 'Firmware rollout', outcome: 'staged rollout' });
    for (const v of ['user', alice.id, bob.id]) rooms.vote({ proposalId: p.id, voter: v, choice: 'yes' });
    const hits = rooms.search({ query: 'firmware', limit: 10 });
    expect(hits.map((h) => h.kind).sort()).toEqual(['decision', 'message', 'message']);
    expect(hits.find((h) => h.kind === 'message')!.snippet).toContain('[');
    expect(rooms.search({ query: 'firm', limit: 10 }).length).toBeGreaterThan(0); // prefix on the last term
    expect(rooms.search({ query: 'NEAR( "AND * OR', limit: 10 })).toEqual([]);
    expect(rooms.search({ query: 'chatter', roomId: 'r_nothing', limit: 10 })).toEqual([]);
  });
});

describe('restart', () => {
  it('keeps rooms, messages, votes, decisions, tasks and files after closing and reopening the database', () => {
    const room = team('majority');
    const m = rooms.postMessage({ roomId: room.id, author: alice, text: 'persist me' });
    rooms.createTask({ roomId: room.id, title: 't', by: 'user' });
    const p = propose(room.id);
    for (const v of ['user', alice.id, bob.id]) rooms.vote({ proposalId: p.id, voter: v, choice: 'yes' });
    const open2 = propose(room.id, { subject: 'later', deadlineMs: 5000 });
    rooms.vote({ proposalId: open2.id, voter: alice.id, choice: 'yes' });
    const f = rooms.uploadFile({ roomId: room.id, name: 'a.txt', data: Buffer.from('abc'), by: 'user' });
    rooms.recordDelivery(bob.id, [{ roomId: room.id, upTo: m.id }]);
    rooms.close();
    db.close();

    clock += 10_000; // the deadline passes while the app is closed
    rooms = open();
    expect(rooms.getRoom(room.id).name).toBe('Design');
    expect(rooms.listMembers(room.id)).toHaveLength(4);
    expect(rooms.getMessage(m.id)!.text).toBe('persist me');
    expect(rooms.listDecisions(room.id)).toHaveLength(1);
    expect(rooms.getProposal(open2.id).status).toBe('expired'); // settled at start: 1 yes of 4 is not consent
    expect(rooms.listTasks(room.id)).toHaveLength(1);
    expect(rooms.readFile(f.id).data.toString()).toBe('abc');
    expect(rooms.deliveries(m.id)).toEqual([{ memberId: bob.id, at: expect.any(Number) }]);
    expect(rooms.search({ query: 'persist', limit: 5 })).toHaveLength(1);
  });
});
