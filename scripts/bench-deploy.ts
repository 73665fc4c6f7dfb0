// npm run bench:deploy — a ~5 MB .eap (the real native build padded with 5 MB of incompressible
// data under lib/) deployed to 50 simulated cameras with verification (list.cgi Running with the
// new version AND a heartbeat reporting it), against Axis's documented method in the same run: a
// sequential loop of `curl --digest` upload + start per camera. Writes bench-results/deploy.json.
//
// The simulated fleet runs in a child process (so peak_rss_mb is the app's alone: this process
// with the fleet, MQTT and deploy services, plus the forked helper). The cameras use the built-in
// agent path: 50 programs under qemu on 2 cores would measure the emulator, not the deploy.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

const root = path.resolve(__dirname, '..');
const CAMERAS = Number(process.env.BENCH_CAMERAS ?? 50);
const PAD_BYTES = 5 * 1024 * 1024;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

// ---- child mode: the simulated fleet ----
async function simChild(n: number): Promise<void> {
  const { startSimulatedFleet } = await import('../main/camsim');
  const fleet = await startSimulatedFleet({ cameras: n, seed: 21, apps: 'agent' });
  for (const c of fleet.cameras) process.stdout.write(`${JSON.stringify({ url: c.url, username: c.username, password: c.password })}\n`);
  process.stdout.write('ready\n');
  const stop = (): void => void fleet.stop().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
}

/** Deterministic incompressible bytes (SHA-256 in counter mode), so every run pads the same. */
function pad(bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  for (let off = 0, i = 0; off < bytes; i++, off += 32) createHash('sha256').update(`omnisight-bench-${i}`).digest().copy(out, off);
  return out;
}

