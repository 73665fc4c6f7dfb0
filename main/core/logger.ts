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
  if (opts.console !== false) streams.push({ stream: opts.console ?? process.stderr, level: 'debug' });
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

export const logFilePath = (dir: string): string => path.join(dir, 'omnisight.log');

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
