import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sizeHintsSchema, type PriceTable, type SizeHints } from '../../preload/contract';
import { openDatabase, type Db } from '../store';
import shipped from '../../resources/model-prices.json';
import { createOrchestrator, decisionRules, holds, planTeam } from './orchestrator';

const dbs: Db[] = [];
const tempDb = (): Db => {
  const { db } = openDatabase({ dir: fs.mkdtempSync(path.join(os.tmpdir(), 'orch-')) });
  dbs.push(db);
  return db;
};
afterAll(() => dbs.forEach((d) => d.close()));

const hints = (h: Partial<SizeHints>): SizeHints => sizeHintsSchema.parse(h);
const table: PriceTable = {
  asOf: '2026-11-21',
  source: 'test',
  currency: 'USD',
  tiers: { opus: 'o', sonnet: 's', haiku: 'h' },
  models: { o: { inputPerMTok: 4, outputPerMTok: 20 }, s: { inputPerMTok: 2, outputPerMTok: 10 }, h: { inputPerMTok: 0.1, outputPerMTok: 0.5 } },
  overridden: [],
};
const NOW = Date.parse('2026-11-21T12:00:00Z');
const role = (p: ReturnType<typeof planTeam>, r: string) => p.roles.find((x) => x.role === r)!;

describe('decision matrix (seed rules, as data)', () => {
  it('is plain data that survives JSON', () => {
    expect(JSON.parse(JSON.stringify(decisionRules))).toEqual(decisionRules);
  });

  it.each([
    // files, loc, subtasks → coordinator, reviewer, tester, coder
    [{ files: 31 }, 'opus', 'sonnet', 'sonnet', 'sonnet'],
    [{ files: 30, subtasks: 10 }, 'sonnet', 'sonnet', 'sonnet', 'sonnet'],
    [{ subtasks: 11 }, 'opus', 'sonnet', 'haiku', 'haiku'],
    [{ linesOfCode: 5001, files: 3 }, 'sonnet', 'opus', 'haiku', 'sonnet'],
    [{ linesOfCode: 5000, files: 21 }, 'sonnet', 'sonnet', 'sonnet', 'sonnet'],
    [{ files: 20 }, 'sonnet', 'sonnet', 'haiku', 'sonnet'],
    [{ files: 4, linesOfCode: 499 }, 'sonnet', 'sonnet', 'haiku', 'haiku'],
    [{ files: 4, linesOfCode: 500 }, 'sonnet', 'sonnet', 'haiku', 'sonnet'],
    [{ files: 5, linesOfCode: 10 }, 'sonnet', 'sonnet', 'haiku', 'sonnet'],
  ])('%o → coordinator %s, reviewer %s, tester %s, coder %s', (h, coordinator, reviewer, tester, coder) => {
    const p = planTeam('t', hints(h), table, NOW);
    expect(p.roles.map((r) => r.tier)).toEqual([coordinator, coder, reviewer, tester]);
    expect(role(p, 'coordinator').model).toBe(coordinator[0]);
  });

  it.each([
    [{ files: 16 }, true],
    [{ files: 15 }, false],
    [{ subtasks: 9 }, true],
    [{ dependencyDepth: 4 }, true],
    [{ dependencyDepth: 3 }, false],
    [{ hours: 4.5 }, true],
    [{ hours: 4 }, false],
  ])('planning mode for %o is %s (coordinator and coders; reviewer and tester follow the plan)', (h, on) => {
    const p = planTeam('t', hints(h), table, NOW);
    expect(role(p, 'coordinator').planningMode).toBe(on);
    expect(role(p, 'coder').planningMode).toBe(on);
    expect(role(p, 'reviewer').planningMode).toBe(false);
  });

  it('evaluates nested conditions', () => {
    const h = hints({ files: 3, linesOfCode: 100 });
    expect(holds({ all: [{ hint: 'files', op: '<', value: 5 }, { any: [{ hint: 'hours', op: '>=', value: 1 }, { hint: 'linesOfCode', op: '<=', value: 100 }] }] }, h)).toBe(true);
    expect(holds({ all: [{ hint: 'files', op: '<', value: 3 }, { always: true }] }, h)).toBe(false);
  });
});

