// npm run bench:bridge → bench-results/bridge.json
// 100 agents in 20 rooms of 5 post through the agent bridge (running in a child process, every message
// committed before it is acknowledged and delivered to the 4 other members); the same fan-out through
// Debian's Mosquitto at QoS 1; 5,000 idle authenticated connections; 1,000 rooms; and acknowledged
// messages lost after SIGKILL during load. Bounded loops: the whole run stays well under 3 minutes.
//
// Two load runs, because one window cannot show both figures honestly (Little's law: mean latency =
// messages in flight / throughput): a throughput run with WINDOW posts in flight per agent
// (msgs_per_s) and a latency run with one in flight per agent, an agent that waits for each
// acknowledgement (p50/p95/p99). The agents run in CLIENT_PROCS processes of whole rooms, so a
// message's send and delivery times come from the same clock.
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import pino from 'pino';
import WebSocket from 'ws';
import { createAuditLog } from '../main/audit';
import { connectBridge, createTokenStore, type BridgeClient } from '../main/agents';
import { AGENT_WS_PROTOCOL } from '../main/agents/bridge';
import { createAgentBridge } from '../main/agents';
import { createEventBus } from '../main/kernel/bus';
import { createRoomsService } from '../main/rooms';
import { openDatabase } from '../main/store';
import type { Message } from '../preload/contract';

const CLIENTS = 100;
const ROOMS = 20;
const PER_ROOM = CLIENTS / ROOMS;
const LOAD_MS = Number(process.env.BENCH_BRIDGE_MS ?? 5000);
const LATENCY_MS = Number(process.env.BENCH_BRIDGE_LATENCY_MS ?? 3000);
// Posts in flight per client in the throughput run (closed loop). By Little's law the mean
// send→ack time is at least (CLIENTS × WINDOW) / throughput: with 400 in flight, 20,000 msg/s means
// ≥ 20 ms on average, hence the separate window-1 latency run. Mosquitto runs with the same window.
const WINDOW = Number(process.env.BENCH_BRIDGE_WINDOW ?? 4);
/** Client processes (each holds whole rooms); 1 puts all 100 agents on one event loop. */
const CLIENT_PROCS = Math.max(1, Math.min(ROOMS, Number(process.env.BENCH_BRIDGE_PROCS ?? 4)));
const IDLE_TARGET = 5000;
const MOSQUITTO = '/usr/sbin/mosquitto';
const stamp = (): number => performance.timeOrigin + performance.now();

// --- the bridge as its own process ------------------------------------------------------------
async function serve(dir: string): Promise<void> {
  const { db } = openDatabase({ dir });
  const bus = createEventBus();
  const log = pino({ level: 'silent' });
  const audit = createAuditLog({ db, bus, now: Date.now });
  const rooms = createRoomsService({ db, bus, now: Date.now, dataDir: dir, log });
  const bridge = createAgentBridge({ db, bus, audit, rooms, log, now: Date.now, dataDir: dir });
  const port = await bridge.start();
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  process.on('SIGTERM', () => {
    process.stdout.write(`${JSON.stringify({ stats: bridge.stats() })}\n`);
    void bridge.close().then(() => process.exit(0));
  });
}

function startServer(dir: string): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  // BENCH_BRIDGE_PROF=<dir>: a V8 CPU profile of the bridge process (open it in Chrome DevTools).
  const prof = process.env.BENCH_BRIDGE_PROF ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(process.env.BENCH_BRIDGE_PROF)] : [];
  const argv = [...process.execArgv, ...prof, __filename, '--serve', dir];
  // One core for the bridge, the other for the clients and mosquitto (see pinCores).
  const child = PIN ? spawn('taskset', ['-c', SERVER_CPU, process.execPath, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] }) : spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    const output = (): string => buf;
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /\{"port":(\d+)\}/.exec(buf);
      if (m) resolve({ child, url: `ws://127.0.0.1:${m[1]}`, output });
    });
    child.once('exit', (code) => reject(new Error(`bridge process exited (${code}) before listening`)));
  });
}

/**
 * The server under test (the bridge, later mosquitto) gets CPU 1 to itself; this process, the
 * client processes (forked from here, so they inherit the mask) get every other CPU, so the
 * clients never steal the server's core and both servers are measured on the same footing.
 * BENCH_BRIDGE_PIN=0 turns it off.
 */
