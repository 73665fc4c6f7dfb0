export interface CpuReading {
  busy: number;
  total: number;
}
export interface Quiet {
  settled: boolean;
  cpu_busy_percent: number;
  threshold_percent: number;
  waited_s: number;
  windows: number;
  loadavg: string;
}
export function parseProcStat(text: string): CpuReading;
export function busyShare(a: CpuReading, b: CpuReading): number;
export function waitForQuiet(o?: { threshold?: number; windowMs?: number; maxMs?: number; read?: () => string; sleep?: (ms: number) => Promise<void>; now?: () => number; loadavg?: () => string }): Promise<Quiet>;
