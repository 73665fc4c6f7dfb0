// CPU of one fl2 round's critical path (go → masked → unmask → result) in ONE process, with no
// broker, no swarm and no other process: the desktop's aggregation server (main/federated/fl-server.ts)
// and 100 in-process test cameras (main/federated/testkit.ts) exchanging JSON texts. CPU time, not
// wall time, so the figure says what the server's arithmetic and parsing cost even on a shared,
// loaded machine, where bench:federated's wall-clock ratio swings by a factor of two. The cameras'
// part is the same from one version of the server to the next (the test client is unchanged), so a
// change in this figure is the server's.
// Run: npx tsx scripts/bench-federated-server.ts → bench-results/federated-server.json.
// Env: BENCH_FEDSRV_CLIENTS (100), BENCH_FEDSRV_REPS (7; the first is a warm-up and not counted).
import fs from 'node:fs';
import path from 'node:path';
import { createFlServer, type FlServer } from '../main/federated/fl-server';
import { createRng } from '../main/federated/random';
import { createTestClient, testRoundSpec, type TestClient } from '../main/federated/testkit';

const N = Number(process.env.BENCH_FEDSRV_CLIENTS ?? 100);
const REPS = Number(process.env.BENCH_FEDSRV_REPS ?? 7);
const serials = Array.from({ length: N }, (_, i) => `ACCC8E${(0x100000 + i).toString(16).toUpperCase()}`);
const cpuMs = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1000;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function oneRound(rep: number): Promise<{ total: number; receive: number; wall: number }> {
  const rng = createRng(`bench-federated-server/${rep}`);
  const clients: TestClient[] = [];
  let receive = 0;
  // Asynchronous like MQTT: every message is delivered on a later turn of the event loop.
  const server: FlServer = createFlServer({
    transport: {
      publish(topic, payload) {
        setImmediate(() => {
          for (const c of clients) c.onMessage(topic, payload);
        });
      },
    },
    clock: {
      now: Date.now,
      after(ms, fn) {
        const t = setTimeout(fn, ms);
        return () => clearTimeout(t);
      },
    },
  });
  serials.forEach((serial, i) =>
    clients.push(
      createTestClient({
        serial,
        rng: rng.fork(serial),
        train: (g) => Float32Array.from(g, (v, k) => v + ((i + 1) * (k - 6)) / 1000),
        send(body) {
          const b = JSON.parse(body) as unknown;
          setImmediate(() => {
            const c0 = process.cpuUsage();
            server.receive(serial, b);
            receive += cpuMs(process.cpuUsage(c0));
          });
        },
      }),
    ),
  );
  const s = await server.setup(testRoundSpec(`bench-${rep}`, serials, 120_000));
  if (!s.ok) throw new Error(`setup failed: ${s.report.reason}`);
  // Let every camera open its boxes (deliver is published at the end of the setup).
  await new Promise((r) => setTimeout(r, 100));
  receive = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await s.round.go();
  const wall = performance.now() - t0;
  const total = cpuMs(process.cpuUsage(c0));
  if (!r.ok || r.masked.length !== N) throw new Error(`round did not complete with every camera: ${r.reason}`);
  return { total, receive, wall };
}

async function main(): Promise<void> {
  const runs: { total: number; receive: number; wall: number }[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    const r = await oneRound(rep);
    if (rep > 0) runs.push(r);
    console.error(`round ${rep + 1}/${REPS}${rep ? '' : ' (warm-up)'}: critical path CPU ${r.total.toFixed(1)} ms (server receive ${r.receive.toFixed(1)} ms), wall ${r.wall.toFixed(1)} ms`);
  }
  const r1 = (x: number): number => Math.round(x * 10) / 10;
  const result = {
    clients: N,
    rounds: runs.length,
    critical_path_cpu_ms: r1(median(runs.map((r) => r.total))),
    critical_path_cpu_ms_min: r1(Math.min(...runs.map((r) => r.total))),
    critical_path_cpu_ms_max: r1(Math.max(...runs.map((r) => r.total))),
    server_receive_cpu_ms: r1(median(runs.map((r) => r.receive))),
    notes:
      `CPU (user + system) of this one process from go to the result, medians of ${runs.length} rounds after a warm-up: the fl2 server and ${N} in-process test cameras (training is a fixed shift; the test cameras derive their pairwise keys in the setup and expand their masks after go), no broker or swarm; ` +
      'server_receive_cpu_ms = the part spent in FlServer.receive (checking and decoding the cameras\' answers); the rest is the cameras\' go and unmask handling and the server\'s aggregation after the last answer',
  };
  fs.mkdirSync('bench-results', { recursive: true });
  fs.writeFileSync(path.join('bench-results', 'federated-server.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
