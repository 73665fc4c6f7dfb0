import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../app/testkit';
import { peerAddress } from './index';

const ctx = { transport: 'internal' as const, peer: 'test' };
let app: TestApp | undefined;
afterEach(async () => app?.close());

describe('audit log', () => {
  it('records, filters, counts and resolves events', async () => {
    let t = 1000;
    app = createTestApp({ now: () => t++ });
    app.audit.record({ kind: 'transport.refused', severity: 'warning', source: '127.0.0.1:1', message: 'bad token', detail: { reason: 'wrong token' } });
    app.audit.record({ kind: 'camera.quarantined', severity: 'critical', source: 'cam-1', message: 'equivocation' });
    const all = await app.dispatcher.dispatch('audit.list', {}, ctx);
    expect(all).toMatchObject({ ok: true, value: { total: 2 } });
    const crit = await app.dispatcher.dispatch('audit.list', { severity: 'critical' }, ctx);
    expect(crit.ok && (crit.value as { events: { kind: string }[] }).events.map((e) => e.kind)).toEqual(['camera.quarantined']);
    const text = await app.dispatcher.dispatch('audit.list', { text: 'wrong token' }, ctx);
    expect(text.ok && (text.value as { total: number }).total).toBe(1);

    const first = (all.ok && (all.value as { events: { id: number }[] }).events[1]!.id) as number;
    const resolved = await app.dispatcher.dispatch('audit.resolve', { id: first, note: 'was me' }, ctx);
    expect(resolved).toMatchObject({ ok: true, value: { resolvedNote: 'was me' } });
    const counts = await app.dispatcher.dispatch('audit.counts', {}, ctx);
    expect(counts).toMatchObject({ ok: true, value: { total: 2, open: 1, bySeverity: { warning: 1, critical: 1, info: 0 } } });
    const open = await app.dispatcher.dispatch('audit.list', { status: 'open' }, ctx);
    expect(open.ok && (open.value as { total: number }).total).toBe(1);
  });

  it('groups repeats by kind and source, and resolves a group up to the event the operator saw', async () => {
    let t = 1000;
    app = createTestApp({ now: () => t++ });
    // One client, a new port per attempt: one group.
    for (let i = 0; i < 15; i++) app.audit.record({ kind: 'transport.refused', severity: i === 7 ? 'critical' : 'warning', source: `127.0.0.1:${40000 + i}`, message: `bad token ${i}` });
    app.audit.record({ kind: 'transport.refused', severity: 'warning', source: '127.0.0.2:1', message: 'other peer' });
    app.audit.record({ kind: 'camera.quarantined', severity: 'critical', source: 'cam-1', message: 'equivocation' });
    const g = await app.dispatcher.dispatch('audit.groups', {}, ctx);
    expect(g.ok).toBe(true);
    const { groups, total } = (g as { value: { groups: { kind: string; source: string; count: number; open: number; severity: string; message: string; latestId: number }[]; total: number } }).value;
    expect(total).toBe(3);
    expect(groups[0]).toMatchObject({ kind: 'camera.quarantined', count: 1 });
    const flood = groups.find((x) => x.source === '127.0.0.1')!;
    expect(flood).toMatchObject({ count: 15, open: 15, severity: 'critical', message: 'bad token 14' });

    // One more arrives after the operator looked: it stays open.
    app.audit.record({ kind: 'transport.refused', severity: 'warning', source: '127.0.0.1:50000', message: 'late' });
    const r = await app.dispatcher.dispatch('audit.resolveMany', { kind: 'transport.refused', source: '127.0.0.1', upToId: flood.latestId, note: 'tests' }, ctx);
    expect(r).toMatchObject({ ok: true, value: { resolved: 15 } });
    const left = await app.dispatcher.dispatch('audit.list', { status: 'open', kind: 'transport.refused' }, ctx);
    expect((left as { value: { events: { message: string }[] } }).value.events.map((e) => e.message).sort()).toEqual(['late', 'other peer']);
    const bySource = await app.dispatcher.dispatch('audit.list', { source: 'cam-1' }, ctx);
    expect((bySource as { value: { total: number } }).value.total).toBe(1);
  });

  it('treats % and _ in a search as plain characters', async () => {
    app = createTestApp();
    app.audit.record({ kind: 'k', severity: 'info', source: 's', message: '100% sure' });
    app.audit.record({ kind: 'k', severity: 'info', source: 's', message: 'something else' });
    const r = await app.dispatcher.dispatch('audit.list', { text: '%' }, ctx);
    expect(r.ok && (r.value as { total: number }).total).toBe(1);
  });

  it('folds a flood from one source into a count instead of recording every entry', () => {
    let t = 0;
    app = createTestApp({ now: () => t });
    for (let i = 0; i < 500; i++) app.audit.record({ kind: 'transport.refused', severity: 'warning', source: 'flood', message: 'x' });
    t = 61_000;
    app.audit.record({ kind: 'transport.refused', severity: 'warning', source: 'flood', message: 'x' });
    const n = app.db.prepare("SELECT count(*) AS n FROM audit_events WHERE source = 'flood'").get() as { n: number };
    expect(n.n).toBe(22); // 20 recorded, 1 summary of the 480 suppressed, 1 from the next minute
    const summary = app.db.prepare("SELECT message FROM audit_events WHERE message LIKE '%480 more%'").get();
    expect(summary).toBeDefined();
  });

  it('folds refusals from one address whatever the port, keeping reasons and addresses apart', () => {
    let t = 0;
    app = createTestApp({ now: () => t });
    for (let i = 0; i < 200; i++) {
      const reason = i % 2 ? 'foreign origin' : 'wrong token';
      app.audit.record({ kind: 'transport.refused', severity: 'warning', source: `127.0.0.1:${40_000 + i}`, message: `Refused: ${reason}`, detail: { reason } });
    }
    for (let i = 0; i < 5; i++) app.audit.record({ kind: 'transport.refused', severity: 'warning', source: `127.0.0.2:${40_000 + i}`, message: 'x', detail: { reason: 'wrong token' } });
    const count = (where: string): number => (app!.db.prepare(`SELECT count(*) AS n FROM audit_events WHERE ${where}`).get() as { n: number }).n;
    expect(count("source LIKE '127.0.0.1:%'")).toBe(40); // 20 per reason in the minute
    expect(count("source LIKE '127.0.0.2:%'")).toBe(5);
    t = 61_000;
    app.audit.record({ kind: 'transport.refused', severity: 'warning', source: '127.0.0.1:1', message: 'x', detail: { reason: 'wrong token' } });
    // The summary names the address (not one port) and the reason.
    const summary = app.db.prepare("SELECT source, detail FROM audit_events WHERE message LIKE '80 more%'").get() as { source: string; detail: string };
    expect(summary.source).toBe('127.0.0.1');
    expect(JSON.parse(summary.detail)).toEqual({ suppressed: 80, reason: 'wrong token' });
  });

  it('takes the peer address out of the sources a transport writes', () => {
    expect(peerAddress('127.0.0.1:5555')).toBe('127.0.0.1');
    expect(peerAddress('::ffff:127.0.0.1:5555')).toBe('::ffff:127.0.0.1');
    expect(peerAddress('[::1]:80')).toBe('::1');
    expect(peerAddress('ws:127.0.0.1:9')).toBe('ws:127.0.0.1');
    expect(peerAddress('ws:::1:9')).toBe('ws:::1');
    expect(peerAddress('camera:cam-1')).toBe('camera:cam-1');
    expect(peerAddress('deploy')).toBe('deploy');
    expect(peerAddress('127.0.0.1')).toBe('127.0.0.1');
  });

  it('records rejected calls made through the dispatcher', async () => {
    app = createTestApp();
    await app.dispatcher.dispatch('settings.set', { theme: 'purple' }, { transport: 'ws', peer: '127.0.0.1:9' });
    const r = await app.dispatcher.dispatch('audit.list', { kind: 'input.rejected' }, ctx);
    expect(r.ok && (r.value as { total: number }).total).toBe(1);
  });

  it('answers not_found for an unknown id', async () => {
    app = createTestApp();
    const r = await app.dispatcher.dispatch('audit.resolve', { id: 999 }, ctx);
    expect(r).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });
});
