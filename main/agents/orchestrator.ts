// The orchestrator: a task description and size hints → a team plan (roles, models, planning
// mode, estimated cost, and the reason for every choice). The decision matrix is data, so it can be
// read, reviewed and changed without touching the evaluator.
import { z } from 'zod';
import shippedPrices from '../../resources/model-prices.json';
import { priceTableSchema, type AgentScope, type PriceTable, type SizeHints, type TeamPlan, teamRoles, modelTiers } from '../../preload/contract';
import type { Handlers } from '../kernel/dispatcher';
import { AppError } from '../kernel/errors';
import type { Db } from '../store';
import { preference } from './statements';

export type Role = (typeof teamRoles)[number];
export type Tier = (typeof modelTiers)[number];
type Hint = keyof SizeHints;

/** A condition on the hints, as data: one comparison, or all / any of several. */
export type Condition =
  | { hint: Hint; op: '>' | '<' | '>=' | '<='; value: number }
  | { all: Condition[] }
  | { any: Condition[] }
  | { always: true };

export interface Rule {
  role: Role;
  choice: { tier: Tier } | { planningMode: boolean };
  when: Condition;
  reason: string;
}

const gt = (hint: Hint, value: number): Condition => ({ hint, op: '>', value });
const lt = (hint: Hint, value: number): Condition => ({ hint, op: '<', value });
const always: Condition = { always: true };
const planningTrigger: Condition = { any: [gt('files', 15), gt('subtasks', 8), gt('dependencyDepth', 3), gt('hours', 4)] };

/**
 * The seed bridge's decision matrix. For each role and each choice (model tier, planning mode) the
 * first rule whose condition holds wins.
 */
export const decisionRules: readonly Rule[] = [
  { role: 'coordinator', choice: { tier: 'opus' }, when: { any: [gt('files', 30), gt('subtasks', 10)] }, reason: 'more than 30 files or more than 10 subtasks to keep track of' },
  { role: 'coordinator', choice: { tier: 'sonnet' }, when: always, reason: 'at most 30 files and 10 subtasks: Sonnet coordinates that well' },
  { role: 'reviewer', choice: { tier: 'opus' }, when: gt('linesOfCode', 5000), reason: 'more than 5,000 lines of code to review' },
  { role: 'reviewer', choice: { tier: 'sonnet' }, when: always, reason: 'at most 5,000 lines of code to review' },
  { role: 'tester', choice: { tier: 'sonnet' }, when: gt('files', 20), reason: 'more than 20 files to cover with tests' },
  { role: 'tester', choice: { tier: 'haiku' }, when: always, reason: 'at most 20 files: test writing is routine enough for Haiku' },
  { role: 'coder', choice: { tier: 'haiku' }, when: { all: [lt('files', 5), lt('linesOfCode', 500)] }, reason: 'fewer than 5 files and under 500 lines: a small change' },
  { role: 'coder', choice: { tier: 'sonnet' }, when: always, reason: '5 files or more, or 500 lines or more' },
  { role: 'coordinator', choice: { planningMode: true }, when: planningTrigger, reason: 'more than 15 files, 8 subtasks, dependency depth 3 or 4 hours: plan before acting' },
  { role: 'coordinator', choice: { planningMode: false }, when: always, reason: 'small enough to act without a planning pass' },
  { role: 'coder', choice: { planningMode: true }, when: planningTrigger, reason: 'more than 15 files, 8 subtasks, dependency depth 3 or 4 hours: plan before editing' },
  { role: 'coder', choice: { planningMode: false }, when: always, reason: 'small enough to edit without a planning pass' },
  { role: 'reviewer', choice: { planningMode: false }, when: always, reason: 'reviews against the coordinator’s plan; needs no plan of its own' },
  { role: 'tester', choice: { planningMode: false }, when: always, reason: 'tests against the coordinator’s plan; needs no plan of its own' },
];

export function holds(c: Condition, h: SizeHints): boolean {
  if ('always' in c) return true;
  if ('all' in c) return c.all.every((x) => holds(x, h));
  if ('any' in c) return c.any.some((x) => holds(x, h));
  const v = h[c.hint];
  return c.op === '>' ? v > c.value : c.op === '<' ? v < c.value : c.op === '>=' ? v >= c.value : v <= c.value;
}

function decide<K extends 'tier' | 'planningMode'>(rules: readonly Rule[], role: Role, key: K, h: SizeHints) {
  for (const r of rules) {
    if (r.role !== role || !(key in r.choice) || !holds(r.when, h)) continue;
    return { value: (r.choice as Record<K, K extends 'tier' ? Tier : boolean>)[key], reason: r.reason };
  }
  throw new Error(`No ${key} rule for ${role}`);
}

