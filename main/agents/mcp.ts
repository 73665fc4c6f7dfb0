// The MCP server (stdio) that Claude Code and Claude Desktop start: each tool is one call to the
// running app's agent bridge with the agent's token. Nothing is decided or deployed here: a deploy
// starts only when a room decision on a propose_deploy proposal passes (main/fleet/approval).
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';
import { MAX_MESSAGE_CHARS, quorumRules, speechActs, voteChoices, type Message } from '../../preload/contract';
import { BridgeCallError, connectBridge, type BridgeClient } from './client';

type ToolResult = { content: { type: 'text'; text: string }[]; isError?: boolean };

const line = (m: Message): string =>
  `#${m.id} ${new Date(m.createdAt).toISOString()} [${m.act}] ${m.author.name}${m.author.kind !== 'agent' ? ` (${m.author.kind})` : ''}${m.verified ? ' ✓signed' : ''}${
    m.replyTo ? ` ↳#${m.replyTo}` : ''
  }: ${m.text}`;

export interface McpOptions {
  url: string;
  token: string;
  version: string;
}

/** Builds the server (not yet connected to a transport), so tests can drive it in-process too. */
export async function createOmnisightMcpServer(opts: McpOptions): Promise<{ server: McpServer; close: () => Promise<void> }> {
  let client: BridgeClient = await connectBridge({ url: opts.url, token: opts.token });
  const lastSeen = new Map<string, number>();

  // A restarted app is a new socket: reconnect once and retry.
  const call = async <T>(op: string, input: unknown): Promise<T> => {
    try {
      return await client.call<T>(op, input);
    } catch (err) {
      if (!(err instanceof BridgeCallError) || err.code !== 'unreachable') throw err;
      client = await connectBridge({ url: opts.url, token: opts.token });
      return client.call<T>(op, input);
    }
  };

  const tool =
    <A>(fn: (args: A) => Promise<string>) =>
    async (args: A): Promise<ToolResult> => {
      try {
        return { content: [{ type: 'text', text: await fn(args) }] };
      } catch (err) {
        const msg = err instanceof BridgeCallError ? `${err.code}: ${err.message}` : `failed: ${(err as Error).message}`;
        return { content: [{ type: 'text', text: msg }], isError: true };
      }
    };
  const see = (roomId: string, msgs: Message[]): void => {
    for (const m of msgs) if (m.id > (lastSeen.get(roomId) ?? 0)) lastSeen.set(roomId, m.id);
  };

  const server = new McpServer({ name: 'omnisight', version: opts.version });
  const roomId = z.string().min(1).max(64).describe('Room id (from list_rooms)');

  server.registerTool(
    'list_rooms',
    { description: 'List the OmniSight rooms with their ids, unread counts and member counts.', inputSchema: {} },
    tool(async () => JSON.stringify(await call('rooms.list', {}), null, 1)),
  );
  server.registerTool(
    'read_messages',
    {
      description: 'Read messages of a room, oldest first. Without afterId: the latest ones.',
      inputSchema: { roomId, afterId: z.number().int().nonnegative().optional(), limit: z.number().int().min(1).max(200).optional() },
    },
    tool(async ({ roomId: r, afterId, limit }: { roomId: string; afterId?: number; limit?: number }) => {
      const page = await call<{ messages: Message[]; hasMore: boolean }>('rooms.read', { roomId: r, after: afterId, limit: limit ?? 50 });
      see(r, page.messages);
      return page.messages.length ? `${page.messages.map(line).join('\n')}${page.hasMore ? '\n(more: call again with afterId of the last one)' : ''}` : 'No messages.';
    }),
  );
  server.registerTool(
    'post_message',
    {
      description: 'Post a message to a room. act is the speech act; replyTo makes it part of a thread; "@name" mentions a member.',
      inputSchema: {
        roomId,
        text: z.string().min(1).max(MAX_MESSAGE_CHARS),
        act: z.enum(speechActs).optional(),
        replyTo: z.number().int().positive().optional(),
      },
    },
    tool(async (a: { roomId: string; text: string; act?: (typeof speechActs)[number]; replyTo?: number }) => {
      const m = await call<Message>('rooms.post', a);
      see(a.roomId, [m]);
      return `Posted #${m.id}.`;
    }),
  );
  server.registerTool(
    'wait_for_message',
    {
      description:
        'Block until someone else posts in the room (or the timeout passes), then return the new messages. Use it to follow a room: call again with the id of the last message you saw.',
      inputSchema: { roomId, afterId: z.number().int().nonnegative().optional(), timeoutSeconds: z.number().int().min(1).max(120).optional() },
    },
    tool(async ({ roomId: r, afterId, timeoutSeconds }: { roomId: string; afterId?: number; timeoutSeconds?: number }) => {
      let after = afterId ?? lastSeen.get(r);
      if (after === undefined) {
        const latest = await call<{ messages: Message[] }>('rooms.read', { roomId: r, limit: 1 });
        after = latest.messages[0]?.id ?? 0;
      }
      const { messages } = await call<{ messages: Message[] }>('rooms.wait', { roomId: r, after, timeoutMs: (timeoutSeconds ?? 30) * 1000 });
      see(r, messages);
      return messages.length ? messages.map(line).join('\n') : `No new message after #${after} within ${timeoutSeconds ?? 30} s.`;
    }),
  );
  server.registerTool(
    'propose',
    {
      description: 'Put a proposal to the vote. subject is a short key (e.g. "database"): decisions on the same subject with another outcome are flagged as contradictions.',
      inputSchema: {
        roomId,
        title: z.string().min(1).max(200),
        subject: z.string().min(1).max(200),
        outcome: z.string().min(1).max(500),
        rule: z.enum(quorumRules).optional(),
        deadlineMinutes: z.number().int().min(1).max(7 * 24 * 60).optional(),
      },
    },
    tool(async (a: { roomId: string; title: string; subject: string; outcome: string; rule?: (typeof quorumRules)[number]; deadlineMinutes?: number }) => {
      const { deadlineMinutes, ...rest } = a;
      const p = await call<{ id: number; status: string }>('rooms.propose', { ...rest, deadlineMs: deadlineMinutes ? deadlineMinutes * 60_000 : undefined });
      return `Proposal #${p.id} is ${p.status}.`;
    }),
  );
  server.registerTool(
    'vote',
    {
      description: 'Vote on a proposal: yes, no or abstain. Your weight is set by the room owner.',
      inputSchema: { proposalId: z.number().int().positive(), choice: z.enum(voteChoices), veto: z.boolean().optional() },
    },
    tool(async (a: { proposalId: number; choice: (typeof voteChoices)[number]; veto?: boolean }) => {
      const p = await call<{ id: number; status: string; tally: { yes: number; no: number; abstain: number; eligible: number }; reason: string | null }>('rooms.vote', a);
      return `Proposal #${p.id}: ${p.status}${p.reason ? ` (${p.reason})` : ''}; yes ${p.tally.yes}, no ${p.tally.no}, abstain ${p.tally.abstain} of ${p.tally.eligible}.`;
    }),
  );
  server.registerTool(
    'list_tasks',
    { description: "The room's shared task list.", inputSchema: { roomId } },
    tool(async (a: { roomId: string }) => JSON.stringify(await call('tasks.list', a), null, 1)),
  );
  server.registerTool(
    'update_task',
    {
      description: 'Report progress on a task (0–100), mark it done, or assign it (member id).',
      inputSchema: {
        roomId,
        taskId: z.number().int().positive(),
        progress: z.number().int().min(0).max(100).optional(),
        done: z.boolean().optional(),
        assignee: z.string().max(80).optional(),
      },
    },
    tool(async (a: { roomId: string; taskId: number; progress?: number; done?: boolean; assignee?: string }) =>
      JSON.stringify(await call('tasks.update', a)),
    ),
  );
  server.registerTool(
    'propose_deploy',
    {
      description:
        "Propose deploying a build to cameras. It only creates a proposal in the room: the deploy starts when the room's vote passes with a yes from the room's owner (agents alone never pass it), and its outcome is posted back into the room. build is a sha256 or file name the app knows; cameraIds come from fleet_status.",
      inputSchema: {
        roomId,
        build: z.string().min(1).max(200),
        cameraIds: z.array(z.string().min(1).max(64)).min(1).max(256),
        reason: z.string().min(1).max(2000),
      },
    },
    tool(async (a: { roomId: string; build: string; cameraIds: string[]; reason: string }) => {
      const p = await call<{ id: number }>('deploy.propose', a);
      return `Deploy proposal #${p.id} created; it needs the room's vote. Nothing was deployed yet.`;
    }),
  );
  const fleet = (op: string, input: unknown) =>
    tool(async () => {
      const r = await call<{ available: boolean; message?: string; value?: unknown }>(op, input);
      return r.available ? JSON.stringify(r.value, null, 1) : (r.message ?? 'The fleet is not available.');
    });
  server.registerTool('fleet_status', { description: 'State of the camera fleet (when this OmniSight has the swarm capability).', inputSchema: {} }, fleet('fleet.status', {}));
  server.registerTool('recent_events', { description: 'Recent swarm events (when available).', inputSchema: {} }, fleet('fleet.events', { limit: 50 }));

  return {
    server,
    async close() {
      await server.close();
      await client.close();
    },
  };
}

/**
 * `omnisight mcp`: serve MCP on stdin/stdout until the client goes away. A client ends a stdio
 * server by closing its stdin (the MCP specification's shutdown): the SDK's transport does not
 * watch for that, and the open bridge socket would keep the process alive, so the end of stdin
 * closes everything and exits.
 */
export async function runMcpStdio(opts: McpOptions): Promise<void> {
  const { server, close } = await createOmnisightMcpServer(opts);
  const transport = new StdioServerTransport();
  let ending = false;
  const end = (): void => {
    if (ending) return;
    ending = true;
    // Whatever close() does, leave promptly: the client is gone.
    setTimeout(() => process.exit(0), 2000).unref();
    void close()
      .catch(() => undefined)
      .finally(() => process.exit(0));
  };
  transport.onclose = end;
  process.stdin.once('end', end);
  process.stdin.once('close', end);
  await server.connect(transport);
}
