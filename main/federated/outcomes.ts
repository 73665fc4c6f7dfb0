import type { FlClock } from './fl-server';

/** One detection's label, as fusion reports it (main/swarm DetectionOutcome, structurally). */
export interface Outcome {
  camera: string;
  epoch: number;
  seq: number;
  index: number;
  confirmed: boolean;
}

export const OUTCOMES_MAX_ITEMS = 500;
/** Per camera: labels waiting for the next flush beyond this are dropped (the camera ages them out). */
const MAX_PENDING = 5_000;

/**
 * Sends each camera the outcome of its detections (docs/protocol.md fl1, "Outcomes"): about once a
 * second, on omnisight/desktop/outcomes/<SERIAL>, at most 500 items and one epoch per message.
 * These labels are the cameras' local training data; they stay on the camera.
 */
export function createOutcomePublisher(deps: { publish: (topic: string, payload: string) => boolean; clock: FlClock; periodMs?: number }) {
  const pending = new Map<string, Outcome[]>();
  let cancel: (() => void) | undefined;
  let closed = false;
  let sent = 0;

  const flush = (): void => {
    cancel = undefined;
    for (const [camera, items] of pending) {
      const byEpoch = new Map<number, Outcome[]>();
      for (const o of items) {
        let l = byEpoch.get(o.epoch);
        if (!l) byEpoch.set(o.epoch, (l = []));
        l.push(o);
      }
      for (const [epoch, list] of byEpoch)
        for (let i = 0; i < list.length; i += OUTCOMES_MAX_ITEMS) {
          const chunk = list.slice(i, i + OUTCOMES_MAX_ITEMS).map((o) => ({ seq: o.seq, index: o.index, confirmed: o.confirmed }));
          if (deps.publish(`omnisight/desktop/outcomes/${camera}`, JSON.stringify({ v: 1, epoch, items: chunk }))) sent++;
        }
    }
    pending.clear();
  };

  return {
    add(items: readonly Outcome[]): void {
      if (closed) return;
      for (const o of items) {
        let l = pending.get(o.camera);
        if (!l) pending.set(o.camera, (l = []));
        if (l.length < MAX_PENDING) l.push(o);
      }
      if (!cancel && pending.size) cancel = deps.clock.after(deps.periodMs ?? 1_000, flush);
    },
    flush,
    sent: () => sent,
    close(): void {
      closed = true;
      cancel?.();
      pending.clear();
    },
  };
}
