// The Claude Desktop clipboard relay: the zero-setup link for a Claude Desktop that has no MCP
// entry. While it is on, text the user copies (a Desktop reply) is posted to one room as from
// Desktop, and a room message addressed to Desktop is put on the clipboard, ready to paste.
import crypto from 'node:crypto';
import type { RelayState } from '../../preload/contract';
import type { EventBus } from '../kernel/bus';
import type { Handlers } from '../kernel/dispatcher';
import { AppError } from '../kernel/errors';
import type { Logger } from '../kernel/logger';
import type { Clipboard, Notifier } from '../kernel/ports';
import type { RoomsService } from '../rooms';
import type { Db } from '../store';
import { z } from 'zod';
import { detectSecret, prepareSecretDetection, type SecretKind } from './clipboard-secrets';
import { preference } from './statements';

/** The Clipboard port, plus what an adapter can tell or do beyond plain text. */
export interface RelayClipboard extends Clipboard {
  /** Formats offered for the current content (pasteboard types, X targets, MIME types), when known. */
  readFormats?(): Promise<string[]>;
  /** conceal: mark the text so clipboard managers and history skip it, where the platform allows. */
  writeText(text: string, opts?: { conceal?: boolean }): Promise<void>;
}

export interface RelayRoomMessage {
  id: string | number;
  roomId: string | number;
  author: { kind: string; id: string; name: string };
  text: string;
  mentions?: readonly string[];
  /** Set by a client that addresses Desktop explicitly ("send to Desktop"). */
  toDesktop?: boolean;
}

/** The part of the rooms service the relay uses. */
export interface RelayRooms {
  postMessage(input: {
    roomId: string;
    author: { kind: 'desktop'; id: string; name: string };
    text: string;
    act?: 'inform';
  }): { id: string | number } | Promise<{ id: string | number }>;
  /** Withdraws a message; when the rooms service has none, the relay holds posts for the undo window. */
  retractMessage?(input: { roomId: string; messageId: string; reason: string }): void | Promise<void>;
  /** New room messages (the rooms.message event); returns an unsubscribe function. */
  onMessage(listener: (m: RelayRoomMessage) => void): () => void;
}

export interface ClipboardRelay {
  state(): RelayState;
  set(input: { enabled: boolean; roomId?: string }): Promise<RelayState>;
  undo(messageId: string): Promise<void>;
  /** One poll of the clipboard (the timer calls it; tests may call it directly). */
  tick(): Promise<void>;
  handlers: Handlers;
  close(): void;
}

export interface RelayDeps {
  db: Db;
  bus: EventBus;
  log: Logger;
  clipboard: RelayClipboard;
  rooms: RelayRooms;
  notifier: Notifier;
  now: () => number;
  /**
   * Poll period. 300 ms keeps copy → room under 1 s with Electron's in-process clipboard. In browser
   * mode every read spawns a process (xclip ≈ 3–5 ms of CPU, clipboardy's xsel similar plus Node's
   * spawn overhead), so the node adapter suggests its own period (see clipboard-node.ts).
   */
  pollMs?: number;
  undoWindowMs?: number;
  /** Security-relevant skips go to the audit log (without the content). */
  audit?: (kind: string, message: string, detail: Record<string, string | number>) => void;
  schedule?: (fn: () => void, ms: number) => () => void;
}

export const MAX_RELAY_CHARS = 10_000;
const OWN_WRITES_KEPT = 64;
const DESKTOP = { kind: 'desktop' as const, id: 'claude-desktop', name: 'Claude Desktop' };

// Markers that say "do not record this": macOS (nspasteboard.org convention), Windows clipboard
// history / monitor exclusion, KDE/KeePassXC on X11 and Wayland.
const concealedFormats = [
  'org.nspasteboard.concealedtype',
  'org.nspasteboard.transienttype',
  'excludeclipboardcontentfrommonitorprocessing',
  'canincludeinclipboardhistory=0',
  'x-kde-passwordmanagerhint',
];
export const isConcealed = (formats: readonly string[]): boolean =>
  formats.some((f) => concealedFormats.some((c) => f.toLowerCase().includes(c)));

/** Clipboards differ in line endings and trailing newlines; the echo check must not. */
const fingerprint = (text: string): string =>
  crypto.createHash('sha256').update(text.replace(/\r\n?/g, '\n').trimEnd()).digest('base64url');

