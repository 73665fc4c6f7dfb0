import { describe, expect, it } from 'vitest';
import type { Member, Message } from '../../../../preload/contract';
import {
  applyPresence,
  applyReply,
  base64ToBytes,
  bytesToBase64,
  countdown,
  isSendKey,
  mergeMessages,
  quorumText,
  share,
  sortTasks,
  splitMentions,
  uploadProblem,
  upsertById,
} from './roomCore';

const msg = (id: number, over: Partial<Message> = {}): Message => ({
  id,
  roomId: 'r1',
  channel: 'general',
  author: { kind: 'agent', id: 'a', name: 'A' },
  act: 'inform',
  text: `m${id}`,
  replyTo: null,
  mentions: [],
  attachments: [],
  signed: false,
  verified: false,
  createdAt: id,
  replies: 0,
  ...over,
});

describe('message list', () => {
  it('merges overlapping pages and live events in id order, later copy winning', () => {
    const merged = mergeMessages([msg(1), msg(3)], [msg(2), msg(3, { replies: 2 }), msg(5)]);
    expect(merged.map((m) => m.id)).toEqual([1, 2, 3, 5]);
    expect(merged[2]!.replies).toBe(2);
  });

  it('bumps the reply count of the parent only, and keeps the list when the parent is not loaded', () => {
    const list = [msg(1), msg(2)];
    const out = applyReply(list, msg(9, { replyTo: 2 }));
    expect(out.map((m) => m.replies)).toEqual([0, 1]);
    expect(applyReply(list, msg(9, { replyTo: 7 }))).toBe(list);
  });
});

describe('mentions', () => {
  it('splits @names out of text and marks the reader', () => {
    const parts = splitMentions('hi @coder-1 and @User, see a@b.c', ['user']);
    expect(parts).toEqual([
      { kind: 'text', text: 'hi ' },
      { kind: 'mention', text: '@coder-1', name: 'coder-1', me: false },
      { kind: 'text', text: ' and ' },
      { kind: 'mention', text: '@User', name: 'User', me: true },
      { kind: 'text', text: ', see a@b.c' },
    ]);
  });

  it('does not take a trailing full stop into the name', () => {
    expect(splitMentions('ask @bob.').map((p) => p.text)).toEqual(['ask ', '@bob', '.']);
  });
});

describe('deadlines and quorum', () => {
  it('counts down in the largest sensible units', () => {
    expect(countdown(10_000, 10_000)).toBe('ended');
    expect(countdown(10_500, 10_000)).toBe('1 s');
    expect(countdown(245_000, 0)).toBe('4 m 05 s');
    expect(countdown((2 * 3600 + 10 * 60) * 1000, 0)).toBe('2 h 10 m');
    expect(countdown(76 * 3600 * 1000, 0)).toBe('3 d 4 h');
  });

  it('states the yes count each rule needs', () => {
    const t = (eligible: number, yes = 0) => ({ yes, no: 0, abstain: 0, eligible, voters: yes });
    expect(quorumText({ rule: 'majority', tally: t(3, 1) })).toBe('Majority: passes with 2 yes of 3 members (now 1)');
    expect(quorumText({ rule: 'majority', tally: t(4) })).toContain('3 yes of 4');
    expect(quorumText({ rule: 'two-thirds', tally: t(4) })).toContain('3 yes of 4');
    expect(quorumText({ rule: 'weighted', tally: t(5) })).toContain('more than 2.5 yes of 5 weight');
    expect(quorumText({ rule: 'unanimous', tally: t(3, 2) })).toContain('(2 voted)');
  });

  it('clamps tally bars', () => {
    expect(share(1, 4)).toBe(25);
    expect(share(3, 0)).toBe(0);
    expect(share(9, 4)).toBe(100);
  });
});

describe('list updates', () => {
  it('replaces by id or adds on top', () => {
    const list = [{ id: 2, v: 'a' }, { id: 1, v: 'b' }];
    expect(upsertById(list, { id: 1, v: 'c' })).toEqual([{ id: 2, v: 'a' }, { id: 1, v: 'c' }]);
    expect(upsertById(list, { id: 3, v: 'd' })[0]).toEqual({ id: 3, v: 'd' });
  });

  it('applies presence to the named member only, leaving the list alone when nothing changes', () => {
    const m = (id: string): Member => ({ roomId: 'r', id, kind: 'agent', name: id, roles: [], weight: 1, canVote: false, presence: 'offline', joinedAt: 0 });
    const list = [m('a'), m('b')];
    const out = applyPresence(list, { memberId: 'b', name: 'b', state: 'online', at: 1 });
    expect(out.map((x) => x.presence)).toEqual(['offline', 'online']);
    expect(applyPresence(list, { memberId: 'a', name: 'a', state: 'offline', at: 1 })).toBe(list);
  });

  it('puts open tasks before done ones', () => {
    const t = (id: number, done: boolean) => ({ id, roomId: 'r', title: '', assignee: null, progress: 0, done, createdBy: 'u', createdAt: 0, updatedAt: 0 });
    expect(sortTasks([t(1, true), t(3, false), t(2, false)]).map((x) => x.id)).toEqual([2, 3, 1]);
  });
});

describe('files', () => {
  it('refuses files over the per-file limit or the remaining quota, saying what to do', () => {
    expect(uploadProblem(2048, { maxFileBytes: 1024, quotaBytes: 10_000 })).toMatch(/at most 1\.0 KiB/);
    expect(uploadProblem(600, { maxFileBytes: 1024, quotaBytes: 1000, usedBytes: 500 })).toMatch(/500 B left/);
    expect(uploadProblem(400, { maxFileBytes: 1024, quotaBytes: 1000, usedBytes: 500 })).toBeNull();
  });

  it('round-trips bytes through base64, past the chunk size', () => {
    const bytes = new Uint8Array(70_000).map((_, i) => (i * 31) % 256);
    const b64 = bytesToBase64(bytes);
    expect(b64).toBe(btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join('')));
    expect(base64ToBytes(b64)).toEqual(bytes);
  });
});

describe('composer keys', () => {
  it('sends on Enter, not on Shift+Enter or while composing', () => {
    expect(isSendKey({ key: 'Enter', shiftKey: false })).toBe(true);
    expect(isSendKey({ key: 'Enter', shiftKey: true })).toBe(false);
    expect(isSendKey({ key: 'Enter', shiftKey: false, isComposing: true })).toBe(false);
    expect(isSendKey({ key: 'a', shiftKey: false })).toBe(false);
  });
});
