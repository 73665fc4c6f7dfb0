import { describe, expect, it } from 'vitest';
import { backlogNotes, type Backlog } from './backlog';

const calm: Backlog = { queued: 3, oldestMs: 20, shed: 0, inFlight: 1, transitMs: 40, pendingCommits: 1 };

describe('backlogNotes (Swarm view)', () => {
  it('says nothing while the desktop keeps up', () => {
    expect(backlogNotes(calm)).toEqual([]);
  });

  it('names where a desktop that falls behind waits: the disk (pending commits) next to the queue', () => {
    const n = backlogNotes({ ...calm, queued: 900, oldestMs: 640, pendingCommits: 64 });
    expect(n.map((x) => x.key)).toEqual(['queued', 'commits']);
    expect(n[0]).toMatchObject({ value: '900', label: 'queued (oldest 0.6 s)' });
    expect(n[1]).toMatchObject({ value: '64', label: 'batches waiting for their commit' });
    expect(n[1]!.title).toMatch(/disk/);
  });

  it('reports late arrivals and dropped reports with what to do', () => {
    const n = backlogNotes({ ...calm, transitMs: 2500, shed: 12 });
    expect(n.map((x) => [x.key, x.value])).toEqual([['transit', '2.5 s'], ['shed', '12']]);
    expect(n[1]!.title).toMatch(/external MQTT broker/);
  });
});
