import { createHash } from 'node:crypto';

/**
 * The fl2 masking graph (docs/protocol.md, "Federated learning (fl2)"): SecAgg+ of Bell et al.
 * (CCS 2020, "Secure Single-Server Aggregation with (Poly)Logarithmic Overhead"). Each camera masks
 * with, and shares its secrets among, K neighbours on a ring whose order comes from a random seed
 * the server draws after the keys are advertised, instead of with every other camera.
 */

/** Ring order: the serials sorted ascending by the bytes of SHA-256(seed ‖ UTF-8 serial). */
export function ringOrder(seed: Uint8Array, serials: readonly string[]): string[] {
  const keyed = serials.map((s) => ({ s, h: createHash('sha256').update(seed).update(s, 'utf8').digest() }));
  keyed.sort((a, b) => Buffer.compare(a.h, b.h) || (a.s < b.s ? -1 : a.s > b.s ? 1 : 0));
  return keyed.map((x) => x.s);
}

/**
 * N(u) for every peer: all others when n' − 1 ≤ K, else the K/2 peers after and the K/2 before u on
 * the ring (mod n'). Symmetric by construction.
 */
export function neighbourSets(order: readonly string[], k: number): Map<string, Set<string>> {
  const n = order.length;
  const out = new Map<string, Set<string>>();
  order.forEach((u, pos) => {
    const set = new Set<string>();
    if (n - 1 <= k) {
      for (const v of order) if (v !== u) set.add(v);
    } else {
      for (let d = 1; d <= k / 2; d++) {
        set.add(order[(pos + d) % n]!);
        set.add(order[(pos - d + n) % n]!);
      }
    }
    out.set(u, set);
  });
  return out;
}

/** tk = ⌈2(m + 1)/3⌉, m = min(K, n' − 1): the shares a camera's secret needs (its neighbours and itself hold one each). */
export const shareThreshold = (k: number, n: number): number => Math.ceil((2 * (Math.min(k, n - 1) + 1)) / 3);

/**
 * The degree K for a round of n selected cameras: 4⌈log2 n⌉ (even), at least 2, at most 254.
 *
 * Why this K (Bell et al. §3–4): on a random ring of degree k = O(log n) two things hold except with
 * probability exponentially small in k: (a) fewer than tk of a camera's neighbourhood are corrupt,
 * so the server with its colluders cannot rebuild both b_u and s_u, and (b) the cameras that drop
 * out do not leave a neighbourhood with fewer than tk shares. The constant matters for (b): tk is
 * two thirds of a neighbourhood, so a neighbourhood survives losing a third of its K + 1 holders.
 * Measured at n = 100 with independent random dropouts after the setup (scripts/bench-federated-k.ts,
 * 4,000 rings each): K = 2⌈log2 n⌉ = 14 fails 0.1 % of rounds at 5 % dropout and 6 % at 10 %;
 * K = 16 fails 0.4 % and 10 %; K = 4⌈log2 n⌉ = 28 fails none at 5 % and 0.7 % at 10 %, and still
 * cuts a camera's setup work from n − 1 = 99 peers to 28. The critical path
 * barely depends on K (a camera adds one precomputed mask; the server combines tk shares per
 * camera), so the larger K costs only setup time, which runs ahead of the round.
 */
export function chooseK(n: number): number {
  const k = 4 * Math.ceil(Math.log2(Math.max(2, n)));
  return Math.max(2, Math.min(254, k - (k % 2)));
}

/** The roster checks a camera applies (spec step 3): 2·tk > |N(u)| + 1 and tk ≤ |N(u)| + 1. */
export const neighbourhoodAccepts = (tk: number, neighbours: number): boolean => 2 * tk > neighbours + 1 && tk <= neighbours + 1;
