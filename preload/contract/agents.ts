// The agent bridge as the renderer sees it: tokens, who is connected, and how to hook up Claude.
import { z } from 'zod';
import { event, method, noInput } from './define';
import { displayNameSchema, roleNameSchema } from './rooms';

export const agentScopes = ['rooms:read', 'rooms:write', 'fleet:read', 'actions:propose'] as const;
export type AgentScope = (typeof agentScopes)[number];

export const DEFAULT_RATE_PER_MINUTE = 60;
export const DEFAULT_BURST = 20;

/** Raw 32-byte Ed25519 public key, standard base64 (44 characters). */
export const ed25519PublicKeySchema = z
  .string()
  .regex(/^[A-Za-z0-9+/]{43}=$/, { message: 'An Ed25519 public key is 32 bytes in standard base64 (44 characters ending in "=")' });

export const tokenInfoSchema = z.object({
  /** The lookup prefix; safe to show, useless without the rest of the token. */
  id: z.string(),
  name: z.string(),
  scopes: z.array(z.enum(agentScopes)),
  roles: z.array(z.string()),
  ratePerMinute: z.number().int(),
  burst: z.number().int(),
  hasPublicKey: z.boolean(),
  createdAt: z.number(),
  expiresAt: z.number().nullable(),
  revokedAt: z.number().nullable(),
  lastUsedAt: z.number().nullable(),
  status: z.enum(['active', 'expired', 'revoked']),
});
export type TokenInfo = z.infer<typeof tokenInfoSchema>;

export const createTokenInputSchema = z
  .object({
    name: displayNameSchema,
    scopes: z.array(z.enum(agentScopes)).min(1, { message: 'Pick at least one scope' }).max(agentScopes.length),
    /** Roles the agent gets when it first joins a room. */
    roles: z.array(roleNameSchema).max(5).optional(),
    expiresInDays: z.number().int().min(1).max(3650).optional(),
    ratePerMinute: z.number().int().min(1).max(1_000_000).optional(),
    burst: z.number().int().min(1).max(1_000_000).optional(),
    publicKey: ed25519PublicKeySchema.optional(),
  })
  .strict();
export type CreateTokenInput = z.infer<typeof createTokenInputSchema>;

export const connectedAgentSchema = z.object({
  tokenId: z.string(),
  name: z.string(),
  peer: z.string(),
  connectedAt: z.number(),
  lastSeenAt: z.number(),
  presence: z.enum(['online', 'idle', 'offline']),
  rooms: z.array(z.string()),
  verifiedKey: z.boolean(),
});
export type ConnectedAgent = z.infer<typeof connectedAgentSchema>;

const mcpEntrySchema = z.object({ command: z.string(), args: z.array(z.string()), env: z.record(z.string(), z.string()) });

export const agentsMethods = {
  'agents.tokens.list': method('Agent tokens (never the secrets).', noInput, z.object({ tokens: z.array(tokenInfoSchema) })),
  'agents.tokens.create': method(
    'Issue a token; the token itself is in this answer only and cannot be shown again.',
    createTokenInputSchema,
    z.object({ token: z.string(), info: tokenInfoSchema }),
  ),
  'agents.tokens.revoke': method(
    'Revoke a token; its connections are closed at once.',
    z.object({ id: z.string().regex(/^[0-9a-f]{12}$/) }).strict(),
    tokenInfoSchema,
  ),
  'agents.connected': method(
    'Agents connected to the bridge now, and where the bridge listens.',
    noInput,
    z.object({ agents: z.array(connectedAgentSchema), port: z.number().int().nullable() }),
  ),
  'agents.mcpSetup': method(
    'How to add the OmniSight MCP server to Claude Code and Claude Desktop on this machine.',
    z.object({ token: z.string().max(200).optional() }).strict(),
    z.object({
      claudeCode: z.string(),
      desktopEntry: mcpEntrySchema,
      desktopJson: z.string(),
      desktopConfigPath: z.string(),
      port: z.number().int().nullable(),
    }),
  ),
  'agents.writeDesktopConfig': method(
    "Write the OmniSight entry into Claude Desktop's claude_desktop_config.json after the user confirmed (a backup is kept).",
    z.object({ token: z.string().min(10).max(200), confirm: z.literal(true) }).strict(),
    z.object({ path: z.string(), backupPath: z.string().nullable(), servers: z.array(z.string()) }),
  ),
} as const;

export const agentsEvents = {
  'agents.connected': event('The set of connected agents changed.', z.object({ agents: z.array(connectedAgentSchema) })),
} as const;
