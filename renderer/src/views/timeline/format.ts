// How the Timeline writes times and numbers.
export const clock = (ts: number): string => new Date(ts).toLocaleTimeString(undefined, { hour12: false });
export const fmt = (v: number | null | undefined, d = 2): string => (v === null || v === undefined ? '—' : v.toFixed(d));
