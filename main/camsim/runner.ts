// Runs what a simulated camera receives: installs the .eap into a per-camera folder and, on
// control.cgi start, runs its aarch64 executable under qemu-aarch64-static with the simulator's
// hardware layer attached (detections over a loopback socket, the camera's broker, serial, version
// and a freshly provisioned Ed25519 key; see native/README.md). Without an emulator the camera
// says so and runs its built-in agent instead.
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { UPLOAD_ERR, type AppRuntime, type InstalledApp } from './apps';
import { checkEap } from './eap';

/** What the camera lends a running program. */
export interface SimHardware {
  serial: string;
  /** The broker the camera's MQTT client points at, when configured. */
  broker(): { host: string; port: number } | undefined;
  /** One raw detection line (native/README.md format) for the current sensor frame; undefined when skipped. */
  detectionLine(): string | undefined;
  fpsCamera: number;
  log(line: string): void;
}

export interface NativeIdentity {
  key: string;
  publicKey: string;
  version: string;
}

export interface EapRuntime extends AppRuntime {
  /** 'native' when installed aarch64 programs really run; 'agent' when the built-in agent stands in. */
  readonly mode: 'native' | 'agent';
  /** Plain words on why the mode is what it is. */
  readonly note: string;
  /** True while a real program runs for this app. */
  isNative(name: string): boolean;
  identity(name: string): NativeIdentity | undefined;
  /** Called when a program ends without being stopped (crash, exit at start). */
  onExit(listener: (name: string, code: number | null) => void): void;
  /** Camera power loss: kill every program without reporting exits. */
  halt(): Promise<void>;
  close(): Promise<void>;
}

const AARCH64_ELF = (b: Buffer): boolean => b.length > 20 && b.readUInt32BE(0) === 0x7f454c46 && b[4] === 2 && b.readUInt16LE(18) === 183;

/** qemu-aarch64-static on PATH, or undefined. */
export function findEmulator(name = 'qemu-aarch64-static'): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

let warned = false;

interface Running {
  proc: ChildProcess;
  feed: net.Server;
  sockets: Set<net.Socket>;
  timer: NodeJS.Timeout;
  identity: NativeIdentity;
  stopping: boolean;
  exited: Promise<void>;
}

