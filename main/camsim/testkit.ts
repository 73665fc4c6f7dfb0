// Test helpers: an independent client side (curl for Digest, a small MJPEG reader), not used by the simulator.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface CurlResult {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  exitCode: number;
  seconds: number;
}

let tmpDir: string | undefined;
const tmp = (): string => (tmpDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'camsim-test-')));
let counter = 0;

/** Run curl (Digest when a user is given) and return the last response's status, headers and body. */
export function curl(url: string, opts: { user?: string; pass?: string; method?: string; data?: string; form?: string[]; maxTime?: number; extra?: string[] } = {}): Promise<CurlResult> {
  const id = counter++;
  const hfile = path.join(tmp(), `h${id}`);
  const bfile = path.join(tmp(), `b${id}`);
  const args = ['-s', '-g', '-D', hfile, '-o', bfile, '-w', '%{http_code} %{time_total}', '--max-time', String(opts.maxTime ?? 10)];
  if (opts.user !== undefined) args.push('--digest', '-u', `${opts.user}:${opts.pass ?? ''}`);
  if (opts.method) args.push('-X', opts.method);
  if (opts.data !== undefined) args.push('--data-binary', opts.data);
  for (const f of opts.form ?? []) args.push('-F', f);
  args.push(...(opts.extra ?? []), url);
  return new Promise((resolve) => {
    execFile('curl', args, { encoding: 'utf8' }, (err, stdout) => {
      const [code, secs] = stdout.trim().split(' ');
      const rawHeaders = fs.existsSync(hfile) ? fs.readFileSync(hfile, 'latin1') : '';
      const blocks = rawHeaders.split(/\r\n\r\n/).filter((b) => b.startsWith('HTTP/'));
      const headers: Record<string, string> = {};
      for (const line of (blocks.at(-1) ?? '').split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      const body = fs.existsSync(bfile) ? fs.readFileSync(bfile) : Buffer.alloc(0);
      fs.rmSync(hfile, { force: true });
      fs.rmSync(bfile, { force: true });
      resolve({ status: Number(code ?? 0), headers, body, exitCode: err ? ((err as { code?: number }).code ?? 1) : 0, seconds: Number(secs ?? 0) });
    });
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Part {
  headers: Record<string, string>;
  body: Buffer;
  at: number;
}

/**
 * Reads multipart/x-mixed-replace from curl's stdout: boundary taken from the response header,
 * parts framed by Content-Length, garbage between parts skipped by searching for the next boundary.
 */
export class MjpegReader {
  parts: Part[] = [];
  skippedBytes = 0;
  contentType = '';
  private buf = Buffer.alloc(0);
  private proc: ChildProcess;
  private headerText = '';
  private inHeaders = true;

  constructor(url: string, user: string, pass: string) {
    this.proc = spawn('curl', ['-s', '-N', '-i', '--digest', '-u', `${user}:${pass}`, url], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.proc.stdout!.on('data', (c: Buffer) => this.feed(c));
  }

  private feed(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    if (this.inHeaders) {
      // curl -i prints the 401 and then the 200 header blocks.
      for (;;) {
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const block = this.buf.subarray(0, end).toString('latin1');
        this.buf = this.buf.subarray(end + 4);
        if (block.startsWith('HTTP/1.1 401')) {
          // curl may or may not print the 401 body; the next response starts at "HTTP/".
          const next = this.buf.indexOf('HTTP/1.1 ');
          this.buf = next >= 0 ? this.buf.subarray(next) : Buffer.alloc(0);
          continue;
        }
        this.headerText = block;
        this.contentType = /content-type:\s*([^\r\n]+)/i.exec(block)?.[1] ?? '';
        this.inHeaders = false;
        break;
      }
    }
    const boundary = /boundary=("?)([^";\r\n]+)\1/.exec(this.contentType)?.[2];
    if (!boundary) return;
    const delim = Buffer.from(`--${boundary}`);
    for (;;) {
      const at = this.buf.indexOf(delim);
      if (at < 0) return;
      if (at > 0) {
        const skipped = this.buf.subarray(0, at);
        // The CRLF that ends the previous part is framing, anything else is garbage.
        if (!(skipped.length === 2 && skipped[0] === 13 && skipped[1] === 10)) this.skippedBytes += skipped.length;
        this.buf = this.buf.subarray(at);
      }
      const headEnd = this.buf.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = this.buf.subarray(delim.length, headEnd).toString('latin1');
      const headers: Record<string, string> = {};
      for (const line of head.split('\r\n')) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      const len = Number(headers['content-length']);
      if (!Number.isFinite(len)) {
        this.buf = this.buf.subarray(delim.length);
        continue;
      }
      if (this.buf.length < headEnd + 4 + len) return;
      this.parts.push({ headers, body: this.buf.subarray(headEnd + 4, headEnd + 4 + len), at: Date.now() });
      this.buf = this.buf.subarray(headEnd + 4 + len);
    }
  }

  header(): string {
    return this.headerText;
  }

  running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  stop(): void {
    if (this.running()) this.proc.kill('SIGTERM');
  }
}

/** The value of the JPEG COM segment `omnisight-ts=<ms>` right after SOI, if present. */
export function comTimestamp(jpeg: Buffer): number | undefined {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8 || jpeg[2] !== 0xff || jpeg[3] !== 0xfe) return undefined;
  const len = jpeg.readUInt16BE(4);
  const m = /^omnisight-ts=(\d+)$/.exec(jpeg.subarray(6, 4 + len).toString('ascii'));
  return m ? Number(m[1]) : undefined;
}

export const isCompleteJpeg = (b: Buffer): boolean => b.length > 4 && b[0] === 0xff && b[1] === 0xd8 && b[b.length - 2] === 0xff && b[b.length - 1] === 0xd9;

/**
 * A TCP proxy in front of an MQTT broker that holds every QoS 1 PUBLISH from a client for `holdMs`
 * (in order) while everything else passes at once: a broker that takes QoS 1 messages through a slow
 * store before forwarding them. The broker's PUBACK then also comes late, as it would.
 */
export function delayQos1(target: number, holdMs: number): Promise<{ port: number; close(): void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const up = net.connect(target, '127.0.0.1');
    sockets.add(client).add(up);
    up.on('data', (d) => client.write(d));
    let buf = Buffer.alloc(0);
    let lastRelease = 0; // keeps QoS 1 packets in order among themselves
    client.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        // Fixed header: type/flags byte, remaining length (1-4 bytes, 7 bits each).
        let len = 0;
        let mul = 1;
        let i = 1;
        for (; i < buf.length && i <= 4; i++) {
          len += (buf[i]! & 0x7f) * mul;
          mul *= 128;
          if ((buf[i]! & 0x80) === 0) break;
        }
        if (i >= buf.length || buf.length < i + 1 + len) return;
        const packet = buf.subarray(0, i + 1 + len);
        buf = buf.subarray(i + 1 + len);
        const qos1Publish = packet[0]! >> 4 === 3 && ((packet[0]! >> 1) & 3) === 1;
        if (!qos1Publish) up.write(packet);
        else {
          const at = Math.max(Date.now() + holdMs, lastRelease);
          lastRelease = at;
          setTimeout(() => up.writable && up.write(packet), at - Date.now());
        }
      }
    });
    const end = (): void => {
      client.destroy();
      up.destroy();
    };
    client.on('close', end).on('error', end);
    up.on('close', end).on('error', end);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () => {
          for (const s of sockets) s.destroy();
          server.close();
        },
      }),
    ),
  );
}
