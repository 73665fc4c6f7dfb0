// Room summaries. With an Anthropic API key (SecretStore "anthropic.apiKey") Claude writes the
// summary and it is streamed to the room's summary panel as it is written; without a key, or when
// the API fails, an extractive summary (decisions, action items, open questions) is made locally.
import Anthropic, { APIConnectionError, APIError } from '@anthropic-ai/sdk';
import { summaryConfigSchema, type RoomSummary, type SummaryConfig } from '../../preload/contract';
import { preference, summaryStatements, type SummaryRow } from './statements';
import type { EventBus } from '../kernel/bus';
import type { Handlers } from '../kernel/dispatcher';
import { AppError } from '../kernel/errors';
import type { Logger } from '../kernel/logger';
import type { SecretStore } from '../kernel/ports';
import type { RoomsService } from '../rooms';
import type { Db } from '../store';

export const ANTHROPIC_KEY = 'anthropic.apiKey';
export const DEFAULT_SUMMARY_MODEL = 'claude-sonnet-5-5';
const DEFAULT_CONFIG: SummaryConfig = { threshold: 50, model: DEFAULT_SUMMARY_MODEL };

export interface SummaryMessage {
  id: string | number;
  roomId?: string | number;
  author: { kind: string; id: string; name: string };
  text: string;
  act?: string | null;
  replyTo?: string | number | null;
  createdAt?: number;
}

/** The part of the rooms service summaries read. */
export interface SummaryRooms {
  listMessages(q: { roomId: string; after?: string | number; limit: number }): SummaryMessage[] | Promise<SummaryMessage[]>;
  /** Decisions recorded from passed proposals, when the rooms service offers them. */
  listDecisions?(q: { roomId: string }): { text: string }[] | Promise<{ text: string }[]>;
  /** New room messages (rooms.message); returns an unsubscribe function. */
  onMessage(listener: (m: SummaryMessage) => void): () => void;
}

export interface SummaryService {
  run(roomId: string, opts?: { extractiveOnly?: boolean }): Promise<RoomSummary>;
  latest(roomId: string): RoomSummary | null;
  config(patch?: Partial<SummaryConfig>): SummaryConfig;
  handlers: Handlers;
  /** Resolves when automatic summaries started so far have finished (for shutdown and tests). */
  idle(): Promise<void>;
  close(): void;
}

export interface SummaryDeps {
  db: Db;
  bus: EventBus;
  log: Logger;
  now: () => number;
  secrets: SecretStore;
  rooms: SummaryRooms;
  /** Tests point this at a local server that speaks the Messages streaming format. */
  baseURL?: string;
  maxRetries?: number;
  timeoutMs?: number;
}

const MAX_MESSAGES = 2000;
const MAX_TRANSCRIPT_CHARS = 120_000;
const PAGE = 500;

// ---- extractive summary -------------------------------------------------------------------

const sentences = (text: string): string[] =>
  text
    .split(/(?<=[.!?])\s+|\n+/)
    .map((s) => s.trim())
    .filter(Boolean);
const clip = (s: string, n = 200): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

const DECISION = /\b(?:we (?:have )?(?:decided|agreed)|decision:|agreed:|resolved:|let'?s go with|we(?:'ll| will) go with|final answer:)/i;
const ACTION = /\b(?:TODO|FIXME|action(?: item)?:|I(?:'ll| will)|we(?:'ll| will)|(?:he|she|they) will|will (?:do|fix|write|add|check|review|run|send|update|take)|assigned to|needs? to|must)\b/i;

/** Decisions, action items and open questions, found by speech act and wording. */
export function extractiveSummary(messages: readonly SummaryMessage[], decisions: readonly { text: string }[] = []): string {
  const answered = new Set(messages.filter((m) => m.replyTo != null).map((m) => String(m.replyTo)));
  const dec: string[] = decisions.map((d) => clip(d.text));
  const actions: string[] = [];
  const questions: string[] = [];
  for (const m of messages) {
    const who = m.author.name;
    if (m.act === 'accept' && !DECISION.test(m.text)) continue; // a bare "+1" says nothing by itself
    for (const s of sentences(m.text)) {
      if (DECISION.test(s)) dec.push(`${clip(s)} (${who})`);
      else if (m.act === 'request' || ACTION.test(s)) actions.push(`${who}: ${clip(s)}`);
      else if ((m.act === 'question' || s.endsWith('?')) && !answered.has(String(m.id))) questions.push(`${who}: ${clip(s)}`);
    }
  }
  const uniq = (xs: string[]): string[] => [...new Set(xs)];
  const people = new Set(messages.map((m) => m.author.name)).size;
  const section = (title: string, items: string[], none: string): string =>
    `${title}\n${items.length ? uniq(items).slice(-15).map((i) => `- ${i}`).join('\n') : `- ${none}`}`;
  return [
    `${messages.length} message${messages.length === 1 ? '' : 's'} from ${people} participant${people === 1 ? '' : 's'}.`,
    section('Decisions', dec, 'none recorded'),
    section('Action items', actions, 'none found'),
    section('Open questions', questions, 'none open'),
  ].join('\n\n');
}