const PIN = process.env.BENCH_BRIDGE_PIN !== '0' && os.cpus().length >= 2 && fs.existsSync('/usr/bin/taskset');
const SERVER_CPU = '1';
const CLIENT_CPUS = Array.from({ length: os.cpus().length }, (_, i) => i)
  .filter((i) => String(i) !== SERVER_CPU)
  .join(',');
function pinCores(): void {
  if (PIN) spawnSync('taskset', ['-apc', CLIENT_CPUS, String(process.pid)], { stdio: 'ignore' });
}

/** CPU seconds (user + system) a process has used, from /proc: independent of how busy the machine is. */
const cpuSeconds = (pid: number): number => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};

const rssMb = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};

const pct = (sorted: Float64Array, p: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN);
const round = (n: number, d = 2): number => Math.round(n * 10 ** d) / 10 ** d;

function openFileLimit(): number {
  const m = /Max open files\s+(\d+|unlimited)/.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
  return !m || m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Data folder with rooms of 5 and one token per agent (rate limit raised for the load). */
function prepare(dir: string, extraRooms = 0): { tokens: string[]; rooms: string[]; extra: string[] } {
  const { db } = openDatabase({ dir });
  const bus = createEventBus();
  const rooms = createRoomsService({ db, bus, now: Date.now, dataDir: dir });
  const store = createTokenStore({ db, now: Date.now });
  const roomIds = Array.from({ length: ROOMS }, (_, i) => rooms.createRoom({ name: `load ${i}` }).id);
  const tokens = Array.from({ length: CLIENTS }, (_, i) => {
    const t = store.create({ name: `agent ${i}`, scopes: ['rooms:read', 'rooms:write'], ratePerMinute: 10_000_000, burst: 100_000 });
    rooms.ensureMember(roomIds[Math.floor(i / 5)]!, { kind: 'agent', id: `agent:${t.info.id}`, name: `agent ${i}` }, ['coder']);
    return t.token;
  });
  const extra = db.transaction(() => Array.from({ length: extraRooms }, (_, i) => rooms.createRoom({ name: `many ${i}` }).id))();
  rooms.close();
  db.close();
  return { tokens, rooms: roomIds, extra };
}

interface LoadResult {
  acked: number;
  elapsedMs: number;
  delivered: number;
  expected: number;
  latencies: Float64Array;
}

/** Closed loop: every client keeps `window` posts in flight until the time is up. */
async function bridgeLoad(
  url: string,
  tokens: string[],
  roomIds: string[],
  ms: number,
  window: number,
  onAck?: (m: Message) => void,
  ready?: () => Promise<void>,
): Promise<LoadResult & { clients: BridgeClient[]; t0: number; last: number }> {
  const clients = await Promise.all(tokens.map((token) => connectBridge({ url, token, autoAck: true })));
  const lat = new Float64Array(2_000_000);
  let n = 0;
  let delivered = 0;
  for (const c of clients)
    c.onMessage((m) => {
      delivered++;
      const sent = Number(m.text.slice(0, m.text.indexOf('|')));
      if (n < lat.length) lat[n++] = stamp() - sent;
    });
  await Promise.all(clients.map((c, i) => c.subscribe(roomIds[Math.floor(i / PER_ROOM)]!)));
  await ready?.();
  let acked = 0;
  let stop = false;
  const t0 = stamp();
  let last = t0;
  await Promise.all(
    clients.map(async (c, i) => {
      const roomId = roomIds[Math.floor(i / PER_ROOM)]!;
      let seq = 0;
      const lane = async (): Promise<void> => {
        while (!stop) {
          try {
            const m = await c.call<Message>('rooms.post', { roomId, text: `${stamp()}|${i}|${seq++}` });
            acked++;
            last = stamp();
            onAck?.(m);
          } catch {
            return; // the server went away (kill test)
          }
        }
      };
      const timer = setTimeout(() => (stop = true), ms);
      await Promise.all(Array.from({ length: window }, lane));
      clearTimeout(timer);
    }),
  );
  const expected = acked * (PER_ROOM - 1);
  const until = stamp() + 3000;
  while (delivered < expected && stamp() < until) await new Promise((r) => setTimeout(r, 20));
  const sorted = lat.slice(0, n).sort();
  return { acked, elapsedMs: last - t0, delivered, expected, latencies: sorted, clients, t0, last };
}

/** The same closed loop through an MQTT broker: a room is a topic, QoS 1, no-local subscriptions. */
async function mqttLoad(port: number, agents: number[], ms: number, window: number, ready: () => Promise<void>): Promise<LoadResult & { t0: number; last: number }> {
  const clients = await Promise.all(
    agents.map((a) => mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `bench-${a}`, protocolVersion: 5, clean: true, reconnectPeriod: 0 })),
  );
  try {
    const lat = new Float64Array(2_000_000);
    let n = 0;
    let delivered = 0;
    clients.forEach((c) =>
      c.on('message', (_t, payload) => {
        delivered++;
        const s = payload.toString();
        if (n < lat.length) lat[n++] = stamp() - Number(s.slice(0, s.indexOf('|')));
      }),
    );
    // nl (no local): like the bridge, a member does not get its own message back.
    const topic = (j: number): string => `rooms/${Math.floor(agents[j]! / PER_ROOM)}`;
    await Promise.all(clients.map((c, j) => c.subscribeAsync(topic(j), { qos: 1, nl: true })));
    await ready();
    let acked = 0;
    let stop = false;
    const t0 = stamp();
    let last = t0;
    setTimeout(() => (stop = true), ms);
    await Promise.all(
      clients.map(async (c, j) => {
        let seq = 0;
        const lane = async (): Promise<void> => {
          while (!stop) {
            await c.publishAsync(topic(j), `${stamp()}|${agents[j]}|${seq++}`, { qos: 1 });
            acked++;
            last = stamp();
          }
        };
        await Promise.all(Array.from({ length: window }, lane));
      }),
    );
    const expected = acked * (PER_ROOM - 1);
    const until = stamp() + 3000;
    while (delivered < expected && stamp() < until) await new Promise((r) => setTimeout(r, 20));
    return { acked, elapsedMs: last - t0, delivered, expected, latencies: lat.slice(0, n).sort(), t0, last };
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true)));
  }
}