describe('team plan', () => {
  it('explains every choice and sizes the coder pool by parallel subtasks', () => {
    const p = planTeam('Rooms + bridge', hints({ files: 40, linesOfCode: 8000, subtasks: 12, dependencyDepth: 3, hours: 6 }), table, NOW);
    expect(role(p, 'coder').count).toBe(4); // 12 subtasks over 3 dependency levels
    expect(p.teamSize).toBe(7);
    expect(role(p, 'coordinator').reasons[0]).toBe('opus: more than 30 files or more than 10 subtasks to keep track of');
    expect(role(p, 'reviewer').reasons[0]).toMatch(/^opus: more than 5,000 lines/);
    expect(role(p, 'coder').reasons).toContain('4 coders: about 4 subtasks can run side by side per dependency level');
    for (const r of p.roles) expect(r.reasons.length).toBeGreaterThanOrEqual(2);
    expect(p.warnings).toEqual([]);
  });

  it('prices tokens from the table: cost = tokens × $/MTok, summed over roles', () => {
    const p = planTeam('tiny fix', hints({ files: 1, linesOfCode: 40, subtasks: 1 }), table, NOW);
    // Coder on Haiku: V = 50 × 10 = 500 tokens; in = 4·500 + 30k = 32,000; out = 1.5·500 + 3k = 3,750.
    const coder = role(p, 'coder');
    expect(coder).toMatchObject({ tier: 'haiku', inputTokens: 32_000, outputTokens: 3_750 });
    expect(coder.costUsd).toBeCloseTo(0.032 * 0.1 + 0.00375 * 0.5, 2);
    // Coordinator on Sonnet: in = 20k + 15k + 150 = 35,150; out = 8,000 → 0.0703 + 0.08.
    expect(role(p, 'coordinator')).toMatchObject({ inputTokens: 35_150, outputTokens: 8_000, costUsd: 0.15 });
    expect(p.costUsd).toBeCloseTo(p.roles.reduce((n, r) => n + r.costUsd!, 0), 2);
    const pricier = planTeam('tiny fix', hints({ files: 1, linesOfCode: 40, subtasks: 1 }), { ...table, models: { ...table.models, s: { inputPerMTok: 20, outputPerMTok: 100 } } }, NOW);
    expect(pricier.costUsd!).toBeGreaterThan(p.costUsd!);
  });

  it('warns about a missing price, an old table and missing hints', () => {
    const p = planTeam('x', hints({}), { ...table, asOf: '2025-01-01', models: { o: table.models.o!, h: table.models.h! } }, NOW);
    expect(p.costUsd).toBeNull();
    expect(p.warnings.join(' ')).toMatch(/No price for s in the table dated 2025-01-01; add one to include the coordinator/);
    expect(p.warnings.join(' ')).toMatch(/from 2025-01-01/);
    expect(p.warnings.join(' ')).toMatch(/No size hints/);
  });
});

describe('orchestrator service', () => {
  it('ships a dated table whose tier models are all priced', () => {
    expect(shipped.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const m of Object.values(shipped.tiers)) expect(shipped.models).toHaveProperty(m);
  });

  it('keeps user price changes apart from the shipped table, across restarts, and can reset them', async () => {
    const db = tempDb();
    const a = createOrchestrator({ db, now: () => NOW });
    const set = a.handlers['assist.orchestrator.setPrice']!;
    const sonnet = shipped.tiers.sonnet;
    const before = a.plan('t', hints({ files: 10 })).costUsd!;
    await set({ model: sonnet, inputPerMTok: 30, reset: false }, { transport: 'internal', peer: 't' });
    const b = createOrchestrator({ db, now: () => NOW });
    expect(b.prices().models[sonnet]).toMatchObject({ inputPerMTok: 30, outputPerMTok: shipped.models[sonnet as keyof typeof shipped.models].outputPerMTok });
    expect(b.prices().overridden).toEqual([sonnet]);
    expect(b.plan('t', hints({ files: 10 })).costUsd!).toBeGreaterThan(before);
    await expect(async () => set({ model: 'new-model', inputPerMTok: 1, reset: false }, { transport: 'internal', peer: 't' })).rejects.toThrow(/give both/);
    await set({ model: sonnet, reset: true }, { transport: 'internal', peer: 't' });
    expect(b.prices().overridden).toEqual([]);
    expect(b.plan('t', hints({ files: 10 })).costUsd).toBe(before);
  });

  it('apply creates a room with the planned roles and issues one token per member', async () => {
    const rooms: { name: string; roles: string[] }[] = [];
    const members: string[] = [];
    const issued: { name: string; scopes: string[]; roles: string[] }[] = [];
    const o = createOrchestrator({
      db: tempDb(),
      now: () => NOW,
      createRoom: (r) => (rooms.push(r), { id: 77 }),
      addMember: (m) => members.push(`${m.memberId}:${m.name}:${m.role}`),
      issueToken: (t) => (issued.push(t), { token: `tok-${issued.length}`, memberId: `agent:${issued.length}` }),
    });
    const out = await o.handlers['assist.orchestrator.apply']!(
      { description: 'big', hints: hints({ subtasks: 4, dependencyDepth: 2, files: 10 }), roomName: 'Team A' },
      { transport: 'internal', peer: 't' },
    );
    expect(rooms).toEqual([{ name: 'Team A', roles: ['coordinator', 'coder', 'reviewer', 'tester'] }]);
    expect(out.roomId).toBe('77');
    expect(out.members.map((m) => m.name)).toEqual(['coordinator', 'coder-1', 'coder-2', 'reviewer', 'tester']);
    expect(out.members.map((m) => m.token)).toEqual(['tok-1', 'tok-2', 'tok-3', 'tok-4', 'tok-5']);
    expect(members).toContain('agent:3:coder-2:coder');
    expect(issued[0]).toEqual({ name: 'Team A coordinator', scopes: ['rooms:read', 'rooms:write', 'actions:propose'], roles: ['coordinator'] });
    expect(issued[1]!.scopes).toEqual(['rooms:read', 'rooms:write']);
  });

  it('apply says what is missing when rooms or tokens are not wired', async () => {
    const o = createOrchestrator({ db: tempDb(), now: () => NOW });
    await expect(
      async () => o.handlers['assist.orchestrator.apply']!({ description: 'x', hints: hints({}), roomName: 'r' }, { transport: 'internal', peer: 't' }),
    ).rejects.toThrow(/not available in this build yet/);
  });
});
