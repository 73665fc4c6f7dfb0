// Every SQL statement of the audit log, with the zod schema its rows are decoded by.
import { auditEventSchema, auditSeverities, type AuditEvent } from '../../preload/contract';
import { z } from 'zod';
import { jsonText, query, type Db } from '../store';

const auditRow = z.object({
  id: z.number().int(),
  ts: z.number(),
  kind: z.string(),
  severity: z.enum(auditSeverities),
  source: z.string(),
  message: z.string(),
  detail: jsonText(auditEventSchema.shape.detail),
  resolved_at: z.number().nullable(),
  resolved_note: z.string().nullable(),
});
type AuditRow = z.output<typeof auditRow>;

const toEvent = (r: AuditRow): AuditEvent => ({
  id: r.id,
  ts: r.ts,
  kind: r.kind,
  severity: r.severity,
  source: r.source,
  message: r.message,
  detail: r.detail,
  resolvedAt: r.resolved_at,
  resolvedNote: r.resolved_note,
});

export interface AuditFilter {
  severity?: AuditEvent['severity'];
  kind?: string;
  status?: 'open' | 'resolved' | 'all';
  /** Matched as plain text (LIKE wildcards escaped) in the message, source and detail. */
  text?: string;
  /** Only events from this source, a peer's address matching without its port. */
  source?: string;
}

// A peer's address without its port, in SQL: one client's flood of refused connections comes from
// a new port each time and is still one thing happening (peerAddress does the same in JS).
const SRC = `(CASE WHEN source GLOB '[0-9]*.[0-9]*.[0-9]*.[0-9]*:[0-9]*' THEN substr(source, 1, instr(source, ':') - 1)
  WHEN source GLOB '[[]*]:[0-9]*' THEN substr(source, 2, instr(source, ']') - 2) ELSE source END)`;

const groupRow = z.object({
  kind: z.string(),
  source: z.string(),
  count: z.number().int(),
  open: z.number().int(),
  firstTs: z.number(),
  lastTs: z.number(),
  latestId: z.number().int(),
  rank: z.number().int(),
});

