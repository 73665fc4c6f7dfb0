// Proposals, votes and decisions: the quorum rules (judge), who may vote and who approves an
// action on cameras, the deadline timer, and the decision a passed proposal becomes.
import { fleetActionKinds } from '../../preload/contract';
import { AppError, notFound } from '../kernel/errors';
import type { RoomsContext } from './context';
import type { Messages } from './messages';
import type { DecisionRow, MemberRow, ProposalRow, RoomRow, VoteRow } from './statements';
import type { Decision, Proposal, QuorumRule, RoomsService } from './types';

/** Subjects are compared as keys: case, accents, spacing and punctuation do not matter. */
export function normaliseSubject(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 200);
}
const normaliseOutcome = (s: string): string => s.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();

type Tally = Proposal['tally'];
type Verdict = { status: Proposal['status']; reason: string } | null;

/**
 * Decides a proposal from its votes. Every threshold is over everyone allowed to vote (the eligible
 * members or their weight), never over the votes cast: a proposal passes once enough of the room
 * said yes. A deadline ends the vote but never turns silence into consent: what has not passed by
 * then expires. Abstentions count as having voted but never for or against.
 */
export function judge(rule: QuorumRule, t: Tally, final: boolean): Verdict {
  const { yes: Y, no: N, eligible: E } = t;
  if (E <= 0) return final ? { status: 'expired', reason: 'nobody in the room may vote' } : null;
  switch (rule) {
    case 'majority':
    case 'weighted': {
      const unit = rule === 'weighted' ? 'of the voting weight' : 'of the members';
      if (2 * Y > E) return { status: 'passed', reason: `yes from more than half ${unit}` };
      if (2 * N >= E) return { status: 'rejected', reason: `no from at least half ${unit}` };
      if (!final) return null;
      return { status: 'expired', reason: `the deadline passed without yes from more than half ${unit} (${Y} yes, ${N} no of ${E})` };
    }
    case 'two-thirds': {
      if (3 * Y >= 2 * E) return { status: 'passed', reason: 'yes from at least two thirds of the members' };
      if (3 * N > E) return { status: 'rejected', reason: 'no from more than a third of the members' };
      if (!final) return null;
      return { status: 'expired', reason: `the deadline passed without yes from two thirds of the members (${Y} yes, ${N} no of ${E})` };
    }
    case 'unanimous': {
      if (N > 0) return { status: 'rejected', reason: 'a member voted no' };
      if (t.voters >= E && Y > 0) return { status: 'passed', reason: 'every member voted and none voted no' };
      if (!final) return null;
      return { status: 'expired', reason: `the deadline passed before every member voted (${t.voters} of ${E})` };
    }
  }
}

export type Votes = Pick<RoomsService, 'propose' | 'vote' | 'getProposal' | 'listProposals' | 'closeDueVotes' | 'listDecisions'> & { close(): void };