// ---- model summary --------------------------------------------------------------------------

const SYSTEM =
  'You summarise a team chat room for the people in it. Write plain text under 250 words with three ' +
  'headed parts: Decisions, Action items (who does what), Open questions. Be specific; do not invent.';

const transcript = (messages: readonly SummaryMessage[]): string => {
  const lines: string[] = [];
  let size = 0;
  // Newest messages matter most: keep from the end until the budget is spent.
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    const line = `[${m.id}] ${m.author.name} (${m.author.kind}${m.act ? `, ${m.act}` : ''}${m.replyTo != null ? `, reply to ${m.replyTo}` : ''}): ${m.text}`;
    if (size + line.length > MAX_TRANSCRIPT_CHARS) break;
    lines.unshift(line);
    size += line.length + 1;
  }
  return lines.join('\n');
};

/** Words for the user when the API fails; the summary still arrives (extractive). */
export function describeApiError(err: unknown): string {
  const tail = 'An extractive summary was made instead.';
  if (err instanceof APIError && err.status !== undefined) {
    switch (err.status) {
      case 401:
        return `The Anthropic API refused the saved API key (401). Save a valid key in Agents → Summaries. ${tail}`;
      case 403:
        return `The Anthropic API key may not use this model (403). Choose another model or check the key's workspace. ${tail}`;
      case 404:
        return `The Anthropic API does not know the summary model (404). Choose a current model id in Agents → Summaries. ${tail}`;
      case 429:
        return `The Anthropic API rate limit was reached (429). Try again in a minute. ${tail}`;
      case 529:
        return `Anthropic's API is overloaded right now (529). Try again in a few minutes. ${tail}`;
      default:
        return `The Anthropic API failed (${err.status}${err.message ? `: ${clip(err.message, 160)}` : ''}). ${tail}`;
    }
  }
  if (err instanceof APIConnectionError)
    return `The Anthropic API could not be reached (${clip(err.message, 120)}). Check the network connection. ${tail}`;
  return `The summary could not be written by Claude (${clip(err instanceof Error ? err.message : String(err), 160)}). ${tail}`;
}

