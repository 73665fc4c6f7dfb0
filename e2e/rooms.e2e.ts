// Two scripted agents and the user hold a vote in a room; the app restarts; the room, the vote and
// its decision are all still there. Agent A gets its token in the Agents view (shown once) and talks
// to the bridge's HTTP API; agent B gets its token and votes through the `omnisight` CLI.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { artifactPath, launchBrowser } from './lib/browser';
import { root, serve, type Served } from './lib/serve';

const run = promisify(execFile);
let server: Served;
let browser: Browser;
let page: Page;
let tokenA = '';
let tokenB = '';
let roomId = '';
let proposalId = 0;

const ROOM = 'Release plan';
const TITLE = 'Use PostgreSQL for the event store';

async function bridgeUrl(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'bridge.json');
  await expect.poll(() => fs.existsSync(file), { timeout: 10_000 }).toBe(true);
  return `http://127.0.0.1:${(JSON.parse(fs.readFileSync(file, 'utf8')) as { port: number }).port}`;
}

/** One call to the agent bridge's HTTP API, as a script would make it. */
async function agentCall<T>(token: string, op: string, input: unknown): Promise<T> {
  const res = await fetch(`${await bridgeUrl(server.dataDir)}/api/${op}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(input),
  });
  const body = (await res.json()) as { ok: boolean; value?: T; error?: { message: string } };
  if (!body.ok) throw new Error(`${op}: ${body.error?.message}`);
  return body.value as T;
}

const cli = (...args: string[]) => run(process.execPath, [path.join(root, 'scripts/omnisight.mjs'), ...args, '--data-dir', server.dataDir], { cwd: root, timeout: 30_000 });

async function open(): Promise<void> {
  await page.goto(server.url);
  await expect.poll(() => page.getByRole('status').filter({ hasText: 'Connected' }).count()).toBe(1);
}

beforeAll(async () => {
  server = await serve({ args: ['--no-demo'] });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 860 }, colorScheme: 'dark' });
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('rooms: two agents and the user vote, and it all survives a restart', () => {
  it('creates a room from the Rooms view', async () => {
    await open();
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Rooms', exact: true }).click();
    await expect.poll(() => page.getByText('Create a room to start').count()).toBe(1);
    await page.getByRole('button', { name: 'New room' }).click();
    await page.getByRole('dialog').getByLabel('Name').fill(ROOM);
    await page.getByRole('dialog').getByRole('button', { name: 'Create room' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 2, name: ROOM }).count()).toBe(1);
  });

  it('issues agent A a token in the Agents view (shown once) and agent B one with the CLI', async () => {
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Agents', exact: true }).click();
    const form = page.getByRole('form', { name: 'New token' });
    await form.getByLabel('Name').fill('agent-a');
    await form.getByLabel('actions:propose').check();
    await form.getByRole('button', { name: 'Create token' }).click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.getByText('you will not see it again').count()).toBe(1);
    tokenA = (await dialog.getByLabel('Token for agent-a', { exact: true }).textContent())!.trim();
    expect(tokenA.length).toBeGreaterThan(20);
    await dialog.getByRole('button', { name: 'I have copied it' }).click();
    await expect.poll(() => page.getByRole('table', { name: 'Agent tokens' }).getByRole('row').filter({ hasText: 'agent-a' }).count()).toBe(1);

    const { stdout } = await cli('token', 'create', '--name', 'agent-b', '--scopes', 'rooms:read,rooms:write');
    tokenB = stdout.trim();
    expect(tokenB.length).toBeGreaterThan(20);
  });

  it('agent A proposes, agent B votes yes, the user votes yes in the UI, and the decision appears', async () => {
    const rooms = await agentCall<{ rooms: { id: string; name: string }[] }>(tokenA, 'rooms.list', {});
    roomId = rooms.rooms.find((r) => r.name === ROOM)!.id;
    await agentCall(tokenA, 'rooms.post', { roomId, text: 'Hello @user, agent A here.', act: 'inform' });
    await agentCall(tokenB, 'rooms.post', { roomId, text: 'Agent B ready to review.', act: 'inform' });
    const p = await agentCall<{ id: number; status: string }>(tokenA, 'rooms.propose', {
      roomId,
      title: TITLE,
      subject: 'event store',
      outcome: 'PostgreSQL',
      deadlineMs: 3_600_000,
    });
    proposalId = p.id;
    expect(p.status).toBe('open');

    // Agents join without a vote: B's first try is refused, then the user gives B a vote in the Members tab.
    const refused = await cli('vote', '--proposal', String(proposalId), '--choice', 'yes', '--token', tokenB).catch((e: { stderr?: string }) => ({ stdout: '', stderr: e.stderr ?? '' }));
    expect(refused.stderr).toMatch(/without a vote/);
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Rooms', exact: true }).click();
    await page.getByRole('tab', { name: 'Members' }).click();
    await page.getByRole('button', { name: 'Give a vote to agent-b' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Take the vote of agent-b' }).count()).toBe(1);
    await page.getByRole('tab', { name: 'Votes' }).click();
    const { stdout } = await cli('vote', '--proposal', String(proposalId), '--choice', 'yes', '--token', tokenB);
    expect(stdout).toMatch(new RegExp(`#${proposalId} open yes=1 no=0 abstain=0 eligible=2`));

    const stream = page.getByRole('list', { name: 'Messages' });
    await expect.poll(() => stream.getByText('agent A here').count()).toBe(1);
    await expect.poll(() => stream.locator('mark.mention-me').count()).toBe(1); // @user is the reader
    const card = page.getByRole('article', { name: `Proposal ${proposalId}: ${TITLE}` });
    // The live tally: B's yes arrived as an event or with the load.
    await expect.poll(() => card.getByLabel(/^Tally:/).getAttribute('aria-label')).toBe('Tally: 1 yes, 0 no, 0 abstain of 2');
    await expect.poll(() => card.getByText(/ends in/).count()).toBe(1);
    await card.getByRole('button', { name: `Vote yes on proposal ${proposalId}` }).click();
    await expect.poll(() => card.locator('.pstatus').textContent()).toBe('passed');

    await page.getByRole('tab', { name: 'Decisions' }).click();
    const decision = page.getByRole('listitem', { name: /^Decision \d+: / }).filter({ hasText: TITLE });
    await expect.poll(() => decision.count()).toBe(1);
    await expect.poll(() => decision.getByText('2 yes, 0 no, 0 abstain of 2').count()).toBe(1);
    await page.screenshot({ path: artifactPath('rooms.png') });

    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Agents', exact: true }).click();
    await expect.poll(() => page.getByRole('table', { name: 'Agent tokens' }).getByRole('row').filter({ hasText: 'agent-b' }).count()).toBe(1);
    await page.screenshot({ path: artifactPath('agents.png'), fullPage: true });
  });

  it('threads, the keyboard, search, tasks, files and the summary work in the room', async () => {
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Rooms', exact: true }).click();
    const stream = page.getByRole('list', { name: 'Messages' });
    // Enter sends; Shift+Enter is a new line in the same message.
    const box = page.getByRole('textbox', { name: 'Message', exact: true });
    await box.fill('line one');
    await box.press('Shift+Enter');
    await box.pressSequentially('line two');
    await box.press('Enter');
    await expect.poll(() => stream.locator('.msg-body').filter({ hasText: 'line one' }).textContent()).toBe('line one\nline two');

    // A reply opens in the side panel and counts on its parent.
    await stream.getByRole('listitem').filter({ hasText: 'agent A here' }).getByRole('button', { name: /Reply in thread/ }).click();
    const reply = page.getByRole('textbox', { name: 'Reply' });
    await reply.fill('Thanks @agent-a');
    await reply.press('Enter');
    await expect.poll(() => page.getByLabel(/^Thread of message/).getByText('Thanks').count()).toBe(1);
    await expect.poll(() => stream.getByRole('button', { name: /Reply in thread/ }).filter({ hasText: '1 reply' }).count()).toBe(1);
    await page.getByRole('button', { name: 'Close the thread' }).click();

    // Search jumps to the message and marks it.
    await page.getByRole('tab', { name: 'Search' }).click();
    await page.getByLabel('Search messages and decisions').fill('review');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByRole('list', { name: 'Search results' }).getByRole('button').first().click();
    await expect.poll(() => stream.locator('.msg.flash').textContent()).toContain('Agent B ready to review.');

    // Tasks: create, assign, done.
    await page.getByRole('tab', { name: 'Tasks' }).click();
    await page.getByLabel('Task title').fill('Write the migration');
    await page.getByLabel('Assign the new task to').selectOption({ label: 'agent-b' });
    await page.getByRole('form', { name: 'New task' }).getByRole('button', { name: 'Add' }).click();
    await expect.poll(() => page.getByLabel('Assignee of Write the migration').inputValue()).not.toBe('');
    await page.getByLabel('Done: Write the migration').check();
    await expect.poll(() => page.locator('.task.done').count()).toBe(1);

    // Files: an oversized file is refused where the user acted; a small one uploads.
    await page.getByRole('tab', { name: 'Files' }).click();
    const chooser = page.getByLabel('Upload a file to the room');
    await chooser.setInputFiles({ name: 'huge.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(11 * 1024 * 1024) });
    await expect.poll(() => page.getByRole('tabpanel').getByRole('alert').textContent()).toMatch(/at most 10\.0 MiB/);
    await chooser.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('schema v2\n') });
    await expect.poll(() => page.getByRole('list', { name: 'Files' }).getByText('notes.txt').count()).toBe(1);

    // No API key in the test: the extractive summary, which lists the decision.
    await page.getByRole('tab', { name: 'Summary' }).click();
    await page.getByRole('button', { name: 'Summarise now' }).click();
    await expect.poll(() => page.locator('.summary-text').textContent()).toContain('PostgreSQL');
  });

  it('plans a team in the orchestrator and shows its tokens once', async () => {
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Agents', exact: true }).click();
    const form = page.getByRole('form', { name: 'Team plan' });
    await form.getByLabel('Task description').fill('Add an audit trail to the deploy pipeline');
    await form.getByLabel('Files', { exact: true }).fill('20');
    await form.getByLabel('Subtasks').fill('6');
    await form.getByRole('button', { name: 'Plan the team' }).click();
    await expect.poll(() => page.getByRole('table', { name: 'Roles' }).getByRole('row').count()).toBeGreaterThan(2);
    await page.getByRole('button', { name: 'Create room with this team' }).click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.getByText('you will not see them again').count()).toBe(1);
    expect(await dialog.locator('code.secret').count()).toBeGreaterThan(1);
    await dialog.getByRole('button', { name: 'I have copied it' }).click();
  });

  it('still has the room, the vote and the decision after the app restarts', async () => {
    await server.stop();
    server = await serve({ dataDir: server.dataDir, args: ['--no-demo'] });
    await open();
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Rooms', exact: true }).click();
    await page.getByRole('navigation', { name: 'Rooms' }).getByRole('button', { name: ROOM }).click();
    await expect.poll(() => page.getByRole('heading', { level: 2, name: ROOM }).count()).toBe(1);
    await expect.poll(() => page.getByRole('list', { name: 'Messages' }).getByText('Agent B ready to review.').count()).toBe(1);

    const card = page.getByRole('article', { name: `Proposal ${proposalId}: ${TITLE}` });
    await expect.poll(() => card.locator('.pstatus').textContent()).toBe('passed');
    expect(await card.getByLabel(/^Tally:/).getAttribute('aria-label')).toBe('Tally: 2 yes, 0 no, 0 abstain of 2');
    const record = await card.locator('.vote-record').textContent();
    expect(record).toContain('agent-b: yes');
    expect(record).toContain('You: yes');

    await page.getByRole('tab', { name: 'Decisions' }).click();
    await expect.poll(() => page.getByRole('listitem', { name: /^Decision \d+: / }).filter({ hasText: TITLE }).count()).toBe(1);
    // The agents' tokens survived too: agent A can still read the room.
    const read = await agentCall<{ messages: { text: string }[] }>(tokenA, 'rooms.read', { roomId, limit: 10 });
    expect(read.messages.some((m) => m.text.includes(TITLE))).toBe(true);
  });
});