/**
 * Token-use model (assumptions, stated so they can be argued with):
 * - Code volume V = max(lines, 50) × 10 tokens (≈ 40 characters a line, 4 characters a token).
 * - Coders read their code about 4× (explore, edit, fix, re-check) and write it 1.5× (rewrites),
 *   plus 30k input / 3k output of tool and context overhead per subtask. With an hours hint a
 *   coder session uses at least 200k input / 20k output tokens per hour.
 * - Reviewer reads the change 2× and writes comments of ~20 % of its size; tester reads 1.5× and
 *   writes tests of ~60 % of its size; both +10k input / 2k output per subtask.
 * - Coordinator: 20k + 15k per subtask input (status, hand-offs) + 30 % of V; 5k + 3k per subtask out.
 * - Planning mode: +25 % input, +30 % output (plan documents, extra reading).
 * Tokens of all coders are split evenly; cost ignores prompt caching (an upper estimate).
 */
export const tokenAssumptions = [
  'Code volume = max(lines of code, 50) × 10 tokens (about 40 characters a line, 4 characters a token).',
  'Coders read the code about 4× and write it 1.5×, plus 30k input / 3k output tokens per subtask; at least 200k / 20k tokens per coder-hour when hours are given.',
  'Reviewer reads the change 2× and writes ~20 % of it as comments; tester reads 1.5× and writes ~60 % as tests; each +10k / 2k per subtask.',
  'Coordinator: 20k + 15k per subtask input plus 30 % of the code; 5k + 3k per subtask output.',
  'Planning mode adds 25 % input and 30 % output.',
  'No prompt-caching or batch discounts: an upper estimate.',
];

function tokens(role: Role, h: SizeHints, coders: number, planning: boolean): { input: number; output: number } {
  const V = Math.max(h.linesOfCode, 50) * 10;
  const S = Math.max(h.subtasks, 1);
  let input: number;
  let output: number;
  switch (role) {
    case 'coder':
      input = Math.max(4 * V + 30_000 * S, h.hours * 200_000 * coders);
      output = Math.max(1.5 * V + 3_000 * S, h.hours * 20_000 * coders);
      break;
    case 'reviewer':
      input = 2 * V + 10_000 * S;
      output = 0.2 * V + 2_000 * S;
      break;
    case 'tester':
      input = 1.5 * V + 10_000 * S;
      output = 0.6 * V + 2_000 * S;
      break;
    case 'coordinator':
      input = 20_000 + 15_000 * S + 0.3 * V;
      output = 5_000 + 3_000 * S;
      break;
  }
  if (planning) {
    input *= 1.25;
    output *= 1.3;
  }
  return { input: Math.round(input), output: Math.round(output) };
}

