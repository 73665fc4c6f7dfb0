// npm run bench:feeds — 16 simulated cameras at 640×360, 10 fps, shown in browser mode in Chromium
// for 30 s; then the same 16 feeds as plain <img src=…mjpg> tags (the naive peer) in the same run,
// one origin per camera (as real cameras are, the default) and, as a second line, all through one
// origin; then the second case, 16 cameras at 1280×720 ("Full" feed quality); then "demo", the app's own
// 16 demo cameras with their detections (own_boxes_share, detection_lag_*). Writes
// bench-results/feeds.json.
//
// Knobs: BENCH_SECONDS (app, per case), BENCH_NAIVE_SECONDS, BENCH_CASES (e.g. "640x360" for the
// first case only), BENCH_NAIVE_ORIGINS=per-camera|shared|both|none (default both),
// BENCH_SIM_PROCS (simulator processes, default 2), BENCH_PROFILE=<dir> (page CPU profile),
// BENCH_DETLAG=1 (demo case: where each report's detection lag goes inside the app, stage by stage,
// from the app's OMNISIGHT_DETLAG_TRACE file: detlag_stages_ms), BENCH_SIM_PROFILE=<dir> (simulator processes' CPU profiles), BENCH_TRACE=<dir> (a 5 s Chromium trace),
// BENCH_APP_PROFILE=<dir> (the app's serve process CPU profile), BENCH_APP_OUT=<dir with main/serve.js> to
// measure another build (before/after on the same load).
//
// Three parties, three CPU lines: the simulated cameras run in BENCH_SIM_PROCS child processes of
// this script (`--sim` mode below, as bench:deploy does; their rendering and JPEG encoding must
// not stall the process that keeps the measuring window); the app is the serve process plus its
// helper; Chromium is the browser's process tree. All from /proc/<pid>/stat and /proc/<pid>/status.
// Each window is timed by the wall clock and reported with its real length (window_s): a loaded
// machine shows up there instead of silently stretching the figures.
// Before each case the machine is given up to 30 s to settle (scripts/lib/settle.mjs); what it
// found is the case's machine_before (a busy share near 100 % means the figures are the load's).
// Latency is capture timestamp (the camera's clock, in the frame) → paint (the page records
// performance.timeOrigin + performance.now() when it draws a frame): one machine, one clock.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { chromium, type Browser } from 'playwright-core';
import { DigestSession } from '../main/helper/digest';
import { contractClient } from './lib/contract-client';
import { ensureBuilt } from './lib/build.mjs';
import { waitForQuiet } from './lib/settle.mjs';

const root = path.resolve(__dirname, '..');
const CAMERAS = 16;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const NAIVE_SECONDS = Number(process.env.BENCH_NAIVE_SECONDS ?? 20);
const FPS = 10;
// "demo": the app's own 16-camera demo fleet at 640×360 (its cameras run inside the app), the one
// path that carries detections to the page (MQTT → swarm verification → frames socket): the case
// for the share of frames painted with their own boxes. The cameras added by hand send none.
const CASES = (process.env.BENCH_CASES ?? '640x360,1280x720,demo').split(',').map((c) => {
  // "demo-nohold": the same with the page's playout buffer off (before/after in one run).
  if (c.trim() === 'demo' || c.trim() === 'demo-nohold') return { width: 640, height: 360, demo: true, hold: c.trim() === 'demo' };
  const m = /^(\d+)x(\d+)$/.exec(c.trim());
  if (!m) throw new Error(`BENCH_CASES: "${c}" is not WIDTHxHEIGHT or demo`);
  return { width: Number(m[1]), height: Number(m[2]), demo: false, hold: true };
});
const NAIVE_ORIGINS = process.env.BENCH_NAIVE_ORIGINS ?? 'both';
const SIM_PROCS = Math.max(1, Math.min(CAMERAS, Number(process.env.BENCH_SIM_PROCS ?? 2)));
/** Targets per size (issue 17): 640×360 every tile ≥ 9.5 fps painted with p95 < 150 ms; 1280×720 ≥ 9 fps. */
const TARGETS: Record<string, { painted_fps_min: number; latency_p95_ms?: number }> = {
  '640x360': { painted_fps_min: 9.5, latency_p95_ms: 150 },
  '1280x720': { painted_fps_min: 9 },
};
const APP_OUT = path.resolve(process.env.BENCH_APP_OUT ?? path.join(root, 'out'));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const r1 = (v: number): number => Math.round(v * 10) / 10;
const pct = (xs: number[], p: number): number => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const median = (xs: number[]): number => pct(xs, 50);