// --- client processes ---------------------------------------------------------------------------
type Job =
  | { kind: 'bridge'; url: string; tokens: string[]; rooms: string[]; ms: number; window: number }
  | { kind: 'mqtt'; port: number; agents: number[]; ms: number; window: number };
type JobResult = { acked: number; delivered: number; expected: number; t0: number; last: number; latencies: Float64Array; cpuUs: number };

/** A client process: runs the jobs it is sent, reports "ready" once connected, starts on "go". */
function clientProcess(): void {
  let go: (() => void) | undefined;
  process.on('message', (msg: { cmd: 'run'; job: Job } | { cmd: 'go' } | { cmd: 'exit' }) => {
    if (msg.cmd === 'go') return go?.();
    if (msg.cmd === 'exit') process.exit(0);
    const job = msg.job;
    let cpu0 = process.cpuUsage();
    const ready = (): Promise<void> =>
      new Promise((resolve) => {
        go = () => {
          cpu0 = process.cpuUsage(); // the client side's own cost, from the start signal on
          resolve();
        };
        process.send!({ type: 'ready' });
      });
    const run =
      job.kind === 'bridge'
        ? bridgeLoad(job.url, job.tokens, job.rooms, job.ms, job.window, undefined, ready).then(async (r) => {
            await Promise.all(r.clients.map((c) => c.close()));
            return r;
          })
        : mqttLoad(job.port, job.agents, job.ms, job.window, ready);
    run.then(
      (r) => {
        const cpu = process.cpuUsage(cpu0);
        const result: JobResult = { acked: r.acked, delivered: r.delivered, expected: r.expected, t0: r.t0, last: r.last, latencies: r.latencies, cpuUs: cpu.user + cpu.system };
        process.send!({ type: 'done', result });
      },
      (err: unknown) => process.send!({ type: 'failed', message: (err as Error).stack ?? String(err) }),
    );
  });
}

interface Pool {
  /** Runs one job per process (jobs[i] on process i), all released together; merged figures. */
  run(jobs: Job[]): Promise<{ msgsPerS: number; acked: number; delivered: number; expected: number; latencies: Float64Array; clientCpuUsPerMsg: number }>;
  close(): void;
}

