import type { Rng } from './random';

/**
 * Chooses `count` cameras, preferring healthy links: weighted sampling without replacement
 * (Efraimidis & Spirakis 2006, key = u^(1/w)) with w = max(floor, health). The floor keeps every
 * camera's chance above zero, so a camera with a poor link still takes part now and then.
 */
export function selectParticipants<Id extends string>(
  cameras: readonly Id[],
  count: number,
  linkHealth: (cameraId: Id) => number,
  rng: Rng,
  floor = 0.05,
): Id[] {
  const keyed = cameras.map((id) => {
    const h = linkHealth(id);
    const w = Math.max(floor, Number.isFinite(h) ? Math.min(1, h) : 0);
    return { id, key: Math.log(1 - rng.float()) / w };
  });
  keyed.sort((a, b) => b.key - a.key);
  return keyed.slice(0, Math.min(count, cameras.length)).map((k) => k.id);
}
