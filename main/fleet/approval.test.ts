// The whole approval path with the real rooms, agent bridge and deploy services against two
// simulated cameras (in-process app agent, no qemu): an agent proposes through the bridge, the room
// votes, the passed decision starts the deploy once, the outcome is posted back into the room.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCameraId, type CameraId } from '../../preload/contract/camera-id';
import type { Deploy } from '../../preload/contract/deploy';
import { connectBridge, type BridgeCallError, type BridgeClient } from '../agents';
import { createAgentBridge, type AgentBridge } from '../agents';
import { startSimulatedFleet, type SimFleet } from '../camsim';
import { createEventBus, type EventBus } from '../kernel/bus';
import { createDispatcher } from '../kernel/dispatcher';
import { silentLogger } from '../kernel/logger';
import { buildEap } from '../packaging';
import { createRoomsService, type RoomsService } from '../rooms';
import { openDatabase, type Db } from '../store';
import { createDeployApproval, type DeployApproval } from './approval';
import { createDeployService, type DeployService } from './deploy';
import type { FleetService } from './index';
import { createFleetHarness } from './testing';
import { curl } from '../camsim/testkit';

const log = silentLogger();
const OWNER = 'user'; // the room's owner (the local user) votes too
const nativeDir = path.resolve(__dirname, '../../native');

