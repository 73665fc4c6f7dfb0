// Pure text of the Federated view (tested without a DOM).
import type { MethodOutput } from '../../../../preload/contract';

type Setup = MethodOutput<'federated.status'>['setup'];

export const secs = (ms: number | null | undefined): string => (ms === null || ms === undefined ? '—' : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);

/**
 * The neighbours each camera really masks with: K is the round's degree, but a camera cannot have
 * more neighbours than there are other cameras (fl2 neighbourSets: all others when n − 1 ≤ K).
 */
export const effectiveNeighbours = (k: number, cameras: number): number => Math.max(0, Math.min(k, cameras - 1));

/** "7 neighbours each (every other camera; K = 12)" or "12 ring neighbours each (K = 12)". */
export function neighboursText(k: number, cameras: number): string {
  const m = effectiveNeighbours(k, cameras);
  return m < k ? `${m} neighbour${m === 1 ? '' : 's'} each (every other camera; K = ${k})` : `${m} ring neighbours each (K = ${k})`;
}

/** Where the next round stands: fl2 exchanges keys and share boxes ahead, so a started round only trains, masks and unmasks. */
export function setupText(s: Setup, clock: (at: number) => string): string {
  if (s.state === 'ready')
    return `Next round set up: ${s.cameras} cameras, ${neighboursText(s.k, s.cameras)}, ${s.tk} shares rebuild a camera’s secret; setup took ${secs(s.setupMs)}${s.goBy ? `; usable until ${clock(s.goBy)}` : ''}.`;
  if (s.state === 'setting-up') return `Setting up the next round (keys and share boxes)${s.cameras ? ` with ${s.cameras} cameras, ${neighboursText(s.k, s.cameras)}` : ''}…`;
  if (s.state === 'failed') return `The last setup failed: ${s.reason ?? 'unknown reason'} Start sets one up again.`;
  return `No round set up${s.reason ? ` (${s.reason})` : ''}: Start sets one up first, then runs it.`;
}

/** The round table's setup-cell title: the degree, what it came to for this round's cameras, and tk. */
export const graphTitle = (graph: { k: number; tk: number }, cameras: number): string => `${neighboursText(graph.k, cameras)}, tk = ${graph.tk}`;

const count = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;
/** The model table's "Reported by": "1 camera, 108 detections". */
export const reportedBy = (cameras: number, detections: number): string => `${count(cameras, 'camera', 'cameras')}, ${count(detections, 'detection', 'detections')}`;
