import type { AuditEvent } from '../../preload/contract';
import { auditSeverities } from '../../preload/contract';
import type { EventBus } from '../kernel/bus';
import type { Handlers } from '../kernel/dispatcher';
import { notFound } from '../kernel/errors';
import type { Db } from '../store';

export type AuditDetail = AuditEvent['detail'];
export interface AuditInput {
  kind: string;
  severity: AuditEvent['severity'];
  source: string;
  message: string;
  detail?: AuditDetail;
}

const BURST = 20;

export interface AuditLog {
  /** Records an event; returns undefined when it was folded into a flood summary. */
  record(input: AuditInput): AuditEvent | undefined;
  handlers: Handlers;
}

interface Row {
  id: number;
  ts: number;
  kind: string;
  severity: AuditEvent['severity'];
  source: string;
  message: string;
  detail: string;
  resolved_at: number | null;
  resolved_note: string | null;
}

const toEvent = (r: Row): AuditEvent => ({
  id: r.id,
  ts: r.ts,
  kind: r.kind,
  severity: r.severity,
  source: r.source,
  message: r.message,
  detail: JSON.parse(r.detail) as AuditDetail,
  resolvedAt: r.resolved_at,
  resolvedNote: r.resolved_note,
});

const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/**
 * The audit log: security-relevant events with time, source and detail. Later capabilities write
 * into it through record(); the Security view reads it through the contract.
 */
