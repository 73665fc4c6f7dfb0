// Public surface of the agent bridge: tokens, the bridge server and the agents.* contract methods.
import fs from 'node:fs';
import path from 'node:path';
import type { AuditLog } from '../audit';
import type { EventBus } from '../kernel/bus';
import type { Dispatcher, Handlers } from '../kernel/dispatcher';
import { AppError } from '../kernel/errors';
import type { Logger } from '../kernel/logger';
import type { RoomsService } from '../rooms';
import type { Db } from '../store';
import { startBridgeServer, type BridgeDeps, type BridgeServer } from './bridge';
import { claudeCodeCommand, desktopConfigPath, installedExecutable, mcpEntry, MCP_SERVER_NAME, writeDesktopConfig, type McpLaunch } from './desktop-config';
import { createNonceStore, createTokenStore, type TokenStore } from './tokens';

export { connectBridge, httpCall, resolveBridgeUrl, BridgeCallError, type BridgeClient } from './client';
export { createTokenStore, signingInput, type TokenStore } from './tokens';
export { BRIDGE_FILE } from './bridge';
export { createClipboardRelay, relayRoomsFrom, isConcealed, MAX_RELAY_CHARS, type ClipboardRelay, type RelayClipboard, type RelayDeps, type RelayRooms } from './clipboard-relay';
export { createOrchestrator, planTeam, type Orchestrator, type OrchestratorDeps } from './orchestrator';
export { createSummaryService, summaryRoomsFrom, extractiveSummary, ANTHROPIC_KEY, DEFAULT_SUMMARY_MODEL, type SummaryService, type SummaryDeps } from './summary';
export { runCli } from './cli';

export interface AgentBridgeDeps {
  db: Db;
  bus: EventBus;
  audit: AuditLog;
  rooms: RoomsService;
  log: Logger;
  now: () => number;
  dataDir: string;
  dispatcher?: Dispatcher;
  /** Checked deploy proposals (main/fleet/approval); the only way an agent reaches a deploy. */
  proposeDeploy?: BridgeDeps['proposeDeploy'];
  /** 0 (default) picks a free port. */
  port?: number;
  idleMs?: number;
  /** Tests: a smaller bound than MAX_BEHIND_BYTES for a connection that falls behind. */
  maxBehindBytes?: number;
  /** How to start the MCP server on this machine (for agents.mcpSetup); a checkout's launcher by default. */
  mcpLaunch?: McpLaunch;
  /** Claude Desktop's config file; injectable for tests. */
  desktopConfigFile?: string;
}

export interface AgentBridge {
  tokens: TokenStore;
  handlers: Handlers;
  /** Starts listening on 127.0.0.1 and writes <dataDir>/bridge.json. */
  start(): Promise<number>;
  port(): number | null;
  stats(): { posts: number; commits: number };
  close(): Promise<void>;
}

function defaultLaunch(): McpLaunch {
  // In a checkout scripts/omnisight.mjs sits two folders up from main/agents (or out/main).
  for (const dir of [path.resolve(__dirname, '../../scripts'), path.resolve(__dirname, '../../../scripts'), path.resolve(process.cwd(), 'scripts')]) {
    const file = path.join(dir, 'omnisight.mjs');
    // Under Electron the same binary runs the launcher as plain Node.
    if (fs.existsSync(file)) return { command: process.execPath, args: [file], env: process.versions.electron ? { ELECTRON_RUN_AS_NODE: '1' } : undefined };
  }
  return { command: installedExecutable(), args: [] };
}

export function createAgentBridge(deps: AgentBridgeDeps): AgentBridge {
  const tokens = createTokenStore({ db: deps.db, now: deps.now });
  let server: BridgeServer | undefined;
  let starting: Promise<number> | undefined;

  const setup = (token?: string) => {
    const entry = mcpEntry(deps.mcpLaunch ?? defaultLaunch(), deps.dataDir, token);
    return { entry, file: deps.desktopConfigFile ?? desktopConfigPath() };
  };

  return {
    tokens,
    port: () => server?.port ?? null,
    stats: () => server?.stats() ?? { posts: 0, commits: 0 },
    start() {
      starting ??= startBridgeServer(
        { tokens, nonces: createNonceStore(deps.db), rooms: deps.rooms, bus: deps.bus, audit: deps.audit, log: deps.log, now: deps.now, dataDir: deps.dataDir, dispatcher: deps.dispatcher, idleMs: deps.idleMs, maxBehindBytes: deps.maxBehindBytes, proposeDeploy: deps.proposeDeploy },
        deps.port ?? 0,
      ).then((s) => {
        server = s;
        return s.port;
      });
      return starting;
    },
    async close() {
      if (starting) await starting.catch(() => undefined);
      await server?.close();
      server = undefined;
    },
    handlers: {
      'agents.tokens.list': () => ({ tokens: tokens.list() }),
      'agents.tokens.create': (input) => {
        const created = tokens.create(input);
        deps.audit.record({
          kind: 'agents.token.created',
          severity: 'info',
          source: 'user',
          message: `Agent token "${input.name}" issued with ${input.scopes.join(', ')}`,
          detail: { tokenId: created.info.id },
        });
        return created;
      },
      'agents.tokens.revoke': ({ id }) => {
        const info = tokens.revoke(id);
        server?.disconnectToken(id, 'token revoked');
        deps.audit.record({ kind: 'agents.token.revoked', severity: 'info', source: 'user', message: `Agent token "${info.name}" revoked`, detail: { tokenId: id } });
        return info;
      },
      'agents.connected': () => ({ agents: server?.connected() ?? [], port: server?.port ?? null }),
      'agents.mcpSetup': ({ token }) => {
        const { entry, file } = setup(token);
        return {
          claudeCode: claudeCodeCommand(entry),
          desktopEntry: entry,
          desktopJson: JSON.stringify({ mcpServers: { [MCP_SERVER_NAME]: entry } }, null, 2),
          desktopConfigPath: file,
          port: server?.port ?? null,
        };
      },
      'agents.writeDesktopConfig': ({ token, confirm }) => {
        if (!confirm) throw new AppError('invalid_input', 'Confirm before OmniSight changes the Claude Desktop configuration.');
        if (!tokens.check(token).ok) throw new AppError('invalid_input', 'That token is not a valid, active agent token. Create one first and paste it whole.');
        const { entry, file } = setup(token);
        const r = writeDesktopConfig(file, entry, deps.now);
        deps.audit.record({ kind: 'agents.desktop.configured', severity: 'info', source: 'user', message: `Added the OmniSight MCP server to ${file}`, detail: { backup: r.backupPath } });
        return r;
      },
    },
  };
}
