// npm run bench:camsim — render+encode cost per simulated frame (the path the streams use), and a
// live 16-camera run per size (simulator CPU in this process, one curl viewer per camera).
// Writes bench-results/camsim.json.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startSimulatedFleet } from '../main/camsim';
import { splicedJpegEncoder } from '../main/camsim/jpeg-splice';
import { encodeJpeg, framePainter, qualityFor, renderBackground, withTimestampComment } from '../main/camsim/render';
import { createScene } from '../main/camsim/scene';

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const r2 = (v: number): number => Math.round(v * 100) / 100;

/**
 * Per-frame CPU of the path a camera's stream uses: paint the actors into the stream's buffer
 * (framePainter) and encode with the row-splicing encoder (jpeg-splice.ts: only the MCU rows the
 * actors touch are encoded again). For comparison, the same frames fully encoded by libjpeg-turbo
 * (sharp), which the streams used before and snapshots still use.
 */
async function perFrame(W: number, H: number): Promise<Record<string, number>> {
  const scene = createScene({ seed: 1, cameras: 16, origin: Date.now() });
  const cam = scene.models[0]!;
  const t0 = performance.now();
  const bg = renderBackground(scene, cam, W, H);
  const backgroundMs = performance.now() - t0;
  const t1 = performance.now();
  const encoder = splicedJpegEncoder(bg, W, H, qualityFor(30));
  const encoderSetupMs = performance.now() - t1;
  const painter = framePainter(bg, cam, W, H);
  const render: number[] = [];
  const encode: number[] = [];
  const sharpEncode: number[] = [];
  let rows = 0;
  let mcus = 0;
  let bytes = 0;
  const N = 300;
  for (let i = 0; i < N; i++) {
    const k = i * 3;
    const a = performance.now();
    const { rgb, rects } = painter.paint(scene.snapshot(k));
    const b = performance.now();
    const jpeg = withTimestampComment(encoder.encode(rgb, rects), scene.timeOfTick(k));
    encode.push(performance.now() - b);
    render.push(b - a);
    rows += encoder.last.rows;
    mcus += encoder.last.mcus;
    bytes += jpeg.length;
    if (i % 5 === 0) {
      const c = performance.now();
      await encodeJpeg(rgb, W, H, 30, scene.timeOfTick(k));
      sharpEncode.push(performance.now() - c);
    }
  }
  const total = render.map((r, i) => r + encode[i]!);
  return {
    background_ms_once: r2(backgroundMs),
    encoder_setup_ms_once: r2(encoderSetupMs),
    render_ms_p50: r2(pct(render, 50)),
    encode_ms_p50: r2(pct(encode, 50)),
    encode_ms_p95: r2(pct(encode, 95)),
    mcu_rows_encoded_mean: r2(rows / N),
    mcu_rows_total: Math.ceil(H / 16),
    mcus_encoded_mean: r2(mcus / N),
    jpeg_kb_mean: r2(bytes / N / 1024),
    frame_ms_p50: r2(pct(total, 50)),
    frame_ms_p95: r2(pct(total, 95)),
    cpu_cores_for_16x10fps: r2((16 * 10 * pct(total, 50)) / 1000),
    full_libjpeg_turbo_encode_ms_p50: r2(pct(sharpEncode, 50)),
  };
}

async function live(seconds: number, resolution: string): Promise<Record<string, number | string>> {
  const fleet = await startSimulatedFleet({ cameras: 16, seed: 2 });
  const counts = new Array<number>(16).fill(0);
  const procs = fleet.cameras.map((c, i) => {
    // curl is the independent Digest client; we only count part boundaries.
    const p = spawn('curl', ['-s', '-N', '--digest', '-u', `${c.username}:${c.password}`, `${c.url}/axis-cgi/mjpg/video.cgi?resolution=${resolution}&fps=10`], { stdio: ['ignore', 'pipe', 'ignore'] });
    let tail = '';
    p.stdout.on('data', (b: Buffer) => {
      const s = tail + b.toString('latin1');
      counts[i]! += s.split('--myboundary\r\n').length - 1;
      tail = s.slice(-20);
    });
    return p;
  });
  // Warm-up: every camera renders its background and builds its encoder before its first frame
  // (~0.3 s of CPU per camera at 1280×720); measure once all are streaming.
  const until = Date.now() + 60_000;
  while (counts.some((c) => c === 0) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 1000));
  const start = counts.slice();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - t0) / 1000;
  const fps = counts.map((c, i) => (c - start[i]!) / wall);
  for (const p of procs) p.kill('SIGTERM');
  await fleet.stop();
  return {
    cameras: 16,
    resolution,
    requested_fps: 10,
    seconds: r2(wall),
    delivered_fps_min: r2(Math.min(...fps)),
    delivered_fps_median: r2(pct(fps, 50)),
    simulator_cpu_percent: r2(((cpu.user + cpu.system) / 1e6 / wall) * 100),
  };
}

/** One viewer per listed size at the full sensor rate: does the camera deliver what it lists (issue 13 item 5)? */
async function listedSizes(seconds: number): Promise<Record<string, { requested_fps: number; delivered_fps: number }>> {
  const fleet = await startSimulatedFleet({ cameras: 1, seed: 3, apps: 'agent' });
  const c = fleet.cameras[0]!;
  const out: Record<string, { requested_fps: number; delivered_fps: number }> = {};
  try {
    for (const res of ['1920x1080', '1280x720', '640x360']) {
      let parts = 0;
      let tail = '';
      const p = spawn('curl', ['-s', '-N', '--digest', '-u', `${c.username}:${c.password}`, `${c.url}/axis-cgi/mjpg/video.cgi?resolution=${res}&fps=30`], { stdio: ['ignore', 'pipe', 'ignore'] });
      p.stdout.on('data', (b: Buffer) => {
        const s = tail + b.toString('latin1');
        parts += s.split('--myboundary\r\n').length - 1;
        tail = s.slice(-20);
      });
      await new Promise((r) => setTimeout(r, 1000)); // warm-up: background render, connection
      const p0 = parts;
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, seconds * 1000));
      out[res] = { requested_fps: 30, delivered_fps: r2((parts - p0) / ((performance.now() - t0) / 1000)) };
      p.kill('SIGTERM');
    }
  } finally {
    await fleet.stop();
  }
  return out;
}

async function main(): Promise<void> {
  const seconds = Number(process.env.CAMSIM_BENCH_SECONDS ?? 10);
  const frame = { '640x360': await perFrame(640, 360), '1280x720': await perFrame(1280, 720) };
  const fleet16 = { '640x360': await live(seconds, '640x360'), '1280x720': await live(seconds, '1280x720') };
  const sizes = await listedSizes(Math.max(2, Math.round(seconds / 2)));
  const out = {
    compression: 30,
    notes:
      'Streams are encoded by the simulator\'s row-splicing baseline JPEG encoder (main/camsim/jpeg-splice.ts): standard Huffman and quantisation tables, a restart marker after every MCU row; the background\'s rows are encoded once per camera and size, and each frame encodes again only the MCU rows the moving actors touch. Every frame is a complete JPEG of the current scene. full_libjpeg_turbo_encode_ms_p50 is the same frame fully encoded by sharp, for comparison.',
    per_frame: frame,
    live: fleet16,
    single_viewer_30fps: sizes,
  };
  fs.mkdirSync('bench-results', { recursive: true });
  fs.writeFileSync(path.join('bench-results', 'camsim.json'), `${JSON.stringify(out, null, 2)}\n`);
  console.log(JSON.stringify(out, null, 2));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
