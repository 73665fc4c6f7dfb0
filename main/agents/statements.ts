// Every SQL statement of the agents folder (tokens, signed-message nonces, the assist services'
// summaries and preferences), with the rows decoded by schema: no other file here writes SQL or
// casts a row.
import type Database from 'better-sqlite3';
import { z } from 'zod';
import { agentScopes } from '../../preload/contract';
import type { Db } from '../store';

const jsonOf = <T extends z.ZodType>(schema: T) =>
  z.string().transform((s, ctx): z.output<T> => {
    try {
      return schema.parse(JSON.parse(s));
    } catch {
      ctx.addIssue({ code: 'custom', message: 'a JSON column does not hold what it should' });
      return z.NEVER;
    }
  });

export const tokenRowSchema = z.object({
  id: z.string(),
  name: z.string(),
  hash: z.instanceof(Buffer),
  scopes: jsonOf(z.array(z.enum(agentScopes))),
  roles: jsonOf(z.array(z.string())),
  rate_per_minute: z.number(),
  burst: z.number(),
  public_key: z.string().nullable(),
  created_at: z.number(),
  expires_at: z.number().nullable(),
  revoked_at: z.number().nullable(),
  last_used_at: z.number().nullable(),
});
export type TokenRow = z.output<typeof tokenRowSchema>;

export const summaryRowSchema = z.object({
  id: z.number(),
  room_id: z.string(),
  created_at: z.number(),
  source: z.enum(['model', 'extractive']),
  model: z.string().nullable(),
  text: z.string(),
  message_count: z.number(),
  note: z.string().nullable(),
});
export type SummaryRow = z.output<typeof summaryRowSchema>;

const rows = <S extends z.ZodType>(st: Database.Statement, schema: S) => ({
  get: (...args: unknown[]): z.output<S> | undefined => {
    const r: unknown = st.get(...args);
    return r === undefined ? undefined : schema.parse(r);
  },
  one: (...args: unknown[]): z.output<S> => schema.parse(st.get(...args)),
  all: (...args: unknown[]): z.output<S>[] => st.all(...args).map((r) => schema.parse(r)),
});

export function tokenStatements(db: Db) {
  return {
    byId: rows(db.prepare('SELECT * FROM agent_tokens WHERE id = ?'), tokenRowSchema),
    list: rows(db.prepare('SELECT * FROM agent_tokens ORDER BY created_at DESC, id'), tokenRowSchema),
    insert: db.prepare(
      `INSERT INTO agent_tokens (id, name, hash, scopes, roles, rate_per_minute, burst, public_key, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    revoke: db.prepare('UPDATE agent_tokens SET revoked_at = ? WHERE id = ?'),
    setPublicKey: db.prepare('UPDATE agent_tokens SET public_key = ? WHERE id = ?'),
    touch: db.prepare('UPDATE agent_tokens SET last_used_at = ? WHERE id = ?'),
  };
}

export function nonceStatements(db: Db) {
  return {
    insert: db.prepare('INSERT OR IGNORE INTO agent_nonces (key, nonce, ts) VALUES (?, ?, ?)'),
    prune: db.prepare('DELETE FROM agent_nonces WHERE ts < ?'),
  };
}

export function summaryStatements(db: Db) {
  return {
    insert: rows(
      db.prepare('INSERT INTO assist_summaries (room_id, created_at, source, model, text, message_count, note) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *'),
      summaryRowSchema,
    ),
    latest: rows(db.prepare('SELECT * FROM assist_summaries WHERE room_id = ? ORDER BY id DESC LIMIT 1'), summaryRowSchema),
  };
}

/**
 * One JSON preference of the assist services. `get` answers undefined when nothing is stored or
 * the stored value does not fit the schema (the caller falls back to its default and may say so).
 */
export function preference<S extends z.ZodType>(db: Db, key: string, schema: S) {
  const get = db.prepare('SELECT value FROM assist_prefs WHERE key = ?').pluck();
  const put = db.prepare(
    'INSERT INTO assist_prefs (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
  );
  return {
    get(): { ok: true; value: z.output<S> } | { ok: false; stored: boolean } {
      const raw: unknown = get.get(key);
      if (typeof raw !== 'string') return { ok: false, stored: false };
      const parsed = jsonOf(schema).safeParse(raw);
      return parsed.success ? { ok: true, value: parsed.data } : { ok: false, stored: true };
    },
    put(value: z.input<S>, at: number): void {
      put.run(key, JSON.stringify(value), at);
    },
  };
}
