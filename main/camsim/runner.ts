// Runs what a simulated camera receives: installs the .eap into a per-camera folder and, on
// control.cgi start, runs its aarch64 executable under qemu-aarch64-static with the simulator's
// hardware layer attached (detections over a loopback socket, the camera's broker, serial and
// version; see native/README.md). The program finds its own key in its local data folder, which
// survives restarts and upgrades as on AXIS OS: nothing is provisioned behind its back. The
// installer refuses what AXIS OS would: unsigned packages while AllowUnsigned is off, a loader the
// firmware lacks, a library neither in the firmware nor in the package's lib/. Without an emulator
// the camera says so and runs its built-in agent instead.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { UPLOAD_ERR, type AppRuntime, type InstalledApp } from './apps';
import { checkEap, checkLoadable, osCompatible } from './eap';

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

export interface EapRuntime extends AppRuntime {
  /** 'native' when installed aarch64 programs really run; 'agent' when the built-in agent stands in. */
  readonly mode: 'native' | 'agent';
  /** Plain words on why the mode is what it is. */
  readonly note: string;
  /** True while a real program runs for this app. */
  isNative(name: string): boolean;
  /** The loopback port the running program serves its reverse-proxied routes on (from its stdout). */
  httpPort(name: string): number | undefined;
  /** The app's persistent local data folder (created on demand; kept across restarts and upgrades). */
  localData(name: string): string;
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
  httpPort?: number;
  stopping: boolean;
  exited: Promise<void>;
}

/** Debian's arm64 loader (libc6:arm64), whose libc sits beside it: what stands in for AXIS OS's. */
const HOST_LOADERS = ['/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1', '/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1'];

/**
 * The simulated firmware's root for qemu -L: it has /lib/ld-linux-aarch64.so.1 (AXIS OS's loader
 * path) and nothing of Debian's multiarch layout, so a program asking for another loader cannot
 * start here either. Libraries the loader then looks up fall through to the host's arm64 folders.
 */
