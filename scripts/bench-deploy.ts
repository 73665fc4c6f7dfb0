// npm run bench:deploy — a ~5 MB .eap (the real native build padded with 5 MB of incompressible
// data under lib/) deployed to 50 simulated cameras with the swarm's verification (the coordinator
// accepts signed reports from the new version under the enrolled key and a fresh epoch), against
// Axis's documented method in the same run: a sequential loop of `curl --digest` upload + start per
// camera. Writes bench-results/deploy.json.
//
// A camera's install is the camera's own time, not this machine's: each simulated camera sits behind
// a small proxy (in its simulator process) that holds upload.cgi's answer for the camera's install
// time, the same for both methods. That time comes from BENCH_INSTALL_MS (per camera, spread ±20%
// by a fixed seed); Axis publishes no install time, so the default (4000 ms for the 5 MB package)
// is an assumption stated in the JSON: measure one on your camera (time curl's upload.cgi) and set it.
//
// The simulated fleet runs in several child processes (BENCH_SIM_PROCS, default 4): 50 cameras are
// 50 machines, and one simulator event loop would serialise every camera's install for both
// methods alike. peak_rss_mb is the app's alone: this process with the fleet, MQTT and deploy
// services, plus the forked helper. The cameras use the built-in agent path: 50 programs under
// qemu on 2 cores would measure the emulator, not the deploy. A per-phase profile (wall time per
// helper op, phase spans, CPU seconds per process) goes to stdout, not into the JSON.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import type { CameraId } from '../preload/contract/camera-id';

const root = path.resolve(__dirname, '..');
const CAMERAS = Number(process.env.BENCH_CAMERAS ?? 50);
const PAD_BYTES = 5 * 1024 * 1024;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const SIM_PROCS = Math.max(1, Math.min(CAMERAS, Number(process.env.BENCH_SIM_PROCS ?? 4)));
const INSTALL_MS = Number(process.env.BENCH_INSTALL_MS ?? 4000);
const INSTALL_SOURCE = process.env.BENCH_INSTALL_MS
  ? `BENCH_INSTALL_MS=${INSTALL_MS} (given for this run)`
  : 'assumed 4000 ms: Axis publishes no install time for a 5 MB package; measure upload.cgi on a camera and set BENCH_INSTALL_MS';
const CANARY = Number(process.env.BENCH_CANARY ?? 1);
/** The camera's install time: INSTALL_MS spread ±20% per camera (mulberry32 on the camera's index). */
const installMsOf = (i: number): number => {
  let t = (i + 0x9e3779b9) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  const u = ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  return Math.round(INSTALL_MS * (0.8 + 0.4 * u));
};

/**
 * Forwards one camera's HTTP port; holds upload.cgi's reply for the camera's install time after the
 * simulator answered, so the install takes the camera's time, not this machine's.
 */
async function installDelayProxy(target: string, delayMs: number): Promise<string> {
  const http = await import('node:http');
  const up = new URL(target);
  const server = http.createServer((req, res) => {
    const fwd = http.request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      const send = (): void => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      };
      if (req.method === 'POST' && req.url?.startsWith('/axis-cgi/applications/upload.cgi') && r.statusCode === 200) setTimeout(send, delayMs);
      else send();
    });
    fwd.on('error', () => res.destroy());
    req.pipe(fwd);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

// ---- child mode: the simulated fleet ----
async function simChild(n: number, seed: number, first: number): Promise<void> {
  const { startSimulatedFleet } = await import('../main/camsim');
  // Each camera writes its installs to the "flash" of its own machine. Here the 50 share one
  // host disk, so the installs go to tmpfs when there is one: ext4 block allocation on the host
  // (~13 ms CPU per 5 MB file, measured) is not something the cameras would do on our 2 cores.
  const base = process.env.BENCH_SIM_DIR ?? (fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir());
  const dataDir = fs.mkdtempSync(path.join(base, 'bench-deploy-sim-'));
  const fleet = await startSimulatedFleet({ cameras: n, seed, apps: 'agent', dataDir });
  for (const [i, c] of fleet.cameras.entries()) {
    const installMs = installMsOf(first + i);
    const url = await installDelayProxy(c.url, installMs);
    process.stdout.write(`${JSON.stringify({ url, httpsPort: c.httpsPort, username: c.username, password: c.password, serial: c.serial, installMs })}\n`);
  }
  process.stdout.write('ready\n');
  const stop = (): void =>
    void fleet.stop().finally(() => {
      fs.rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    });
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
}

