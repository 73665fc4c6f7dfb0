import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { createStream } from 'rotating-file-stream';

export type Logger = pino.Logger;

export interface LoggerOptions {
  /** Folder for omnisight.log and its rotated predecessors; none means console only. */
  dir?: string;
  level?: string;
  /** Where console lines go. Browser mode keeps stdout for its OMNISIGHT_URL line. */
  console?: NodeJS.WritableStream | false;
  /** Rotate when the file reaches this size. */
  maxFileSize?: string;
}

/** Structured JSON logs to a size-rotated file in the data folder and to the console. */
export function createLogger(opts: LoggerOptions = {}): { log: Logger; close: () => void } {
  const streams: pino.StreamEntry[] = [];
  let file: ReturnType<typeof createStream> | undefined;
  if (opts.dir) {
    fs.mkdirSync(opts.dir, { recursive: true });
    file = createStream('omnisight.log', {
      path: opts.dir,
      size: opts.maxFileSize ?? '10M',
      maxFiles: 5,
      compress: false,
    });
    streams.push({ stream: file, level: 'debug' });
  }
  if (opts.console !== false) streams.push({ stream: humanReadable(opts.console ?? process.stderr), level: 'debug' });
  const log = pino(
    { level: opts.level ?? 'info', base: { pid: process.pid }, redact: ['password', '*.password', 'token', '*.token'] },
    pino.multistream(streams),
  );
  return {
    log,
    close: () => {
      file?.end();
    },
  };
}

const levelNames: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };

/** The file keeps JSON for tools; the console gets one readable line per entry. */
function humanReadable(out: NodeJS.WritableStream): { write(line: string): void } {
  return {
    write(line: string) {
      try {
        const { level, time, msg, pid: _pid, ...rest } = JSON.parse(line) as Record<string, unknown>;
        const extras = Object.entries(rest)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ');
        const t = new Date(Number(time)).toISOString().slice(11, 19);
        out.write(`${t} ${levelNames[Number(level)] ?? level} ${String(msg ?? '')}${extras ? `  ${extras}` : ''}\n`);
      } catch {
        out.write(line);
      }
    },
  };
}

export const logFilePath = (dir: string): string => path.join(dir, 'omnisight.log');

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