// ---- /proc accounting ----
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();
const cpuTicks = (pid: number): number => {
  // Fields after the "(comm)" part: state is 3rd; utime, stime are 14th and 15th.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
};
const rssMb = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
};
const childrenOf = (pid: number): number[] =>
  fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
/** pid and every process below it (Chromium's renderer and GPU processes, the app's helper). */
const treeOf = (pid: number): number[] => [pid, ...childrenOf(pid).flatMap(treeOf)];
/** CPU seconds of a set of processes; one that has exited counts 0 from then on (the caller diffs). */
const cpuSeconds = (pids: number[]): number =>
  pids.reduce((s, p) => {
    try {
      return s + cpuTicks(p) / CLK_TCK;
    } catch {
      return s;
    }
  }, 0);

// ---- child mode: a group of simulated cameras in its own process ----
async function simChild(n: number, seed: number, width: number, height: number): Promise<void> {
  const { startSimulatedFleet } = await import('../main/camsim');
  const fleet = await startSimulatedFleet({ cameras: n, seed, frameWidth: width, frameHeight: height, apps: 'agent' });
  for (const c of fleet.cameras) process.stdout.write(`${JSON.stringify({ url: c.url, username: c.username, password: c.password, serial: c.serial })}\n`);
  process.stdout.write('ready\n');
  const stop = (): void => void fleet.stop().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
}

interface SimCam {
  url: string;
  username: string;
  password: string;
  serial: string;
}
interface Fleet {
  cameras: SimCam[];
  /** The simulator processes' pids (their CPU is reported apart from the app's). */
  pids: number[];
  stop(): Promise<void>;
}

