// What "verified" means after a deploy (camera-identity.md, "Verification after a deploy"): the
// swarm coordinator accepted signed reports from the new version, under the enrolled key and a
// fresh epoch, after the install finished. list.cgi "Running" only proves that a process started.
// Pure functions: the deploy service polls, these say whether it is done and, if not, what failed.

import type { CameraAcceptance } from '../swarm';

/** The swarm's view of one camera: its type, one definition (main/swarm). */
export type { CameraAcceptance };

export interface AcceptanceExpectation {
  version: string;
  /** The enrolled key id; undefined when none is enrolled (then nothing can be verified). */
  key: string | undefined;
  /** The install (or rollback) finished at this instant: only later acceptances count. */
  since: number;
  /** The swarm's view just before the app was restarted (accepted count, epoch). */
  before: Pick<CameraAcceptance, 'accepted' | 'epoch'> | undefined;
  /** The epoch the running app reports on identity.cgi, when it does. */
  epoch?: number | null;
  /** Accepted reports needed after the install (a heartbeat and one more). */
  minReports?: number;
  /** The app was (re)started at `since`, so its reports must all be new ones; false when a rollback found it still running. */
  restarted?: boolean;
}

export type Verdict = { ok: true } | { ok: false; check: 'key' | 'accepted' | 'refused' | 'version' | 'epoch' | 'quarantined'; reason: string };

/** Whether the swarm's acceptance proves the expectation; if not, which check fails, in words. */
export function acceptanceVerdict(acc: CameraAcceptance | undefined, e: AcceptanceExpectation): Verdict {
  if (!e.key) return { ok: false, check: 'key', reason: 'no signing key is enrolled for this camera, so the swarm cannot accept its reports' };
  const min = e.minReports ?? 2;
  const after = acc?.lastAcceptedAt !== undefined && acc.lastAcceptedAt >= e.since ? acc : undefined;
  const refusedSince = acc?.lastRefusal && acc.lastRefusal.at >= e.since ? acc.lastRefusal : undefined;
  if (!after) {
    if (refusedSince) return { ok: false, check: 'refused', reason: `the swarm refused the camera's reports since the install ("${refusedSince.reason}") and accepted none` };
    return { ok: false, check: 'accepted', reason: 'the swarm accepted no report from the camera since the install' };
  }
  if (after.key !== e.key) return { ok: false, check: 'key', reason: `the swarm accepted reports signed with key ${after.key ?? '?'}, not the enrolled key ${e.key}` };
  if (after.version !== e.version) return { ok: false, check: 'version', reason: `the reports the swarm accepts come from version ${after.version ?? 'unknown'}, not ${e.version}` };
  if (e.before?.epoch !== undefined && (after.epoch === undefined || after.epoch <= e.before.epoch))
    return { ok: false, check: 'epoch', reason: `the accepted reports carry epoch ${after.epoch ?? '?'}, not a fresh one after ${e.before.epoch} (the app did not restart with the new version)` };
  if (e.epoch != null && after.epoch !== e.epoch) return { ok: false, check: 'epoch', reason: `the accepted reports carry epoch ${after.epoch ?? '?'}, but the running app reports epoch ${e.epoch}` };
  if (e.restarted !== false && (after.firstAcceptedAt === undefined || after.firstAcceptedAt < e.since))
    return { ok: false, check: 'accepted', reason: 'no report from the new app was accepted yet (only ones from before the install)' };
  // The camera is being refused right now (a later refusal than the last acceptance).
  if (refusedSince && refusedSince.at > after.lastAcceptedAt!) return { ok: false, check: 'refused', reason: `the swarm now refuses the camera's reports ("${refusedSince.reason}")` };
  // Accepted but ignored: the new app signed two conflicting reports, so the swarm fuses none of its
  // reports. A quarantine from before the install is the user's to release (the new version may be
  // the fix), so only one since the install fails the deploy.
  if (after.quarantined && after.quarantined.at >= e.since)
    return { ok: false, check: 'quarantined', reason: `the swarm quarantined the camera since the install (${after.quarantined.reason}): its reports are accepted but not fused` };
  const gained = after.accepted - (e.before?.accepted ?? 0);
  if (gained < min) return { ok: false, check: 'accepted', reason: `the swarm accepted ${Math.max(0, gained)} report(s) from the new app, fewer than ${min}` };
  return { ok: true };
}

/** Stage sizes of a staged rollout: the canary set first, then the rest. */
export function stageSizes(cameras: number, canary: number): number[] {
  if (cameras <= 0) return [];
  if (canary <= 0 || canary >= cameras) return [cameras];
  return [canary, cameras - canary];
}

/** Compares two versions numerically by their dot-separated parts (1.10.0 > 1.9.2); NaN parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/).map((x) => Number(x) || 0);
  const pb = b.split(/[.+-]/).map((x) => Number(x) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}
