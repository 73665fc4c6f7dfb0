// Messages: the checks every message passes, the two write paths (a transaction on this
// connection, or the writer thread's group commit for the agent bridge), pages, waiting for new
// messages, read marks and delivery acknowledgements.
import { AppError } from '../kernel/errors';
import type { RoomsContext } from './context';
import { WRITER_STATEMENTS, type MessageRow, type RoomRow } from './statements';
import type { Message, PostMessageInput, PostResult, RoomsService } from './types';
import { createInlineWriter, createWorkerWriter, type RoomsWriter, type WriteOp } from './writer';

/** Batches handed to the writer at once: one committing while the next waits, so its thread never idles. */
const MAX_BATCHES_IN_FLIGHT = 2;
/** Upper bound on the messages of one commit (bounds the worst-case latency of a burst). */
const MAX_BATCH = 2000;

const MENTION = /(?:^|[^\w@])@([A-Za-z0-9_.-]{1,64})/g;
/** Shared by every message without mentions or attachments; frozen, so a stray mutation throws instead of spreading. */
const EMPTY: string[] = Object.freeze([]) as unknown as string[];
const EMPTY_LIST_JSON = '[]';
const listJson = (l: readonly string[]): string => (l.length ? JSON.stringify(l) : EMPTY_LIST_JSON);
const parseMentions = (text: string): string[] => {
  const out = new Set<string>();
  for (const m of text.matchAll(MENTION)) out.add(m[1]!.replace(/[.]+$/, '').toLowerCase());
  return [...out];
};

export const toMessage = (r: MessageRow): Message => ({
  id: r.id,
  roomId: r.room_id,
  channel: r.channel,
  author: { kind: r.author_kind, id: r.author_id, name: r.author_name },
  act: r.act,
  text: r.text,
  replyTo: r.reply_to,
  mentions: r.mentions,
  attachments: r.attachments,
  signed: r.signed === 1,
  verified: r.verified === 1,
  createdAt: r.created_at,
  replies: r.replies ?? 0,
});

export type Messages = Pick<
  RoomsService,
  'postMessage' | 'postMany' | 'postQueued' | 'recordDeliveryLater' | 'flushWrites' | 'writeStats' | 'listMessages' | 'getMessage' | 'waitForMessages' | 'markRead' | 'recordDelivery' | 'deliveries'
> & {
  /** Inserts one message inside the caller's transaction (a proposal's message). */
  insertOne(input: PostMessageInput, t: number): Message;
  /** Publishes committed messages in id order with the queued path. */
  announce(messages: Message[]): void;
  close(): void;
};

