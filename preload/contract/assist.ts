// Assistance around rooms: the Claude Desktop clipboard relay, room summaries and the team
// orchestrator. Imports zod only (shared with the renderer).
import { z } from 'zod';
import { event, method, noInput } from './define';

/** Room and message ids travel as strings, whatever the rooms store uses inside. */
const id = z.union([z.string().min(1).max(64), z.number().int().nonnegative()]).transform(String);

export const relaySkipReasons = ['echo', 'concealed', 'secret', 'tooLarge'] as const;

export const relayStateSchema = z.object({
  enabled: z.boolean(),
  roomId: z.string().nullable(),
  /** 'retract': posted at once and withdrawn on undo; 'delay': held for the undo window, then posted. */
  undoMode: z.enum(['retract', 'delay']),
  undoWindowMs: z.number(),
  pollMs: z.number(),
  lastRelayedAt: z.number().nullable(),
  relayed: z.number(),
  toClipboard: z.number(),
  skipped: z.object({ echo: z.number(), concealed: z.number(), secret: z.number(), tooLarge: z.number() }),
  /** Relays that can still be undone (posted, or waiting to be posted in delay mode). */
  undoable: z.array(z.object({ messageId: z.string(), preview: z.string(), until: z.number(), posted: z.boolean() })),
  /** The last clipboard or rooms failure, in words that say what to do; null when all is well. */
  error: z.string().nullable(),
});
export type RelayState = z.infer<typeof relayStateSchema>;

export const summarySchema = z.object({
  id: z.number(),
  roomId: z.string(),
  createdAt: z.number(),
  source: z.enum(['model', 'extractive']),
  model: z.string().nullable(),
  text: z.string(),
  /** How many room messages it covers. */
  messageCount: z.number(),
  /** Why the model was not used (no key, API error), when source is extractive. */
  note: z.string().nullable(),
});
export type RoomSummary = z.infer<typeof summarySchema>;

export const summaryConfigSchema = z
  .object({
    /** New messages since the last summary that trigger an automatic one; 0 turns it off. */
    threshold: z.number().int().min(0).max(10_000),
    model: z.string().min(1).max(100),
  })
  .strict();
export type SummaryConfig = z.infer<typeof summaryConfigSchema>;

const count = (max: number) => z.number().int().min(0).max(max);
export const sizeHintsSchema = z
  .object({
    files: count(1_000_000).default(0),
    linesOfCode: count(100_000_000).default(0),
    subtasks: count(10_000).default(0),
    dependencyDepth: count(1_000).default(0),
    hours: z.number().min(0).max(10_000).default(0),
  })
  .strict();
export type SizeHints = z.infer<typeof sizeHintsSchema>;

export const teamRoles = ['coordinator', 'coder', 'reviewer', 'tester'] as const;
export const modelTiers = ['opus', 'sonnet', 'haiku'] as const;

export const rolePlanSchema = z.object({
  role: z.enum(teamRoles),
  count: z.number(),
  tier: z.enum(modelTiers),
  model: z.string(),
  planningMode: z.boolean(),
  inputTokens: z.number(),
  outputTokens: z.number(),
  costUsd: z.number().nullable(),
  reasons: z.array(z.string()),
});
export const teamPlanSchema = z.object({
  description: z.string(),
  hints: z.object({ files: z.number(), linesOfCode: z.number(), subtasks: z.number(), dependencyDepth: z.number(), hours: z.number() }),
  roles: z.array(rolePlanSchema),
  teamSize: z.number(),
  costUsd: z.number().nullable(),
  pricesAsOf: z.string(),
  assumptions: z.array(z.string()),
  warnings: z.array(z.string()),
});
export type TeamPlan = z.infer<typeof teamPlanSchema>;

const price = z.number().min(0).max(10_000);
export const modelPriceSchema = z.object({ inputPerMTok: price, outputPerMTok: price, label: z.string().max(100).optional() }).strict();
export const priceTableSchema = z.object({
  asOf: z.string(),
  source: z.string(),
  currency: z.literal('USD'),
  tiers: z.object({ opus: z.string(), sonnet: z.string(), haiku: z.string() }),
  models: z.record(z.string(), modelPriceSchema),
  /** Models whose price the user changed (kept apart from the shipped table). */
  overridden: z.array(z.string()),
});
export type PriceTable = z.infer<typeof priceTableSchema>;

export const assistMethods = {
  'assist.relay.get': method('The clipboard relay: on or off, its room, what it relayed and skipped.', noInput, relayStateSchema),
  'assist.relay.set': method(
    'Turn the clipboard relay on or off and choose the room it relays into.',
    z.object({ enabled: z.boolean(), roomId: id.optional() }).strict(),
    relayStateSchema,
  ),
  'assist.relay.undo': method(
    'Withdraw a relayed clipboard post within its undo window.',
    z.object({ messageId: id }).strict(),
    z.object({ undone: z.literal(true) }),
  ),
  'assist.summary.get': method('The latest summary of a room, or null.', z.object({ roomId: id }).strict(), summarySchema.nullable()),
  'assist.summary.run': method(
    'Summarise a room now: streamed from Claude when an API key is saved, extractive otherwise.',
    z.object({ roomId: id, extractiveOnly: z.boolean().default(false) }).strict(),
    summarySchema,
  ),
  'assist.summary.config': method(
    'Read or change the automatic summary threshold and the model.',
    summaryConfigSchema.partial().strict(),
    summaryConfigSchema,
  ),
  'assist.summary.setApiKey': method(
    'Save (or, with an empty string, remove) the Anthropic API key used for summaries.',
    z.object({ apiKey: z.string().max(512) }).strict(),
    z.object({ saved: z.boolean() }),
  ),
  'assist.orchestrator.plan': method(
    'A team plan for a task: roles, models, planning mode, estimated cost and the reasons.',
    z.object({ description: z.string().min(1).max(10_000), hints: sizeHintsSchema.prefault({}) }).strict(),
    teamPlanSchema,
  ),
  'assist.orchestrator.apply': method(
    'Create a room with the planned roles and issue one agent token per member (each token is shown once).',
    z
      .object({
        description: z.string().min(1).max(10_000),
        hints: sizeHintsSchema.prefault({}),
        roomName: z.string().min(1).max(100),
      })
      .strict(),
    z.object({
      roomId: z.string(),
      plan: teamPlanSchema,
      members: z.array(z.object({ role: z.enum(teamRoles), name: z.string(), model: z.string(), token: z.string() })),
    }),
  ),
  'assist.orchestrator.prices': method('The model price table in use (shipped, with the user’s changes).', noInput, priceTableSchema),
  'assist.orchestrator.setPrice': method(
    'Change a model’s price (US$ per million tokens), or with reset: true go back to the shipped price.',
    z
      .object({
        model: z.string().min(1).max(100),
        inputPerMTok: price.optional(),
        outputPerMTok: price.optional(),
        reset: z.boolean().default(false),
      })
      .strict(),
    priceTableSchema,
  ),
} as const;

export const assistEvents = {
  'assist.relay': event('The clipboard relay’s state, after every change.', relayStateSchema),
  'assist.summary.delta': event(
    'Text of a room summary as it is being written.',
    z.object({ roomId: z.string(), runId: z.string(), index: z.number(), delta: z.string(), text: z.string() }),
  ),
  'assist.summary.done': event(
    'A room summary is finished and stored.',
    z.object({ roomId: z.string(), runId: z.string(), summary: summarySchema }),
  ),
} as const;