/** Deterministic incompressible bytes (SHA-256 in counter mode), so every run pads the same. */
function pad(bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  for (let off = 0, i = 0; off < bytes; i++, off += 32) createHash('sha256').update(`omnisight-bench-${i}`).digest().copy(out, off);
  return out;
}

/** Regular files of an .eap whose names pass `keep` (tar-stream over the gzip stream). */
async function eapFiles(eap: Buffer, keep: (name: string) => boolean): Promise<{ name: string; data: Buffer; mode: number }[]> {
  const tar = (await import('tar-stream')).default;
  const zlib = await import('node:zlib');
  const out: { name: string; data: Buffer; mode: number }[] = [];
  const ex = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (d: unknown) => void chunks.push(d as Buffer));
      stream.on('end', () => {
        if (h.type === 'file' && keep(h.name)) out.push({ name: h.name, data: Buffer.concat(chunks), mode: (h.mode ?? 0o644) & 0o7777 });
        next();
      });
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(zlib.gunzipSync(eap));
  await done;
  return out;
}

const curl = (args: string[]): Promise<string> =>
  new Promise((resolve, reject) => execFile('curl', ['-s', '--max-time', '60', ...args], { maxBuffer: 1 << 20 }, (err, out) => (err ? reject(err) : resolve(out))));

/** user+system CPU seconds of a process so far (Linux /proc). */
const CLK_TCK = 100;
const cpuS = (pid: number | undefined): number => {
  if (!pid) return 0;
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return 0;
  }
};

const vmHwmMb = (pid: number | undefined): number => {
  if (!pid) return 0;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
};

