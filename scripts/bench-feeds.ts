// npm run bench:feeds — 16 simulated cameras at 640×360, 10 fps, shown in browser mode in Chromium
// for 30 s; then the same 16 feeds as plain <img src=…mjpg> tags (the naive peer) in the same run.
// Writes bench-results/feeds.json.
//
// The cameras run in this process (startSimulatedFleet) so that cpu_percent and rss_mb are the
// app's alone: the serve process plus its helper, from /proc/<pid>/stat and /proc/<pid>/status.
// Latency is capture timestamp → paint, both on this machine's clock (the page records
// performance.timeOrigin + performance.now() when it draws a frame).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { chromium, type Browser } from 'playwright-core';
import WebSocket from 'ws';
import { startSimulatedFleet } from '../main/camsim';
import { DigestSession } from '../main/helper/digest';
import { ensureBuilt } from './lib/build.mjs';

const root = path.resolve(__dirname, '..');
const CAMERAS = 16;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const NAIVE_SECONDS = Number(process.env.BENCH_NAIVE_SECONDS ?? 20);
const WIDTH = 640;
const HEIGHT = 360;
const FPS = 10;

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

// ---- the app ----
async function startServe(dataDir: string): Promise<{ proc: ChildProcess; url: string; origin: string; token: string }> {
  const proc = spawn(process.execPath, [path.join(root, 'out/main/serve.js'), '--port', '0', '--data-dir', dataDir, '--no-demo'], {
    cwd: root,
    env: { ...process.env, OMNISIGHT_LOG_LEVEL: 'warn' },
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

/** A contract client over the same WebSocket the renderer uses. */
async function contractClient(origin: string, token: string) {
  const ws = new WebSocket(`${origin.replace('http', 'ws')}/ws`, ['omnisight.v1', `token.${token}`]);
  await new Promise<void>((res, rej) => {
    ws.once('open', () => res());
    ws.once('error', rej);
  });
  let next = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  ws.on('message', (data, binary) => {
    if (binary) return;
    const m = JSON.parse(data.toString()) as { type: string; id?: number; ok?: boolean; value?: unknown; error?: { message: string } };
    if (m.type !== 'result' || m.id === undefined) return;
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.ok) p?.resolve(m.value);
    else p?.reject(new Error(m.error?.message));
  });
  return {
    onBinary: (l: (b: Buffer) => void) => ws.on('message', (data, binary) => binary && l(data as Buffer)),
    call: (method: string, input: unknown): Promise<unknown> =>
      new Promise((resolve, reject) => {
        const id = next++;
        pending.set(id, { resolve, reject });
        ws.send(JSON.stringify({ type: 'call', id, method, input }));
      }),
    close: () => ws.close(),
  };
}

async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

// ---- the naive peer: <img> tags through a local proxy that adds Digest ----
// By default all 16 feeds come from ONE origin, as a web page showing cameras through its own
// server would (Chromium then opens 6 connections to it). BENCH_NAIVE_ORIGINS=per-camera gives each
// camera its own port (= its own origin, like pointing <img> at each camera directly).
async function naiveProxy(cams: { host: string; port: number; username: string; password: string }[], perCamera: boolean): Promise<{ url: string; close(): void }> {
  const servers: http.Server[] = [];
  const listen = (handler: http.RequestListener): Promise<number> =>
    new Promise((r) => {
      const srv = http.createServer(handler);
      servers.push(srv);
      srv.listen(0, '127.0.0.1', () => r((srv.address() as AddressInfo).port));
    });
  const proxy = (cam: (typeof cams)[number], res: http.ServerResponse): void => {
    new DigestSession(cam)
      .open({ path: `/axis-cgi/mjpg/video.cgi?resolution=${WIDTH}x${HEIGHT}&fps=${FPS}&compression=30`, timeoutMs: 10_000 })
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

async function main(): Promise<void> {
  await ensureBuilt();
  const load0 = fs.readFileSync('/proc/loadavg', 'utf8').trim();
  const fleet = await startSimulatedFleet({ cameras: CAMERAS, seed: 11, frameWidth: WIDTH, frameHeight: HEIGHT });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'omnisight-bench-feeds-'));
  const app = await startServe(dataDir);
  let browser: Browser | undefined;
  let proxy: { url: string; close(): void } | undefined;
  try {
    const client = await contractClient(app.origin, app.token);
    for (const [i, c] of fleet.cameras.entries()) {
      const u = new URL(c.url);
      await client.call('fleet.add', { address: u.host, username: c.username, password: c.password, name: `Bench ${String(i + 1).padStart(2, '0')}` });
    }

    // BENCH_DIAG=1: a second viewer in this process measures capture → main → socket latency
    // without Chromium (adds one more socket's worth of sending to the app's CPU).
    const arrival: number[] = [];
    if (process.env.BENCH_DIAG) {
      const cams = ((await client.call('fleet.list', {})) as { cameras: { id: string }[] }).cameras.map((c) => c.id);
      await client.call('fleet.watch', { cameraIds: cams, width: WIDTH, height: HEIGHT, fps: FPS });
      client.onBinary((b) => b[1] === 1 && arrival.push(performance.timeOrigin + performance.now() - b.readDoubleBE(4)));
    }

    browser = await launch();
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(app.url);
    await page.evaluate(`localStorage.setItem('omnisight.cameras', JSON.stringify({ layout: 16, page: 0, focus: null, quality: 'high' })); localStorage.setItem('omnisight.view', 'cameras')`);
    await page.reload();
    const stats = (): Promise<{ cameraId: string; painted: number; received: number; latencies: number[]; size?: string }[]> =>
      page.evaluate('window.__omnisightFeeds ? window.__omnisightFeeds.stats() : []');
    const deadline = Date.now() + 30_000;
    while ((await stats()).filter((s) => s.painted >= 5 && s.size === `${WIDTH}x${HEIGHT}@${FPS}`).length < CAMERAS) {
      if (Date.now() > deadline) throw new Error('the 16 feeds did not start painting within 30 s');
      await sleep(250);
    }
    await sleep(2000); // warm-up
    const pids = [app.proc.pid!, ...childrenOf(app.proc.pid!)];
    await page.evaluate('window.__omnisightFeeds.resetStats()');
    const ticks0 = pids.reduce((s, p) => s + cpuTicks(p), 0);
    const t0 = performance.now();
    await sleep(SECONDS * 1000);
    const s = await stats();
    const elapsed = (performance.now() - t0) / 1000;
    const ticks1 = pids.reduce((sum, p) => sum + cpuTicks(p), 0);
    const rss = pids.reduce((sum, p) => sum + rssMb(p), 0);
    const fps = s.map((x) => x.painted / elapsed);
    // Where frames are lost: received by main (helper stream fps) vs painted in the page.
    const received = ((await client.call('fleet.status', {})) as { statuses: { fps: number }[] }).statuses.map((x) => x.fps);
    client.close();
    const lat = s.flatMap((x) => x.latencies);
    await page.close();

    // Naive peer, same cameras, same browser.
    const perCamera = process.env.BENCH_NAIVE_ORIGINS === 'per-camera';
    proxy = await naiveProxy(
      fleet.cameras.map((c) => ({ host: '127.0.0.1', port: Number(new URL(c.url).port), username: c.username, password: c.password })),
      perCamera,
    );
    const naivePage = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await naivePage.goto(proxy.url, { waitUntil: 'commit' });
    await naivePage.evaluate(NAIVE_COUNTER);
    await sleep(2000);
    await naivePage.evaluate('window.__naive.reset()');
    const n0 = performance.now();
    await sleep(NAIVE_SECONDS * 1000);
    const counts = (await naivePage.evaluate('window.__naive.counts()')) as number[];
    const nElapsed = (performance.now() - n0) / 1000;
    const naiveFps = counts.map((c) => c / nElapsed);
    await naivePage.close();

    const result = {
      painted_fps_min: r1(Math.min(...fps)),
      painted_fps_median: r1(median(fps)),
      latency_p50_ms: r1(pct(lat, 50)),
      latency_p95_ms: r1(pct(lat, 95)),
      cpu_percent: r1((((ticks1 - ticks0) / CLK_TCK) / elapsed) * 100),
      rss_mb: r1(rss),
      naive: { painted_fps_min: r1(Math.min(...naiveFps)), painted_fps_median: r1(median(naiveFps)) },
    };
    fs.mkdirSync(path.join(root, 'bench-results'), { recursive: true });
    fs.writeFileSync(path.join(root, 'bench-results/feeds.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    process.stderr.write(
      `cameras ${CAMERAS} at ${WIDTH}x${HEIGHT}@${FPS}, ${r1(elapsed)} s (naive ${r1(nElapsed)} s), ${lat.length} latency samples; ` +
        `received by main fps median ${r1(median(received))} min ${r1(Math.min(...received))}; ` +
        (arrival.length ? `socket arrival latency p50 ${r1(pct(arrival, 50))} p95 ${r1(pct(arrival, 95))} ms; ` : '') +
        `reached the page fps median ${r1(median(s.map((x) => x.received / elapsed)))}; ` +
        `naive (${perCamera ? 'one origin per camera' : 'one origin'}) per tile: ${naiveFps.map(r1).join(' ')}; loadavg before: ${load0}, after: ${fs.readFileSync('/proc/loadavg', 'utf8').trim()}\n`,
    );
  } finally {
    await browser?.close();
    proxy?.close();
    app.proc.kill('SIGTERM');
    await new Promise((r) => (app.proc.exitCode !== null ? r(null) : app.proc.once('exit', r)));
    await fleet.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench-feeds failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