export function createEapRuntime(o: {
  /** The camera's own folder; installed apps live below it and survive a simulated restart. */
  dir: string;
  hw: SimHardware;
  /** Path of the emulator; null forces the built-in agent; undefined looks on PATH. */
  emulator?: string | null;
  sysroot?: string;
  stopTimeoutMs?: number;
}): EapRuntime {
  const emulator = o.emulator === null ? undefined : (o.emulator ?? findEmulator());
  const sysroot = o.sysroot ?? '/usr/aarch64-linux-gnu';
  const stopTimeout = o.stopTimeoutMs ?? 3000;
  const mode: 'native' | 'agent' = emulator ? 'native' : 'agent';
  const note = emulator
    ? `installed aarch64 programs run under ${path.basename(emulator)}`
    : o.emulator === null
      ? 'the built-in agent stands in for uploaded programs (emulation switched off for this fleet)'
      : 'no aarch64 emulator (qemu-aarch64-static is not on PATH): the built-in agent runs instead of the uploaded program, reporting its version';
  if (!emulator && o.emulator !== null && !warned) {
    warned = true;
    process.stderr.write(`camsim: ${note}\n`);
  }
  const appsDir = path.join(o.dir, 'apps');
  fs.mkdirSync(appsDir, { recursive: true });
  const running = new Map<string, Running>();
  const exitListeners: ((name: string, code: number | null) => void)[] = [];
  let keyNo = 0;

  const exePath = (name: string): string => path.join(appsDir, name, name);
  const nativeExe = (name: string): boolean => {
    try {
      const fd = fs.openSync(exePath(name), 'r');
      const head = Buffer.alloc(64);
      fs.readSync(fd, head, 0, 64, 0);
      fs.closeSync(fd);
      return AARCH64_ELF(head);
    } catch {
      return false;
    }
  };

  const provisionKey = (name: string): { file: string; id: NativeIdentity } => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    const seed = pkcs8.subarray(pkcs8.length - 32);
    const pub = spki.subarray(spki.length - 32);
    const file = path.join(o.dir, 'keys', `${name}.key`);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, Buffer.concat([seed, pub]), { mode: 0o600 });
    keyNo++;
    return { file, id: { key: `k${keyNo}`, publicKey: pub.toString('base64'), version: '' } };
  };

  const startNative = async (app: InstalledApp): Promise<number | undefined> => {
    const feed = net.createServer();
    const sockets = new Set<net.Socket>();
    feed.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve, reject) => {
      feed.once('error', reject);
      feed.listen(0, '127.0.0.1', () => resolve());
    });
    const feedPort = (feed.address() as net.AddressInfo).port;
    const { file, id } = provisionKey(app.name);
    id.version = app.version;
    const broker = o.hw.broker();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      OMNISIGHT_SIM_DETECTIONS: `tcp:127.0.0.1:${feedPort}`,
      OMNISIGHT_CAMERA_SERIAL: o.hw.serial,
      // No broker configured: a closed loopback port, so the program retries instead of failing.
      OMNISIGHT_MQTT_HOST: broker?.host ?? '127.0.0.1',
      OMNISIGHT_MQTT_PORT: String(broker?.port ?? 1),
      OMNISIGHT_KEY_FILE: file,
      OMNISIGHT_KEY_ID: id.key,
      OMNISIGHT_APP_VERSION: app.version,
      OMNISIGHT_STATE_DIR: path.join(o.dir, 'state'),
      // identity.cgi is answered by the camera from the key it provisioned.
      OMNISIGHT_HTTP_PORT: 'off',
    };
    fs.mkdirSync(env.OMNISIGHT_STATE_DIR!, { recursive: true });
    const proc = spawn(emulator!, ['-L', sysroot, exePath(app.name)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = (buf: Buffer): void => {
      for (const l of buf.toString('utf8').split('\n')) if (l.trim()) o.hw.log(l.trim());
    };
    proc.stdout!.on('data', lines);
    proc.stderr!.on('data', lines);
    // Listen for the exit at once: a program that dies at start can exit before 'spawn' is handled.
    let exitCode: number | null | undefined;
    let onExit: ((code: number | null) => void) | undefined;
    proc.once('exit', (code) => {
      exitCode = code;
      onExit?.(code);
    });
    const spawned = await new Promise<boolean>((resolve) => {
      proc.once('spawn', () => resolve(true));
      proc.once('error', () => resolve(false));
    });
    if (!spawned) {
      feed.close();
      o.hw.log(`could not start ${emulator}`);
      return 10;
    }
    const interval = Math.max(20, Math.round(1000 / o.hw.fpsCamera));
    const timer = setInterval(() => {
      if (sockets.size === 0) return;
      const line = o.hw.detectionLine();
      if (line) for (const s of sockets) s.write(`${line}\n`);
    }, interval);
    const r: Running = { proc, feed, sockets, timer, identity: id, stopping: false, exited: Promise.resolve() };
    running.set(app.name, r);
    r.exited = new Promise<void>((resolve) => {
      onExit = (code) => {
        clearInterval(timer);
        for (const s of sockets) s.destroy();
        feed.close();
        if (running.get(app.name) === r) running.delete(app.name);
        if (!r.stopping) {
          o.hw.log(`${app.name} exited with status ${code ?? 'signal'}`);
          // After control.cgi has marked the app Running, so the store sees the change.
          setImmediate(() => exitListeners.forEach((l) => l(app.name, code)));
        }
        resolve();
      };
      if (exitCode !== undefined) onExit(exitCode);
    });
    return undefined;
  };

  const stopProc = async (r: Running): Promise<void> => {
    r.stopping = true;
    if (r.proc.exitCode === null && r.proc.signalCode === null) {
      r.proc.kill('SIGTERM');
      const t = setTimeout(() => r.proc.kill('SIGKILL'), stopTimeout);
      await r.exited;
      clearTimeout(t);
    }
    await r.exited;
  };

  const runtime: EapRuntime = {
    mode,
    note,
    async install(pkg, ctx) {
      const c = await checkEap(pkg, ctx.architecture);
      if (!c.ok) return { ok: false, code: c.code };
      if (!ctx.allowUnsigned) return { ok: false, code: UPLOAD_ERR.verification };
      const same = ctx.installed.find((a) => a.name.toLowerCase() === c.appName.toLowerCase());
      if (same && same.name !== c.appName) return { ok: false, code: UPLOAD_ERR.letterCase };
      if (same?.vendorId && c.vendorId && same.vendorId !== c.vendorId) return { ok: false, code: UPLOAD_ERR.vendorIdDiffers };
      // Unpack beside the old copy and swap, so a failed write leaves the previous install intact.
      const target = path.join(appsDir, c.appName);
      const staging = `${target}.new`;
      // File-system work goes through libuv's pool: the camera keeps answering while it installs.
      await fs.promises.rm(staging, { recursive: true, force: true });
      for (const e of c.entries) {
        const p = path.resolve(staging, e.name);
        if (!p.startsWith(`${path.resolve(staging)}${path.sep}`)) return { ok: false, code: UPLOAD_ERR.badManifest };
      }
      await Promise.all(
        c.entries.map(async (e) => {
          const p = path.resolve(staging, e.name);
          await fs.promises.mkdir(path.dirname(p), { recursive: true });
          await fs.promises.writeFile(p, e.data, { mode: e.name === c.appName ? 0o755 : (e.mode & 0o777) || 0o644 });
        }),
      );
      const r = running.get(c.appName);
      if (r) await stopProc(r);
      // Swap by renames; the old copy is deleted after the new one is in place, off the reply's path.
      const old = `${target}.old`;
      await fs.promises.rm(old, { recursive: true, force: true });
      const had = await fs.promises.rename(target, old).then(
        () => true,
        (e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOENT') throw e;
          return false;
        },
      );
      await fs.promises.rename(staging, target);
      if (had) void fs.promises.rm(old, { recursive: true, force: true }).catch(() => undefined);
      const files = c.entries.map((e) => e.name).sort();
      return { ok: true, app: { name: c.appName, niceName: c.friendlyName, vendor: c.vendor, version: c.version, applicationId: c.appId, vendorId: c.vendorId, files } };
    },
    async start(app) {
      if (running.has(app.name)) return 6;
      if (emulator && nativeExe(app.name)) return startNative(app);
      if (!emulator && app.name === 'omnisight') o.hw.log(note);
      return undefined;
    },
    async stop(app) {
      const r = running.get(app.name);
      if (r) await stopProc(r);
      return undefined;
    },
    isNative: (name) => running.has(name),
    identity: (name) => running.get(name)?.identity,
    onExit: (l) => void exitListeners.push(l),
    async halt() {
      const all = [...running.values()];
      running.clear();
      await Promise.all(all.map(stopProc));
    },
    async close() {
      await runtime.halt();
    },
  };
  return runtime;
}
