// What the Swarm view says about the work waiting in front of the coordinator (swarm.status
// `backlog`): nothing while the desktop keeps up, and where it waits when it does not: the network
// (late on arrival), the ingest queue (queued, oldest), the disk (replay commits), or too late (dropped).
import type { MethodOutput } from '../../../../preload/contract';

export type Backlog = MethodOutput<'swarm.status'>['backlog'];
export interface BacklogNote {
  key: 'transit' | 'queued' | 'commits' | 'shed';
  value: string;
  label: string;
  /** What it means and what to do. */
  title: string;
}

/** Queued reports older than this are worth a word (the ingest sheds at 1 s). */
const QUEUE_NOTE_MS = 250;
/** The commit pipeline normally holds a batch or two; more than this means the disk is behind. */
const COMMITS_NOTE = 2;

export function backlogNotes(b: Backlog): BacklogNote[] {
  const notes: BacklogNote[] = [];
  if (b.transitMs !== null && b.transitMs > 1000)
    notes.push({
      key: 'transit',
      value: `${(b.transitMs / 1000).toFixed(1)} s`,
      label: 'late on arrival',
      title: 'Reports reach the desktop this long after the cameras sent them: a queue in front of it (the MQTT broker, the network) or camera clocks off NTP.',
    });
  if (b.queued > 0 && b.oldestMs >= QUEUE_NOTE_MS)
    notes.push({
      key: 'queued',
      value: String(b.queued),
      label: `queued (oldest ${(b.oldestMs / 1000).toFixed(1)} s)`,
      title: 'Reports received and waiting for verification. When the oldest waits over 1 s they are dropped: check the CPU, or use an external MQTT broker (Settings) for a large fleet.',
    });
  if (b.pendingCommits > COMMITS_NOTE)
    notes.push({
      key: 'commits',
      value: String(b.pendingCommits),
      label: 'batches waiting for their commit',
      title: 'Verified reports wait for their replay state to be written to disk (swarm-replay.db) before they are fused: the disk is what the desktop waits on. Check disk space and load; move the data folder to a faster disk.',
    });
  if (b.shed > 0)
    notes.push({
      key: 'shed',
      value: String(b.shed),
      label: 'dropped (behind)',
      title: 'The desktop fell behind its cameras and dropped the oldest reports (waited over 1 s). For a large fleet use an external MQTT broker (Settings) and check the CPU.',
    });
  return notes;
}
