// Waiting for a quiet machine between benchmarks: a bench started while its predecessor's tail
// (a browser closing, a database checkpoint, a child process still exiting) or anything else
// still burns CPU measures that instead of itself (bench:swarm e2e p99 245 ms right after
// bench:bridge, 23 ms alone). The machine counts as settled when the share of all cores busy over
// a window (from /proc/stat) is under a threshold; the wait is capped, and the caller records
// what it found either way.
import fs from 'node:fs';

/** The aggregate "cpu" line of /proc/stat as { busy, total } jiffies (idle and iowait are not busy). */
export function parseProcStat(text) {
  const line = text.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) throw new Error('/proc/stat has no aggregate "cpu" line');
  // user nice system idle iowait irq softirq steal (guest time is already counted in user).
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (f.length < 4 || f.some((v) => !Number.isFinite(v))) throw new Error(`unreadable /proc/stat cpu line: ${line}`);
  const total = f.reduce((s, v) => s + v, 0);
  const idle = f[3] + (f[4] ?? 0);
  return { busy: total - idle, total };
}

/** Share (0..1) of all cores busy between two readings; 0 when no time passed. */
export function busyShare(a, b) {
  const dt = b.total - a.total;
  return dt > 0 ? Math.max(0, Math.min(1, (b.busy - a.busy) / dt)) : 0;
}

/**
 * Waits until a window's busy share is below `threshold`, at most `maxMs`. I/O is injected:
 * read() returns /proc/stat's text, sleep(ms) waits, now() is a clock in ms, loadavg() the load line.
 * Returns what the last window saw, how long it waited and whether the machine settled.
 */
export async function waitForQuiet({ threshold = 0.2, windowMs = 2000, maxMs = 90_000, read = () => fs.readFileSync('/proc/stat', 'utf8'), sleep = (ms) => new Promise((r) => setTimeout(r, ms)), now = () => Date.now(), loadavg = () => fs.readFileSync('/proc/loadavg', 'utf8').trim() } = {}) {
  const t0 = now();
  const windows = [];
  for (;;) {
    const a = parseProcStat(read());
    await sleep(windowMs);
    const share = busyShare(a, parseProcStat(read()));
    windows.push(share);
    const waited = now() - t0;
    const settled = share < threshold;
    if (settled || waited + windowMs > maxMs) {
      return {
        settled,
        cpu_busy_percent: Math.round(share * 1000) / 10,
        threshold_percent: Math.round(threshold * 1000) / 10,
        waited_s: Math.round(waited / 100) / 10,
        windows: windows.length,
        loadavg: loadavg(),
      };
    }
  }
}