const curl = (args: string[]): Promise<string> =>
  new Promise((resolve, reject) => execFile('curl', ['-s', '--max-time', '60', ...args], { maxBuffer: 1 << 20 }, (err, out) => (err ? reject(err) : resolve(out))));

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
  const { createEventBus } = await import('../main/core/bus');
  const { createDispatcher } = await import('../main/core/dispatcher');
  const { silentLogger } = await import('../main/core/logger');
  const { createFileKeySecretStore } = await import('../main/core/secret-store-file');
  const { createMqttService } = await import('../main/mqtt');
  const { createSettingsService } = await import('../main/settings');
  const { openDatabase } = await import('../main/store');
  const { createDeployService } = await import('../main/fleet/deploy');
  const { createFleetService } = await import('../main/fleet');
  const { createHelperSupervisor, forkHelperFromSource } = await import('../main/fleet/supervisor');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-deploy-'));
  const log = silentLogger();
  let sim: ChildProcess | undefined;
  try {
    // ---- build: make (incremental, as in a dev loop) + the padded package ----
    const nativeDir = path.join(root, 'native');
    const t0 = performance.now();
    const built = await buildNativeApp({ nativeDir, outDir: path.join(dir, 'dist'), version: '1.4.0' });
    const manifest = JSON.parse(fs.readFileSync(path.join(nativeDir, 'manifest.json'), 'utf8')) as { acapPackageConf: { setup: Record<string, unknown> } };
    manifest.acapPackageConf.setup.version = '1.4.0';
    const exe = fs.readFileSync(built.executable);
    const eap = await buildEap({ manifest, executable: exe, license: fs.readFileSync(path.join(nativeDir, 'LICENSE')), extraFiles: [{ name: 'lib/pad.bin', data: pad(PAD_BYTES) }] });
    const eapPath = path.join(dir, eap.fileName);
    fs.writeFileSync(eapPath, eap.data);
    const buildS = (performance.now() - t0) / 1000;
    console.log(`build: ${eap.fileName} ${eap.data.length} bytes in ${buildS.toFixed(2)} s`);

    // ---- the simulated fleet, in its own process ----
    sim = spawn(process.execPath, ['--import', 'tsx', __filename, '--sim', String(CAMERAS)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    const cams: { url: string; username: string; password: string }[] = [];
    await new Promise<void>((resolve, reject) => {
      const rl = readline.createInterface({ input: sim!.stdout! });
      rl.on('line', (l) => (l === 'ready' ? resolve() : l.startsWith('{') && cams.push(JSON.parse(l) as (typeof cams)[number])));
      sim!.once('exit', (c) => reject(new Error(`the simulator exited (${c})`)));
    });
    // Our builds are unsigned: both methods get cameras that accept them.
    await Promise.all(cams.map((c) => curl(['--digest', '-u', `${c.username}:${c.password}`, `${c.url}/axis-cgi/applications/config.cgi?action=set&name=AllowUnsigned&value=true`])));

    // ---- Axis's documented method: sequential curl --digest upload + start ----
    const s0 = performance.now();
    for (const c of cams) {
      const up = await curl(['--digest', '-u', `${c.username}:${c.password}`, '-F', `file=@${eapPath}`, `${c.url}/axis-cgi/applications/upload.cgi`]);
      if (!/^OK/.test(up)) throw new Error(`curl upload to ${c.url}: ${up}`);
      const st = await curl(['--digest', '-u', `${c.username}:${c.password}`, `${c.url}/axis-cgi/applications/control.cgi?action=restart&package=omnisight`]);
      if (!/^OK/.test(st)) throw new Error(`curl start on ${c.url}: ${st}`);
    }
    const sequentialS = (performance.now() - s0) / 1000;
    console.log(`sequential curl: ${sequentialS.toFixed(2)} s`);

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
      entry: path.join(root, 'main/helper/index.ts'),
      log,
      requestTimeoutMs: 60_000,
      onEvent: (e) => ref.fleet?.onHelperEvent(e),
      onProgress: (e) => progress.forEach((l) => l(e)),
    });
    await helper.whenReady();
    const mqtt = createMqttService({ config: () => ({ mode: 'embedded', url: '', username: '' }), secrets, log, onMessage: (m) => ref.fleet?.onCameraMessage(m), onBad: (b) => ref.fleet?.onBadMessage(b) });
    await mqtt.start();
    const fleet = createFleetService({ db, bus, log, audit, secrets, settings, helper, broker: () => mqtt.endpoint(), now: Date.now, noDemo: true });
    ref.fleet = fleet;
    const deploy = createDeployService({
      db, bus, log, audit, now: Date.now, dataDir: dir, helper, registry: fleet.registry,
      subscribeMessages: (l) => fleet.subscribeMessages(l),
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
    const ids: string[] = [];
    for (const c of cams) ids.push((await call<{ id: string }>('fleet.add', { address: new URL(c.url).host, username: c.username, password: c.password })).id);
    const build = await call<{ sha256: string }>('deploy.addBuild', { path: eapPath });
    // Let every camera's MQTT client connect (configured by fleet.add) before timing.
    const end = Date.now() + 20_000;
    while (ids.some((id) => fleet.status(id)?.lastHeartbeat === null) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));

    const d0 = performance.now();
    const { deployId } = await call<{ deployId: string }>('deploy.start', { buildSha: build.sha256, cameraIds: ids, concurrency: CONCURRENCY });
    await deploy.idle();
    const deployS = (performance.now() - d0) / 1000;
    const result = await call<{ targets: { outcome: string; message: string }[] }>('deploy.get', { deployId });
    const verified = result.targets.filter((t) => t.outcome === 'verified').length;
    console.log(`deploy: ${deployS.toFixed(2)} s, ${verified}/${ids.length} verified`);
    if (verified !== ids.length) console.log(result.targets.filter((t) => t.outcome !== 'verified').map((t) => t.message).slice(0, 5));
    const peakRss = process.resourceUsage().maxRSS / 1024 + vmHwmMb(helper.pid);

    const out = {
      cameras: ids.length,
      eap_bytes: eap.data.length,
      build_s: Math.round(buildS * 1000) / 1000,
      deploy_s: Math.round(deployS * 1000) / 1000,
      sequential_s: Math.round(sequentialS * 1000) / 1000,
      ratio: Math.round((deployS / sequentialS) * 1000) / 1000,
      peak_rss_mb: Math.round(peakRss),
      verified,
      concurrency: CONCURRENCY,
      load: fs.readFileSync('/proc/loadavg', 'utf8').trim(),
      notes:
        'Simulated cameras run the built-in agent path (apps: "agent"): 50 programs under qemu-aarch64-static would saturate 2 cores. deploy_s includes preflight bookkeeping, upload, start and verification (list.cgi Running with the new version and a heartbeat reporting it over MQTT); sequential_s is curl --digest upload + control.cgi restart per camera with no verification. build_s = incremental make of native/ + packaging the 5 MB padded .eap. peak_rss_mb = this process (app services) + the forked helper.',
    };
    fs.mkdirSync(path.join(root, 'bench-results'), { recursive: true });
    fs.writeFileSync(path.join(root, 'bench-results/deploy.json'), `${JSON.stringify(out, null, 2)}\n`);
    console.log(JSON.stringify(out, null, 2));
    await deploy.close();
    await fleet.close();
    helper.close();
    await mqtt.close();
    db.close();
  } finally {
    sim?.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--sim') void simChild(Number(process.argv[3]));
else
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