export function simSysroot(dir: string): string {
  const root = path.join(dir, 'sysroot');
  const link = path.join(root, 'lib', 'ld-linux-aarch64.so.1');
  if (!fs.existsSync(link)) {
    const loader = HOST_LOADERS.find((p) => fs.existsSync(p));
    if (!loader) throw new Error(`no arm64 loader on this machine (${HOST_LOADERS.join(' or ')}); run scripts/setup-cross.sh`);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    try {
      fs.symlinkSync(loader, link);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  return root;
}

export function createEapRuntime(o: {
  /** The camera's own folder; installed apps live below it and survive a simulated restart. */
  dir: string;
  hw: SimHardware;
  /** Path of the emulator; null forces the built-in agent; undefined looks on PATH. */
  emulator?: string | null;
  /** Root handed to qemu -L; default a per-camera one with only AXIS OS's loader path (simSysroot). */
  sysroot?: string;
  stopTimeoutMs?: number;
}): EapRuntime {
  const emulator = o.emulator === null ? undefined : (o.emulator ?? findEmulator());
  let sysroot = o.sysroot;
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
  // Staging folders a crash (power loss mid-install) left behind are swept at start.
  for (const e of fs.readdirSync(appsDir)) if (e.endsWith('.new') || e.endsWith('.old')) fs.rmSync(path.join(appsDir, e), { recursive: true, force: true });

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

  const localData = (name: string): string => {
    const d = path.join(appsDir, name, 'localdata');
    fs.mkdirSync(d, { recursive: true, mode: 0o700 });
    return d;
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
    const broker = o.hw.broker();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      OMNISIGHT_SIM_DETECTIONS: `tcp:127.0.0.1:${feedPort}`,
      OMNISIGHT_CAMERA_SERIAL: o.hw.serial,
      // No broker configured: a closed loopback port, so the program retries instead of failing.
      OMNISIGHT_MQTT_HOST: broker?.host ?? '127.0.0.1',
      OMNISIGHT_MQTT_PORT: String(broker?.port ?? 1),
      OMNISIGHT_APP_VERSION: app.version,
      // The app keeps its key, epoch and calibration here (AXIS OS: /usr/local/packages/<app>/localdata).
      OMNISIGHT_LOCALDATA: localData(app.name),
      // Many simulated cameras share this machine: each program picks a free port and prints it;
      // the camera's reverse proxy forwards to it (the manifest's target port stands for this one).
      OMNISIGHT_HTTP_PORT: '0',
    };
    sysroot ??= simSysroot(o.dir);
    const proc = spawn(emulator!, ['-L', sysroot, exePath(app.name)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    // The port line can arrive before the Running record exists: keep it until then.
    const seen: { run?: Running; early?: number } = {};
    const lines = (buf: Buffer): void => {
      for (const l of buf.toString('utf8').split('\n')) {
        if (!l.trim()) continue;
        const m = /identity endpoint http:\/\/127\.0\.0\.1:(\d+)\//.exec(l);
        if (m) {
          if (seen.run) seen.run.httpPort = Number(m[1]);
          else seen.early = Number(m[1]);
        }
        o.hw.log(l.trim());
      }
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
    const run: Running = { proc, feed, sockets, timer, httpPort: seen.early, stopping: false, exited: Promise.resolve() };
    seen.run = run;
    running.set(app.name, run);
    run.exited = new Promise<void>((resolve) => {
      onExit = (code) => {
        clearInterval(timer);
        for (const s of sockets) s.destroy();
        feed.close();
        if (running.get(app.name) === run) running.delete(app.name);
        if (!run.stopping) {
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
      if (!c.ok) {
        o.hw.log(`upload refused: ${c.reason}`);
        return { ok: false, code: c.code };
      }
      if (!osCompatible(c.compatibleOsVersions, ctx.firmware)) {
        o.hw.log(`upload refused: ${c.appName} ${c.version} is for AXIS OS ${JSON.stringify(c.compatibleOsVersions)}; this camera runs ${ctx.firmware}`);
        return { ok: false, code: UPLOAD_ERR.incompatible };
      }
      // Nothing the simulator accepts is signed by Axis: AXIS OS 12 refuses it unless AllowUnsigned is on.
      if (!ctx.allowUnsigned) {
        o.hw.log(`upload refused: ${c.appName} ${c.version} is not signed and AllowUnsigned is false (applications/config.cgi)`);
        return { ok: false, code: UPLOAD_ERR.verification };
      }
      const loadable = checkLoadable(c.entries, c.appName);
      if (!loadable.ok) {
        o.hw.log(`upload refused: ${loadable.reason}`);
        return { ok: false, code: UPLOAD_ERR.incompatible };
      }
      const same = ctx.installed.find((a) => a.name.toLowerCase() === c.appName.toLowerCase());
      if (same && same.name !== c.appName) return { ok: false, code: UPLOAD_ERR.letterCase };
      if (same?.vendorId && c.vendorId && same.vendorId !== c.vendorId) return { ok: false, code: UPLOAD_ERR.vendorIdDiffers };
      // Unpack beside the old copy and swap, so a failed write leaves the previous install intact.
      const target = path.join(appsDir, c.appName);
      const staging = `${target}.new`;
      for (const e of c.entries) {
        const p = path.resolve(staging, e.name);
        if (!p.startsWith(`${path.resolve(staging)}${path.sep}`) || e.name === 'localdata' || e.name.startsWith('localdata/')) {
          o.hw.log(`upload refused: ${e.name} is not a path a package may write`);
          return { ok: false, code: UPLOAD_ERR.badManifest };
        }
      }
      // File-system work goes through libuv's pool: the camera keeps answering while it installs.
      await fs.promises.rm(staging, { recursive: true, force: true });
      try {
        await Promise.all(
          c.entries.map(async (e) => {
            const p = path.resolve(staging, e.name);
            await fs.promises.mkdir(path.dirname(p), { recursive: true });
            await fs.promises.writeFile(p, e.data, { mode: e.name === c.appName ? 0o755 : (e.mode & 0o777) || 0o644 });
          }),
        );
      } catch (e) {
        // A failed install leaves nothing behind (disk full, a file where a folder should be …).
        await fs.promises.rm(staging, { recursive: true, force: true });
        o.hw.log(`install of ${c.appName} failed: ${(e as Error).message}`);
        return { ok: false, code: UPLOAD_ERR.tooLarge };
      }
      const r = running.get(c.appName);
      if (r) await stopProc(r);
      // Local data survives an upgrade (Axis: "All content in the localdata directory remains after
      // an application upgrade"): it moves into the new copy before the swap. Swap by renames; the
      // old copy is deleted after the new one is in place, off the reply's path. Any failure puts
      // the previous install (and its local data) back and removes the staging folder.
      const old = `${target}.old`;
      const keepData = path.join(target, 'localdata');
      const movedData = path.join(staging, 'localdata');
      let moved = false;
      let had = false;
      try {
        moved = await fs.promises.rename(keepData, movedData).then(
          () => true,
          (e: NodeJS.ErrnoException) => {
            if (e.code !== 'ENOENT') throw e;
            return false;
          },
        );
        await fs.promises.rm(old, { recursive: true, force: true });
        had = await fs.promises.rename(target, old).then(
          () => true,
          (e: NodeJS.ErrnoException) => {
            if (e.code !== 'ENOENT') throw e;
            return false;
          },
        );
        await fs.promises.rename(staging, target);
      } catch (e) {
        if (had && !fs.existsSync(target)) await fs.promises.rename(old, target).catch(() => undefined);
        if (moved && fs.existsSync(movedData)) await fs.promises.rename(movedData, keepData).catch(() => undefined);
        await fs.promises.rm(staging, { recursive: true, force: true });
        o.hw.log(`install of ${c.appName} failed while swapping it in: ${(e as Error).message}; the previous install is kept`);
        return { ok: false, code: UPLOAD_ERR.unspecified };
      }
      if (had) void fs.promises.rm(old, { recursive: true, force: true }).catch(() => undefined);
      const files = c.entries.map((e) => e.name).sort();
      return { ok: true, app: { name: c.appName, niceName: c.friendlyName, vendor: c.vendor, version: c.version, applicationId: c.appId, vendorId: c.vendorId, files, reverseProxy: c.reverseProxy, settingPage: c.settingPage, vendorUrl: c.vendorUrl } };
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
    async remove(app) {
      const r = running.get(app.name);
      if (r) await stopProc(r);
      await fs.promises.rm(path.join(appsDir, app.name), { recursive: true, force: true });
    },
    isNative: (name) => running.has(name),
    httpPort: (name) => running.get(name)?.httpPort,
    localData,
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

const OWNER_FILE = 'owner.pid';

/** Marks a fleet's temp folder with the process that owns it (see sweepStaleFleetDirs). */
export function claimFleetDir(dir: string, pid = process.pid): void {
  fs.writeFileSync(path.join(dir, OWNER_FILE), `${pid}\n`);
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Removes `<prefix>*` folders in `parent` that a killed run left behind: those whose owner process
 * is gone, and unmarked ones older than `unmarkedAgeMs` (a run killed before it wrote its mark).
 * Returns the folders removed.
 */
export function sweepStaleFleetDirs(parent: string, prefix = 'camsim-apps-', now = Date.now(), unmarkedAgeMs = 24 * 60 * 60 * 1000): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return removed;
  }
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const dir = path.join(parent, n);
    let stale: boolean;
    try {
      const st = fs.lstatSync(dir);
      if (!st.isDirectory() || (typeof process.getuid === 'function' && st.uid !== process.getuid())) continue;
      const pid = Number(fs.readFileSync(path.join(dir, OWNER_FILE), 'utf8').trim());
      stale = !(Number.isInteger(pid) && pid > 0 && alive(pid));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') continue;
      try {
        stale = now - fs.statSync(dir).mtimeMs > unmarkedAgeMs;
      } catch {
        continue;
      }
    }
    if (!stale) continue;
    fs.rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
