// `omnisight` — the command line for scripts, hooks and Claude: issue tokens, serve MCP over stdio,
// and send / read / wait / vote in rooms through the running app's agent bridge. Run by
// scripts/omnisight.ts (a checkout, or out/main/cli.js once built) and by the packaged app's
// `OmniSight mcp …` (main/electron/index.ts).
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { version } from '../../package.json';
import { agentScopes, createTokenInputSchema, speechActs, voteChoices, type Message } from '../../preload/contract';
import { BridgeCallError, httpCall, resolveBridgeUrl } from './client';
import { createTokenStore } from './tokens';
import { defaultDataDir } from '../kernel/paths';
import { describeZodError } from '../kernel/validation';
import { openDatabase } from '../store';

class UsageError extends Error {}

const common = {
  'data-dir': { type: 'string' },
  url: { type: 'string' },
  token: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const help: Record<string, string> = {
  main: `Usage: omnisight <command> [options]

Commands:
  token create   issue an agent token (works while the app is not running)
  mcp            serve the OmniSight MCP tools over stdio (for Claude Code / Claude Desktop)
  send           post a message to a room
  read           print messages of a room
  wait           block until a new message arrives in a room
  vote           vote on a proposal

Every command but "token create" talks to the running app's agent bridge: it reads the port from
<data-dir>/bridge.json (or --url ws://127.0.0.1:PORT) and needs a token (--token or OMNISIGHT_TOKEN).
"omnisight <command> --help" explains each one.`,
  token: `Usage: omnisight token create --name NAME --scopes LIST [--data-dir DIR] [--expires-days N] [--rate N] [--burst N] [--roles LIST]

Prints a new agent token on stdout (shown once; only its hash is stored).
  --scopes   comma-separated: ${agentScopes.join(', ')}
  --roles    roles the agent takes when it joins a room (default coder with rooms:write, else observer)
  --rate     calls per minute (default 60); --burst calls at once (default 20)`,
  mcp: `Usage: omnisight mcp [--token TOKEN] [--data-dir DIR] [--url ws://127.0.0.1:PORT]

Serves MCP over stdin/stdout: list_rooms, read_messages, post_message, wait_for_message, propose, vote,
list_tasks, update_task, propose_deploy, fleet_status, recent_events. The token may come from OMNISIGHT_TOKEN.`,
  send: `Usage: omnisight send --room ROOM [--act ACT] [--reply-to ID] [TEXT...]

Posts TEXT (or standard input when no TEXT is given). ACT: ${speechActs.join(', ')} (default inform).
Prints the new message id.`,
  read: `Usage: omnisight read --room ROOM [--after ID] [--limit N] [--json]

Prints messages oldest first (the latest N without --after).`,
  wait: `Usage: omnisight wait --room ROOM [--after ID] [--timeout SECONDS] [--json]

Blocks until someone else posts after ID (default: the latest message now), prints the new messages.
Exit code 3 when the timeout (default 60 s, at most 120) passes with nothing new.`,
  vote: `Usage: omnisight vote --proposal ID --choice ${voteChoices.join('|')} [--veto]

Votes as the token's agent; the weight is set by the room owner. Prints the proposal's status and tally.`,
};

function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options: { ...common, ...options }, strict: true, allowPositionals });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

