// npm run bench:camera-add — adds simulated cameras one after another to a running app, as a person
// does with the Add camera dialog (certificate shown, then added with its fingerprint), and measures
// each add: the certificate call, fleet.add, until the camera is online in fleet.status, and until
// its first frame is painted. By default the Cameras view (16 per page, 1440×900) is open in
// Chromium and the new tile's first painted frame is timed: the user's own measure, with the page's
// work competing for the same cores (this is where the time per camera grew: every camera's status
// re-rendered every tile). BENCH_BROWSER=0 leaves the browser out: the bench's own socket watches
// every camera instead (BENCH_WATCH=WxH, default 320x180, the 16-grid size; "none": nothing) and
// times the new camera's first frame on it. The app
// runs its demo fleet as a user's does (BENCH_DEMO_CAMERAS, default 8); the extra cameras come
// from `npm run camsim` in its own process (BENCH_ADD_CAMERAS, default 8), as in the report "adding
// the 8th extra camera took 13.6 s (the first 3 s)". The figure that matters is the slope: the time
// per added camera should stay flat. Writes bench-results/camera-add.json.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { chromium, type Browser, type Page } from 'playwright-core';
import { contractClient } from './lib/contract-client';
import { ensureBuilt } from './lib/build.mjs';

const root = path.resolve(__dirname, '..');
const ADD = Number(process.env.BENCH_ADD_CAMERAS ?? 8);
const DEMO = Number(process.env.BENCH_DEMO_CAMERAS ?? 8);
const ONLINE_TIMEOUT_MS = 60_000;
const WATCH = process.env.BENCH_WATCH === 'none' ? null : (/^(\d+)x(\d+)$/.exec(process.env.BENCH_WATCH ?? '320x180') ?? undefined);
if (WATCH === undefined) throw new Error('BENCH_WATCH must be WIDTHxHEIGHT or none');
const BROWSER = process.env.BENCH_BROWSER !== '0';

const r0 = (v: number): number => Math.round(v);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Least-squares slope of y over x (ms per added camera). */
const slope = (ys: number[]): number => {
  const n = ys.length;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  });
  return den ? num / den : 0;
};

function lines(proc: ChildProcess, stream: 'stdout' | 'stderr', on: (l: string) => void): void {
  readline.createInterface({ input: proc[stream]! }).on('line', on);
}

async function startServe(dataDir: string): Promise<{ proc: ChildProcess; url: string; origin: string; token: string }> {
  const args = [path.join(root, 'out/main/serve.js'), '--port', '0', '--data-dir', dataDir, ...(DEMO === 0 ? ['--no-demo'] : [])];
  const proc = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, OMNISIGHT_LOG_LEVEL: 'warn', ...(DEMO > 0 ? { OMNISIGHT_DEMO_CAMERAS: String(DEMO) } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const err: string[] = [];
  lines(proc, 'stderr', (l) => err.push(l));
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`serve did not start:\n${err.join('\n')}`)), 60_000);
    lines(proc, 'stdout', (l) => {
      if (l.startsWith('OMNISIGHT_URL=')) {
        clearTimeout(t);
        resolve(l.slice('OMNISIGHT_URL='.length));
      }
    });
    proc.once('exit', (c) => reject(new Error(`serve exited with ${c}:\n${err.join('\n')}`)));
  });
  const u = new URL(url);
  return { proc, url, origin: u.origin, token: new URLSearchParams(u.hash.slice(1)).get('token')! };
}

interface SimCam {
  url: string;
  httpsPort: number;
  username: string;
  password: string;
  serial: string;
}

async function startCamsim(n: number): Promise<{ proc: ChildProcess; cams: SimCam[] }> {
  const proc = spawn(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'scripts/camsim.ts', '--cameras', String(n), '--seed', '4242'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const err: string[] = [];
  lines(proc, 'stderr', (l) => err.push(l));
  const cams: SimCam[] = [];
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`camsim did not start ${n} cameras:\n${err.join('\n')}`)), 120_000);
    lines(proc, 'stdout', (l) => {
      if (!l.startsWith('{')) return;
      cams.push(JSON.parse(l) as SimCam);
      if (cams.length === n) {
        clearTimeout(t);
        resolve();
      }
    });
    proc.once('exit', (c) => reject(new Error(`camsim exited with ${c}:\n${err.join('\n')}`)));
  });
  return { proc, cams };
}


