import { describe, expect, it } from 'vitest';
import type { CameraMessage, ShowableDetections } from '../swarm';
import { createDetlagTrace, type DetlagRow } from './detlag-trace';

describe('detection lag trace', () => {
  it('writes one row per committed report with the time it was shown, and nothing for unverified reports', () => {
    const showable = new Set<(m: ShowableDetections) => void>();
    const messages = new Set<(m: CameraMessage) => void>();
    const swarm = {
      onDetectionsShowable: (l: (m: ShowableDetections) => void) => (showable.add(l), () => void showable.delete(l)),
      onMessage: (l: (m: CameraMessage) => void) => (messages.add(l), () => void messages.delete(l)),
    };
    let clock = 1_000;
    const rows: DetlagRow[] = [];
    const trace = createDetlagTrace({ swarm, dataDir: '/nonexistent', now: () => clock, write: (r) => rows.push(r) });
    const report = (seq: number, verified: boolean) =>
      ({
        kind: 'detections',
        serial: 'ACCC8E000001',
        envelope: { v: 2, camera: 'ACCC8E000001', epoch: 1, seq, sent: 990, kind: 'detections', key: '0123456789abcdef', body: '', sig: '' },
        body: { frame: { timestamp: 900, observations: [] } },
        receivedAt: 995,
        verified,
      }) as ShowableDetections;
    for (const l of showable) l(report(1, true));
    clock = 1_040;
    for (const l of messages) l(report(1, true));
    for (const l of messages) l({ ...report(2, false), verified: false } as CameraMessage);
    for (const l of messages) l(report(3, true)); // committed without having been shown (no early display)
    expect(rows).toEqual([
      { camera: 'ACCC8E000001', seq: 1, capture: 900, sent: 990, received: 995, shown: 1_000, committed: 1_040 },
      { camera: 'ACCC8E000001', seq: 3, capture: 900, sent: 990, received: 995, committed: 1_040 },
    ]);
    trace.close();
    expect([showable.size, messages.size]).toEqual([0, 0]);
  });
});