const intArg = (v: string | undefined, name: string, min: number, max: number): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}.`);
  return n;
};

const fmt = (m: Message): string => `#${m.id}\t${new Date(m.createdAt).toISOString()}\t${m.act}\t${m.author.name}\t${m.text}`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\n$/, '');
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(`${help.main}\n`);
    return cmd ? 0 : 2;
  }
  const dataDirOf = (v: string | undefined): string => path.resolve(v ?? process.env.OMNISIGHT_DATA_DIR ?? defaultDataDir());
  const bridge = (v: { url?: string; token?: string; 'data-dir'?: string }) => {
    const token = v.token ?? process.env.OMNISIGHT_TOKEN;
    if (!token) throw new UsageError('Give a token with --token or the OMNISIGHT_TOKEN environment variable.');
    return { url: resolveBridgeUrl({ url: v.url, dataDir: dataDirOf(v['data-dir']) }), token };
  };

  switch (cmd) {
    case 'token': {
      const { values, positionals } = parse(
        rest,
        {
          name: { type: 'string' },
          scopes: { type: 'string' },
          roles: { type: 'string' },
          'expires-days': { type: 'string' },
          rate: { type: 'string' },
          burst: { type: 'string' },
        },
        true,
      );
      if (values.help) return void process.stdout.write(`${help.token}\n`), 0;
      if (positionals[0] !== 'create' || positionals.length !== 1) throw new UsageError('Use "omnisight token create …".');
      const list = (s: string | undefined) => (s ? s.split(',').map((x) => x.trim()).filter(Boolean) : undefined);
      const parsed = createTokenInputSchema.safeParse({
        name: values.name,
        scopes: list(values.scopes),
        roles: list(values.roles),
        expiresInDays: intArg(values['expires-days'], 'expires-days', 1, 3650),
        ratePerMinute: intArg(values.rate, 'rate', 1, 1_000_000),
        burst: intArg(values.burst, 'burst', 1, 1_000_000),
      });
      if (!parsed.success) throw new UsageError(describeZodError(parsed.error).message);
      const dir = dataDirOf(values['data-dir']);
      const { db } = openDatabase({ dir });
      try {
        const { token, info } = createTokenStore({ db, now: Date.now }).create(parsed.data);
        process.stderr.write(`Token ${info.id} "${info.name}" (${info.scopes.join(', ')}) stored in ${dir}. It is shown only now:\n`);
        process.stdout.write(`${token}\n`);
      } finally {
        db.close();
      }
      return 0;
    }
    case 'mcp': {
      const { values } = parse(rest, {});
      if (values.help) return void process.stdout.write(`${help.mcp}\n`), 0;
      // Loaded only here: the MCP SDK is the heaviest import and the other commands do not need it.
      const { runMcpStdio } = await import('./mcp');
      await runMcpStdio({ ...bridge(values), version });
      return -1; // keeps running until stdin closes
    }
    case 'send': {
      const { values, positionals } = parse(rest, { room: { type: 'string' }, act: { type: 'string' }, 'reply-to': { type: 'string' } }, true);
      if (values.help) return void process.stdout.write(`${help.send}\n`), 0;
      if (!values.room) throw new UsageError('--room is required.');
      const text = positionals.length ? positionals.join(' ') : await readStdin();
      const b = bridge(values);
      const m = await httpCall<Message>(b.url, b.token, 'rooms.post', {
        roomId: values.room,
        text,
        act: values.act,
        replyTo: intArg(values['reply-to'], 'reply-to', 1, Number.MAX_SAFE_INTEGER),
      });
      process.stdout.write(`${m.id}\n`);
      return 0;
    }
    case 'read':
    case 'wait': {
      const { values } = parse(rest, { room: { type: 'string' }, after: { type: 'string' }, limit: { type: 'string' }, timeout: { type: 'string' }, json: { type: 'boolean' } });
      if (values.help) return void process.stdout.write(`${help[cmd]}\n`), 0;
      if (!values.room) throw new UsageError('--room is required.');
      const b = bridge(values);
      let after = intArg(values.after, 'after', 0, Number.MAX_SAFE_INTEGER);
      let messages: Message[];
      if (cmd === 'read') {
        messages = (await httpCall<{ messages: Message[] }>(b.url, b.token, 'rooms.read', { roomId: values.room, after, limit: intArg(values.limit, 'limit', 1, 500) ?? 50 })).messages;
      } else {
        if (after === undefined) after = (await httpCall<{ messages: Message[] }>(b.url, b.token, 'rooms.read', { roomId: values.room, limit: 1 })).messages[0]?.id ?? 0;
        const timeoutMs = (intArg(values.timeout, 'timeout', 1, 120) ?? 60) * 1000;
        messages = (await httpCall<{ messages: Message[] }>(b.url, b.token, 'rooms.wait', { roomId: values.room, after, timeoutMs })).messages;
      }
      process.stdout.write(values.json ? `${JSON.stringify(messages)}\n` : messages.map((m) => `${fmt(m)}\n`).join(''));
      return cmd === 'wait' && !messages.length ? 3 : 0;
    }
    case 'vote': {
      const { values } = parse(rest, { proposal: { type: 'string' }, choice: { type: 'string' }, veto: { type: 'boolean' } });
      if (values.help) return void process.stdout.write(`${help.vote}\n`), 0;
      const proposalId = intArg(values.proposal, 'proposal', 1, Number.MAX_SAFE_INTEGER);
      if (!proposalId || !values.choice) throw new UsageError('--proposal and --choice are required.');
      const b = bridge(values);
      const p = await httpCall<{ id: number; status: string; reason: string | null; tally: Record<string, number> }>(b.url, b.token, 'rooms.vote', {
        proposalId,
        choice: values.choice,
        veto: values.veto,
      });
      process.stdout.write(`#${p.id} ${p.status}${p.reason ? ` (${p.reason})` : ''} yes=${p.tally.yes} no=${p.tally.no} abstain=${p.tally.abstain} eligible=${p.tally.eligible}\n`);
      return 0;
    }
    default:
      throw new UsageError(`Unknown command "${cmd}".`);
  }
}

/**
 * Runs one command; resolves with the exit code, or -1 when the command keeps running (mcp serves
 * until its client closes stdin). Messages for the user go to stderr.
 */
export async function runCli(argv: string[]): Promise<number> {
  try {
    return await main(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`omnisight: ${err.message}\nRun "omnisight --help" for the commands.\n`);
      return 2;
    }
    if (err instanceof BridgeCallError) {
      process.stderr.write(`omnisight: ${err.message}\n`);
      return err.code === 'unauthorized' || err.code === 'forbidden' ? 4 : 1;
    }
    process.stderr.write(`omnisight: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}
