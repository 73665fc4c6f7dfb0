// The Rooms view's state rules, kept apart from React so they can be tested in Node: merging live
// messages into a page, splitting @mentions, counting down deadlines, explaining quorum rules.
import type { Member, Message, Presence, Proposal, Task } from '../../../../preload/contract';

/**
 * Merges messages into a list kept in id order without duplicates. Live events and page loads can
 * overlap (an event arrives while a page is in flight), so the same id may come twice; the later
 * copy wins because it carries the newer reply count.
 */
export function mergeMessages(list: Message[], incoming: Message[]): Message[] {
  if (!incoming.length) return list;
  const byId = new Map(list.map((m) => [m.id, m]));
  for (const m of incoming) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

/** A reply bumps its parent's reply count in place (the parent stays where it is: no layout jump). */
export function applyReply(list: Message[], reply: Message): Message[] {
  if (reply.replyTo === null) return list;
  let changed = false;
  const out = list.map((m) => {
    if (m.id !== reply.replyTo) return m;
    changed = true;
    return { ...m, replies: m.replies + 1 };
  });
  return changed ? out : list;
}

export type TextPart = { kind: 'text'; text: string } | { kind: 'mention'; text: string; name: string; me: boolean };

// Same shape the rooms service extracts: "@" then a member id or name word, not inside an address.
const MENTION = /(^|[^A-Za-z0-9_.])@([A-Za-z0-9_][A-Za-z0-9_.:-]*[A-Za-z0-9_]|[A-Za-z0-9_])/g;

/** Splits message text into plain runs and @mentions; `me` lists the names that mean the reader. */
export function splitMentions(text: string, me: string[] = []): TextPart[] {
  const mine = new Set(me.map((n) => n.toLowerCase()));
  const parts: TextPart[] = [];
  let last = 0;
  for (const m of text.matchAll(MENTION)) {
    const start = m.index + m[1]!.length;
    if (start > last) parts.push({ kind: 'text', text: text.slice(last, start) });
    const name = m[2]!;
    parts.push({ kind: 'mention', text: `@${name}`, name, me: mine.has(name.toLowerCase()) });
    last = start + 1 + name.length;
  }
  if (last < text.length) parts.push({ kind: 'text', text: text.slice(last) });
  return parts;
}

/** "4 m 05 s", "2 h 10 m", "3 d 4 h" — or "ended" once the deadline has passed. */
export function countdown(deadline: number, now: number): string {
  const ms = deadline - now;
  if (ms <= 0) return 'ended';
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${String(s % 60).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, '0')} m`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** What it takes for a proposal to pass, in words, from its rule and current tally. */
export function quorumText(p: Pick<Proposal, 'rule' | 'tally'>): string {
  const { eligible: E, yes: Y, voters } = p.tally;
  const unit = p.rule === 'weighted' ? 'weight' : E === 1 ? 'member' : 'members';
  switch (p.rule) {
    case 'majority':
    case 'weighted': {
      // Strictly more than half: the smallest yes total over E/2.
      const need = p.rule === 'weighted' ? `more than ${fmtNum(E / 2)}` : String(Math.floor(E / 2) + 1);
      return `Majority${p.rule === 'weighted' ? ' by weight' : ''}: passes with ${need} yes of ${fmtNum(E)} ${unit} (now ${fmtNum(Y)})`;
    }
    case 'two-thirds':
      return `Two thirds: passes with ${Math.ceil((2 * E) / 3)} yes of ${fmtNum(E)} ${unit} (now ${fmtNum(Y)})`;
    case 'unanimous':
      return `Unanimous: every one of ${fmtNum(E)} ${unit} votes, none no (${voters} voted)`;
  }
}

const fmtNum = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(1));

/** Share of the eligible total for a tally bar, 0..100. */
export function share(part: number, eligible: number): number {
  if (eligible <= 0) return 0;
  return Math.max(0, Math.min(100, (part / eligible) * 100));
}

/** Replaces a proposal by id, or adds it at the top (newest first). */
export function upsertById<T extends { id: number }>(list: T[], item: T): T[] {
  const i = list.findIndex((x) => x.id === item.id);
  if (i < 0) return [item, ...list];
  const out = list.slice();
  out[i] = item;
  return out;
}

/** Presence events name a member, not a room; update every row of that member. */
export function applyPresence(members: Member[], p: Presence): Member[] {
  if (!members.some((m) => m.id === p.memberId && m.presence !== p.state)) return members;
  return members.map((m) => (m.id === p.memberId ? { ...m, presence: p.state } : m));
}

/** Tasks: open ones first (by id), then done ones. */
export function sortTasks(tasks: Task[]): Task[] {
  return tasks.slice().sort((a, b) => Number(a.done) - Number(b.done) || a.id - b.id);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}

/**
 * Refuses a file before reading it when the room's limits already say no, with the same advice the
 * service gives; the service checks again (the quota may have changed meanwhile).
 */
export function uploadProblem(size: number, limits: { maxFileBytes: number; quotaBytes: number; usedBytes?: number }): string | null {
  if (size > limits.maxFileBytes) return `This file is ${formatBytes(size)}; files in this room are at most ${formatBytes(limits.maxFileBytes)}. Share a smaller file or ask the owner to raise the limit.`;
  if (limits.usedBytes !== undefined && limits.usedBytes + size > limits.quotaBytes)
    return `The room has ${formatBytes(Math.max(0, limits.quotaBytes - limits.usedBytes))} left of its ${formatBytes(limits.quotaBytes)} quota; this file is ${formatBytes(size)}. Remove files or ask the owner for more space.`;
  return null;
}

/** Base64 of bytes, in chunks so large files do not overflow the argument list of fromCharCode. */
export function bytesToBase64(bytes: Uint8Array): string {
  let bin = '';
  const CHUNK = 0x8000;
  for (let i = 0; i < bytes.length; i += CHUNK) bin += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  return btoa(bin);
}

export function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The composer's key rule: Enter sends, Shift+Enter (or IME composition) keeps typing. */
export function isSendKey(e: { key: string; shiftKey: boolean; isComposing?: boolean; altKey?: boolean; ctrlKey?: boolean; metaKey?: boolean }): boolean {
  return e.key === 'Enter' && !e.shiftKey && !e.isComposing && !e.altKey;
}