/** CAMERAS simulated cameras split over SIM_PROCS child processes; resolves when all serve. */
async function startSimProcesses(width: number, height: number): Promise<Fleet> {
  const groups = Array.from({ length: SIM_PROCS }, (_, g) => Math.floor(CAMERAS / SIM_PROCS) + (g < CAMERAS % SIM_PROCS ? 1 : 0));
  const procs: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((r) => {
            if (p.exitCode !== null || p.signalCode !== null) return r();
            p.once('exit', () => r());
            p.kill('SIGTERM');
          }),
      ),
    );
  };
  try {
    const perGroup = await Promise.all(
      groups.map(
        (n, g) =>
          new Promise<SimCam[]>((resolve, reject) => {
            // BENCH_SIM_PROFILE=<dir>: a V8 CPU profile of each simulator process, written when it stops.
            const prof = process.env.BENCH_SIM_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(process.env.BENCH_SIM_PROFILE)] : [];
            const sim = spawn(process.execPath, [...prof, '--import', 'tsx', __filename, '--sim', String(n), String(11 + g), String(width), String(height)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
            procs.push(sim);
            const got: SimCam[] = [];
            readline.createInterface({ input: sim.stdout! }).on('line', (l) => (l === 'ready' ? resolve(got) : l.startsWith('{') && got.push(JSON.parse(l) as SimCam)));
            sim.once('exit', (c) => reject(new Error(`simulator process ${g} exited (${c}) before it was ready`)));
            setTimeout(() => reject(new Error(`simulator process ${g} not ready within 60 s`)), 60_000).unref();
          }),
      ),
    );
    const cameras = perGroup.flat();
    // Different seeds per process; a serial collision would make the app refuse the second camera.
    if (new Set(cameras.map((c) => c.serial)).size !== cameras.length) throw new Error('two simulator processes drew the same camera serial; change the seeds');
    return { cameras, pids: procs.map((p) => p.pid!), stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

// ---- the app ----
const DETLAG = process.env.BENCH_DETLAG === '1';
/**
 * BENCH_DETLAG=1: the app's trace (main/app/detlag-trace.ts, one line per committed report) over the
 * window, as p50/p95 per stage (ms). The demo cameras share the app's clock, so camera-side stages
 * (capture → sent) are comparable with the app's. null when the app wrote no trace (an older build).
 */
function detlagStages(dataDir: string, from: number, to: number): { reports: number; stages: Record<string, { p50: number; p95: number }> } | null {
  const file = path.join(dataDir, 'detlag-trace.jsonl');
  if (!fs.existsSync(file)) return null;
  const rows = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { capture: number; sent: number; received: number; shown?: number; committed: number })
    .filter((r) => r.received >= from && r.received <= to);
  if (!rows.length) return null;
  const stage = (f: (r: (typeof rows)[number]) => number | undefined) => {
    const v = rows.map(f).filter((x): x is number => x !== undefined);
    return v.length ? { p50: r1(pct(v, 50)), p95: r1(pct(v, 95)) } : { p50: NaN, p95: NaN };
  };
  return {
    reports: rows.length,
    stages: {
    capture_to_sent: stage((r) => r.sent - r.capture),
    sent_to_received: stage((r) => r.received - r.sent),
    received_to_shown: stage((r) => (r.shown === undefined ? undefined : r.shown - r.received)),
    shown_to_committed: stage((r) => (r.shown === undefined ? undefined : r.committed - r.shown)),
    received_to_committed: stage((r) => r.committed - r.received),
    capture_to_tile: stage((r) => (r.shown ?? r.committed) - r.capture),
    },
  };
}

async function startServe(dataDir: string, demo = false): Promise<{ proc: ChildProcess; url: string; origin: string; token: string }> {
  // BENCH_APP_PROFILE=<dir>: a V8 CPU profile of the app's serve process, written when it stops.
  const prof = process.env.BENCH_APP_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(process.env.BENCH_APP_PROFILE)] : [];
  const proc = spawn(process.execPath, [...prof, path.join(APP_OUT, 'main/serve.js'), '--port', '0', '--data-dir', dataDir, ...(demo ? [] : ['--no-demo'])], {
    cwd: root,
    env: { ...process.env, OMNISIGHT_LOG_LEVEL: 'warn', ...(demo ? { OMNISIGHT_DEMO_CAMERAS: String(CAMERAS) } : {}), ...(DETLAG ? { OMNISIGHT_DETLAG_TRACE: '1' } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  readline.createInterface({ input: proc.stderr! }).on('line', (l) => stderr.push(l));
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`serve did not start:\n${stderr.join('\n')}`)), 30_000);
    readline.createInterface({ input: proc.stdout! }).on('line', (l) => {
      if (l.startsWith('OMNISIGHT_URL=')) {
        clearTimeout(t);
        resolve(l.slice('OMNISIGHT_URL='.length));
      }
    });
    proc.once('exit', (c) => reject(new Error(`serve exited with ${c}:\n${stderr.join('\n')}`)));
  });
  const u = new URL(url);
  return { proc, url, origin: u.origin, token: new URLSearchParams(u.hash.slice(1)).get('token')! };
}


async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

// ---- the naive peer: <img> tags through a local proxy that adds Digest ----
// Per camera (the fair default): each camera its own port = its own origin, as real cameras are
// when <img> points at each directly. Shared: all 16 feeds through ONE origin, as a page showing
// cameras through its own server would (Chromium then opens only 6 connections to it).
async function naiveProxy(cams: { host: string; port: number; username: string; password: string }[], perCamera: boolean, width: number, height: number): Promise<{ url: string; close(): void }> {
  const servers: http.Server[] = [];
  const listen = (handler: http.RequestListener): Promise<number> =>
    new Promise((r) => {
      const srv = http.createServer(handler);
      servers.push(srv);
      srv.listen(0, '127.0.0.1', () => r((srv.address() as AddressInfo).port));
    });
  const proxy = (cam: (typeof cams)[number], res: http.ServerResponse): void => {
    new DigestSession(cam)
      .open({ path: `/axis-cgi/mjpg/video.cgi?resolution=${width}x${height}&fps=${FPS}&compression=30`, timeoutMs: 10_000 })
      .then((up) => {
        res.writeHead(up.statusCode ?? 502, { 'Content-Type': up.headers['content-type'] ?? 'application/octet-stream', 'Cache-Control': 'no-cache', 'Access-Control-Allow-Origin': '*' });
        up.pipe(res);
        res.on('close', () => up.destroy());
      })
      .catch((err: Error) => res.writeHead(502).end(err.message));
  };
  let srcs: string[];
  if (perCamera) {
    const ports = await Promise.all(cams.map((cam) => listen((_req, res) => proxy(cam, res))));
    srcs = ports.map((p) => `http://127.0.0.1:${p}/`);
  } else srcs = cams.map((_, i) => `/cam/${i}`);
  // crossorigin="anonymous" keeps the canvas readable when the feeds come from other origins.
  const page = `<!doctype html><meta charset="utf-8"><title>naive</title><style>body{margin:0;display:grid;grid-template-columns:repeat(4,1fr);gap:4px;background:#000}img{width:100%;aspect-ratio:16/9}</style>${srcs
    .map((src, i) => `<img id="c${i}" crossorigin="anonymous" src="${src}">`)
    .join('')}`;
  const port = await listen((req, res) => {
    if (req.url === '/') return void res.writeHead(200, { 'Content-Type': 'text/html' }).end(page);
    const m = /^\/cam\/(\d+)$/.exec(req.url ?? '');
    const cam = m && cams[Number(m[1])];
    if (!cam) return void res.writeHead(404).end();
    proxy(cam, res);
  });
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => {
      for (const srv of servers) {
        srv.closeAllConnections();
        srv.close();
      }
    },
  };
}