async function main(): Promise<void> {
  const { buildEap, buildNativeApp } = await import('../main/packaging');
  const { createAuditLog } = await import('../main/audit');
  const { createEventBus } = await import('../main/kernel/bus');
  const { createDispatcher } = await import('../main/kernel/dispatcher');
  const { silentLogger } = await import('../main/kernel/logger');
  const { createFileKeySecretStore } = await import('../main/app/secret-store-file');
  const { createMqttService } = await import('../main/mqtt');
  const { createSettingsService } = await import('../main/settings');
  const { openDatabase } = await import('../main/store');
  const { createDeployService } = await import('../main/fleet/deploy');
  const { createFleetService } = await import('../main/fleet');
  const { buildCoverage } = await import('../main/swarm');
  const { createHelperSupervisor, forkHelperFromSource } = await import('../main/fleet/supervisor');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-deploy-'));
  const log = silentLogger();
  const sims: ChildProcess[] = [];
  try {
    // ---- build: make (incremental, as in a dev loop) + the padded package ----
    const nativeDir = path.join(root, 'native');
    const t0 = performance.now();
    const built = await buildNativeApp({ nativeDir, outDir: path.join(dir, 'dist'), version: '1.4.0' });
    const manifest = JSON.parse(fs.readFileSync(path.join(nativeDir, 'manifest.json'), 'utf8')) as { acapPackageConf: { setup: Record<string, unknown> } };
    manifest.acapPackageConf.setup.version = '1.4.0';
    const exe = fs.readFileSync(built.executable);
    // The camera package bundles its libraries under lib/ (AXIS OS lacks them): keep them, add the padding.
    const libs = await eapFiles(fs.readFileSync(built.path), (n) => n.startsWith('lib/'));
    const eap = await buildEap({ manifest, executable: exe, license: fs.readFileSync(path.join(nativeDir, 'LICENSE')), extraFiles: [...libs, { name: 'lib/pad.bin', data: pad(PAD_BYTES) }] });
    const eapPath = path.join(dir, eap.fileName);
    fs.writeFileSync(eapPath, eap.data);
    const buildS = (performance.now() - t0) / 1000;
    console.log(`build: ${eap.fileName} ${eap.data.length} bytes in ${buildS.toFixed(2)} s`);

    // ---- the simulated fleet: SIM_PROCS processes, cameras split evenly ----
    type Cam = { url: string; httpsPort: number; username: string; password: string; serial: string; installMs: number };
    const groups = Array.from({ length: SIM_PROCS }, (_, g) => Math.floor(CAMERAS / SIM_PROCS) + (g < CAMERAS % SIM_PROCS ? 1 : 0));
    const perGroup = await Promise.all(
      groups.map(
        (n, g) =>
          new Promise<Cam[]>((resolve, reject) => {
            const sim = spawn(process.execPath, [...(process.env.BENCH_SIM_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SIM_PROF}`] : []), '--import', 'tsx', __filename, '--sim', String(n), String(21 + g), String(groups.slice(0, g).reduce((a, b) => a + b, 0))], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
            sims.push(sim);
            const got: Cam[] = [];
            const rl = readline.createInterface({ input: sim.stdout! });
            rl.on('line', (l) => (l === 'ready' ? resolve(got) : l.startsWith('{') && got.push(JSON.parse(l) as Cam)));
            sim.once('exit', (c) => reject(new Error(`simulator process ${g} exited (${c})`)));
          }),
      ),
    );
    const cams = perGroup.flat();
    // Different seeds per process; a serial collision would merge two cameras' heartbeats.
    if (new Set(cams.map((c) => c.serial)).size !== cams.length) throw new Error('two simulator processes drew the same camera serial; change the seeds');
    const simCpu = (): number => sims.reduce((a, p) => a + cpuS(p.pid), 0);
    // Our builds are unsigned: both methods get cameras that accept them.
    await Promise.all(cams.map((c) => curl(['--digest', '-u', `${c.username}:${c.password}`, `${c.url}/axis-cgi/applications/config.cgi?action=set&name=AllowUnsigned&value=true`])));

    // ---- Axis's documented method: sequential curl --digest upload + start ----
    const s0 = performance.now();
    const sCpu0 = simCpu();
    let curlUpMs = 0;
    for (const c of cams) {
      const u0 = performance.now();
      const up = await curl(['--digest', '-u', `${c.username}:${c.password}`, '-F', `file=@${eapPath}`, `${c.url}/axis-cgi/applications/upload.cgi`]);
      if (!/^OK/.test(up)) throw new Error(`curl upload to ${c.url}: ${up}`);
      curlUpMs += performance.now() - u0;
      const st = await curl(['--digest', '-u', `${c.username}:${c.password}`, `${c.url}/axis-cgi/applications/control.cgi?action=restart&package=omnisight`]);
      if (!/^OK/.test(st)) throw new Error(`curl start on ${c.url}: ${st}`);
    }
    const sequentialS = (performance.now() - s0) / 1000;
    const seqSimCpu = simCpu() - sCpu0;
    console.log(`sequential curl: ${sequentialS.toFixed(2)} s (uploads ${(curlUpMs / 1000).toFixed(2)} s, starts ${(sequentialS - curlUpMs / 1000).toFixed(2)} s; simulator CPU ${seqSimCpu.toFixed(2)} s)`);

    // ---- the app: fleet + MQTT + deploy services, forked helper ----
    const { db } = openDatabase({ dir });
    const bus = createEventBus();
    const audit = createAuditLog({ db, bus, now: Date.now });
    const secrets = createFileKeySecretStore(db, dir);
    const settings = createSettingsService({ db, bus, log, now: Date.now });
    const ref: { fleet?: ReturnType<typeof createFleetService> } = {};
    const progress = new Set<(ev: { id: string; sent?: number; total?: number; line?: string }) => void>();
    const helper = createHelperSupervisor({
      launch: forkHelperFromSource,
      entry: path.join(root, 'main/helper/main.ts'),
      log,
      requestTimeoutMs: 60_000,
      onEvent: (e) => ref.fleet?.onHelperEvent(e),
      onProgress: (e) => progress.forEach((l) => l(e)),
    });
    await helper.whenReady();
    const mqtt = createMqttService({ config: () => ({ mode: 'embedded', url: '', username: '' }), secrets, log });
    // The one trust path, as in the app: raw payloads → the swarm → the fleet.
    const { createSwarmService } = await import('../main/swarm');
    const swarm = createSwarmService({ db, bus, log, now: Date.now, audit, keys: { get: (serial) => ref.fleet?.keyFor(serial) }, every: () => () => {} });
    mqtt.onRaw((topic, payload, at) => swarm.ingest(payload, at, topic));
    swarm.onMessage((m) => ref.fleet?.onCameraMessage(m));
    swarm.onRefused((b) => ref.fleet?.onBadMessage(b));
    await mqtt.start();
    const fleet = createFleetService({
      db, bus, log, audit, secrets, settings, helper, broker: () => mqtt.endpoint(), now: Date.now, noDemo: true,
      onKeyRecorded: (k) => {
        const { calibrated: _c, ...coverage } = buildCoverage({ serial: k.serial }, []);
        swarm.registerCamera({ serial: k.serial, keyId: k.keyId, publicKey: k.publicKey, coverage });
      },
    });
    ref.fleet = fleet;
    // Wall time per helper op while the deploy runs (the deploy service sees the same helper).
    const ops = new Map<string, { n: number; ms: number; max: number }>();
    let profiling = false;
    const timedHelper: Pick<typeof helper, 'call'> = {
      call: (async (req: { op: string }, timeoutMs?: number) => {
        const t = performance.now();
        try {
          return await (helper.call as (r: unknown, ms?: number) => Promise<unknown>)(req, timeoutMs);
        } finally {
          if (profiling) {
            const o = ops.get(req.op) ?? { n: 0, ms: 0, max: 0 };
            const d = performance.now() - t;
            o.n++;
            o.ms += d;
            o.max = Math.max(o.max, d);
            ops.set(req.op, o);
          }
        }
      }) as typeof helper.call,
    };
    // Phase spans per camera from the progress events: preflight → upload (bytes) → install reply → start+verify → done.
    const marks = new Map<string, Record<string, number>>();
    bus.subscribe('deploy.progress', ({ target: t }) => {
      const m = marks.get(t.cameraId) ?? {};
      const at = performance.now();
      m[t.phase] ??= at;
      if (t.phase === 'upload' && t.bytesTotal > 0 && t.bytesSent >= t.bytesTotal) m.sent ??= at;
      marks.set(t.cameraId, m);
    });
    const deploy = createDeployService({
      db, bus, log, audit, now: Date.now, dataDir: dir, helper: timedHelper, registry: fleet.registry,
      enrolment: fleet.enrolment,
      acceptanceOf: (serial) => swarm.acceptanceOf(serial),
      onHelperProgress: (l) => {
        progress.add(l);
        return () => void progress.delete(l);
      },
    });
    const dispatcher = createDispatcher({ log });
    dispatcher.register(fleet.handlers);
    dispatcher.register(deploy.handlers);
    const call = async <T>(m: string, input: unknown): Promise<T> => {
      const r = (await dispatcher.dispatch(m, input, { transport: 'internal', peer: 'bench' })) as { ok: boolean; value?: T; error?: { message: string } };
      if (!r.ok) throw new Error(`${m}: ${r.error?.message}`);
      return r.value as T;
    };
    const ids: CameraId[] = [];
    for (const c of cams) ids.push((await call<{ id: CameraId }>('fleet.add', { address: new URL(c.url).host, username: c.username, password: c.password, httpsPort: c.httpsPort })).id);
    // Every camera's key enrolled (over its pinned certificate) and its reports accepted before timing.
    const ready = Date.now() + 30_000;
    while (cams.some((c) => swarm.acceptanceOf(c.serial).accepted < 2) && Date.now() < ready) await new Promise((r) => setTimeout(r, 100));
    const build = await call<{ sha256: string }>('deploy.addBuild', { path: eapPath });
    // Let every camera's MQTT client connect (configured by fleet.add) before timing.
    const end = Date.now() + 20_000;
    while (ids.some((id) => fleet.status(id)?.lastHeartbeat === null) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));

    // Background: the 50 live agents publish detections and heartbeats that the app ingests.
    const i0 = { sim: simCpu(), helper: cpuS(helper.pid), main: process.cpuUsage(), t: performance.now() };
    await new Promise((r) => setTimeout(r, 1000));
    const idleMain = process.cpuUsage(i0.main);
    const idleS = (performance.now() - i0.t) / 1000;
    const idle = { sim: (simCpu() - i0.sim) / idleS, helper: (cpuS(helper.pid) - i0.helper) / idleS, main: (idleMain.user + idleMain.system) / 1e6 / idleS };

    const d0 = performance.now();
    const d0Wall = Date.now();
    const cpu0 = { sim: simCpu(), helper: cpuS(helper.pid), main: process.cpuUsage() };
    profiling = true;
    const { deployId } = await call<{ deployId: string }>('deploy.start', { buildSha: build.sha256, cameraIds: ids, concurrency: CONCURRENCY, canary: CANARY, allowUnsigned: true });
    await deploy.idle();
    const deployS = (performance.now() - d0) / 1000;
    profiling = false;
    const mainCpu = process.cpuUsage(cpu0.main);
    const cpu = { sim: simCpu() - cpu0.sim, helper: cpuS(helper.pid) - cpu0.helper, main: (mainCpu.user + mainCpu.system) / 1e6 };
    const span = (a: string, b: string): string => {
      const d = [...marks.values()].filter((m) => m[a] !== undefined && m[b] !== undefined).map((m) => m[b]! - m[a]!);
      return d.length ? `avg ${(d.reduce((x, y) => x + y, 0) / d.length).toFixed(0)} ms, max ${Math.max(...d).toFixed(0)} ms` : 'n/a';
    };
    console.log('deploy profile (per camera, wall):');
    console.log(`  preflight (listApps + allowUnsigned): ${span('preflight', 'upload')}`);
    console.log(`  upload bytes (first byte → last byte accepted): ${span('upload', 'sent')}`);
    console.log(`  server-side install (last byte → upload.cgi OK): ${span('sent', 'start')}`);
    console.log(`  start + verify + key + log: ${span('start', 'done')}`);
    console.log(`  background before the deploy (CPU s per s): simulators ${idle.sim.toFixed(2)}, helper ${idle.helper.toFixed(2)}, app ${idle.main.toFixed(2)}`);
    for (const [op, o] of [...ops].sort((a, b) => b[1].ms - a[1].ms)) console.log(`  helper ${op}: ${o.n} calls, ${(o.ms / 1000).toFixed(2)} s total, avg ${(o.ms / o.n).toFixed(0)} ms, max ${o.max.toFixed(0)} ms`);
    console.log(`  CPU during deploy: simulators ${cpu.sim.toFixed(2)} s, helper ${cpu.helper.toFixed(2)} s, app ${cpu.main.toFixed(2)} s (wall ${deployS.toFixed(2)} s × 2 cores = ${(deployS * 2).toFixed(2)} core-s)`);
    const result = await call<{ targets: { outcome: string; message: string }[] }>('deploy.get', { deployId });
    const verified = result.targets.filter((t) => t.outcome === 'verified').length;
    console.log(`deploy: ${deployS.toFixed(2)} s, ${verified}/${ids.length} verified`);
    if (verified !== ids.length) console.log(result.targets.filter((t) => t.outcome !== 'verified').map((t) => t.message).slice(0, 5));
    const peakRss = process.resourceUsage().maxRSS / 1024 + vmHwmMb(helper.pid);
    // Time until the swarm accepted the new version, per camera, from the deploy's start.
    const acceptS = cams
      .map((c) => swarm.acceptanceOf(c.serial))
      .filter((a) => a.version === '1.4.0' && a.firstAcceptedAt !== undefined)
      .map((a) => (a.firstAcceptedAt! - d0Wall) / 1000)
      .sort((a, b) => a - b);
    const pct = (q: number): number => (acceptS.length ? Math.round(acceptS[Math.min(acceptS.length - 1, Math.floor(q * acceptS.length))]! * 1000) / 1000 : NaN);
    const desktopCpu = cpu.helper + cpu.main;
    const desktopIdle = (idle.helper + idle.main) * deployS;
    const installTotalS = cams.reduce((a, c) => a + c.installMs, 0) / 1000;

    const out = {
      cameras: ids.length,
      eap_bytes: eap.data.length,
      build_s: Math.round(buildS * 1000) / 1000,
      deploy_s: Math.round(deployS * 1000) / 1000,
      sequential_s: Math.round(sequentialS * 1000) / 1000,
      ratio: Math.round((deployS / sequentialS) * 1000) / 1000,
      desktop_cpu_s_per_camera: Math.round((desktopCpu / ids.length) * 1000) / 1000,
      desktop_cpu_s_per_camera_above_idle: Math.round((Math.max(0, desktopCpu - desktopIdle) / ids.length) * 1000) / 1000,
      swarm_accept_s: { median: pct(0.5), p95: pct(0.95), max: acceptS.length ? Math.round(acceptS.at(-1)! * 1000) / 1000 : NaN, cameras: acceptS.length },
      install_ms_per_camera: { mean: Math.round((installTotalS * 1000) / cams.length), min: Math.min(...cams.map((c) => c.installMs)), max: Math.max(...cams.map((c) => c.installMs)), source: INSTALL_SOURCE },
      peak_rss_mb: Math.round(peakRss),
      verified,
      concurrency: CONCURRENCY,
      canary: CANARY,
      load: fs.readFileSync('/proc/loadavg', 'utf8').trim(),
      notes:
        `The fleet ran as ${SIM_PROCS} simulator processes (node + tsx, ${groups.join('/')} cameras each, loopback HTTP on ephemeral ports, installs written under ${process.env.BENCH_SIM_DIR ?? (fs.existsSync('/dev/shm') ? '/dev/shm (tmpfs)' : os.tmpdir())}), started before timing; the sequential curl loop and the app deploy talk to the same ${ids.length} cameras. ` +
        `CPU during the deploy: simulators ${cpu.sim.toFixed(2)} s, helper ${cpu.helper.toFixed(2)} s, app ${cpu.main.toFixed(2)} s = ${(cpu.sim + cpu.helper + cpu.main).toFixed(2)} CPU-s, so on ${os.cpus().length} cores deploy_s cannot go below ${((cpu.sim + cpu.helper + cpu.main) / os.cpus().length).toFixed(2)} s (ratio ${((cpu.sim + cpu.helper + cpu.main) / os.cpus().length / sequentialS).toFixed(2)}); the sequential loop used ${seqSimCpu.toFixed(2)} simulator CPU-s plus curl. ` +
        'Simulated cameras run the built-in agent path (apps: "agent"): 50 programs under qemu-aarch64-static would saturate 2 cores. Each camera\'s install takes its own time (install_ms_per_camera, held at the camera\'s proxy) for both methods, so the sequential loop pays it once per camera and the app pays it concurrently. deploy_s includes preflight bookkeeping, upload, start and verification (list.cgi Running, identity.cgi over the pinned HTTPS certificate, and the swarm coordinator accepting signed reports from 1.4.0 under the enrolled key and a fresh epoch; swarm_accept_s is when that happened per camera, from the deploy\'s start); sequential_s is curl --digest upload + control.cgi restart per camera with no verification. desktop_cpu_s_per_camera = (app + helper CPU during the deploy) / cameras; _above_idle subtracts what the app used before the deploy for the same time (ingesting the fleet\'s reports). build_s = incremental make of native/ + packaging the 5 MB padded .eap. peak_rss_mb = this process (app services) + the forked helper.',
    };
    fs.mkdirSync(path.join(root, 'bench-results'), { recursive: true });
    fs.writeFileSync(path.join(root, 'bench-results/deploy.json'), `${JSON.stringify(out, null, 2)}\n`);
    console.log(JSON.stringify(out, null, 2));
    await deploy.close();
    await fleet.close();
    helper.close();
    await mqtt.close();
    swarm.close();
    db.close();
  } finally {
    for (const sim of sims) sim.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--sim') void simChild(Number(process.argv[3]), Number(process.argv[4] ?? 21), Number(process.argv[5] ?? 0));
else
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