export function createVotes(ctx: RoomsContext, messages: Pick<Messages, 'insertOne' | 'announce'>, schedule: (fn: () => void, ms: number) => () => void): Votes {
  const { bus, now, log, q, tx, roomRow } = ctx;
  const { insertOne, announce } = messages;

  const mayVote = (m: MemberRow): boolean => m.can_vote === 1 && m.roles.some((r) => r !== 'observer');
  const eligibleMembers = (roomId: string): MemberRow[] => q.members.all(roomId).filter(mayVote);

  /** A person who may approve an action on cameras in this room: the owner, or a holder of the approver role. */
  const isApprover = (room: RoomRow, m: MemberRow): boolean =>
    m.kind === 'human' && mayVote(m) && (m.member_id === room.owner || (room.approver_role !== null && m.roles.includes(room.approver_role)));
  const approverText = (room: RoomRow): string => (room.approver_role ? `the room's owner or a person with the role ${room.approver_role}` : "the room's owner");

  /** For proposals that act on cameras: who approved (a yes) or refused (a no) among the approvers. */
  const approvalOf = (p: ProposalRow, votes: VoteRow[]): { needed: boolean; by: string | null; refusedBy: string | null } => {
    if (!fleetActionKinds.includes(p.kind)) return { needed: false, by: null, refusedBy: null };
    const room = roomRow(p.room_id);
    let by: string | null = null;
    let refusedBy: string | null = null;
    for (const v of votes) {
      const m = q.member.get(p.room_id, v.member_id);
      if (!m || !isApprover(room, m)) continue;
      if (v.choice === 'yes') by ??= m.member_id;
      else if (v.choice === 'no') refusedBy ??= m.name;
    }
    return { needed: true, by, refusedBy };
  };

  /** judge() plus the rule for actions on cameras: no pass without a person's approval, a no from an approver rejects. */
  const decide = (p: ProposalRow, votes: VoteRow[], final: boolean): Verdict => {
    const approval = approvalOf(p, votes);
    if (approval.refusedBy) return { status: 'rejected', reason: `${approval.refusedBy} voted no, and this acts on cameras: it needs their approval` };
    const verdict = judge(p.rule, tallyOf(p, votes), final);
    if (!approval.needed || verdict?.status !== 'passed' || approval.by) return verdict;
    const who = approverText(roomRow(p.room_id));
    return final ? { status: 'expired', reason: `the deadline passed without a yes from ${who}; an action on cameras needs it` } : null;
  };

  const tallyOf = (p: ProposalRow, votes: VoteRow[]): Proposal['tally'] => {
    const weighted = p.rule === 'weighted';
    const eligible = eligibleMembers(p.room_id);
    const current = new Map(eligible.map((m) => [m.member_id, m]));
    const t = { yes: 0, no: 0, abstain: 0, eligible: 0, voters: 0 };
    for (const m of eligible) t.eligible += weighted ? m.weight : 1;
    for (const v of votes) {
      if (!current.has(v.member_id)) continue; // left the room or lost their voting role
      t[v.choice] += weighted ? v.weight : 1;
      t.voters++;
    }
    return t;
  };

  const toVote = (v: VoteRow): Proposal['votes'][number] => ({
    memberId: v.member_id,
    name: v.member_name,
    choice: v.choice,
    weight: v.weight,
    veto: v.veto === 1,
    at: v.cast_at,
  });

  const toProposal = (p: ProposalRow): Proposal => {
    const votes = q.votes.all(p.id);
    return {
      id: p.id,
      roomId: p.room_id,
      messageId: p.message_id,
      title: p.title,
      subject: p.subject,
      outcome: p.outcome,
      rule: p.rule,
      deadline: p.deadline,
      status: p.status,
      createdBy: p.created_by,
      createdAt: p.created_at,
      closedAt: p.closed_at,
      reason: p.reason,
      kind: p.kind,
      needsApproval: fleetActionKinds.includes(p.kind),
      approvedBy: approvalOf(p, votes).by,
      tally: tallyOf(p, votes),
      votes: votes.map(toVote),
    };
  };

  const toDecision = (d: DecisionRow): Decision => {
    const record = d.record;
    return {
      id: d.id,
      roomId: d.room_id,
      proposalId: d.proposal_id,
      title: d.title,
      subject: d.subject,
      outcome: d.outcome,
      rule: d.rule,
      votes: record.votes,
      tally: record.tally,
      contradicts: d.contradicts,
      warning: d.warning,
      decidedAt: d.decided_at,
    };
  };

  const proposalRow = (id: number): ProposalRow => {
    const p = q.proposal.get(id);
    if (!p) throw notFound(`Proposal ${id}`);
    return p;
  };

  /** Closes the proposal inside the caller's transaction; a pass becomes a decision. */
  const close = (p: ProposalRow, verdict: NonNullable<Verdict>, t: number): Decision | undefined => {
    q.closeProposal.run(verdict.status, verdict.reason, t, p.id);
    if (verdict.status !== 'passed') return undefined;
    const full = toProposal(proposalRow(p.id));
    const earlier = q.decisionsBySubject.all(p.room_id, p.subject);
    const clash = earlier.filter((d) => normaliseOutcome(d.outcome) !== normaliseOutcome(p.outcome));
    const warning = clash.length
      ? `This decision ("${p.outcome}") contradicts ${clash.length === 1 ? 'an earlier decision' : `${clash.length} earlier decisions`} on "${p.subject}": ${clash
          .map((d) => `#${d.id} "${d.outcome}"`)
          .join(', ')}. Check which one holds, and supersede the other explicitly.`
      : null;
    const row = q.insertDecision.one(
      p.room_id,
      p.id,
      p.title,
      p.subject,
      p.outcome,
      p.rule,
      JSON.stringify({ votes: full.votes, tally: full.tally }),
      JSON.stringify(clash.map((d) => d.id)),
      warning,
      t,
    );
    return toDecision(row);
  };

  let cancelTimer: (() => void) | undefined;
  let closed = false;
  const rearm = (): void => {
    cancelTimer?.();
    cancelTimer = undefined;
    if (closed) return;
    const next = q.nextDeadline.one().d;
    if (next === null) return;
    cancelTimer = schedule(() => {
      cancelTimer = undefined;
      try {
        closeDueVotes();
      } catch (err) {
        log?.error({ err }, 'closing votes at their deadline failed');
      }
    }, next - now());
  };

  const publishOutcome = (p: Proposal, d: Decision | undefined): void => {
    bus.publish('rooms.vote', p);
    if (d) bus.publish('rooms.decision', d);
  };

  const propose: RoomsService['propose'] = (input) => {
    const room = roomRow(input.roomId);
    const subject = normaliseSubject(input.subject);
    if (!subject) throw new AppError('invalid_input', 'Give the proposal a subject with at least one letter or digit (e.g. "database").');
    const t = now();
    const rule = input.rule ?? room.default_rule;
    const text = input.text ?? `Proposal: ${input.title} — ${input.outcome}`;
    const { message, proposal } = tx(() => {
      const message = insertOne({ roomId: room.id, author: input.by, text, act: 'propose' }, t);
      const row = q.insertProposal.one(
        room.id,
        message.id,
        input.kind ?? 'general',
        input.title,
        subject,
        input.outcome,
        rule,
        input.deadlineMs !== undefined ? t + input.deadlineMs : null,
        input.by.id,
        t,
      );
      return { message, proposal: toProposal(row) };
    });
    announce([message]);
    bus.publish('rooms.vote', proposal);
    rearm();
    return proposal;
  };

  const vote: RoomsService['vote'] = (input) => {
    const t = now();
    const { proposal, decision } = tx(() => {
      const p = proposalRow(input.proposalId);
      const room = roomRow(p.room_id);
      if (p.status !== 'open') throw new AppError('conflict', `Proposal ${p.id} is already closed (${p.status}); votes are no longer counted.`);
      if (p.deadline !== null && p.deadline <= t) throw new AppError('conflict', `The deadline of proposal ${p.id} has passed; votes are no longer counted.`);
      const m = q.member.get(room.id, input.voter);
      if (!m) throw new AppError('forbidden', `${input.voter} is not a member of "${room.name}"; ask the owner to add them before they vote.`);
      const roles = m.roles;
      if (m.can_vote !== 1)
        throw new AppError('forbidden', `${m.name} joined "${room.name}" without a vote (agents do); only the room's owner can give them one.`);
      if (!roles.some((r) => r !== 'observer'))
        throw new AppError('forbidden', `${m.name} is an observer in "${room.name}" and cannot vote; the owner can give them a voting role.`);
      if (input.veto) {
        const vetoRoles = room.veto_roles;
        if (!roles.some((r) => vetoRoles.includes(r)))
          throw new AppError(
            'forbidden',
            vetoRoles.length
              ? `Only members with the role ${vetoRoles.join(' or ')} can veto in "${room.name}".`
              : `Nobody can veto in "${room.name}"; the owner decides which roles may.`,
          );
      }
      const choice = input.veto ? 'no' : input.choice;
      q.upsertVote.run(p.id, m.member_id, m.name, choice, m.weight, input.veto ? 1 : 0, t);
      let decision: Decision | undefined;
      if (input.veto) close(p, { status: 'vetoed', reason: `vetoed by ${m.name} (${roles.join(', ')})` }, t);
      else {
        const verdict = decide(p, q.votes.all(p.id), false);
        if (verdict) decision = close(p, verdict, t);
      }
      return { proposal: toProposal(proposalRow(p.id)), decision };
    });
    publishOutcome(proposal, decision);
    if (proposal.status !== 'open') rearm();
    return proposal;
  };

  const closeDueVotes: RoomsService['closeDueVotes'] = () => {
    const t = now();
    const out: { proposal: Proposal; decision: Decision | undefined }[] = tx(() =>
      (q.dueProposals.all(t)).map(({ id }) => {
        const p = proposalRow(id);
        const verdict = decide(p, q.votes.all(p.id), true)!;
        const decision = close(p, verdict, t);
        return { proposal: toProposal(proposalRow(id)), decision };
      }),
    );
    for (const o of out) publishOutcome(o.proposal, o.decision);
    rearm();
    return out.map((o) => o.proposal);
  };

  return {
    propose,
    vote,
    getProposal: (id) => toProposal(proposalRow(id)),
    listProposals: (roomId, status) => (status ? q.proposalsWithStatus.all(roomId, status) : q.proposals.all(roomId)).map(toProposal),
    closeDueVotes,
    listDecisions: (roomId) => (roomRow(roomId), q.decisions.all(roomId).map(toDecision)),
    close() {
      closed = true;
      cancelTimer?.();
    },
  };
}