/** Coders that can work at once: independent subtasks per dependency level, 1 to 5. */
function coderCount(h: SizeHints): { count: number; reason: string } {
  const perLevel = Math.ceil(Math.max(h.subtasks, 1) / Math.max(h.dependencyDepth, 1));
  const count = Math.min(5, Math.max(1, perLevel));
  return {
    count,
    reason:
      count === 1
        ? 'one coder: the subtasks do not split into parallel work'
        : `${count} coders: about ${perLevel} subtasks can run side by side per dependency level${perLevel > 5 ? ' (capped at 5 to keep review manageable)' : ''}`,
  };
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

export function planTeam(
  description: string,
  hints: SizeHints,
  prices: PriceTable,
  at: number,
  rules: readonly Rule[] = decisionRules,
): TeamPlan {
  const coders = coderCount(hints);
  const warnings: string[] = [];
  const roles = teamRoles.map((role) => {
    const tier = decide(rules, role, 'tier', hints);
    const planning = decide(rules, role, 'planningMode', hints);
    const count = role === 'coder' ? coders.count : 1;
    const model = prices.tiers[tier.value as Tier];
    const t = tokens(role, hints, count, planning.value as boolean);
    const price = prices.models[model];
    if (!price) warnings.push(`No price for ${model} in the table dated ${prices.asOf}; add one to include the ${role}'s cost.`);
    const costUsd = price ? round2((t.input / 1e6) * price.inputPerMTok + (t.output / 1e6) * price.outputPerMTok) : null;
    return {
      role,
      count,
      tier: tier.value as Tier,
      model,
      planningMode: planning.value as boolean,
      inputTokens: t.input,
      outputTokens: t.output,
      costUsd,
      reasons: [
        `${tier.value}: ${tier.reason}`,
        `planning mode ${planning.value ? 'on' : 'off'}: ${planning.reason}`,
        ...(role === 'coder' ? [coders.reason] : []),
      ],
    };
  });
  const ageDays = (at - Date.parse(prices.asOf)) / 86_400_000;
  if (ageDays > 180) warnings.push(`The price table is from ${prices.asOf}; check current prices and edit them.`);
  if (!hints.files && !hints.linesOfCode && !hints.subtasks && !hints.hours)
    warnings.push('No size hints were given, so the plan assumes a very small task. Add files, lines, subtasks or hours for a better estimate.');
  const missing = roles.some((r) => r.costUsd === null);
  return {
    description,
    hints,
    roles,
    teamSize: roles.reduce((n, r) => n + r.count, 0),
    costUsd: missing ? null : round2(roles.reduce((n, r) => n + (r.costUsd ?? 0), 0)),
    pricesAsOf: prices.asOf,
    assumptions: tokenAssumptions,
    warnings,
  };
}

// ---- service ---------------------------------------------------------------------------------

const shippedSchema = z.object({
  asOf: z.string(),
  source: z.string(),
  currency: z.literal('USD'),
  tiers: z.object({ opus: z.string(), sonnet: z.string(), haiku: z.string() }),
  models: z.record(z.string(), z.object({ inputPerMTok: z.number(), outputPerMTok: z.number(), label: z.string().optional() })),
});
const overridesSchema = z.record(z.string(), z.object({ inputPerMTok: z.number(), outputPerMTok: z.number() }));
type Overrides = z.output<typeof overridesSchema>;

export interface OrchestratorDeps {
  db: Db;
  now: () => number;
  /** The shipped price table (resources/model-prices.json unless a test passes another). */
  prices?: unknown;
  /** Creates the room (the rooms service); absent until rooms exist. */
  createRoom?: (input: { name: string; roles: string[] }) => { id: string | number } | Promise<{ id: string | number }>;
  /** Adds the token's agent to the room with its role, so it is a member before it first connects. */
  addMember?: (input: { roomId: string; memberId: string; name: string; role: string }) => unknown;
  /** Issues an agent token (the bridge's token store); the token is returned once, with the member id it posts as. */
  issueToken?: (input: { name: string; scopes: AgentScope[]; roles: string[] }) =>
    | { token: string; memberId: string }
    | Promise<{ token: string; memberId: string }>;
}

export interface Orchestrator {
  plan(description: string, hints: SizeHints): TeamPlan;
  prices(): PriceTable;
  handlers: Handlers;
}

export function createOrchestrator(deps: OrchestratorDeps): Orchestrator {
  const { db, now } = deps;
  const shipped = shippedSchema.parse(deps.prices ?? shippedPrices);
  const pref = preference(db, 'orchestrator.prices', overridesSchema);
  const overrides = (): Overrides => {
    const stored = pref.get();
    return stored.ok ? stored.value : {};
  };
  const prices = (): PriceTable => {
    const o = overrides();
    const models: PriceTable['models'] = { ...shipped.models };
    for (const [m, p] of Object.entries(o)) models[m] = { ...models[m], ...p };
    return priceTableSchema.parse({ ...shipped, models, overridden: Object.keys(o).sort() });
  };
  const plan = (description: string, hints: SizeHints): TeamPlan => planTeam(description, hints, prices(), now());

  return {
    plan,
    prices,
    handlers: {
      'assist.orchestrator.plan': ({ description, hints }) => plan(description, hints),
      'assist.orchestrator.prices': () => prices(),
      'assist.orchestrator.setPrice': ({ model, inputPerMTok, outputPerMTok, reset }) => {
        const o = overrides();
        if (reset) delete o[model];
        else {
          const base = o[model] ?? shipped.models[model];
          const input = inputPerMTok ?? base?.inputPerMTok;
          const output = outputPerMTok ?? base?.outputPerMTok;
          if (input === undefined || output === undefined)
            throw new AppError('invalid_input', `${model} is not in the price table yet: give both its input and output price.`);
          o[model] = { inputPerMTok: input, outputPerMTok: output };
        }
        pref.put(o, now());
        return prices();
      },
      'assist.orchestrator.apply': async ({ description, hints, roomName }) => {
        if (!deps.createRoom || !deps.issueToken)
          throw new AppError('unavailable', 'Rooms and agent tokens are not available in this build yet, so the team cannot be created. The plan itself still works.');
        const p = plan(description, hints);
        const { id } = await deps.createRoom({ name: roomName, roles: p.roles.map((r) => r.role) });
        const roomId = String(id);
        const members = [];
        for (const r of p.roles) {
          for (let i = 1; i <= r.count; i++) {
            const name = r.count > 1 ? `${r.role}-${i}` : r.role;
            // Least privilege: everyone reads and writes the room; only the coordinator may propose actions.
            const scopes: AgentScope[] = ['rooms:read', 'rooms:write', ...(r.role === 'coordinator' ? (['actions:propose'] as const) : [])];
            const { token, memberId } = await deps.issueToken({ name: `${roomName} ${name}`, scopes, roles: [r.role] });
            await deps.addMember?.({ roomId, memberId, name, role: r.role });
            members.push({ role: r.role, name, model: r.model, token });
          }
        }
        return { roomId, plan: p, members };
      },
    },
  };
}
