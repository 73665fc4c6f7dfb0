// What the camera app's test files share: the tools they need (with the reason when one is
// missing, so the tests skip saying why), one build of the test variant (the Makefile serialises
// builds under a lock), and the qemu/mosquitto harness of the app tests.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import mqtt from 'mqtt';

export const NATIVE = __dirname;
/** The version compiled into the test build. */
export const TEST_VERSION = '1.2.3';
export const MULTIARCH_LOADER = '/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1';

export function missingTool(): string | null {
  if (!existsSync('/usr/bin/aarch64-linux-gnu-gcc')) return 'aarch64-linux-gnu-gcc is not installed (run scripts/setup-cross.sh)';
  if (!existsSync('/usr/bin/qemu-aarch64-static')) return 'qemu-aarch64-static is not installed (run scripts/setup-cross.sh)';
  if (!existsSync('/usr/sbin/mosquitto')) return 'mosquitto is not installed (run scripts/setup-cross.sh)';
  if (!existsSync('/usr/lib/aarch64-linux-gnu/libsodium.so') || !existsSync('/usr/lib/aarch64-linux-gnu/libmosquitto.so'))
    return 'the arm64 libsodium/libmosquitto are not installed (run scripts/setup-cross.sh)';
  if (!existsSync(MULTIARCH_LOADER)) return `${MULTIARCH_LOADER} (libc6:arm64) is missing (run scripts/setup-cross.sh)`;
  return null;
}

/** `make` of the test version into `out` (relative to native/); the Makefile itself builds under
 * build/.make.lock, so whichever test file (or packager) comes second finds it built. */
export function makeUnderLock(out: string, extra: readonly string[], targets: readonly string[] = []): void {
  mkdirSync(join(NATIVE, 'build'), { recursive: true });
  const r = spawnSync('make', ['-s', '-j2', `VERSION=${TEST_VERSION}`, `OUT=${out}`, ...extra, ...targets], { cwd: NATIVE, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make failed: ${r.stdout}${r.stderr}`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export async function until<T>(what: string, get: () => T | undefined, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A sysroot with exactly AXIS OS's loader path (/lib/ld-linux-aarch64.so.1) pointing at the arm64 loader. */
export function sysrootIn(dir: string): string {
  const sysroot = join(dir, 'sysroot');
  mkdirSync(join(sysroot, 'lib'), { recursive: true });
  symlinkSync(MULTIARCH_LOADER, join(sysroot, 'lib', 'ld-linux-aarch64.so.1'));
  return sysroot;
}

/** mosquitto on a free loopback port, and a client connected to it (retried while it starts). */
export async function startBroker(dir: string): Promise<{ port: number; broker: ChildProcess; client: mqtt.MqttClient }> {
  const port = await freePort();
  writeFileSync(join(dir, 'mosquitto.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const broker = spawn('/usr/sbin/mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
  let client: mqtt.MqttClient | undefined;
  for (let i = 0; i < 40 && !client; i++) {
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 1000 }).catch(async () => {
      await new Promise((r) => setTimeout(r, 50));
      return undefined;
    });
  }
  if (!client) {
    broker.kill('SIGTERM');
    throw new Error('mosquitto did not start');
  }
  return { port, broker, client };
}

/** One camera app under qemu with a detection source of its own (the test writes raw lines to `feed`). */
export class Camera {
  proc?: ChildProcess;
  out = '';
  err = '';
  feed?: Socket;
  source?: Server;
  publicKey = '';
  httpPort = 0;
  readonly localdata: string;
  constructor(readonly serial: string, readonly root: string, private readonly sysroot: string, private readonly bin: string) {
    this.localdata = join(root, `localdata-${serial}`);
  }
  async start(env: { mqttPort: number; modelDir?: string; extra?: Record<string, string> }): Promise<void> {
    if (!this.source) {
      this.source = createServer((s) => (this.feed = s));
      await new Promise<void>((r) => this.source!.listen(0, '127.0.0.1', r));
    }
    this.out = '';
    this.err = '';
    this.feed = undefined;
    this.proc = spawn('/usr/bin/qemu-aarch64-static', ['-L', this.sysroot, this.bin], {
      env: {
        PATH: process.env.PATH,
        OMNISIGHT_SIM_DETECTIONS: `tcp:127.0.0.1:${(this.source.address() as { port: number }).port}`,
        OMNISIGHT_MQTT_HOST: '127.0.0.1',
        OMNISIGHT_MQTT_PORT: String(env.mqttPort),
        OMNISIGHT_CAMERA_SERIAL: this.serial,
        OMNISIGHT_LOCALDATA: this.localdata,
        OMNISIGHT_HTTP_PORT: '0',
        ...(env.modelDir ? { OMNISIGHT_MODEL_DIR: env.modelDir } : {}),
        ...env.extra,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.proc.stderr!.on('data', (d: Buffer) => (this.err += d.toString()));
    const port = await until(`${this.serial}'s identity port`, () => /127\.0\.0\.1:(\d+)\//.exec(this.out)?.[1]);
    this.httpPort = Number(port);
    const id = (await (await fetch(`http://127.0.0.1:${port}/identity.cgi`)).json()) as { publicKey: string };
    this.publicKey = id.publicKey;
    await until(`${this.serial}'s detection source connection`, () => this.feed);
  }
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const done = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(signal);
    await done;
  }
}

/** The C primitives' test driver (`fltool`) under qemu: one command per line in, one answer line out. */
export class FlTool {
  private proc: ChildProcess;
  private buf = '';
  private waiting: ((line: string) => void)[] = [];
  constructor(sysroot: string, out: string) {
    this.proc = spawn('/usr/bin/qemu-aarch64-static', ['-L', sysroot, join(NATIVE, out, 'fltool')], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.proc.stdout!.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let nl;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        this.waiting.shift()?.(line);
      }
    });
  }
  run(cmd: string): Promise<string> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.proc.stdin!.write(cmd + '\n');
    });
  }
  async ok(cmd: string): Promise<string[]> {
    const line = await this.run(cmd);
    if (!line.startsWith('OK')) throw new Error(`${cmd.slice(0, 60)} → ${line}`);
    return line.split(' ').slice(1);
  }
  close(): void {
    this.proc.stdin!.end();
  }
}