async function main(): Promise<void> {
  await ensureBuilt();
  const load0 = fs.readFileSync('/proc/loadavg', 'utf8').trim();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'omnisight-bench-add-'));
  const [app, sim] = await Promise.all([startServe(dataDir), startCamsim(ADD)]);
  let browser: Browser | undefined;
  let page: Page | undefined;
  const rows: { certificate_ms: number; add_ms: number; online_ms: number; first_frame_ms: number | null; total_ms: number; key_enrolled: boolean }[] = [];
  try {
    const client = await contractClient(app.origin, app.token);
    type Status = { statuses: { cameraId: string; state: string }[] };
    // The demo fleet first comes up, as it has when a user starts adding cameras.
    if (DEMO > 0) {
      const until = Date.now() + 120_000;
      while ((await client.call<Status>('fleet.status', {})).statuses.filter((s) => s.state === 'online').length < DEMO) {
        if (Date.now() > until) throw new Error(`the ${DEMO} demo cameras did not come online within 120 s`);
        await sleep(250);
      }
    }
    // Frames per channel (byte 1 = 1: a JPEG; channel at bytes 2–3), as the renderer reads them.
    const firstFrame = new Map<number, number>();
    client.onBinary((b) => {
      if (b[0] !== 1 || b[1] !== 1) return;
      const ch = b.readUInt16BE(2);
      if (!firstFrame.has(ch)) firstFrame.set(ch, performance.now());
    });
    const watch = async (ids: string[]): Promise<number[]> =>
      WATCH ? (await client.call<{ channels: { channel: number }[] }>('fleet.watch', { cameraIds: ids, width: Number(WATCH[1]), height: Number(WATCH[2]), fps: 10 })).channels.map((c) => c.channel) : [];
    const demoIds = (await client.call<{ statuses: { cameraId: string }[] }>('fleet.status', {})).statuses.map((x) => x.cameraId);
    if (BROWSER) {
      browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-dev-shm-usage'] });
      page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      await page.goto(app.url);
      await page.evaluate(`localStorage.setItem('omnisight.cameras', JSON.stringify({ layout: 16, page: 0, focus: null, quality: 'auto' })); localStorage.setItem('omnisight.view', 'cameras')`);
      await page.reload();
    } else if (demoIds.length) await watch(demoIds);
    type TileStat = { cameraId: string; painted: number; received: number; channel?: number };
    const tileOf = async (id: string): Promise<TileStat | undefined> =>
      ((await page!.evaluate('window.__omnisightFeeds ? window.__omnisightFeeds.stats() : []')) as TileStat[]).find((x) => x.cameraId === id);
    for (const [i, cam] of sim.cams.entries()) {
      const address = new URL(cam.url).host;
      const t0 = performance.now();
      const cert = await client.call<{ fingerprint: string }>('fleet.certificate', { address, httpsPort: cam.httpsPort });
      const t1 = performance.now();
      const added = await client.call<{ id: string; publicKey: string | null }>('fleet.add', {
        address,
        username: cam.username,
        password: cam.password,
        name: `Extra ${i + 1}`,
        httpsPort: cam.httpsPort,
        fingerprint: cert.fingerprint,
      });
      const t2 = performance.now();
      for (;;) {
        const s = await client.call<Status>('fleet.status', {});
        if (s.statuses.find((x) => x.cameraId === added.id)?.state === 'online') break;
        if (performance.now() - t2 > ONLINE_TIMEOUT_MS) throw new Error(`Extra ${i + 1} was not online ${ONLINE_TIMEOUT_MS} ms after it was added`);
        await sleep(50);
      }
      const t3 = performance.now();
      // The tile asks for its feed once the camera is listed; its first picture is when the user sees it.
      let t4: number | null = null;
      // In the page: when the tile got its channel (fleet.watch answered), its first frame arrived, it painted.
      let split: { channel_ms: number | null; received_ms: number | null } | undefined;
      if (BROWSER) {
        split = { channel_ms: null, received_ms: null };
        for (;;) {
          const t = await tileOf(added.id);
          const at = r0(performance.now() - t3);
          if (t?.channel !== undefined) split.channel_ms ??= at;
          if (t && t.received > 0) split.received_ms ??= at;
          if (t && t.painted > 0) break;
          if (performance.now() - t3 > ONLINE_TIMEOUT_MS) throw new Error(`Extra ${i + 1}: its tile painted nothing ${ONLINE_TIMEOUT_MS} ms after it was online`);
          await sleep(20);
        }
        t4 = performance.now();
      } else if (WATCH) {
        const [ch] = await watch([added.id]);
        while (!firstFrame.has(ch!)) {
          if (performance.now() - t3 > ONLINE_TIMEOUT_MS) throw new Error(`Extra ${i + 1}: no frame ${ONLINE_TIMEOUT_MS} ms after watching it`);
          await sleep(20);
        }
        t4 = firstFrame.get(ch!)!;
      }
      const row = {
        certificate_ms: r0(t1 - t0),
        add_ms: r0(t2 - t1),
        online_ms: r0(t3 - t2),
        first_frame_ms: t4 === null ? null : r0(t4 - t3),
        ...(split ? { tile_channel_ms: split.channel_ms, tile_received_ms: split.received_ms } : {}),
        total_ms: r0((t4 ?? t3) - t0),
        key_enrolled: !!added.publicKey,
      };
      rows.push(row);
      process.stderr.write(`camera ${i + 1}: ${JSON.stringify(row)}\n`);
    }
    client.close();
  } finally {
    await browser?.close();
    app.proc.kill('SIGTERM');
    sim.proc.kill('SIGTERM');
    await Promise.all([app.proc, sim.proc].map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  const totals = rows.map((r) => r.total_ms);
  const result = {
    demo_cameras: DEMO,
    watched: BROWSER ? 'Cameras view in Chromium, 16 per page' : WATCH ? WATCH[0] : 'none',
    added_cameras: ADD,
    per_camera: rows,
    first_total_ms: totals[0],
    last_total_ms: totals[totals.length - 1],
    median_total_ms: [...totals].sort((a, b) => a - b)[Math.floor(totals.length / 2)],
    // Flat means this stays near 0: how much longer each further camera takes to add, ms.
    slope_ms_per_camera: r0(slope(totals)),
    loadavg_before: load0,
    loadavg_after: fs.readFileSync('/proc/loadavg', 'utf8').trim(),
  };
  fs.mkdirSync(path.join(root, 'bench-results'), { recursive: true });
  fs.writeFileSync(path.join(root, 'bench-results/camera-add.json'), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench-camera-add failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