// Runs in the page: draws each <img> to a small canvas every animation frame and counts the
// frames whose pixels changed (an MJPEG <img> fires no per-frame event).
const NAIVE_COUNTER = `(() => {
  const imgs = [...document.querySelectorAll('img')];
  const c = document.createElement('canvas'); c.width = 96; c.height = 54;
  const ctx = c.getContext('2d', { willReadFrequently: true });
  const last = imgs.map(() => 0); const counts = imgs.map(() => 0);
  const hash = () => { const d = ctx.getImageData(0, 0, 96, 54).data; let h = 2166136261; for (let i = 0; i < d.length; i += 7) { h ^= d[i]; h = Math.imul(h, 16777619); } return h >>> 0; };
  const loop = () => { imgs.forEach((im, i) => { if (!im.naturalWidth) return; ctx.drawImage(im, 0, 0, 96, 54); const h = hash(); if (h !== last[i]) { last[i] = h; counts[i]++; } }); requestAnimationFrame(loop); };
  requestAnimationFrame(loop);
  window.__naive = { reset: () => counts.fill(0), counts: () => [...counts] };
})()`;

/** Chromium's process tree: this script's children that are neither simulators nor the app. */
const chromiumPids = (fleet: Fleet, appPid?: number): number[] =>
  childrenOf(process.pid)
    .filter((p) => !fleet.pids.includes(p) && p !== appPid)
    .flatMap(treeOf);