async function clientPool(n: number): Promise<Pool> {
  const procs = Array.from({ length: n }, () => fork(__filename, ['--clients'], { execArgv: process.execArgv, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const next = (p: ChildProcess): Promise<{ type: 'ready' } | { type: 'done'; result: JobResult }> =>
    new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`a client process exited (${code})`));
      p.once('exit', onExit);
      p.once('message', (m: { type: 'ready' } | { type: 'done'; result: JobResult } | { type: 'failed'; message: string }) => {
        p.off('exit', onExit);
        if (m.type === 'failed') reject(new Error(`client process: ${m.message}`));
        else resolve(m);
      });
    });
  return {
    async run(jobs) {
      const used = procs.slice(0, jobs.length);
      const readies = used.map(next);
      used.forEach((p, i) => p.send({ cmd: 'run', job: jobs[i] }));
      await Promise.all(readies);
      const dones = used.map(next);
      for (const p of used) p.send({ cmd: 'go' });
      const results = (await Promise.all(dones)).map((m) => (m as { result: JobResult }).result);
      const t0 = Math.min(...results.map((r) => r.t0));
      const last = Math.max(...results.map((r) => r.last));
      const acked = results.reduce((a, r) => a + r.acked, 0);
      const all = new Float64Array(results.reduce((a, r) => a + r.latencies.length, 0));
      let at = 0;
      for (const r of results) {
        all.set(r.latencies, at);
        at += r.latencies.length;
      }
      return {
        msgsPerS: acked / ((last - t0) / 1000),
        acked,
        delivered: results.reduce((a, r) => a + r.delivered, 0),
        expected: results.reduce((a, r) => a + r.expected, 0),
        latencies: all.sort(),
        clientCpuUsPerMsg: results.reduce((a, r) => a + r.cpuUs, 0) / Math.max(1, acked),
      };
    },
    close() {
      for (const p of procs) if (p.connected) p.send({ cmd: 'exit' });
    },
  };
}

/** Whole rooms per process: process k gets rooms k, k+n, k+2n… and their agents. */
function splitRooms(n: number): number[][] {
  return Array.from({ length: n }, (_, k) => Array.from({ length: ROOMS }, (_, r) => r).filter((r) => r % n === k));
}
/** bridgeLoad puts agent i of a job in the job's room floor(i / PER_ROOM): whole rooms, in order. */
const bridgeJobs = (url: string, tokens: string[], roomIds: string[], ms: number, window: number): Job[] =>
  splitRooms(CLIENT_PROCS).map((rs) => ({
    kind: 'bridge',
    url,
    ms,
    window,
    tokens: rs.flatMap((r) => tokens.slice(r * PER_ROOM, (r + 1) * PER_ROOM)),
    rooms: rs.map((r) => roomIds[r]!),
  }));

