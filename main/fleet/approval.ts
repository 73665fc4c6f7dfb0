// Deploys that only a room decision can approve. An agent proposes a deploy with a structured
// payload (build, cameras), checked at once; the rooms service closes the vote and publishes the
// decision (a deploy passes only with a person's yes: the owner or the approver role); a PASSED
// decision starts that deploy exactly once (the row moves pending → started in the same
// transaction that creates the deploy, so a repeated event, a kill or an app restart cannot run it
// twice or leave it claimed without a deploy); when the deploy ends the outcome per camera is
// posted back into the room, and a decision that could not deploy says why there. Rejected, vetoed
// and expired proposals start nothing. This is the only path from an agent to a deploy.
import { z } from 'zod';
import type { Decision, Proposal } from '../../preload/contract';
import { cameraIdSchema, type CameraId } from '../../preload/contract/camera-id';
import type { EventBus } from '../kernel/bus';
import type { Logger } from '../kernel/logger';
import type { Author, QuorumRule, RoomsService } from '../rooms';
import { command, jsonText, query, type Db, type Query } from '../store';
import type { DeployService } from './deploy';

export interface DeployApprovalDeps {
  db: Db;
  bus: EventBus;
  log: Logger;
  now: () => number;
  rooms: Pick<RoomsService, 'propose' | 'getProposal' | 'getRoom' | 'listDecisions' | 'postMessage' | 'ensureMember'>;
  deploy: Pick<DeployService, 'resolve' | 'startApproved' | 'get'>;
}

export interface ProposeDeployInput {
  roomId: string;
  by: Author;
  /** sha256 or file name of a build the app knows. */
  build: string;
  cameraIds: CameraId[];
  reason: string;
  rule?: QuorumRule;
  deadlineMs?: number;
}

export interface DeployApproval {
  propose(input: ProposeDeployInput): Proposal;
  close(): void;
}

const approvalRowSchema = z.object({
  proposal_id: z.number(),
  room_id: z.string(),
  build_sha: z.string(),
  camera_ids: jsonText(z.array(cameraIdSchema)),
  status: z.enum(['pending', 'started', 'closed']),
  decision_id: z.number().nullable(),
  deploy_id: z.string().nullable(),
  reported: z.union([z.literal(0), z.literal(1)]),
  created_at: z.number(),
});
type ApprovalRow = z.output<typeof approvalRowSchema>;

/** Every statement of deploy approvals, rows decoded by schema. */
function statements(db: Db) {
  const rows = (sql: string): Query<ApprovalRow> => query(db, sql, approvalRowSchema);
  return {
    byProposal: rows('SELECT * FROM deploy_approvals WHERE proposal_id = ?'),
    unreportedByDeploy: rows('SELECT * FROM deploy_approvals WHERE deploy_id = ? AND reported = 0'),
    pending: rows("SELECT * FROM deploy_approvals WHERE status = 'pending'"),
    claimedWithoutDeploy: rows("SELECT * FROM deploy_approvals WHERE status = 'started' AND reported = 0 AND deploy_id IS NULL"),
    startedUnreported: rows("SELECT * FROM deploy_approvals WHERE status = 'started' AND reported = 0 AND deploy_id IS NOT NULL"),
    insert: command(db, 'INSERT INTO deploy_approvals (proposal_id, room_id, build_sha, camera_ids, status, created_at) VALUES (?,?,?,?,?,?)'),
    claim: command(db, "UPDATE deploy_approvals SET status = 'started', decision_id = ? WHERE proposal_id = ? AND status = 'pending'"),
    spend: command(db, "UPDATE deploy_approvals SET status = 'started', decision_id = ?, reported = 1 WHERE proposal_id = ? AND status = 'pending'"),
    setDeploy: command(db, 'UPDATE deploy_approvals SET deploy_id = ? WHERE proposal_id = ?'),
    markReported: command(db, 'UPDATE deploy_approvals SET reported = 1 WHERE proposal_id = ? AND reported = 0'),
    closePending: command(db, "UPDATE deploy_approvals SET status = 'closed' WHERE proposal_id = ? AND status = 'pending'"),
    /** The deploy a decision started (the deploys table records its approval). */
    deployOfProposal: db
      .prepare("SELECT id FROM deploys WHERE approval IS NOT NULL AND json_extract(approval, '$.proposalId') = ? ORDER BY created_at LIMIT 1")
      .pluck(),
  };
}

