// Where a fl2 round's critical path spends its CPU, by function: one process, no broker and no swarm,
// the desktop's aggregation server (main/federated/fl-server.ts) and N simulated cameras running the
// simulator's own fl2 client (main/camsim/fl/client.ts), messages handed over on later turns of the
// event loop (as MQTT would). The V8 profiler (node:inspector) runs only from go to the result of
// each timed round; the samples of every timed round are added up and the functions with the most
// self time are printed, split into the server's side (main/federated), the cameras' (main/camsim)
// and the rest (JSON, zod, node internals, GC), so a change to either side shows where it went.
// bench-federated-server.ts gives the one CPU figure; this says which functions make it.
// Run: npx tsx scripts/bench-federated-profile.ts
// Env: BENCH_FEDPROF_CLIENTS (100), BENCH_FEDPROF_ROUNDS (10, after one warm-up), BENCH_FEDPROF_TOP (25),
// BENCH_FEDPROF_OUT (a file to write the merged .cpuprofile to, for Chrome's DevTools).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { findSourceMap } from 'node:module';
import { Session } from 'node:inspector/promises';
import { createFlClient, type FlClient } from '../main/camsim/fl/client';
import { createFlServer, type FlServer } from '../main/federated/fl-server';
import { testRoundSpec } from '../main/federated/testkit';
import { cameraData } from './bench-federated-data';

const N = Number(process.env.BENCH_FEDPROF_CLIENTS ?? 100);
const ROUNDS = Number(process.env.BENCH_FEDPROF_ROUNDS ?? 10);
const TOP = Number(process.env.BENCH_FEDPROF_TOP ?? 25);
const serials = Array.from({ length: N }, (_, i) => `ACCC8E${(0x100000 + i).toString(16).toUpperCase()}`);

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
export interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

/** Self time (µs) per function (name, file, line) of one profile, added into `into`. */
export function addSelfTimes(p: Profile, into: Map<string, { frame: CallFrame; us: number }>): void {
  const byId = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  // timeDeltas[i] is the time before sample i; the time a sample stands for is the delta to the next.
  for (let i = 0; i < samples.length; i++) {
    const frame = byId.get(samples[i]!);
    if (!frame) continue;
    const us = deltas[i + 1] ?? 0;
    const key = `${frame.functionName}\u0000${frame.url}\u0000${frame.lineNumber}:${frame.columnNumber}`;
    const e = into.get(key);
    if (e) e.us += us;
    else into.set(key, { frame, us });
  }
}

/** A frame as "file:line", the TypeScript line when tsx's inline source map has it (else the compiled one). */
export function whereOf(f: CallFrame): string {
  const short = f.url.replace(/^.*\/(main|scripts|node_modules)\//, '$1/') || '(native)';
  let line = f.lineNumber + 1;
  try {
    const e = findSourceMap(f.url)?.findEntry(f.lineNumber, f.columnNumber) as { originalLine?: number } | undefined;
    if (e?.originalLine !== undefined) line = e.originalLine + 1;
  } catch {
    // no map: the compiled line
  }
  return `${short}:${line}`;
}

/** The `top` functions by self time of `self`, as lines "ms per round  name  file:line". */
export function topLines(self: ReadonlyMap<string, { frame: CallFrame; us: number }>, rounds: number, top: number): string[] {
  return [...self.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((e) => `${(e.us / 1000 / rounds).toFixed(2).padStart(7)}  ${e.frame.functionName || '(anonymous)'}  ${whereOf(e.frame)}`);
}

/** Which side a function belongs to, by its file. */
export function sideOf(url: string): 'server' | 'camera' | 'other' {
  if (url.includes('/main/federated/')) return 'server';
  if (url.includes('/main/camsim/')) return 'camera';
  return 'other';
}

async function oneRound(rep: number, session: Session | undefined): Promise<{ profile?: Profile; cpuMs: number }> {
  const clients: FlClient[] = [];
  const server: FlServer = createFlServer({
    transport: {
      publish(topic, payload) {
        setImmediate(() => {
          for (const c of clients) c.handle(topic, payload);
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
  const setUp = new Set<string>();
  serials.forEach((serial, i) => {
    const { train } = cameraData(i, 150);
    clients.push(
      createFlClient({
        serial,
        // The server receives parsed JSON, as the swarm hands it verified bodies.
        send(body) {
          const b = JSON.parse(body) as unknown;
          setImmediate(() => server.receive(serial, b));
          return true;
        },
        trainingData: () => train,
        random: (n) => randomBytes(n),
        now: Date.now,
        onResult: () => undefined,
        onEvent: (e) => {
          if (e.what === 'setup') setUp.add(serial);
        },
      }),
    );
  });
  const spec = { ...testRoundSpec(`prof-${rep}`, serials, 120_000), train: { epochs: 2, lr: 0.3, batchSize: 16 }, minSamples: 20 };
  const s = await server.setup(spec);
  if (!s.ok) throw new Error(`setup failed: ${s.report.reason}`);
  while (setUp.size < N) await new Promise((r) => setTimeout(r, 10));
  await session?.post('Profiler.start');
  const c0 = process.cpuUsage();
  const r = await s.round.go();
  // The cameras handle the result on the next turns: count that too.
  await new Promise((res) => setImmediate(res));
  const c = process.cpuUsage(c0);
  const profile = session ? ((await session.post('Profiler.stop')) as { profile: Profile }).profile : undefined;
  for (const cl of clients) cl.close();
  if (!r.ok || r.masked.length !== N) throw new Error(`round did not complete with every camera: ${r.reason}`);
  return { profile, cpuMs: (c.user + c.system) / 1000 };
}

async function main(): Promise<void> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await oneRound(0, undefined); // warm-up
  const self = new Map<string, { frame: CallFrame; us: number }>();
  const cpu: number[] = [];
  let last: Profile | undefined;
  for (let rep = 1; rep <= ROUNDS; rep++) {
    const r = await oneRound(rep, session);
    addSelfTimes(r.profile!, self);
    cpu.push(r.cpuMs);
    last = r.profile;
  }
  session.disconnect();
  if (process.env.BENCH_FEDPROF_OUT && last) fs.writeFileSync(process.env.BENCH_FEDPROF_OUT, JSON.stringify(last));
  const perRound = (us: number): string => (us / 1000 / ROUNDS).toFixed(2).padStart(7);
  const total = [...self.values()].reduce((a, e) => a + e.us, 0);
  const sides = { server: 0, camera: 0, other: 0 };
  for (const e of self.values()) sides[sideOf(e.frame.url)] += e.us;
  console.log(`${N} cameras, ${ROUNDS} rounds profiled (go → result handled); CPU per round (process.cpuUsage, profiler on): ${cpu.map((x) => x.toFixed(1)).join(', ')} ms`);
  console.log(`self time per round, ms: total ${perRound(total)}, server ${perRound(sides.server)}, cameras ${perRound(sides.camera)}, other ${perRound(sides.other)}`);
  for (const side of ['server', 'camera', 'other'] as const) {
    console.log(`-- ${side}: top ${TOP} by self time (ms per round)`);
    [...self.values()]
      .filter((e) => sideOf(e.frame.url) === side)
      .sort((a, b) => b.us - a.us)
      .slice(0, TOP)
      .forEach((e) => console.log(`${perRound(e.us)}  ${e.frame.functionName || '(anonymous)'}  ${whereOf(e.frame)}`));
  }
}

// Run as a script, not when a test imports the helpers above.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!))
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