export function auditStatements(db: Db) {
  const insert = query(db, 'INSERT INTO audit_events (ts, kind, severity, source, message, detail) VALUES (?, ?, ?, ?, ?, ?) RETURNING *', auditRow);
  const byId = query(db, 'SELECT * FROM audit_events WHERE id = ?', auditRow);
  const resolve = query(db, 'UPDATE audit_events SET resolved_at = ?, resolved_note = ? WHERE id = ? RETURNING *', auditRow);
  const bySeverity = query(db, 'SELECT severity, count(*) AS n FROM audit_events GROUP BY severity', z.object({ severity: z.enum(auditSeverities), n: z.number().int() }));
  const byKind = query(db, 'SELECT kind, count(*) AS n FROM audit_events GROUP BY kind ORDER BY n DESC LIMIT 50', z.object({ kind: z.string(), n: z.number().int() }));
  const totals = query(db, 'SELECT count(*) AS total, sum(resolved_at IS NULL) AS open FROM audit_events', z.object({ total: z.number().int(), open: z.number().int().nullable() }));

  const where = (f: AuditFilter): { clauses: string[]; args: (string | number)[] } => {
    const clauses: string[] = [];
    const args: (string | number)[] = [];
    if (f.severity) {
      clauses.push('severity = ?');
      args.push(f.severity);
    }
    if (f.kind) {
      clauses.push('kind = ?');
      args.push(f.kind);
    }
    if (f.status === 'open') clauses.push('resolved_at IS NULL');
    if (f.status === 'resolved') clauses.push('resolved_at IS NOT NULL');
    if (f.text) {
      clauses.push("(message LIKE ? ESCAPE '\\' OR source LIKE ? ESCAPE '\\' OR detail LIKE ? ESCAPE '\\')");
      const like = `%${f.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      args.push(like, like, like);
    }
    if (f.source !== undefined) {
      clauses.push(`${SRC} = ?`);
      args.push(f.source);
    }
    return { clauses, args };
  };
  const sqlWhere = (clauses: string[]): string => (clauses.length ? `WHERE ${clauses.join(' AND ')}` : '');

  return {
    insert: (e: { ts: number; kind: string; severity: AuditEvent['severity']; source: string; message: string; detail: string }): AuditEvent =>
      toEvent(insert.get(e.ts, e.kind, e.severity, e.source, e.message, e.detail)!),
    exists: (id: number): boolean => byId.get(id) !== undefined,
    resolve: (id: number, at: number, note: string | null): AuditEvent | undefined => {
      const r = resolve.get(at, note, id);
      return r && toEvent(r);
    },
    /** One page, newest first, below beforeId when given; with the count of all that match. */
    list(f: AuditFilter, page: { beforeId?: number; limit: number }): { events: AuditEvent[]; total: number } {
      const { clauses, args } = where(f);
      const total = query(db, `SELECT count(*) AS n FROM audit_events ${sqlWhere(clauses)}`, z.object({ n: z.number().int() })).get(...args)!.n;
      if (page.beforeId) {
        clauses.push('id < ?');
        args.push(page.beforeId);
      }
      const rows = query(db, `SELECT * FROM audit_events ${sqlWhere(clauses)} ORDER BY id DESC LIMIT ?`, auditRow).all(...args, page.limit);
      return { events: rows.map(toEvent), total };
    },
    /** Events grouped by kind and source (port folded), newest group first. */
    groups(f: AuditFilter, limit: number) {
      const { clauses, args } = where(f);
      const total = query(db, `SELECT count(*) AS n FROM (SELECT 1 FROM audit_events ${sqlWhere(clauses)} GROUP BY kind, ${SRC})`, z.object({ n: z.number().int() })).get(...args)!.n;
      const rows = query(
        db,
        `SELECT kind, ${SRC} AS source, count(*) AS count, sum(resolved_at IS NULL) AS open, min(ts) AS firstTs, max(ts) AS lastTs, max(id) AS latestId,
           max(CASE severity WHEN 'critical' THEN 2 WHEN 'warning' THEN 1 ELSE 0 END) AS rank
         FROM audit_events ${sqlWhere(clauses)} GROUP BY kind, ${SRC} ORDER BY latestId DESC LIMIT ?`,
        groupRow,
      ).all(...args, limit);
      const groups = rows.map((r) => ({
        kind: r.kind,
        source: r.source,
        severity: auditSeverities[r.rank] ?? 'info',
        count: r.count,
        open: r.open,
        firstTs: r.firstTs,
        lastTs: r.lastTs,
        latestId: r.latestId,
        message: byId.get(r.latestId)?.message ?? '',
      }));
      return { groups, total };
    },
    /** Resolves the open events of one kind (and source) up to an id; returns them. */
    resolveMany(m: { kind: string; source?: string; upToId: number }, at: number, note: string | null): AuditEvent[] {
      const bySource = m.source !== undefined;
      return query(db, `UPDATE audit_events SET resolved_at = ?, resolved_note = ? WHERE resolved_at IS NULL AND kind = ? AND id <= ?${bySource ? ` AND ${SRC} = ?` : ''} RETURNING *`, auditRow)
        .all(at, note, m.kind, m.upToId, ...(bySource ? [m.source!] : []))
        .map(toEvent);
    },
    counts(): { total: number; open: number; bySeverity: Record<AuditEvent['severity'], number>; byKind: Record<string, number> } {
      const sev = Object.fromEntries(auditSeverities.map((s) => [s, 0])) as Record<AuditEvent['severity'], number>;
      for (const r of bySeverity.all()) sev[r.severity] = r.n;
      const kinds: Record<string, number> = {};
      for (const r of byKind.all()) kinds[r.kind] = r.n;
      const t = totals.get()!;
      return { total: t.total, open: t.open ?? 0, bySeverity: sev, byKind: kinds };
    },
  };
}