export function createSummaryService(deps: SummaryDeps): SummaryService {
  const { db, bus, log, now, secrets, rooms } = deps;
  const st = summaryStatements(db);
  const pref = preference(db, 'summary.config', summaryConfigSchema.partial());
  const toSummary = (r: SummaryRow): RoomSummary => ({
    id: r.id,
    roomId: r.room_id,
    createdAt: r.created_at,
    source: r.source,
    model: r.model,
    text: r.text,
    messageCount: r.message_count,
    note: r.note,
  });

  let cfg: SummaryConfig = { ...DEFAULT_CONFIG };
  const stored = pref.get();
  if (stored.ok) cfg = { ...cfg, ...stored.value };
  else if (stored.stored) log.warn('the stored summary settings are not valid; using the defaults');

  const readAll = async (roomId: string): Promise<SummaryMessage[]> => {
    const all: SummaryMessage[] = [];
    let after: string | number | undefined;
    for (;;) {
      const page = await rooms.listMessages({ roomId, limit: PAGE, ...(after !== undefined ? { after } : {}) });
      all.push(...page);
      if (page.length < PAGE) break;
      after = page.at(-1)!.id;
      if (all.length > MAX_MESSAGES * 4) break; // a runaway room: the newest part is what counts
    }
    return all.slice(-MAX_MESSAGES);
  };

  let runs = 0;
  const streamFromClaude = async (apiKey: string, roomId: string, runId: string, messages: SummaryMessage[]): Promise<string> => {
    const client = new Anthropic({
      apiKey,
      ...(deps.baseURL ? { baseURL: deps.baseURL } : {}),
      maxRetries: deps.maxRetries ?? 2,
      timeout: deps.timeoutMs ?? 120_000,
    });
    const stream = client.messages.stream({
      model: cfg.model,
      max_tokens: 1024,
      system: SYSTEM,
      messages: [{ role: 'user', content: `Summarise this room (${messages.length} messages, oldest first):\n\n${transcript(messages)}` }],
    });
    let index = 0;
    let text = '';
    stream.on('text', (delta) => {
      text += delta;
      bus.publish('assist.summary.delta', { roomId, runId, index: index++, delta, text });
    });
    await stream.finalMessage();
    return text;
  };

  const busy = new Map<string, Promise<RoomSummary>>();
  const run = (roomId: string, opts: { extractiveOnly?: boolean } = {}): Promise<RoomSummary> => {
    const current = busy.get(roomId);
    if (current) return current; // one summary per room at a time; the caller gets the running one
    const p = (async () => {
      const runId = `${roomId}:${++runs}`;
      const messages = await readAll(roomId);
      if (!messages.length) throw new AppError('invalid_input', 'This room has no messages yet; there is nothing to summarise.');
      let apiKey: string | undefined;
      try {
        apiKey = opts.extractiveOnly ? undefined : secrets.get(ANTHROPIC_KEY);
      } catch (err) {
        log.warn({ err }, 'the Anthropic API key could not be read');
      }
      let text = '';
      let source: RoomSummary['source'] = 'extractive';
      let note: string | null = opts.extractiveOnly
        ? null
        : 'No Anthropic API key is saved, so this summary was extracted locally. Add a key in Agents → Summaries for a written one.';
      if (apiKey) {
        try {
          text = await streamFromClaude(apiKey, roomId, runId, messages);
          source = 'model';
          note = null;
        } catch (err) {
          note = describeApiError(err);
          log.warn({ err: err instanceof Error ? err.message : String(err), roomId }, 'model summary failed; extractive fallback');
        }
      }
      if (source === 'extractive') {
        const decisions = rooms.listDecisions ? await rooms.listDecisions({ roomId }) : [];
        text = extractiveSummary(messages, decisions);
        bus.publish('assist.summary.delta', { roomId, runId, index: 0, delta: text, text });
      }
      const summary = toSummary(
        st.insert.one(roomId, now(), source, source === 'model' ? cfg.model : null, text, messages.length, note),
      );
      sinceLast.set(roomId, 0);
      bus.publish('assist.summary.done', { roomId, runId, summary });
      return summary;
    })().finally(() => busy.delete(roomId));
    busy.set(roomId, p);
    return p;
  };

  // Automatic summaries: count new messages per room since its last summary.
  const sinceLast = new Map<string, number>();
  const auto = new Set<Promise<unknown>>();
  const unsubscribe = rooms.onMessage((m) => {
    if (cfg.threshold <= 0 || m.roomId === undefined) return;
    const roomId = String(m.roomId);
    const n = (sinceLast.get(roomId) ?? 0) + 1;
    sinceLast.set(roomId, n);
    if (n < cfg.threshold || busy.has(roomId)) return;
    const p = run(roomId)
      .catch((err: unknown) => log.warn({ err, roomId }, 'automatic summary failed'))
      .finally(() => auto.delete(p));
    auto.add(p);
  });

  const config = (patch: Partial<SummaryConfig> = {}): SummaryConfig => {
    if (Object.keys(patch).length) {
      cfg = { ...cfg, ...patch };
      pref.put(cfg, now());
    }
    return cfg;
  };

  const latest = (roomId: string): RoomSummary | null => {
    const r = st.latest.get(roomId);
    return r ? toSummary(r) : null;
  };

  return {
    run,
    latest,
    config,
    idle: async () => {
      await Promise.all([...auto]);
    },
    close: () => unsubscribe(),
    handlers: {
      'assist.summary.get': ({ roomId }) => latest(roomId),
      'assist.summary.run': ({ roomId, extractiveOnly }) => run(roomId, { extractiveOnly }),
      'assist.summary.config': (patch) => config(patch),
      'assist.summary.setApiKey': ({ apiKey }) => {
        const key = apiKey.trim();
        if (!key) {
          secrets.delete(ANTHROPIC_KEY);
          return { saved: false };
        }
        if (!/^sk-ant-[A-Za-z0-9_-]{10,}$/.test(key))
          throw new AppError('invalid_input', 'That does not look like an Anthropic API key (it starts with "sk-ant-"). Copy it again from the Claude Console.');
        secrets.set(ANTHROPIC_KEY, key);
        return { saved: true };
      },
    },
  };
}

/** Summaries' view of the rooms service. */
export function summaryRoomsFrom(rooms: RoomsService, bus: EventBus): SummaryRooms {
  return {
    listMessages: ({ roomId, after, limit }) =>
      // Without a cursor the rooms service returns the newest page; summaries read from the start.
      rooms.listMessages({ roomId, limit, after: after === undefined ? 0 : Number(after) }).messages,
    listDecisions: ({ roomId }) => rooms.listDecisions(roomId).map((d) => ({ text: `${d.title}: ${d.outcome}` })),
    onMessage: (listener) => bus.subscribe('rooms.message', (m) => listener(m)),
  };
}