/** One case: 16 cameras at width×height in the app's Cameras view (16-grid), measured for SECONDS. */
async function appCase(browser: Browser, fleet: Fleet, width: number, height: number, demo = false, hold = true) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'omnisight-bench-feeds-'));
  const app = await startServe(dataDir, demo);
  try {
    const client = await contractClient(app.origin, app.token);
    for (const [i, c] of demo ? [] : fleet.cameras.entries()) {
      const u = new URL(c.url);
      await client.call('fleet.add', { address: u.host, username: c.username, password: c.password, name: `Bench ${String(i + 1).padStart(2, '0')}` });
    }

    // BENCH_DIAG=1: a second viewer in this process measures capture → main → socket latency
    // without Chromium (adds one more socket's worth of sending to the app's CPU).
    const arrival: number[] = [];
    if (process.env.BENCH_DIAG) {
      const cams = ((await client.call('fleet.list', {})) as { cameras: { id: string }[] }).cameras.map((c) => c.id);
      await client.call('fleet.watch', { cameraIds: cams, width: width, height: height, fps: FPS });
      client.onBinary((b) => b[1] === 1 && arrival.push(performance.timeOrigin + performance.now() - b.readDoubleBE(4)));
    }

    const quality = width >= 1280 ? 'full' : 'high';
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(app.url);
    await page.evaluate(`localStorage.setItem('omnisight.cameras', JSON.stringify({ layout: 16, page: 0, focus: null, quality: '${quality}' })); localStorage.setItem('omnisight.view', 'cameras')`);
    await page.reload();
    if (!hold) {
      await page.waitForFunction(() => !!(globalThis as unknown as { __omnisightFeeds?: unknown }).__omnisightFeeds);
      await page.evaluate('window.__omnisightFeeds.maxHoldMs = 0');
    }
    const stats = (): Promise<
      { cameraId: string; painted: number; received: number; latencies: number[]; size?: string; paintedWithDetections: number; paintedWithOwnBoxes: number; detectionLags: number[] }[]
    > =>
      page.evaluate('window.__omnisightFeeds ? window.__omnisightFeeds.stats() : []');
    const deadline = Date.now() + 60_000;
    while ((await stats()).filter((s) => s.painted >= 5 && s.size === `${width}x${height}@${FPS}`).length < CAMERAS) {
      if (Date.now() > deadline) throw new Error(`the 16 feeds at ${width}x${height} did not start painting within 60 s`);
      await sleep(250);
    }
    await sleep(2000); // warm-up
    const appPids = treeOf(app.proc.pid!);
    const browserPids = chromiumPids(fleet, app.proc.pid!);
    // BENCH_PROFILE=<dir>: a CPU profile of the page's main thread over the window (open in DevTools).
    const cdp = process.env.BENCH_PROFILE ? await page.context().newCDPSession(page) : undefined;
    if (cdp) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.start');
    }
    // BENCH_TRACE=<dir>: a Chromium trace of the first 5 s of the window (every thread: decode, raster, compositor).
    const tracing = process.env.BENCH_TRACE ? path.join(path.resolve(process.env.BENCH_TRACE), `trace-${width}x${height}.json`) : undefined;
    if (tracing) {
      fs.mkdirSync(path.dirname(tracing), { recursive: true });
      await browser.startTracing(page, { path: tracing, categories: ['toplevel', 'blink', 'cc', 'gpu', 'viz', 'media', 'disabled-by-default-devtools.timeline', 'v8'] });
    }
    await page.evaluate('window.__omnisightFeeds.resetStats()');
    const cpu0 = { app: cpuSeconds(appPids), cameras: cpuSeconds(fleet.pids), browser: cpuSeconds(browserPids) };
    const w0 = Date.now();
    if (tracing) {
      await sleep(Math.min(5, SECONDS) * 1000);
      await browser.stopTracing();
    }
    await sleep(Math.max(0, SECONDS * 1000 - (Date.now() - w0)));
    const s = await stats();
    if (cdp) {
      const { profile } = await cdp.send('Profiler.stop');
      fs.mkdirSync(process.env.BENCH_PROFILE!, { recursive: true });
      fs.writeFileSync(path.join(process.env.BENCH_PROFILE!, `page-${width}x${height}.cpuprofile`), JSON.stringify(profile));
    }
    // The window as the wall clock saw it: painted/received counts are divided by this, not by SECONDS.
    const elapsed = (Date.now() - w0) / 1000;
    const cpu = { app: cpuSeconds(appPids) - cpu0.app, cameras: cpuSeconds(fleet.pids) - cpu0.cameras, browser: cpuSeconds(browserPids) - cpu0.browser };
    const rss = appPids.reduce((sum, p) => sum + rssMb(p), 0);
    const fps = s.map((x) => x.painted / elapsed);
    // Where frames are lost: received by main (helper stream fps) vs sent, reached the page, painted.
    const received = ((await client.call('fleet.status', {})) as { statuses: { fps: number }[] }).statuses.map((x) => x.fps);
    client.close();
    const lat = s.flatMap((x) => x.latencies);
    // The tiles' canvas sizes: frames are decoded at the size the tile shows, not the stream's.
    const canvases = (await page.evaluate(`[...document.querySelectorAll('canvas')].filter((c) => c.width > 1).map((c) => c.width + 'x' + c.height)`)) as string[];
    await page.close();
    const target = TARGETS[`${width}x${height}`];
    // Boxes on their own frames: of the painted frames whose camera reported detections with
    // observations for that capture time, the share painted with those boxes (first paint or a
    // repaint while still shown); and how long after its frame a frame's detections reached the page.
    const withDet = s.reduce((n, x) => n + x.paintedWithDetections, 0);
    const ownBoxes = s.reduce((n, x) => n + x.paintedWithOwnBoxes, 0);
    const detLags = s.flatMap((x) => x.detectionLags);
    const stages = DETLAG ? detlagStages(dataDir, w0, w0 + elapsed * 1000) : undefined;
    const result = {
      size: `${width}x${height}`,
      cameras: demo ? 'demo fleet (in the app)' : 'simulator processes, added by hand',
      playout_hold: hold,
      painted_fps_min: r1(Math.min(...fps)),
      painted_fps_median: r1(median(fps)),
      latency_p50_ms: r1(pct(lat, 50)),
      latency_p95_ms: r1(pct(lat, 95)),
      own_boxes_share: withDet ? Math.round((ownBoxes / withDet) * 1000) / 1000 : null,
      painted_frames_with_detections: withDet,
      painted_frames_with_own_boxes: ownBoxes,
      detection_lag_p50_ms: detLags.length ? r1(pct(detLags, 50)) : null,
      detection_lag_p95_ms: detLags.length ? r1(pct(detLags, 95)) : null,
      ...(stages !== undefined ? { detlag_reports: stages?.reports ?? 0, detlag_stages_ms: stages?.stages ?? null } : {}),
      // The measuring window's real length (asked: window_requested_s).
      window_s: r1(elapsed),
      window_requested_s: SECONDS,
      // The app alone (serve + helper); the simulated cameras and Chromium on their own lines. 100 = one core.
      cpu_percent: r1((cpu.app / elapsed) * 100),
      cameras_cpu_percent: r1((cpu.cameras / elapsed) * 100),
      chromium_cpu_percent: r1((cpu.browser / elapsed) * 100),
      rss_mb: r1(rss),
      canvas_px_median: median(canvases.map((c) => Number(c.split('x')[0]))),
      // Per camera per second along the path: main received → reached the page → painted.
      path_fps: {
        received_by_main: r1(median(received)),
        reached_page: r1(median(s.map((x) => x.received / elapsed))),
        painted: r1(median(fps)),
      },
      // The issue's targets for this size, and whether this run met them (null: no target set).
      target: target ?? null,
      meets_target: target ? Math.min(...fps) >= target.painted_fps_min && (target.latency_p95_ms === undefined || pct(lat, 95) < target.latency_p95_ms) : null,
    };
    process.stderr.write(
      `${demo ? 'demo ' : ''}${hold ? '' : '(no hold) '}${width}x${height}: ${r1(elapsed)} s (asked ${SECONDS} s), app CPU ${r1((cpu.app / elapsed) * 100)} %, cameras ${r1((cpu.cameras / elapsed) * 100)} %, Chromium ${r1((cpu.browser / elapsed) * 100)} %, ${lat.length} latency samples` +
        (arrival.length ? `; socket arrival latency p50 ${r1(pct(arrival, 50))} p95 ${r1(pct(arrival, 95))} ms` : '') +
        `; boxes on their own frames ${ownBoxes}/${withDet}, detection lag p50 ${r1(pct(detLags, 50))} p95 ${r1(pct(detLags, 95))} ms` +
        `; per-tile painted fps: ${fps.map(r1).join(' ')}\n` +
        (stages ? `  detection stages in the app, ${stages.reports} reports (p50/p95 ms): ${Object.entries(stages.stages).map(([k, v]) => `${k} ${v.p50}/${v.p95}`).join(', ')}\n` : ''),
    );
    return result;
  } finally {
    app.proc.kill('SIGTERM');
    await new Promise((r) => (app.proc.exitCode !== null ? r(null) : app.proc.once('exit', r)));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The naive peer on the same cameras and browser: one <img> per camera. */
async function naiveCase(browser: Browser, fleet: Fleet, perCamera: boolean, width: number, height: number) {
  const proxy = await naiveProxy(
    fleet.cameras.map((c) => ({ host: '127.0.0.1', port: Number(new URL(c.url).port), username: c.username, password: c.password })),
    perCamera,
    width,
    height,
  );
  try {
    const naivePage = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await naivePage.goto(proxy.url, { waitUntil: 'commit' });
    await naivePage.evaluate(NAIVE_COUNTER);
    await sleep(2000);
    // The proxy runs in this process (it only pipes bytes); the cameras and Chromium are counted apart.
    const browserPids = chromiumPids(fleet);
    await naivePage.evaluate('window.__naive.reset()');
    const cpu0 = { cameras: cpuSeconds(fleet.pids), browser: cpuSeconds(browserPids) };
    const n0 = Date.now();
    await sleep(NAIVE_SECONDS * 1000);
    const counts = (await naivePage.evaluate('window.__naive.counts()')) as number[];
    const nElapsed = (Date.now() - n0) / 1000;
    const cpu = { cameras: cpuSeconds(fleet.pids) - cpu0.cameras, browser: cpuSeconds(browserPids) - cpu0.browser };
    const naiveFps = counts.map((c) => c / nElapsed);
    await naivePage.close();
    process.stderr.write(`naive (${perCamera ? 'one origin per camera' : 'one shared origin'}): ${r1(nElapsed)} s; per tile: ${naiveFps.map(r1).join(' ')}\n`);
    return {
      origins: perCamera ? 'per-camera' : 'shared',
      painted_fps_min: r1(Math.min(...naiveFps)),
      painted_fps_median: r1(median(naiveFps)),
      window_s: r1(nElapsed),
      window_requested_s: NAIVE_SECONDS,
      cameras_cpu_percent: r1((cpu.cameras / nElapsed) * 100),
      chromium_cpu_percent: r1((cpu.browser / nElapsed) * 100),
    };
  } finally {
    proxy.close();
  }
}

async function main(): Promise<void> {
  if (!process.env.BENCH_APP_OUT) await ensureBuilt();
  const load0 = fs.readFileSync('/proc/loadavg', 'utf8').trim();
  const browser = await launch();
  const cases: Record<string, unknown>[] = [];
  try {
    for (const [i, { width, height, demo, hold }] of CASES.entries()) {
      // The previous case's simulators and app are still exiting: let the machine settle (at most 30 s) and say how busy it was.
      const machine = await waitForQuiet({ threshold: Number(process.env.BENCH_SETTLE_BUSY ?? 20) / 100, maxMs: 30_000 });
      const fleet: Fleet = demo ? { cameras: [], pids: [], stop: async () => undefined } : await startSimProcesses(width, height);
      try {
        const r: Record<string, unknown> = { ...(await appCase(browser, fleet, width, height, demo, hold)), machine_before: machine };
        if (i === 0 && !demo) {
          // The naive baseline on the first case: one origin per camera first (the fair figure), then shared.
          if (NAIVE_ORIGINS === 'both' || NAIVE_ORIGINS === 'per-camera') r.naive = await naiveCase(browser, fleet, true, width, height);
          if (NAIVE_ORIGINS === 'both' || NAIVE_ORIGINS === 'shared') r.naive_shared_origin = await naiveCase(browser, fleet, false, width, height);
        }
        cases.push(r);
      } finally {
        await fleet.stop();
      }
    }
  } finally {
    await browser.close();
  }
  const [first, ...rest] = cases;
  const notes =
    "Every case measures frames painted from the streams the simulated cameras send at the case's size (the page decodes each JPEG at the size its tile shows, WebCodecs ImageDecoder). " +
    "The simulated cameras encode their streams with the simulator's row-splicing baseline JPEG encoder (main/camsim/jpeg-splice.ts, standing in for a camera's hardware encoder): standard tables, a restart marker after every MCU row, the static background's rows encoded once per camera and size, and per frame only the MCU rows the moving actors touch encoded again; every frame is a complete JPEG of the current scene. " +
    'The page paints the dirty tiles together at most 30 times a second.';
  const result = { ...first, cases: rest, notes, build: path.relative(root, APP_OUT) || '.', simulator_processes: SIM_PROCS, cpus: os.cpus().length, loadavg_before: load0, loadavg_after: fs.readFileSync('/proc/loadavg', 'utf8').trim() };
  fs.mkdirSync(path.join(root, 'bench-results'), { recursive: true });
  fs.writeFileSync(path.join(root, 'bench-results/feeds.json'), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

const simIdx = process.argv.indexOf('--sim');
(simIdx >= 0 ? simChild(...(process.argv.slice(simIdx + 1, simIdx + 5).map(Number) as [number, number, number, number])) : main()).then(
  () => simIdx < 0 && process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench-feeds failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