export function createMessages(ctx: RoomsContext, writerMode?: 'worker' | 'inline'): Messages {
  const { db, bus, now, log, q, tx, roomRow, hasRoom, channelCache } = ctx;
  let closed = false;

  const waiters = new Map<string, Set<() => void>>();
  const wake = (roomId: string): void => {
    const set = waiters.get(roomId);
    if (!set) return;
    waiters.delete(roomId);
    for (const w of set) w();
  };

  /** The checks a message must pass before it is written (both write paths); returns its room and mentions. */
  const checkMessage = (input: PostMessageInput): { room: RoomRow; mentions: string[] } => {
    const room = roomRow(input.roomId);
    if (input.replyTo !== undefined) {
      const parent = q.messageRoom.get(input.replyTo);
      if (!parent || parent.room_id !== room.id)
        throw new AppError('invalid_input', `Message ${input.replyTo} is not in "${room.name}"; reply to a message of this room.`);
    }
    for (const f of input.attachments ?? [])
      if (!q.fileInRoom.get(f, room.id)) throw new AppError('invalid_input', `File ${f} is not in "${room.name}"; upload it to this room first.`);
    // Most messages mention nobody: skip the regex scan and the set when there is no "@" at all.
    const mentions =
      !input.mentions?.length && !input.text.includes('@')
        ? EMPTY
        : [...new Set([...(input.mentions ?? []).map((m) => m.toLowerCase()), ...parseMentions(input.text)])].slice(0, 50);
    return { room, mentions };
  };

  const insertOne = (input: PostMessageInput, t: number): Message => {
    const { room, mentions } = checkMessage(input);
    const channel = input.channel ?? 'general';
    const ck = `${room.id}\u0000${channel}`;
    if (!channelCache.has(ck)) {
      q.insertChannel.run(room.id, channel, t);
      channelCache.add(ck);
    }
    const row = q.insertMessage.one(
      room.id,
      channel,
      input.author.kind,
      input.author.id,
      input.author.name,
      input.act ?? 'inform',
      input.text,
      input.replyTo ?? null,
      JSON.stringify(mentions),
      JSON.stringify(input.attachments ?? []),
      input.signed ? 1 : 0,
      input.verified ? 1 : 0,
      t,
    );
    return toMessage(row);
  };

  const publish = (messages: Message[]): void => {
    const rooms = new Set<string>();
    for (const m of messages) {
      bus.publish('rooms.message', m);
      rooms.add(m.roomId);
    }
    for (const r of rooms) wake(r);
  };

  // --- queued writes: group commit through the writer ------------------------------------------
  // Subscribers see each room's messages in id order. Ids are handed out in commit order, so a
  // message committed here while writer batches are under way waits until either a batch comes
  // back with a higher id (it committed before that batch) or every batch handed over before it
  // has come back (nothing committed earlier is still unannounced); it is then merged by id.
  interface QueuedPost {
    message: Omit<Message, 'id' | 'createdAt'>;
    resolve: (m: Message) => void;
    reject: (e: unknown) => void;
  }
  let writer: RoomsWriter | undefined;
  let queue: QueuedPost[] = [];
  let marks = new Map<string, Map<string, number>>();
  let inFlight = 0;
  let submitted = 0;
  let pumpScheduled = false;
  let deferred: { barrier: number; message: Message }[] = [];
  const drained = new Set<() => void>();
  const writeStats = { posts: 0, commits: 0 };

  const writerOf = (): RoomsWriter => {
    if (writer) return writer;
    const mode = writerMode ?? (db.memory ? 'inline' : 'worker');
    if (mode === 'worker') {
      try {
        writer = createWorkerWriter(db.name, WRITER_STATEMENTS, (err) => {
          log?.error({ err }, 'the rooms writer thread failed; writing on the main thread from now on');
          writer = createInlineWriter(db, WRITER_STATEMENTS);
        });
        return writer;
      } catch (err) {
        log?.error({ err }, 'the rooms writer thread could not start; writing on the main thread');
      }
    }
    return (writer = createInlineWriter(db, WRITER_STATEMENTS));
  };

  const announce = (messages: Message[]): void => {
    if (inFlight === 0) publish(messages);
    else for (const message of messages) deferred.push({ barrier: submitted, message });
  };

  const schedulePump = (): void => {
    if (pumpScheduled || closed) return;
    pumpScheduled = true;
    setImmediate(pump);
  };

  const settle = (seq: number, committed: Message[]): void => {
    inFlight--;
    let out = committed;
    if (deferred.length) {
      const top = committed.length ? committed[committed.length - 1]!.id : 0;
      const ready = deferred.filter((d) => d.barrier <= seq || d.message.id < top);
      if (ready.length) {
        deferred = deferred.filter((d) => !(d.barrier <= seq || d.message.id < top));
        out = committed.concat(ready.map((d) => d.message)).sort((a, b) => a.id - b.id);
      }
    }
    publish(out);
    if (queue.length || marks.size) schedulePump();
    else if (inFlight === 0) for (const d of [...drained]) d();
  };

  function pump(): void {
    pumpScheduled = false;
    if (closed || inFlight >= MAX_BATCHES_IN_FLIGHT || (!queue.length && !marks.size)) return;
    const batch = queue.length > MAX_BATCH ? queue.splice(0, MAX_BATCH) : queue;
    if (batch === queue) queue = [];
    const batchMarks = marks;
    marks = new Map();
    const t = now();
    const ops: WriteOp[] = [];
    const at: number[] = [];
    const newChannels = new Set<string>();
    for (const p of batch) {
      const m = p.message;
      const ck = `${m.roomId}\u0000${m.channel}`;
      if (!channelCache.has(ck) && !newChannels.has(ck)) {
        newChannels.add(ck);
        ops.push(['channel', [m.roomId, m.channel, t]]);
      }
      at.push(ops.length);
      ops.push([
        'message',
        [m.roomId, m.channel, m.author.kind, m.author.id, m.author.name, m.act, m.text, m.replyTo, listJson(m.mentions), listJson(m.attachments), m.signed ? 1 : 0, m.verified ? 1 : 0, t],
      ]);
    }
    for (const [member, rooms] of batchMarks) for (const [roomId, upTo] of rooms) ops.push(['delivered', [roomId, member, upTo, t]]);
    inFlight++;
    const seq = ++submitted;
    writerOf()
      .run(ops)
      .then(
        (results) => {
          for (const ck of newChannels) channelCache.add(ck);
          const committed: Message[] = [];
          for (let i = 0; i < batch.length; i++) {
            const p = batch[i]!;
            const r = results[at[i]!];
            if (typeof r === 'number') {
              // The same object goes to the poster and to the rooms.message subscribers (the bridge
              // serialises it once for both), with the field order of the Message type.
              const q = p.message;
              const m: Message = {
                id: r,
                roomId: q.roomId,
                channel: q.channel,
                author: q.author,
                act: q.act,
                text: q.text,
                replyTo: q.replyTo,
                mentions: q.mentions,
                attachments: q.attachments,
                signed: q.signed,
                verified: q.verified,
                createdAt: t,
                replies: 0,
              };
              committed.push(m);
              p.resolve(m);
            } else p.reject(new AppError('failed', `The message was not saved (${r?.error ?? 'no result'}). Send it again.`));
          }
          writeStats.posts += committed.length;
          writeStats.commits++;
          settle(seq, committed);
        },
        (err: unknown) => {
          log?.error({ err }, 'a group commit of room messages failed');
          for (const p of batch) p.reject(new AppError('unavailable', `The message was not saved: ${(err as Error).message}. Send it again.`));
          settle(seq, []);
        },
      );
    if (queue.length) schedulePump();
  }

  const postQueued: RoomsService['postQueued'] = (input) => {
    try {
      if (closed) throw new AppError('unavailable', 'Rooms are shutting down; send the message again once OmniSight is back.');
      const { room, mentions } = checkMessage(input);
      const message: QueuedPost['message'] = {
        roomId: room.id,
        channel: input.channel ?? 'general',
        author: { kind: input.author.kind, id: input.author.id, name: input.author.name },
        act: input.act ?? 'inform',
        text: input.text,
        replyTo: input.replyTo ?? null,
        mentions,
        attachments: input.attachments ?? EMPTY,
        signed: !!input.signed,
        verified: !!input.verified,
        replies: 0,
      };
      return new Promise<Message>((resolve, reject) => {
        queue.push({ message, resolve, reject });
        schedulePump();
      });
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  };

  const recordDeliveryLater: RoomsService['recordDeliveryLater'] = (memberId, list) => {
    let mine = marks.get(memberId);
    for (const m of list) {
      if (!hasRoom(m.roomId)) continue;
      if (!mine) marks.set(memberId, (mine = new Map()));
      if (m.upTo > (mine.get(m.roomId) ?? 0)) mine.set(m.roomId, m.upTo);
    }
    if (mine) schedulePump();
  };

  const flushWrites: RoomsService['flushWrites'] = () =>
    inFlight === 0 && !queue.length && !marks.size
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const d = (): void => {
            drained.delete(d);
            resolve();
          };
          drained.add(d);
          schedulePump();
        });

  const postMessage: RoomsService['postMessage'] = (input) => {
    const m = tx(() => insertOne(input, now()));
    announce([m]);
    return m;
  };

  const postMany: RoomsService['postMany'] = (inputs) => {
    const t = now();
    const results: PostResult[] = tx(() =>
      inputs.map((input): PostResult => {
        try {
          // A savepoint per message: one bad message does not undo the others.
          return { ok: true, message: db.transaction(() => insertOne(input, t))() };
        } catch (err) {
          if (err instanceof AppError) return { ok: false, error: err };
          throw err;
        }
      }),
    );
    announce(results.flatMap((r) => (r.ok ? [r.message] : [])));
    return results;
  };

  const listMessages: RoomsService['listMessages'] = (input) => {
    roomRow(input.roomId);
    const args: (string | number)[] = [input.roomId];
    if (input.thread !== undefined) args.push(input.thread, input.thread);
    if (input.channel) args.push(input.channel);
    if (input.after !== undefined) args.push(input.after);
    if (input.before !== undefined) args.push(input.before);
    const ascending = input.before === undefined;
    // Without after/before: the latest page, shown oldest first.
    const latest = input.after === undefined && input.before === undefined;
    const order = ascending && !latest ? 'ASC' : 'DESC';
    const rows = q
      .messagePage({ thread: input.thread !== undefined, channel: !!input.channel, after: input.after !== undefined, before: input.before !== undefined }, order)
      .all(...args, input.limit + 1);
    const hasMore = rows.length > input.limit;
    const page = rows.slice(0, input.limit).map(toMessage);
    if (order === 'DESC') page.reverse();
    return { messages: page, hasMore };
  };

  const getMessage = (id: number): Message | undefined => {
    const r = q.messageById.get(id);
    return r ? toMessage(r) : undefined;
  };

  const waitForMessages: RoomsService['waitForMessages'] = (input) => {
    roomRow(input.roomId);
    const limit = input.limit ?? 100;
    const fetch = (): Message[] =>
      listMessages({ roomId: input.roomId, after: input.after, limit: 500 })
        .messages.filter((m) => m.author.id !== input.excludeAuthor)
        .slice(0, limit);
    const first = fetch();
    if (first.length) return Promise.resolve(first);
    return new Promise((resolve) => {
      let set: Set<() => void> | undefined;
      const onWake = (): void => {
        const got = fetch();
        if (got.length) {
          clearTimeout(timer);
          resolve(got);
        } else {
          set = waiters.get(input.roomId) ?? new Set();
          waiters.set(input.roomId, set);
          set.add(onWake);
        }
      };
      const timer = setTimeout(() => {
        waiters.get(input.roomId)?.delete(onWake);
        resolve([]);
      }, input.timeoutMs);
      set = waiters.get(input.roomId) ?? new Set();
      waiters.set(input.roomId, set);
      set.add(onWake);
    });
  };

  const markRead: RoomsService['markRead'] = (roomId, memberId, upTo) => {
    roomRow(roomId);
    tx(() => q.markRead.run(upTo, roomId, memberId));
    return q.unread.get(memberId, roomId, memberId)?.n ?? 0;
  };

  const recordDelivery: RoomsService['recordDelivery'] = (memberId, marks) => {
    const t = now();
    return tx(() => {
      let n = 0;
      for (const m of marks) {
        if (!hasRoom(m.roomId)) continue;
        n += q.markDelivered.run(m.roomId, memberId, m.upTo, t).changes;
      }
      return n;
    });
  };

  return {
    insertOne,
    announce,
    postMessage,
    postMany,
    postQueued,
    recordDeliveryLater,
    flushWrites,
    writeStats: () => ({ ...writeStats, mode: writer?.mode ?? writerMode ?? (db.memory ? 'inline' : 'worker') }),
    listMessages,
    getMessage,
    waitForMessages,
    markRead,
    recordDelivery,
    deliveries: (id) => q.deliveries.all(id).map((d) => ({ memberId: d.member_id, at: d.updated_at })),
    close() {
      closed = true;
      for (const p of queue.splice(0)) p.reject(new AppError('unavailable', 'Rooms closed before the message was saved. Send it again once OmniSight is back.'));
      for (const d of [...drained]) d();
      void writer?.close();
      for (const set of waiters.values()) for (const w of set) w();
      waiters.clear();
    },
  };
}
