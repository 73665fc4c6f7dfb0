// OMNISIGHT_DETLAG_TRACE=1: where a detections report's time goes on its way to a tile, one JSON line
// per report in <dataDir>/detlag-trace.jsonl (bench:feeds with BENCH_DETLAG=1 reads it). Each line
// holds the desktop-clock timestamps (ms) of its stages:
//   capture   the frame's capture time (the report's frame.timestamp, camera clock)
//   sent      the envelope's `sent` (camera clock: inference and the camera's publish are before it)
//   received  the MQTT broker handed it to the app (queue, verification follow)
//   shown     its checks passed and its boxes went to the tile (swarm.onDetectionsShowable)
//   committed its replay state was committed and the swarm acted on it (swarm.onMessage)
// The demo cameras run in the app, so their clock is this one; a real camera's is only NTP-close.
// Off unless asked: the swarm's listeners are not even registered.
import fs from 'node:fs';
import path from 'node:path';
import type { SwarmService } from '../swarm';

export const DETLAG_TRACE_FILE = 'detlag-trace.jsonl';

/** A report's stages (see above), for the trace file. */
export interface DetlagRow {
  camera: string;
  seq: number;
  capture: number;
  sent: number;
  received: number;
  shown?: number;
  committed: number;
}

/** Reports shown and not committed yet are kept at most this many (a failed commit never comes). */
const MAX_OPEN = 10_000;

export function createDetlagTrace(deps: {
  swarm: Pick<SwarmService, 'onDetectionsShowable' | 'onMessage'>;
  dataDir: string;
  now?: () => number;
  /** Where rows go; the trace file by default (tests collect them). */
  write?: (row: DetlagRow) => void;
}): { close(): void } {
  const now = deps.now ?? Date.now;
  const stream = deps.write ? undefined : fs.createWriteStream(path.join(deps.dataDir, DETLAG_TRACE_FILE), { flags: 'a' });
  const write = deps.write ?? ((row: DetlagRow) => void stream!.write(`${JSON.stringify(row)}\n`));
  const shown = new Map<string, number>();
  const keyOf = (serial: string, epoch: number, seq: number): string => `${serial}/${epoch}/${seq}`;
  const offs = [
    deps.swarm.onDetectionsShowable((m) => {
      if (shown.size >= MAX_OPEN) shown.delete(shown.keys().next().value!);
      shown.set(keyOf(m.serial, m.envelope.epoch, m.envelope.seq), now());
    }),
    deps.swarm.onMessage((m) => {
      if (m.kind !== 'detections' || !m.verified) return;
      const k = keyOf(m.serial, m.envelope.epoch, m.envelope.seq);
      const at = shown.get(k);
      shown.delete(k);
      write({ camera: m.serial, seq: m.envelope.seq, capture: m.body.frame.timestamp, sent: m.envelope.sent, received: m.receivedAt, ...(at !== undefined ? { shown: at } : {}), committed: now() });
    }),
  ];
  return {
    close() {
      for (const off of offs) off();
      stream?.end();
    },
  };
}