async function mosquittoLoad(pool: Pool, ms: number, window: number): Promise<{ msgsPerS: number; p99: number; deliveries: string; clientCpuUsPerMsg?: number; note?: string }> {
  if (!fs.existsSync(MOSQUITTO)) return { msgsPerS: NaN, p99: NaN, deliveries: '', note: `${MOSQUITTO} is missing (apt-get install mosquitto)` };
  const port = await freePort();
  const conf = path.join(os.tmpdir(), `bench-mosq-${process.pid}.conf`);
  fs.writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_inflight_messages 100\nmax_queued_messages 100000\n`);
  // On the server's core, like the bridge was.
  const broker = PIN ? spawn('taskset', ['-c', SERVER_CPU, MOSQUITTO, '-c', conf], { stdio: 'ignore' }) : spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 100; i++) {
      if (await new Promise<boolean>((r) => net.connect(port, '127.0.0.1').once('connect', function (this: net.Socket) { this.destroy(); r(true); }).once('error', () => r(false)))) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // Agent i of the bridge run is MQTT client i: rooms split over the processes the same way.
    const jobs = splitRooms(CLIENT_PROCS).map((rs): Job => ({ kind: 'mqtt', port, ms, window, agents: rs.flatMap((r) => Array.from({ length: PER_ROOM }, (_, j) => r * PER_ROOM + j)) }));
    const r = await pool.run(jobs);
    return { msgsPerS: r.msgsPerS, p99: pct(r.latencies, 99), deliveries: `${r.delivered} of ${r.expected}`, clientCpuUsPerMsg: r.clientCpuUsPerMsg };
  } finally {
    broker.kill('SIGTERM');
    fs.rmSync(conf, { force: true });
  }
}

async function idleConnections(url: string, tokens: string[], pid: number, target: number): Promise<{ held: number; rssMb: number; rssBeforeMb: number }> {
  const before = rssMb(pid);
  const sockets: WebSocket[] = [];
  for (let i = 0; i < target; i += 250) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(250, target - i) }, (_, j) =>
        new Promise<WebSocket | null>((resolve) => {
          const ws = new WebSocket(`${url}/ws`, AGENT_WS_PROTOCOL, { headers: { Authorization: `Bearer ${tokens[(i + j) % tokens.length]}` }, perMessageDeflate: false });
          ws.once('message', () => resolve(ws)); // the welcome: authenticated
          ws.once('error', () => resolve(null));
        }),
      ),
    );
    for (const ws of batch) if (ws) sockets.push(ws);
  }
  await new Promise((r) => setTimeout(r, 1000));
  // Every socket must still be open and answering after the pause (they are held, not just opened).
  const alive = await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<boolean>((resolve) => {
          if (ws.readyState !== ws.OPEN) return resolve(false);
          const t = setTimeout(() => resolve(false), 10_000);
          ws.once('message', () => (clearTimeout(t), resolve(true)));
          ws.send('{"type":"ping"}');
        }),
    ),
  );
  const rss = rssMb(pid);
  for (const ws of sockets) ws.terminate();
  return { held: alive.filter(Boolean).length, rssMb: rss, rssBeforeMb: before };
}

/** 1,000 rooms: one agent follows all of them, another posts once in each; all must arrive. */
async function thousandRooms(url: string, tokens: string[], extra: string[]): Promise<{ ok: boolean; ms: number }> {
  const t0 = stamp();
  const watcher = await connectBridge({ url, token: tokens[0]! });
  const poster = await connectBridge({ url, token: tokens[1]! });
  const seen = new Set<string>();
  watcher.onMessage((m) => seen.add(m.roomId));
  for (const r of extra) await watcher.subscribe(r);
  await Promise.all(extra.map((roomId) => poster.call('rooms.post', { roomId, text: `hello ${roomId}` })));
  const listed = (await watcher.call<{ rooms: unknown[] }>('rooms.list')).rooms.length;
  const until = stamp() + 10_000;
  while (seen.size < extra.length && stamp() < until) await new Promise((r) => setTimeout(r, 20));
  await watcher.close();
  await poster.close();
  return { ok: seen.size === extra.length && listed >= extra.length, ms: stamp() - t0 };
}

async function killDuringLoad(): Promise<{ acked: number; lost: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-kill-'));
  try {
    const { tokens, rooms } = prepare(dir);
    const { child, url } = await startServer(dir);
    const acked = new Map<number, string>();
    setTimeout(() => child.kill('SIGKILL'), 1500);
    const r = await bridgeLoad(url, tokens.slice(0, 40), rooms, 4000, WINDOW, (m) => acked.set(m.id, m.text));
    for (const c of r.clients) c.terminate();
    await new Promise((res) => (child.exitCode !== null || child.signalCode ? res(null) : child.once('exit', res)));
    const { db } = openDatabase({ dir });
    const get = db.prepare('SELECT text FROM room_messages WHERE id = ?');
    let lost = 0;
    for (const [id, text] of acked) if ((get.get(id) as { text: string } | undefined)?.text !== text) lost++;
    db.close();
    return { acked: acked.size, lost };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const began = stamp();
  pinCores();
  const loadBefore = os.loadavg().map((x) => round(x, 1));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-bridge-'));
  const { tokens, rooms, extra } = prepare(dir, 1000);
  const { child, url, output } = await startServer(dir);
  const pool = await clientPool(CLIENT_PROCS);
  try {
    process.stderr.write(`bridge: throughput, ${WINDOW} in flight per agent…\n`);
    const cpu0 = cpuSeconds(child.pid!);
    const load = await pool.run(bridgeJobs(url, tokens, rooms, LOAD_MS, WINDOW));
    const serverCpuUsPerMsg = ((cpuSeconds(child.pid!) - cpu0) * 1e6) / Math.max(1, load.acked);
    const msgsPerS = load.msgsPerS;

    process.stderr.write('bridge: latency, 1 in flight per agent…\n');
    const lat = await pool.run(bridgeJobs(url, tokens, rooms, LATENCY_MS, 1));

    process.stderr.write('bridge: 1,000 rooms…\n');
    const many = await thousandRooms(url, tokens, extra);

    const limit = openFileLimit();
    const target = Math.min(IDLE_TARGET, Math.max(0, limit - 300));
    process.stderr.write(`bridge: ${target} idle connections…\n`);
    const idle = await idleConnections(url, tokens, child.pid!, target);

    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    const stats = (JSON.parse(/\{"stats":.*\}/.exec(output())?.[0] ?? '{"stats":{"posts":0,"commits":1}}') as { stats: { posts: number; commits: number } }).stats;

    process.stderr.write('mosquitto: load…\n');
    const mosq = await mosquittoLoad(pool, LOAD_MS, WINDOW);

    process.stderr.write('bridge: SIGKILL during load…\n');
    const kill = await killDuringLoad();

    const result = {
      clients: CLIENTS,
      rooms: ROOMS,
      msgs_per_s: Math.round(msgsPerS),
      p50_ms: round(pct(lat.latencies, 50)),
      p95_ms: round(pct(lat.latencies, 95)),
      p99_ms: round(pct(lat.latencies, 99)),
      idle_connections: idle.held,
      idle_rss_mb: round(idle.rssMb, 1),
      rooms_1000_ok: many.ok,
      mosquitto_msgs_per_s: Number.isFinite(mosq.msgsPerS) ? Math.round(mosq.msgsPerS) : null,
      ratio_vs_mosquitto: Number.isFinite(mosq.msgsPerS) ? round(msgsPerS / mosq.msgsPerS, 3) : null,
      lost_after_kill: kill.lost,
      notes: {
        figures:
          'msgs_per_s (and the mosquitto ratio) come from the throughput run; p50_ms/p95_ms/p99_ms from the latency run (one post in flight per agent). ' +
          `Latency is send → delivered to each other member. In the throughput run ${CLIENTS * WINDOW} posts are in flight, so by Little's law its mean latency is at least ${CLIENTS * WINDOW} / msgs_per_s.`,
        throughput_run: {
          in_flight_per_client: WINDOW,
          in_flight_total: CLIENTS * WINDOW,
          seconds: LOAD_MS / 1000,
          msgs_per_s: Math.round(load.msgsPerS),
          p50_ms: round(pct(load.latencies, 50)),
          p95_ms: round(pct(load.latencies, 95)),
          p99_ms: round(pct(load.latencies, 99)),
          deliveries: `${load.delivered} of ${load.expected}`,
          clients_cpu_us_per_msg: Math.round(load.clientCpuUsPerMsg),
        },
        latency_run: {
          in_flight_per_client: 1,
          in_flight_total: CLIENTS,
          seconds: LATENCY_MS / 1000,
          msgs_per_s: Math.round(lat.msgsPerS),
          p50_ms: round(pct(lat.latencies, 50)),
          p95_ms: round(pct(lat.latencies, 95)),
          p99_ms: round(pct(lat.latencies, 99)),
          deliveries: `${lat.delivered} of ${lat.expected}`,
          clients_cpu_us_per_msg: Math.round(lat.clientCpuUsPerMsg),
        },
        client_processes: CLIENT_PROCS,
        messages_acknowledged: load.acked,
        messages_per_group_commit: round(stats.posts / Math.max(1, stats.commits), 1),
        bridge_cpu_us_per_msg: Math.round(serverCpuUsPerMsg),
        bridge_cpu_bound_msgs_per_s: Math.round(1e6 / serverCpuUsPerMsg),
        littles_law_mean_ms_at_20k: round(((CLIENTS * WINDOW) / 20_000) * 1000, 1),
        cores: PIN ? `server (bridge, then mosquitto) pinned to CPU ${SERVER_CPU}; client processes to CPU ${CLIENT_CPUS} (taskset)` : 'not pinned',
        idle_rss_before_mb: round(idle.rssBeforeMb, 1),
        idle_limit: target < IDLE_TARGET ? `open-file limit ${limit} allows ${target} of ${IDLE_TARGET} connections; raise ulimit -n` : null,
        mosquitto_p99_ms: round(mosq.p99),
        mosquitto_deliveries: mosq.deliveries,
        mosquitto_clients_cpu_us_per_msg: mosq.clientCpuUsPerMsg === undefined ? null : Math.round(mosq.clientCpuUsPerMsg),
        mosquitto: mosq.note ?? 'Debian mosquitto, QoS 1, MQTT 5 no-local subscriptions, persistence off',
        kill_acknowledged_before_sigkill: kill.acked,
        rooms_1000_ms: Math.round(many.ms),
        cpus: os.cpus().length,
        loadavg_at_start: loadBefore,
        loadavg_at_end: os.loadavg().map((x) => round(x, 1)),
        total_seconds: round((stamp() - began) / 1000, 1),
      },
    };
    fs.mkdirSync('bench-results', { recursive: true });
    fs.writeFileSync(path.join('bench-results', 'bridge.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    pool.close();
    if (child.exitCode === null && !child.signalCode) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') void serve(process.argv[3]!);
else if (process.argv[2] === '--clients') clientProcess();
else
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`bench-bridge failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
