// The MCP server and the CLI as separate processes (through scripts/omnisight.mjs, as `npx omnisight`
// runs them) against a bridge running in this test. The MCP side uses the SDK's official client.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpCall } from './index';
import { startRig, type Rig } from './testkit';

const launcher = path.resolve(__dirname, '../../scripts/omnisight.mjs');
let rig: Rig;

const cli = (args: string[], env: Record<string, string> = {}, input?: string): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const child = execFile(process.execPath, [launcher, ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
    else child.stdin!.end();
  });

const text = (r: unknown): string => ((r as { content: { text: string }[] }).content[0]?.text ?? '');

beforeAll(async () => {
  rig = await startRig({ realClock: true });
});
afterAll(async () => {
  await rig.stop();
});

describe('MCP server over stdio, driven by the official MCP client', () => {
  it('lists the tools, reads, posts, waits, proposes and votes through the running bridge', async () => {
    const room = rig.rooms.createRoom({ name: 'MCP room' });
    const { token } = rig.bridge.tokens.create({ name: 'claude', scopes: ['rooms:read', 'rooms:write', 'actions:propose', 'fleet:read'] });
    const other = rig.bridge.tokens.create({ name: 'peer', scopes: ['rooms:read', 'rooms:write'] });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [launcher, 'mcp', '--url', rig.url],
      env: { ...(process.env as Record<string, string>), OMNISIGHT_TOKEN: token },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'omnisight-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const tools = (await client.listTools()).tools.map((t) => t.name).sort();
      expect(tools).toEqual(
        ['fleet_status', 'list_rooms', 'list_tasks', 'post_message', 'propose', 'propose_deploy', 'read_messages', 'recent_events', 'update_task', 'vote', 'wait_for_message'].sort(),
      );
      expect(text(await client.callTool({ name: 'list_rooms', arguments: {} }))).toContain('MCP room');
      expect(text(await client.callTool({ name: 'post_message', arguments: { roomId: room.id, text: 'hello from claude', act: 'inform' } }))).toMatch(/^Posted #\d+/);
      expect(text(await client.callTool({ name: 'read_messages', arguments: { roomId: room.id } }))).toContain('claude: hello from claude');

      // wait_for_message blocks until the peer posts
      const waiting = client.callTool({ name: 'wait_for_message', arguments: { roomId: room.id, timeoutSeconds: 10 } });
      await new Promise((r) => setTimeout(r, 300));
      await httpCall(rig.url, other.token, 'rooms.post', { roomId: room.id, text: 'peer reply' });
      expect(text(await waiting)).toContain('peer: peer reply');

      const proposed = text(await client.callTool({ name: 'propose', arguments: { roomId: room.id, title: 'Adopt MCP', subject: 'integration', outcome: 'use MCP' } }));
      const id = Number(/#(\d+)/.exec(proposed)![1]);
      expect(text(await client.callTool({ name: 'vote', arguments: { proposalId: id, choice: 'yes' } }))).toMatch(/without a vote/);
      rig.rooms.updateMember({ roomId: room.id, memberId: `agent:${/^omni_([0-9a-f]{12})_/.exec(token)![1]}`, canVote: true, by: 'user' });
      expect(text(await client.callTool({ name: 'vote', arguments: { proposalId: id, choice: 'yes' } }))).toMatch(/open|passed/);
      expect(rig.rooms.getProposal(id).votes).toHaveLength(1);

      const task = rig.rooms.createTask({ roomId: room.id, title: 'wire MCP', by: 'user' });
      await client.callTool({ name: 'update_task', arguments: { roomId: room.id, taskId: task.id, progress: 50 } });
      expect(text(await client.callTool({ name: 'list_tasks', arguments: { roomId: room.id } }))).toContain('"progress": 50');

      expect(text(await client.callTool({ name: 'propose_deploy', arguments: { roomId: room.id, build: 'a.eap', cameraIds: ['cam-1'], reason: 'r' } }))).toMatch(/Nothing was deployed/);
      expect(text(await client.callTool({ name: 'fleet_status', arguments: {} }))).toMatch(/not available/);

      const tooLong = await client.callTool({ name: 'post_message', arguments: { roomId: room.id, text: 'x'.repeat(10_001) } });
      expect(tooLong.isError).toBe(true);
    } finally {
      await client.close();
    }
  }, 60_000);

  it('refuses to start with a bad token', async () => {
    const r = await cli(['mcp', '--url', rig.url], { OMNISIGHT_TOKEN: 'omni_000000000000_' + 'A'.repeat(43) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/refused the token/);
  }, 30_000);
});

describe('MCP server shutdown', () => {
  it('exits when its stdin closes (the MCP stdio shutdown), even with the bridge socket open', async () => {
    const { token } = rig.bridge.tokens.create({ name: 'closer', scopes: ['rooms:read'] });
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [launcher, 'mcp', '--url', rig.url], { env: { ...process.env, OMNISIGHT_TOKEN: token }, stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      // Running and connected to the bridge: it answers an initialize request.
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } })}\n`);
      await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => String(d).includes('"id":1') && resolve()));
      child.stdin.end();
      const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 8000))]);
      expect(code).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);
});

describe('omnisight CLI', () => {
  it('creates a token straight in the database that the running bridge accepts, then sends, reads, waits and votes', async () => {
    const room = rig.rooms.createRoom({ name: 'CLI room' });
    const created = await cli(['token', 'create', '--name', 'hook', '--scopes', 'rooms:read,rooms:write', '--data-dir', rig.dir]);
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^omni_[0-9a-f]{12}_/);
    const env = { OMNISIGHT_TOKEN: token };

    const sent = await cli(['send', '--room', room.id, '--data-dir', rig.dir, '--act', 'question'], env, 'is the build green?\n');
    expect(sent.code).toBe(0);
    const id = Number(sent.stdout.trim());
    expect(rig.rooms.getMessage(id)).toMatchObject({ text: 'is the build green?', act: 'question', author: { name: 'hook' } });

    const read = await cli(['read', '--room', room.id, '--data-dir', rig.dir], env);
    expect(read.stdout).toContain('is the build green?');

    const waited = await cli(['wait', '--room', room.id, '--data-dir', rig.dir, '--timeout', '1'], env);
    expect(waited.code).toBe(3);

    const p = rig.rooms.propose({ roomId: room.id, by: { kind: 'human', id: 'user', name: 'You' }, title: 'Ship', subject: 'release', outcome: 'ship it' });
    await expect(cli(['vote', '--proposal', String(p.id), '--choice', 'yes', '--data-dir', rig.dir], env)).resolves.toMatchObject({ stderr: expect.stringMatching(/without a vote/) });
    rig.rooms.updateMember({ roomId: room.id, memberId: `agent:${/^omni_([0-9a-f]{12})_/.exec(token)![1]}`, canVote: true, by: 'user' });
    const voted = await cli(['vote', '--proposal', String(p.id), '--choice', 'yes', '--data-dir', rig.dir], env);
    expect(voted.stdout).toMatch(new RegExp(`#${p.id} (open|passed)`));

    const refused = await cli(['read', '--room', room.id, '--data-dir', rig.dir], { OMNISIGHT_TOKEN: `${token.slice(0, -1)}x` });
    expect(refused.code).toBe(4);
    const bad = await cli(['token', 'create', '--name', 'x', '--scopes', 'root', '--data-dir', rig.dir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/scopes/);
  }, 90_000);
});