/** The app's own voice in a room (an observer: it never votes). */
export const DEPLOY_AUTHOR: Author = { kind: 'desktop', id: 'omnisight:deploy', name: 'OmniSight deploy' };

export function createDeployApproval(deps: DeployApprovalDeps): DeployApproval {
  const { db, bus, log, rooms, deploy } = deps;
  const q = statements(db);
  const row = (proposalId: number): ApprovalRow | undefined => q.byProposal.get(proposalId);

  const say = (roomId: string, text: string, replyTo?: number): void => {
    try {
      rooms.ensureMember(roomId, DEPLOY_AUTHOR, ['observer']);
      rooms.postMessage({ roomId, author: DEPLOY_AUTHOR, text, act: 'inform', replyTo });
    } catch (err) {
      log.warn({ err: (err as Error).message, roomId }, 'could not post the deploy outcome to the room');
    }
  };

  const propose: DeployApproval['propose'] = (i) => {
    const { build, cameras } = deploy.resolve(i.build, i.cameraIds);
    const names = cameras.map((c) => c.name).join(', ');
    const p = rooms.propose({
      roomId: i.roomId,
      by: i.by,
      kind: 'deploy',
      title: `Deploy ${build.fileName} (${build.version}) to ${cameras.length} camera(s)`,
      subject: `deploy ${cameras.map((c) => c.id).sort().join(' ')}`,
      outcome: `deploy ${build.appName} ${build.version} (${build.sha256.slice(0, 12)})`,
      text: `Deploy proposal: ${build.fileName} ${build.version} → ${names}. ${i.reason}`,
      rule: i.rule,
      deadlineMs: i.deadlineMs,
    });
    q.insert.run(
      p.id, p.roomId, build.sha256, JSON.stringify(cameras.map((c) => c.id)), 'pending', deps.now(),
    );
    return p;
  };

  const execute = (d: Pick<Decision, 'id' | 'proposalId' | 'roomId'>): void => {
    const r = row(d.proposalId);
    if (!r || r.status !== 'pending') return; // not a deploy proposal, or already spent
    const room = rooms.getRoom(r.room_id);
    const who = `room ${room.name}, decision #${d.id}`;
    // The rooms service passes an action on cameras only with a person's yes; check it again here,
    // where the cameras are moved: no path from agents alone to a deploy.
    const approvedBy = rooms.getProposal(d.proposalId).approvedBy;
    if (!approvedBy) {
      if (!spend(d, 'a deploy decision without an approval by a person was not run')) return;
      say(room.id, `Decision #${d.id} passed, but the deploy was not started: a deploy needs a yes from the room's owner${room.approverRole ? ` or a person with the role ${room.approverRole}` : ''}, and none was given.`);
      return;
    }
    let deployId: string | undefined;
    try {
      // Claim and start in one transaction: a kill leaves both (the deploy row exists; the deploy
      // service reports it interrupted at the next start) or neither (still pending: it starts at the
      // next start). Only one caller ever sees changes === 1.
      deployId = db.transaction(() => {
        const claimed = q.claim.run(d.id, d.proposalId).changes === 1;
        if (!claimed) return undefined;
        const id = deploy.startApproved({
          buildSha: r.build_sha,
          cameraIds: r.camera_ids,
          who,
          approval: { roomId: room.id, roomName: room.name, proposalId: d.proposalId, decisionId: d.id },
        });
        q.setDeploy.run(id, d.proposalId);
        return id;
      })();
    } catch (err) {
      // Refused (the build or a camera is gone): the decision is spent; the user can deploy by hand from the Deploy view.
      if (spend(d, 'an approved deploy could not start')) say(room.id, `Decision #${d.id} passed, but the deploy could not start: ${(err as Error).message}`);
      return;
    }
    if (deployId) say(room.id, `Decision #${d.id} passed: deploy ${deployId.slice(0, 8)} started.`, rooms.getProposal(d.proposalId).messageId);
  };

  /** Marks a passed decision as handled without a deploy (the caller says why in the room); false if someone else handled it. */
  const spend = (d: Pick<Decision, 'id' | 'proposalId'>, why: string): boolean => {
    log.warn({ proposal: d.proposalId, decision: d.id }, why);
    return q.spend.run(d.id, d.proposalId).changes === 1;
  };

  const report = (deployId: string): void => {
    const r = q.unreportedByDeploy.get(deployId);
    if (!r) return;
    const d = deploy.get(deployId);
    if (d.status === 'running') return;
    if (q.markReported.run(r.proposal_id).changes !== 1) return;
    const lines = d.targets.map((t) => `- ${t.cameraName}: ${t.outcome === 'verified' ? `running ${t.finalVersion}` : t.outcome === 'rolled_back' ? `rolled back${t.finalVersion ? ` to ${t.finalVersion}` : ''}` : t.outcome} (${t.message})`);
    say(r.room_id, `Deploy ${deployId.slice(0, 8)} of ${d.appName} ${d.version} (decision #${r.decision_id}) ${d.status}:\n${lines.join('\n')}`);
  };

  const offs = [
    bus.subscribe('rooms.decision', (d) => execute(d)),
    // Rejected, vetoed, expired: the payload is closed and never runs.
    bus.subscribe('rooms.vote', (p) => {
      if (p.kind === 'deploy' && p.status !== 'open' && p.status !== 'passed') q.closePending.run(p.id);
    }),
    bus.subscribe('deploy.changed', ({ deployId, status }) => {
      if (status !== 'running') report(deployId);
    }),
  ];

  // Catch up after a restart: a decision that passed while no listener ran starts now (once), and a
  // deploy that ended unreported is reported. Started rows are never run again.
  for (const r of q.pending.all()) {
    try {
      const p = rooms.getProposal(r.proposal_id);
      if (p.status === 'passed') {
        const d = rooms.listDecisions(r.room_id).find((x) => x.proposalId === p.id);
        if (d) execute(d);
      } else if (p.status !== 'open') q.closePending.run(r.proposal_id);
    } catch (err) {
      log.warn({ err: (err as Error).message, proposal: r.proposal_id }, 'a pending deploy proposal could not be checked');
    }
  }
  // A claim without a deploy (left by a kill between the two before they shared a transaction):
  // link the deploy if it exists, else tell the room that nothing was sent to the cameras.
  for (const r of q.claimedWithoutDeploy.all()) {
    try {
      const found: unknown = q.deployOfProposal.get(r.proposal_id);
      if (typeof found === 'string') {
        q.setDeploy.run(found, r.proposal_id);
        continue; // reported below
      }
      if (q.markReported.run(r.proposal_id).changes !== 1) continue;
      say(
        r.room_id,
        `Decision #${r.decision_id ?? '?'} passed, but OmniSight stopped before its deploy started: nothing was sent to the cameras. Propose the deploy again if it is still wanted.`,
        rooms.getProposal(r.proposal_id).messageId,
      );
    } catch (err) {
      log.warn({ err: (err as Error).message, proposal: r.proposal_id }, 'a claimed deploy proposal could not be reconciled');
    }
  }
  for (const r of q.startedUnreported.all()) {
    try {
      if (r.deploy_id) report(r.deploy_id);
    } catch {
      /* the deploy row is gone; nothing to report */
    }
  }

  return {
    propose,
    close() {
      for (const off of offs) off();
    },
  };
}
