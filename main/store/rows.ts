// Rows come back from SQLite as `unknown`: each query names the zod schema of its row, and every row
// is decoded through it instead of being cast. A row that does not match (a hand-edited or damaged
// database, a migration that forgot a column) fails loudly with the statement and the field, rather
// than travelling on as a lie about its type.
import type Database from 'better-sqlite3';
import type { RunResult, Statement } from 'better-sqlite3';
import { z } from 'zod';

export class RowDecodeError extends Error {
  constructor(sql: string, issues: readonly z.core.$ZodIssue[]) {
    const where = issues.map((i) => `${i.path.join('.') || '(row)'}: ${i.message}`).join('; ');
    super(`A database row does not have the expected shape (${where}) for: ${sql.replace(/\s+/g, ' ').slice(0, 160)}`);
    this.name = 'RowDecodeError';
  }
}

/** A prepared statement whose rows are decoded by `row`. */
export interface Query<R> {
  get(...params: unknown[]): R | undefined;
  all(...params: unknown[]): R[];
  run(...params: unknown[]): RunResult;
}

export function query<S extends z.ZodType>(db: Database.Database, sql: string, row: S): Query<z.output<S>> {
  const stmt: Statement<unknown[], unknown> = db.prepare(sql);
  const decode = (r: unknown): z.output<S> => {
    const parsed = row.safeParse(r);
    if (!parsed.success) throw new RowDecodeError(sql, parsed.error.issues);
    return parsed.data;
  };
  return {
    get: (...params) => {
      const r = stmt.get(...params);
      return r === undefined ? undefined : decode(r);
    },
    all: (...params) => stmt.all(...params).map(decode),
    run: (...params) => stmt.run(...params),
  };
}

/** A statement that returns no rows (INSERT, UPDATE, DELETE without RETURNING). */
export function command(db: Database.Database, sql: string): { run(...params: unknown[]): RunResult } {
  const stmt: Statement<unknown[], unknown> = db.prepare(sql);
  return { run: (...params) => stmt.run(...params) };
}

/** A TEXT column holding JSON: parsed, then validated by `schema`. */
export const jsonText = <S extends z.ZodType>(schema: S) =>
  z
    .string()
    .transform((s, ctx): unknown => {
      try {
        return JSON.parse(s);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'is not valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);

/** An integer column that SQLite may return as null (an aggregate over no rows, a nullable column). */
export const nullableInt = z.number().int().nullable();