describe('deploys approved by a room decision', () => {
  let sim: SimFleet;
  let dir: string;
  let db: Db;
  let bus: EventBus;
  let rooms: RoomsService;
  let fleet: FleetService;
  let deploy: DeployService;
  let approval: DeployApproval;
  let bridge: AgentBridge;
  let agent: BridgeClient;
  let url: string;
  let closeAll: () => Promise<void>;
  let buildSha = '';
  let buildName = '';
  const ids: CameraId[] = [];
  /** The rooms' clock runs ahead by this much: deadlines pass without waiting. */
  let skew = 0;
  const deploys = (): number => (db.prepare('SELECT COUNT(*) AS n FROM deploys').get() as { n: number }).n;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omni-approve-'));
    sim = await startSimulatedFleet({ cameras: 2, seed: 7, apps: 'agent' });
    const h = await createFleetHarness(dir, log);
    ({ db, bus, fleet } = h);
    const { audit, helper } = h;
    deploy = createDeployService({
      db, bus, log, audit, now: Date.now, dataDir: dir, helper, registry: fleet.registry,
      ...h.deployDeps,
      onHelperProgress: () => () => undefined,
      reconnectTimeoutMs: 5000,
      pollMs: 100,
    });
    rooms = createRoomsService({ db, bus, now: () => Date.now() + skew, dataDir: dir, log });
    approval = createDeployApproval({ db, bus, log, now: Date.now, rooms, deploy });
    const dispatcher = createDispatcher({ log });
    dispatcher.register(fleet.handlers);
    dispatcher.register(deploy.handlers);
    bridge = createAgentBridge({ db, bus, audit, rooms, log, now: Date.now, dataDir: dir, dispatcher, proposeDeploy: (i) => approval.propose(i) });
    url = `ws://127.0.0.1:${await bridge.start()}`;
    const call = async <T,>(m: string, i: unknown): Promise<T> => {
      const r = await dispatcher.dispatch(m, i, { transport: 'internal', peer: 'test' });
      if (!r.ok) throw new Error(`${m}: ${r.error.message}`);
      return r.value as T;
    };
    for (const c of sim.cameras) ids.push((await call<{ id: CameraId }>('fleet.add', { address: new URL(c.url).host, username: c.username, password: c.password, httpsPort: c.httpsPort })).id);
    // A room's decision never switches AllowUnsigned on: the cameras' owner allowed unsigned apps on them beforehand.
    for (const c of sim.cameras) await curl(`${c.url}/axis-cgi/applications/config.cgi?action=set&name=AllowUnsigned&value=true`, { user: c.username, pass: c.password });
    const manifest = JSON.parse(fs.readFileSync(path.join(nativeDir, 'manifest.json'), 'utf8')) as { acapPackageConf: { setup: Record<string, unknown> } };
    manifest.acapPackageConf.setup.version = '2.0.0';
    const eap = await buildEap({ manifest, executable: Buffer.from('simulated program'), license: 'test' });
    fs.writeFileSync(path.join(dir, eap.fileName), eap.data);
    const b = await call<{ sha256: string; fileName: string }>('deploy.addBuild', { path: path.join(dir, eap.fileName) });
    buildSha = b.sha256;
    buildName = b.fileName;
    const end = Date.now() + 10_000;
    while (ids.some((id) => fleet.status(id)?.lastHeartbeat === null) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    const tok = bridge.tokens.create({ name: 'planner', scopes: ['rooms:read', 'rooms:write', 'actions:propose', 'fleet:read'], ratePerMinute: 10_000, burst: 1000 });
    agent = await connectBridge({ url, token: tok.token });
    closeAll = async () => {
      await agent.close();
      await bridge.close();
      approval.close();
      rooms.close();
      await deploy.close();
      await h.close();
    };
  }, 60_000);

  afterAll(async () => {
    await closeAll?.();
    await sim?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A room with the agent and two human voters; majority of three. */
  const room = (name: string) => {
    const r = rooms.createRoom({ name, defaultRule: 'majority' });
    rooms.addMember({ roomId: r.id, member: { kind: 'human', id: 'alice', name: 'Alice' }, roles: ['coder'] });
    rooms.addMember({ roomId: r.id, member: { kind: 'human', id: 'bob', name: 'Bob' }, roles: ['coder'] });
    return r;
  };

  it('refuses an unknown build or camera when proposed, with a clear reason', async () => {
    const r = room('Refusals');
    await expect(agent.call('deploy.propose', { roomId: r.id, build: 'nope.eap', cameraIds: [ids[0]], reason: 'x' })).rejects.toMatchObject({ code: 'not_found', message: expect.stringMatching(/No build "nope.eap"/) });
    await expect(agent.call('deploy.propose', { roomId: r.id, build: buildSha, cameraIds: [ids[0], 'cam-ghost'], reason: 'x' })).rejects.toMatchObject({ message: expect.stringMatching(/Unknown camera id\(s\): cam-ghost/) });
    expect(rooms.listProposals(r.id)).toHaveLength(0);
  });

  it('a passed decision starts the deploy once, records who approved it, and posts the outcome to the room', async () => {
    const r = room('Ops');
    const before = deploys();
    const p = await agent.call<{ id: number; kind: string }>('deploy.propose', { roomId: r.id, build: buildName, cameraIds: ids, reason: 'new detector' });
    expect(p.kind).toBe('deploy');
    expect(deploys()).toBe(before); // proposing deploys nothing
    const ended = new Promise<string>((res) => {
      const off = bus.subscribe('deploy.changed', (e) => e.status !== 'running' && (off(), res(e.deployId)));
    });
    rooms.vote({ proposalId: p.id, voter: 'alice', choice: 'yes' });
    rooms.vote({ proposalId: p.id, voter: 'bob', choice: 'yes' });
    expect(deploys()).toBe(before); // 2 of 3 (the owner, Alice, Bob; the agent has no vote): the rule is met, but not the owner's approval
    const passed = rooms.vote({ proposalId: p.id, voter: OWNER, choice: 'yes' });
    expect(passed.status).toBe('passed');
    expect(deploys()).toBe(before + 1);
    const deployId = await ended;
    await deploy.idle();
    const d = await new Promise<Deploy>((res) => res(deploy.get(deployId)));
    const decision = rooms.listDecisions(r.id).find((x) => x.proposalId === p.id)!;
    expect(d.user).toBe(`room Ops, decision #${decision.id}`);
    expect(d.approval).toEqual({ roomId: r.id, roomName: 'Ops', proposalId: p.id, decisionId: decision.id });
    expect(d.targets.map((t) => [t.outcome, t.finalVersion])).toEqual([['verified', '2.0.0'], ['verified', '2.0.0']]);
    const audited = db.prepare("SELECT message, detail FROM audit_events WHERE kind = 'deploy.approved'").all() as { message: string; detail: string }[];
    expect(audited).toHaveLength(1);
    expect(JSON.parse(audited[0]!.detail)).toMatchObject({ deployId, decisionId: decision.id, proposalId: p.id });
    const texts = rooms.listMessages({ roomId: r.id, limit: 50 }).messages.filter((m) => m.author.id === 'omnisight:deploy').map((m) => m.text);
    expect(texts).toHaveLength(2);
    expect(texts[1]).toContain(`(decision #${decision.id}) done`);
    for (const t of d.targets) expect(texts[1]).toContain(`- ${t.cameraName}: running 2.0.0`);

    // The same decision again (a repeated event) or a fresh service on the same database (a restart) runs nothing.
    bus.publish('rooms.decision', decision);
    const again = createDeployApproval({ db, bus: createEventBus(), log, now: Date.now, rooms, deploy });
    again.close();
    expect(deploys()).toBe(before + 1);
    expect(rooms.listMessages({ roomId: r.id, limit: 50 }).messages.filter((m) => m.author.id === 'omnisight:deploy')).toHaveLength(2);
  }, 60_000);

  it('a rejected or expired proposal starts nothing, also after a restart', async () => {
    const r = room('Careful');
    const before = deploys();
    const rejected = await agent.call<{ id: number }>('deploy.propose', { roomId: r.id, build: buildSha, cameraIds: [ids[0]], reason: 'try' });
    rooms.vote({ proposalId: rejected.id, voter: 'alice', choice: 'no' });
    expect(rooms.vote({ proposalId: rejected.id, voter: 'bob', choice: 'no' }).status).toBe('rejected'); // a majority of 4 is out of reach
    const expiring = await agent.call<{ id: number }>('deploy.propose', { roomId: r.id, build: buildSha, cameraIds: [ids[1]], reason: 'try', deadlineMs: 1000 });
    db.prepare('UPDATE room_proposals SET deadline = ? WHERE id = ?').run(Date.now() - 1, expiring.id);
    rooms.closeDueVotes();
    expect(rooms.getProposal(expiring.id).status).not.toBe('passed');
    const again = createDeployApproval({ db, bus: createEventBus(), log, now: Date.now, rooms, deploy });
    again.close();
    expect(deploys()).toBe(before);
    expect((db.prepare("SELECT status FROM deploy_approvals WHERE proposal_id IN (?, ?)").all(rejected.id, expiring.id) as { status: string }[]).map((x) => x.status)).toEqual(['closed', 'closed']);
  });

  it('a decision that passed while nothing listened runs once at the next start', async () => {
    const r = room('Offline');
    const p = await agent.call<{ id: number }>('deploy.propose', { roomId: r.id, build: buildSha, cameraIds: [ids[0]], reason: 'catch up' });
    approval.close(); // the app is "down" while the vote passes
    for (const v of ['alice', 'bob', OWNER]) rooms.vote({ proposalId: p.id, voter: v, choice: 'yes' });
    expect(rooms.getProposal(p.id).status).toBe('passed');
    const before = deploys();
    approval = createDeployApproval({ db, bus, log, now: Date.now, rooms, deploy });
    expect(deploys()).toBe(before + 1);
    const second = createDeployApproval({ db, bus: createEventBus(), log, now: Date.now, rooms, deploy });
    second.close();
    expect(deploys()).toBe(before + 1);
    await deploy.idle();
  }, 60_000);

  it('agents cannot start a deploy without the owner: several tokens, every rule, with and without deadlines', async () => {
    const agents: BridgeClient[] = [];
    for (let i = 0; i < 3; i++) {
      const t = bridge.tokens.create({ name: `attacker-${i}`, scopes: ['rooms:read', 'rooms:write', 'actions:propose'], ratePerMinute: 10_000, burst: 1000 });
      agents.push(await connectBridge({ url, token: t.token }));
    }
    try {
      const before = deploys();
      const voteAll = async (proposalId: number): Promise<BridgeCallError[]> => {
        const refused: BridgeCallError[] = [];
        for (const a of agents) await a.call('rooms.vote', { proposalId, choice: 'yes' }).catch((e: BridgeCallError) => refused.push(e));
        return refused;
      };
      for (const rule of ['majority', 'two-thirds', 'weighted', 'unanimous'] as const)
        for (const deadlineMs of [undefined, 1000]) {
          const label = `${rule}, ${deadlineMs ? 'deadline' : 'no deadline'}`;
          const r = rooms.createRoom({ name: `Attack ${label}` });
          // 1. Agents as they join: members without a vote.
          const p = await agents[0]!.call<{ id: number }>('deploy.propose', { roomId: r.id, build: buildSha, cameraIds: [ids[0]], reason: 'trust me', rule, deadlineMs });
          const refused = await voteAll(p.id);
          expect(refused.map((e) => e.code), label).toEqual(['forbidden', 'forbidden', 'forbidden']);
          expect(refused[0]!.message).toMatch(/without a vote/);
          // 2. The owner gives every agent a vote and a heavy weight: the rule is met without the owner, who stays silent.
          for (const a of agents) rooms.updateMember({ roomId: r.id, memberId: a.welcome.memberId, canVote: true, weight: 50, by: OWNER });
          const q = await agents[1]!.call<{ id: number }>('deploy.propose', { roomId: r.id, build: buildSha, cameraIds: [ids[1]], reason: 'we agree', rule, deadlineMs });
          expect(await voteAll(q.id), label).toEqual([]);
          expect(rooms.getProposal(q.id).status, label).toBe('open');
          if (deadlineMs) {
            skew += deadlineMs + 1; // the deadline passes in silence
            rooms.closeDueVotes();
            expect(rooms.getProposal(p.id).status, label).toBe('expired');
            expect(rooms.getProposal(q.id).status, label).toBe('expired');
          }
          expect(deploys(), label).toBe(before);
          expect(db.prepare("SELECT count(*) AS n FROM deploy_approvals WHERE proposal_id IN (?, ?) AND status = 'started'").get(p.id, q.id), label).toEqual({ n: 0 });
        }
    } finally {
      for (const a of agents) await a.close();
    }
  }, 60_000);

  it("a deploy decision without a person's approval is not run, and the room is told why", async () => {
    const r = room('Forged');
    const p = await agent.call<{ id: number }>('deploy.propose', { roomId: r.id, build: buildSha, cameraIds: [ids[0]], reason: 'forged' });
    // As if another path had closed it as passed without the owner (the rooms service never does).
    db.prepare("UPDATE room_proposals SET status = 'passed' WHERE id = ?").run(p.id);
    const before = deploys();
    const pr = rooms.getProposal(p.id);
    bus.publish('rooms.decision', { id: 9999, proposalId: p.id, roomId: r.id, title: pr.title, subject: pr.subject, outcome: pr.outcome, rule: pr.rule, votes: [], tally: pr.tally, contradicts: [], warning: null, decidedAt: Date.now() });
    expect(deploys()).toBe(before);
    const last = rooms.listMessages({ roomId: r.id, limit: 1 }).messages[0]!;
    expect(last).toMatchObject({ author: { id: 'omnisight:deploy' }, text: expect.stringMatching(/not started: a deploy needs a yes from the room's owner/) });
  });

  it('no operation an agent token can reach starts a deploy', async () => {
    const all = bridge.tokens.create({ name: 'everything', scopes: ['rooms:read', 'rooms:write', 'actions:propose', 'fleet:read'], ratePerMinute: 10_000, burst: 1000 });
    const c = await connectBridge({ url, token: all.token });
    try {
      const before = deploys();
      for (const op of ['deploy.start', 'deploy.retry', 'deploy.builds', 'deploy.approve']) {
        const e = (await c.call(op, { buildSha, cameraIds: ids, deployId: 'x' }).catch((err: BridgeCallError) => err)) as BridgeCallError;
        expect(e.code, op).toBe('unknown_method');
      }
      // The bridge's whole list of operations (it names them when refusing an unknown one): none deploys.
      const listed = ((await c.call('nope', {}).catch((err: BridgeCallError) => err)) as BridgeCallError).message;
      const ops = /Operations: (.*)\.$/.exec(listed)![1]!.split(', ');
      expect(ops).toContain('deploy.propose');
      expect(ops.filter((o) => o.startsWith('deploy.'))).toEqual(['deploy.propose']);
      // fleet_status and recent_events dispatch fixed read-only methods, whatever the input.
      await c.call('fleet.status', {});
      await expect(c.call('fleet.status', { method: 'deploy.start' })).rejects.toMatchObject({ code: 'invalid_input' });
      expect(deploys()).toBe(before);
    } finally {
      await c.close();
    }
  });
});

describe('a kill right after the deciding vote', () => {
  const modules = {
    store: path.resolve(__dirname, '../store'),
    rooms: path.resolve(__dirname, '../rooms'),
    bus: path.resolve(__dirname, '../kernel/bus'),
    logger: path.resolve(__dirname, '../kernel/logger'),
    approval: path.resolve(__dirname, './approval'),
  };
  /** A deploy service that only records what it was asked to start (the cameras are not the subject here). */
  const recorder = () => {
    const started: { proposalId: number; cameraIds: string[] }[] = [];
    return {
      started,
      service: {
        resolve: (_b: string, cameraIds: readonly string[]) => ({
          build: { sha256: 'a'.repeat(64), fileName: 'omnisight-2.0.0.eap', version: '2.0.0', appName: 'omnisight' },
          cameras: cameraIds.map((id) => ({ id, name: id })),
        }),
        startApproved: (i: { cameraIds: string[]; approval: { proposalId: number } }) => {
          started.push({ proposalId: i.approval.proposalId, cameraIds: i.cameraIds });
          return `dep-${started.length}-0000`;
        },
        get: () => ({ status: 'running' }) as Deploy,
      } as unknown as Pick<DeployService, 'resolve' | 'startApproved' | 'get'>,
    };
  };

  it('ends with a deploy at the next start, never with a claim and no deploy (SIGKILL inside the start)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omni-approve-kill-'));
    try {
      // The child proposes, the owner's yes passes it, and the process is killed inside startApproved:
      // after the claim, before the deploy exists.
      const script = `
        const { openDatabase } = require(${JSON.stringify(modules.store)});
        const { createRoomsService } = require(${JSON.stringify(modules.rooms)});
        const { createEventBus } = require(${JSON.stringify(modules.bus)});
        const { silentLogger } = require(${JSON.stringify(modules.logger)});
        const { createDeployApproval } = require(${JSON.stringify(modules.approval)});
        const { db } = openDatabase({ dir: ${JSON.stringify(dir)} });
        const bus = createEventBus();
        const log = silentLogger();
        const rooms = createRoomsService({ db, bus, now: Date.now, dataDir: ${JSON.stringify(dir)}, log });
        const deploy = {
          resolve: (_b, ids) => ({ build: { sha256: 'a'.repeat(64), fileName: 'omnisight-2.0.0.eap', version: '2.0.0', appName: 'omnisight' }, cameras: ids.map((id) => ({ id, name: id })) }),
          startApproved: () => { process.kill(process.pid, 'SIGKILL'); for (;;) {} },
          get: () => { throw new Error('unused'); },
        };
        const approval = createDeployApproval({ db, bus, log, now: Date.now, rooms, deploy });
        const room = rooms.createRoom({ name: 'Kill' });
        const p = approval.propose({ roomId: room.id, by: { kind: 'agent', id: 'agent:k', name: 'k' }, build: 'omnisight-2.0.0.eap', cameraIds: ['cam-1'], reason: 'r' });
        process.stdout.write(JSON.stringify({ roomId: room.id, proposalId: p.id }) + '\\n');
        rooms.vote({ proposalId: p.id, voter: 'user', choice: 'yes' });
        process.stdout.write('not killed\\n');
      `;
      const { spawn } = await import('node:child_process');
      const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const signal = await new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, sig) => r(sig)));
      expect(signal).toBe('SIGKILL');
      expect(out).not.toContain('not killed');
      const { roomId, proposalId } = JSON.parse(out.split('\n')[0]!) as { roomId: string; proposalId: number };

      // The next start: the passed decision ends with a deploy, and the room is told.
      const { db } = openDatabase({ dir });
      const bus = createEventBus();
      const rooms = createRoomsService({ db, bus, now: Date.now, dataDir: dir, log });
      expect(rooms.getProposal(proposalId).status).toBe('passed');
      const { started, service } = recorder();
      const approval = createDeployApproval({ db, bus, log, now: Date.now, rooms, deploy: service });
      expect(started).toEqual([{ proposalId, cameraIds: ['cam-1'] }]);
      expect(db.prepare('SELECT status, deploy_id FROM deploy_approvals WHERE proposal_id = ?').get(proposalId)).toEqual({ status: 'started', deploy_id: 'dep-1-0000' });
      expect(rooms.listMessages({ roomId, limit: 1 }).messages[0]!.text).toMatch(/deploy dep-1-00 started/);
      // And never twice.
      createDeployApproval({ db, bus: createEventBus(), log, now: Date.now, rooms, deploy: service }).close();
      expect(started).toHaveLength(1);
      approval.close();
      rooms.close();
      db.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('a claim left without a deploy (by an earlier version) is reconciled at start: the room is told nothing was deployed', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omni-approve-orphan-'));
    try {
      const { db } = openDatabase({ dir });
      const bus = createEventBus();
      const rooms = createRoomsService({ db, bus, now: Date.now, dataDir: dir, log });
      const { started, service } = recorder();
      const first = createDeployApproval({ db, bus, log, now: Date.now, rooms, deploy: service });
      const room = rooms.createRoom({ name: 'Orphan' });
      const p = first.propose({ roomId: room.id, by: { kind: 'agent', id: 'agent:o', name: 'o' }, build: 'x', cameraIds: [parseCameraId('cam-2')], reason: 'r' });
      first.close();
      rooms.vote({ proposalId: p.id, voter: OWNER, choice: 'yes' });
      const decision = rooms.listDecisions(room.id)[0]!;
      // What a kill between the claim and the deploy left behind before claim and start shared a transaction.
      db.prepare("UPDATE deploy_approvals SET status = 'started', decision_id = ? WHERE proposal_id = ?").run(decision.id, p.id);
      const again = createDeployApproval({ db, bus, log, now: Date.now, rooms, deploy: service });
      expect(started).toEqual([]); // not deployed long after the fact
      const last = rooms.listMessages({ roomId: room.id, limit: 1 }).messages[0]!;
      expect(last).toMatchObject({ author: { id: 'omnisight:deploy' }, replyTo: p.messageId });
      expect(last.text).toMatch(new RegExp(`Decision #${decision.id} passed, but OmniSight stopped before its deploy started: nothing was sent to the cameras`));
      expect(db.prepare('SELECT reported FROM deploy_approvals WHERE proposal_id = ?').get(p.id)).toEqual({ reported: 1 });
      // Told once.
      createDeployApproval({ db, bus: createEventBus(), log, now: Date.now, rooms, deploy: service }).close();
      expect(rooms.listMessages({ roomId: room.id, limit: 50 }).messages.filter((m) => m.author.id === 'omnisight:deploy')).toHaveLength(1);
      again.close();
      rooms.close();
      db.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