export function createAuditLog(deps: { db: Db; bus: EventBus; now: () => number }): AuditLog {
  const { db, bus, now } = deps;
  const insert = db.prepare(
    'INSERT INTO audit_events (ts, kind, severity, source, message, detail) VALUES (?, ?, ?, ?, ?, ?) RETURNING *',
  );
  const byId = db.prepare('SELECT * FROM audit_events WHERE id = ?');
  const resolve = db.prepare('UPDATE audit_events SET resolved_at = ?, resolved_note = ? WHERE id = ? RETURNING *');

  // A flood (a script hammering a port with bad tokens) must not fill the disk: at most BURST
  // entries per (kind, source) per minute, then one entry that counts the rest.
  const windows = new Map<string, { start: number; count: number }>();
  const admit = (input: AuditInput): boolean => {
    const key = `${input.kind}|${input.source}`;
    const t = now();
    const w = windows.get(key);
    if (w && t - w.start < 60_000) return ++w.count <= BURST;
    if (w && w.count > BURST)
      write({
        kind: input.kind,
        severity: input.severity,
        source: input.source,
        message: `${w.count - BURST} more like this in the minute before were counted, not recorded one by one`,
        detail: { suppressed: w.count - BURST },
      });
    if (windows.size > 10_000) windows.clear();
    windows.set(key, { start: t, count: 1 });
    return true;
  };

  const record = (input: AuditInput): AuditEvent | undefined => (admit(input) ? write(input) : undefined);

  const write = (input: AuditInput): AuditEvent => {
    // Sizes are bounded so a flood of refusals cannot fill the disk with attacker-chosen text.
    const detail: AuditDetail = {};
    for (const [k, v] of Object.entries(input.detail ?? {}).slice(0, 20)) {
      detail[clip(k, 64)] = typeof v === 'string' ? clip(v, 500) : v;
    }
    const row = insert.get(
      now(),
      clip(input.kind, 100),
      input.severity,
      clip(input.source, 200),
      clip(input.message, 1000),
      JSON.stringify(detail),
    ) as Row;
    const ev = toEvent(row);
    bus.publish('audit.recorded', ev);
    return ev;
  };

  // A peer's address without its port: one client's flood of refused connections comes from a new
  // port each time, and is still one thing happening.
  const SRC = `(CASE WHEN source GLOB '[0-9]*.[0-9]*.[0-9]*.[0-9]*:[0-9]*' THEN substr(source, 1, instr(source, ':') - 1)
    WHEN source GLOB '[[]*]:[0-9]*' THEN substr(source, 1, instr(source, ']')) ELSE source END)`;
  const filterOf = (q: { severity?: AuditEvent['severity']; kind?: string; status: 'open' | 'resolved' | 'all'; text?: string }): { filter: string; args: (string | number)[] } => {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.severity) {
      where.push('severity = ?');
      args.push(q.severity);
    }
    if (q.kind) {
      where.push('kind = ?');
      args.push(q.kind);
    }
    if (q.status === 'open') where.push('resolved_at IS NULL');
    if (q.status === 'resolved') where.push('resolved_at IS NOT NULL');
    if (q.text) {
      where.push("(message LIKE ? ESCAPE '\\' OR source LIKE ? ESCAPE '\\' OR detail LIKE ? ESCAPE '\\')");
      const like = `%${q.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      args.push(like, like, like);
    }
    return { filter: where.length ? `WHERE ${where.join(' AND ')}` : '', args };
  };

  return {
    record,
    handlers: {
      'audit.list': (q) => {
        const where: string[] = [];
        const args: (string | number)[] = [];
        if (q.severity) {
          where.push('severity = ?');
          args.push(q.severity);
        }
        if (q.kind) {
          where.push('kind = ?');
          args.push(q.kind);
        }
        if (q.status === 'open') where.push('resolved_at IS NULL');
        if (q.status === 'resolved') where.push('resolved_at IS NOT NULL');
        if (q.text) {
          where.push("(message LIKE ? ESCAPE '\\' OR source LIKE ? ESCAPE '\\' OR detail LIKE ? ESCAPE '\\')");
          const like = `%${q.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
          args.push(like, like, like);
        }
        if (q.source !== undefined) {
          where.push(`${SRC} = ?`);
          args.push(q.source);
        }
        const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
        const total = (db.prepare(`SELECT count(*) AS n FROM audit_events ${filter}`).get(...args) as { n: number }).n;
        const page = q.beforeId ? `${filter ? `${filter} AND` : 'WHERE'} id < ?` : filter;
        const rows = db
          .prepare(`SELECT * FROM audit_events ${page} ORDER BY id DESC LIMIT ?`)
          .all(...args, ...(q.beforeId ? [q.beforeId] : []), q.limit) as Row[];
        return { events: rows.map(toEvent), total };
      },
      'audit.counts': () => {
        const bySeverity = Object.fromEntries(auditSeverities.map((s) => [s, 0])) as Record<AuditEvent['severity'], number>;
        for (const r of db.prepare('SELECT severity, count(*) AS n FROM audit_events GROUP BY severity').all() as {
          severity: AuditEvent['severity'];
          n: number;
        }[])
          bySeverity[r.severity] = r.n;
        const byKind: Record<string, number> = {};
        for (const r of db.prepare('SELECT kind, count(*) AS n FROM audit_events GROUP BY kind ORDER BY n DESC LIMIT 50').all() as {
          kind: string;
          n: number;
        }[])
          byKind[r.kind] = r.n;
        const totals = db
          .prepare('SELECT count(*) AS total, sum(resolved_at IS NULL) AS open FROM audit_events')
          .get() as { total: number; open: number | null };
        return { total: totals.total, open: totals.open ?? 0, bySeverity, byKind };
      },
      'audit.groups': (q) => {
        const { filter, args } = filterOf(q);
        const total = (db.prepare(`SELECT count(*) AS n FROM (SELECT 1 FROM audit_events ${filter} GROUP BY kind, ${SRC})`).get(...args) as { n: number }).n;
        const rows = db
          .prepare(
            `SELECT kind, ${SRC} AS source, count(*) AS count, sum(resolved_at IS NULL) AS open, min(ts) AS firstTs, max(ts) AS lastTs, max(id) AS latestId,
               max(CASE severity WHEN 'critical' THEN 2 WHEN 'warning' THEN 1 ELSE 0 END) AS rank
             FROM audit_events ${filter} GROUP BY kind, ${SRC} ORDER BY latestId DESC LIMIT ?`,
          )
          .all(...args, q.limit) as { kind: string; source: string; count: number; open: number; firstTs: number; lastTs: number; latestId: number; rank: number }[];
        const groups = rows.map((r) => ({
          kind: r.kind,
          source: r.source,
          severity: (['info', 'warning', 'critical'] as const)[r.rank] ?? 'info',
          count: r.count,
          open: r.open,
          firstTs: r.firstTs,
          lastTs: r.lastTs,
          latestId: r.latestId,
          message: (byId.get(r.latestId) as Row).message,
        }));
        return { groups, total };
      },
      'audit.resolveMany': ({ kind, source, upToId, note }) => {
        const rows = db
          .prepare(`UPDATE audit_events SET resolved_at = ?, resolved_note = ? WHERE resolved_at IS NULL AND kind = ? AND id <= ?${source !== undefined ? ` AND ${SRC} = ?` : ''} RETURNING *`)
          .all(now(), note ?? null, kind, upToId, ...(source !== undefined ? [source] : [])) as Row[];
        // One event for the batch (the newest): views read the list again, not thousands of pushes.
        const newest = rows.reduce<Row | undefined>((a, r) => (!a || r.id > a.id ? r : a), undefined);
        if (newest) bus.publish('audit.resolved', toEvent(newest));
        return { resolved: rows.length };
      },
      'audit.resolve': ({ id, note }) => {
        if (!byId.get(id)) throw notFound(`Audit event ${id}`);
        const ev = toEvent(resolve.get(now(), note ?? null, id) as Row);
        bus.publish('audit.resolved', ev);
        return ev;
      },
    },
  };
}
