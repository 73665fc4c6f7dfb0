import { isIP } from 'node:net';
import type { AuditEvent } from '../../preload/contract';
import type { EventBus } from '../kernel/bus';
import type { Handlers } from '../kernel/dispatcher';
import { notFound } from '../kernel/errors';
import type { Db } from '../store';
import { auditStatements } from './statements';

export type AuditDetail = AuditEvent['detail'];
export interface AuditInput {
  kind: string;
  severity: AuditEvent['severity'];
  source: string;
  message: string;
  detail?: AuditDetail;
}

/** Events of one kind from one peer for one reason are "the same" for the flood guard. */
const BURST = 20;
const WINDOW_MS = 60_000;

/**
 * The peer address in a source such as `127.0.0.1:54321`, `ws:::ffff:127.0.0.1:80` or `[::1]:9`,
 * without the port (every refused browser handshake comes from a new port, so ip:port would never
 * fold); any other source is returned as it is.
 */
export function peerAddress(source: string): string {
  const cut = source.lastIndexOf(':');
  if (cut <= 0 || !/^\d{1,5}$/.test(source.slice(cut + 1))) return source;
  const head = source.slice(0, cut);
  const prefix = /^[a-z][a-z0-9+.-]*:(?=[\d[:])/i.exec(head)?.[0] ?? '';
  for (const [pre, addr] of [['', head], [prefix, head.slice(prefix.length)]] as const) {
    const bare = addr.startsWith('[') && addr.endsWith(']') ? addr.slice(1, -1) : addr;
    if (isIP(bare)) return `${pre}${bare}`;
  }
  return source;
}

export interface AuditLog {
  /** Records an event; returns undefined when it was folded into a flood summary. */
  record(input: AuditInput): AuditEvent | undefined;
  handlers: Handlers;
}

const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/**
 * The audit log: security-relevant events with time, source and detail. Later capabilities write
 * into it through record(); the Security view reads it through the contract.
 */
export function createAuditLog(deps: { db: Db; bus: EventBus; now: () => number }): AuditLog {
  const { bus, now } = deps;
  const sql = auditStatements(deps.db);

  // A flood (a script hammering a port with bad tokens) must not fill the disk or the UI: at most
  // BURST entries per (kind, peer address, reason) per minute, then one entry that counts the rest.
  // The port is left out (a browser handshake comes from a new port each time); the reason is the
  // detail's `reason` when there is one.
  const windows = new Map<string, { start: number; count: number }>();
  const admit = (input: AuditInput): boolean => {
    const source = peerAddress(input.source);
    const reason = input.detail?.reason;
    const key = `${input.kind}|${source}|${typeof reason === 'string' ? reason : ''}`;
    const t = now();
    const w = windows.get(key);
    if (w && t - w.start < WINDOW_MS) return ++w.count <= BURST;
    if (w && w.count > BURST)
      write({
        kind: input.kind,
        severity: input.severity,
        source,
        message: `${w.count - BURST} more like this in the minute before were counted, not recorded one by one`,
        detail: { suppressed: w.count - BURST, ...(typeof reason === 'string' ? { reason } : {}) },
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
    const ev = sql.insert({
      ts: now(),
      kind: clip(input.kind, 100),
      severity: input.severity,
      source: clip(input.source, 200),
      message: clip(input.message, 1000),
      detail: JSON.stringify(detail),
    });
    bus.publish('audit.recorded', ev);
    return ev;
  };

  return {
    record,
    handlers: {
      'audit.list': (q) => sql.list(q, { beforeId: q.beforeId, limit: q.limit }),
      'audit.counts': () => sql.counts(),
      'audit.groups': (q) => sql.groups(q, q.limit),
      'audit.resolveMany': ({ kind, source, upToId, note }) => {
        const resolved = sql.resolveMany({ kind, upToId, ...(source !== undefined ? { source } : {}) }, now(), note ?? null);
        // One event for the batch (the newest): views read the list again, not thousands of pushes.
        const newest = resolved.reduce<AuditEvent | undefined>((a, r) => (!a || r.id > a.id ? r : a), undefined);
        if (newest) bus.publish('audit.resolved', newest);
        return { resolved: resolved.length };
      },
      'audit.resolve': ({ id, note }) => {
        const ev = sql.resolve(id, now(), note ?? null);
        if (!ev) throw notFound(`Audit event ${id}`);
        bus.publish('audit.resolved', ev);
        return ev;
      },
    },
  };
}