const DESKTOP_MENTION = /(^|\s)@desktop\b[:,]?\s*/i;
const addressedToDesktop = (m: RelayRoomMessage): boolean =>
  m.toDesktop === true ||
  (m.mentions ?? []).some((x) => /^(@?desktop|claude-desktop)$/i.test(x)) ||
  DESKTOP_MENTION.test(m.text);

const preview = (s: string): string => (s.length > 80 ? `${s.slice(0, 79)}…` : s).replace(/\s+/g, ' ');

export function createClipboardRelay(deps: RelayDeps): ClipboardRelay {
  const { db, bus, log, clipboard, rooms, notifier, now } = deps;
  const pollMs = deps.pollMs ?? 300;
  const undoWindowMs = deps.undoWindowMs ?? 5000;
  const undoMode: RelayState['undoMode'] = rooms.retractMessage ? 'retract' : 'delay';
  const schedule =
    deps.schedule ??
    ((fn, ms) => {
      const t = setTimeout(fn, ms);
      return () => clearTimeout(t);
    });

  const pref = preference(db, 'relay.roomId', z.string());
  const stored = pref.get();

  // Off at every start: nothing leaves the clipboard until the user turns it on in this session.
  let enabled = false;
  let roomId: string | null = stored.ok ? stored.value : null;
  let lastSeen: string | null = null;
  let lastRelayedAt: number | null = null;
  let relayed = 0;
  let toClipboard = 0;
  let error: string | null = null;
  const skipped = { echo: 0, concealed: 0, secret: 0, tooLarge: 0 };
  const ownWrites: string[] = [];
  let pendingSeq = 0;
  interface Undoable {
    messageId: string;
    roomId: string;
    text: string;
    until: number;
    posted: boolean;
    cancel: () => void;
  }
  const undoable = new Map<string, Undoable>();
  let stopPolling: (() => void) | null = null;
  let polling = false;
  let closed = false;

  const state = (): RelayState => ({
    enabled,
    roomId,
    undoMode,
    undoWindowMs,
    pollMs,
    lastRelayedAt,
    relayed,
    toClipboard,
    skipped: { ...skipped },
    undoable: [...undoable.values()].map((u) => ({ messageId: u.messageId, preview: preview(u.text), until: u.until, posted: u.posted })),
    error,
  });
  const publish = (): void => bus.publish('assist.relay', state());

  const skip = (reason: keyof typeof skipped, kind?: SecretKind): void => {
    skipped[reason]++;
    if (reason === 'secret' || reason === 'concealed')
      deps.audit?.('relay.skipped', `The clipboard relay did not post copied text: ${kind ? `it looks like a ${kind}` : 'it is marked concealed'}.`, {
        reason,
        ...(kind ? { kind } : {}),
      });
    publish();
  };

  const post = async (text: string, target: string): Promise<string> => {
    const { id } = await rooms.postMessage({ roomId: target, author: DESKTOP, text, act: 'inform' });
    relayed++;
    lastRelayedAt = now();
    return String(id);
  };

  const relayOut = async (text: string, target: string): Promise<void> => {
    if (undoMode === 'retract') {
      const messageId = await post(text, target);
      const entry: Undoable = { messageId, roomId: target, text, until: now() + undoWindowMs, posted: true, cancel: () => {} };
      entry.cancel = schedule(() => {
        undoable.delete(messageId);
        publish();
      }, undoWindowMs);
      undoable.set(messageId, entry);
    } else {
      // No retraction in the rooms service: hold the post for the undo window instead.
      const messageId = `relay-pending-${++pendingSeq}`;
      const entry: Undoable = { messageId, roomId: target, text, until: now() + undoWindowMs, posted: false, cancel: () => {} };
      entry.cancel = schedule(() => {
        undoable.delete(messageId);
        post(text, target)
          .then(() => publish())
          .catch((err: unknown) => fail(err));
      }, undoWindowMs);
      undoable.set(messageId, entry);
    }
    publish();
  };

  const fail = (err: unknown): void => {
    const msg = err instanceof Error ? err.message : String(err);
    const next = `The clipboard relay failed: ${msg}`;
    if (next !== error) log.warn({ err }, 'clipboard relay failed');
    error = next;
    publish();
  };

  const tick = async (): Promise<void> => {
    if (!enabled || !roomId) return;
    let text: string;
    try {
      text = await clipboard.readText();
    } catch (err) {
      fail(err);
      return;
    }
    const fp = fingerprint(text);
    if (fp === lastSeen) return;
    lastSeen = fp;
    if (error) {
      error = null;
      publish();
    }
    if (!text.trim()) return;
    if (ownWrites.includes(fp)) return skip('echo');
    const formats = clipboard.readFormats ? await clipboard.readFormats().catch(() => []) : [];
    if (isConcealed(formats)) return skip('concealed');
    if (text.length > MAX_RELAY_CHARS) return skip('tooLarge');
    const kind = await detectSecret(text);
    if (kind) return skip('secret', kind);
    try {
      await relayOut(text, roomId);
    } catch (err) {
      fail(err);
    }
  };

  const loop = (): void => {
    if (!enabled || closed) return;
    stopPolling = schedule(() => {
      if (polling) return loop();
      polling = true;
      void tick().finally(() => {
        polling = false;
        loop();
      });
    }, pollMs);
  };

  const onRoomMessage = (m: RelayRoomMessage): void => {
    if (!enabled || !roomId || String(m.roomId) !== roomId) return;
    if (m.author.kind === 'desktop' || !addressedToDesktop(m)) return;
    const text = m.text.replace(DESKTOP_MENTION, '$1').trim();
    if (!text) return;
    const fp = fingerprint(text);
    ownWrites.push(fp);
    if (ownWrites.length > OWN_WRITES_KEPT) ownWrites.shift();
    clipboard
      .writeText(text, { conceal: true })
      .then(() => {
        toClipboard++;
        notifier.notify({
          title: `${m.author.name} wrote to Claude Desktop`,
          body: `On the clipboard, ready to paste: ${preview(text)}`,
          severity: 'info',
        });
        publish();
      })
      .catch((err: unknown) => fail(err));
  };
  const unsubscribe = rooms.onMessage(onRoomMessage);

  const set = async ({ enabled: on, roomId: room }: { enabled: boolean; roomId?: string }): Promise<RelayState> => {
    if (room !== undefined && room !== roomId) {
      roomId = room;
      pref.put(room, now());
    }
    if (on && !roomId) throw new AppError('invalid_input', 'Choose the room the clipboard relay should post into, then turn it on.');
    if (on && !enabled) {
      // What is on the clipboard already was copied before the relay was on: not relayed.
      try {
        lastSeen = fingerprint(await clipboard.readText());
        error = null;
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        throw new AppError('unavailable', `The clipboard cannot be read, so the relay stays off: ${msg}`);
      }
      // Load the secret rules now, so the first copy is judged as fast as the next ones.
      await prepareSecretDetection();
      enabled = true;
      loop();
    } else if (!on && enabled) {
      enabled = false;
      stopPolling?.();
      stopPolling = null;
    }
    publish();
    return state();
  };

  const undo = async (messageId: string): Promise<void> => {
    const u = undoable.get(messageId);
    if (!u || u.until < now())
      throw new AppError(
        'conflict',
        `The relayed post ${messageId} can no longer be undone (the undo window is ${Math.round(undoWindowMs / 1000)} s). Delete it in the room instead.`,
      );
    u.cancel();
    undoable.delete(messageId);
    if (u.posted) await rooms.retractMessage!({ roomId: u.roomId, messageId, reason: 'Withdrawn by the user (clipboard relay undo)' });
    publish();
  };

  return {
    state,
    set,
    undo,
    tick,
    close() {
      closed = true;
      enabled = false;
      stopPolling?.();
      for (const u of undoable.values()) u.cancel();
      unsubscribe();
    },
    handlers: {
      'assist.relay.get': () => state(),
      'assist.relay.set': (input) => set(input),
      'assist.relay.undo': async ({ messageId }) => {
        await undo(messageId);
        return { undone: true as const };
      },
    },
  };
}

/** The relay's view of the rooms service: posts as a Desktop member, follows rooms.message. */
export function relayRoomsFrom(rooms: RoomsService, bus: EventBus): RelayRooms {
  return {
    postMessage: (m) => {
      rooms.ensureMember(m.roomId, m.author, ['observer']);
      return rooms.postMessage({ roomId: m.roomId, author: m.author, text: m.text, act: m.act ?? 'inform' });
    },
    // The rooms service has no retraction, so the relay holds posts for the undo window ('delay').
    onMessage: (listener) => bus.subscribe('rooms.message', (m) => listener(m)),
  };
}
