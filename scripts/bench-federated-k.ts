import { randomBytes } from 'node:crypto';
// How often an fl2 round fails closed for want of shares, per K, when cameras drop out at random
// after the setup (each independently with probability δ): the figures behind chooseK's comment in
// main/federated/fl2.ts. `npx tsx scripts/bench-federated-k.ts` (BENCH_FED_K_ROUNDS rings per cell).
import { neighbourSets, ringOrder, shareThreshold } from '../main/federated/fl2';
const n = Number(process.env.BENCH_FED_CLIENTS ?? 100);
for (const k of [14, 16, 20, 28]) for (const delta of [0.05, 0.1, 0.2]) {
  let fail = 0; const R = Number(process.env.BENCH_FED_K_ROUNDS ?? 4000);
  const serials = Array.from({ length: n }, (_, i) => `S${i}`);
  const tk = shareThreshold(k, n);
  for (let r = 0; r < R; r++) {
    const N = neighbourSets(ringOrder(randomBytes(32), serials), k);
    const alive = new Set(serials.filter(() => Math.random() >= delta));
    let bad = false;
    for (const u of serials) {
      let c = alive.has(u) ? 1 : 0;
      for (const v of N.get(u)!) if (alive.has(v)) c++;
      if (c < tk) { bad = true; break; }
    }
    if (bad) fail++;
  }
  console.log(`K=${k} tk=${tk} delta=${delta} fail=${fail / R}`);
}
