// What a person reads when a camera is quarantined. The proof's reason names the report by its
// timestamp in epoch milliseconds ("track 7 at 1764866849120 reported as human and as car"): exact,
// and kept so in the stored proof, but unreadable in a notification. Here the time is a wall-clock
// time, and how long after the report the contradiction was found is said when it is not immediate.
import type { EquivocationProof } from './fusion';

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** "16:27:29.120", the local wall clock (the desktop's own time zone, as every view shows times). */
export function clockTime(ts: number): string {
  const d = new Date(ts);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** "850 ms", "3.2 s", "4 min 10 s", "2 h 5 min". */
export function duration(ms: number): string {
  const v = Math.max(0, Math.round(ms));
  if (v < 1000) return `${v} ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(v < 10_000 ? 1 : 0)} s`;
  const s = Math.round(v / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`;
}

/** The proof's reason with its millisecond timestamp as a clock time, and when it was found if that was later. */
export function readableReason(p: Pick<EquivocationProof, 'ts' | 'reason' | 'detectedAt'>): string {
  const reason = p.reason.split(`at ${p.ts} `).join(`at ${clockTime(p.ts)} `);
  const late = p.detectedAt - p.ts;
  return late >= 1000 ? `${reason}; found ${duration(late)} later` : reason;
}
