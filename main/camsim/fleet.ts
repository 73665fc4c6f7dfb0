import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSimCamera, parseBrokerUrl } from './camera';
import type { ModelName } from './detector';
import type { CameraIdentity, SimCamera, SimCameraInfo, SimFleet, SimFleetOptions, SimUser } from './types';
import { createRng, type Rng } from './rng';
import { claimFleetDir, createEapRuntime, findEmulator, sweepStaleFleetDirs, type EapRuntime } from './runner';
import { createScene } from './scene';

const MODELS: { soc: CameraIdentity['soc']; prodNbr: string; prodFullName: string; prodType: string }[] = [
  { soc: 'Axis Artpec-8', prodNbr: 'Q1656', prodFullName: 'AXIS Q1656 Box Camera', prodType: 'Box Camera' },
  { soc: 'Axis Artpec-9', prodNbr: 'Q1728', prodFullName: 'AXIS Q1728 Block Camera', prodType: 'Block Camera' },
  { soc: 'Axis Artpec-8', prodNbr: 'P3265-LVE', prodFullName: 'AXIS P3265-LVE Dome Camera', prodType: 'Dome Camera' },
  { soc: 'Axis Artpec-9', prodNbr: 'Q1808-LE', prodFullName: 'AXIS Q1808-LE Bullet Camera', prodType: 'Bullet Camera' },
];
const AXIS_OUIS = ['B8A44F', 'ACCC8E', 'E82725'];

const password = (): string => randomBytes(12).toString('base64url');

function identityFor(i: number, rng: Rng, ops: { operator: string; viewer: string }, taken: Set<string>, firmwareOverride?: string): CameraIdentity {
  const model = MODELS[i % MODELS.length]!;
  let serial: string;
  do {
    serial = rng.pick(AXIS_OUIS) + rng.int(0, 0xffffff).toString(16).toUpperCase().padStart(6, '0');
  } while (taken.has(serial));
  taken.add(serial);
  // Older ARTPEC-8 units still run AXIS OS 11 (unsigned apps allowed by default).
  const firmware = firmwareOverride ?? (model.soc === 'Axis Artpec-9' ? '12.2.62' : i % 4 === 2 ? '11.11.73' : '12.0.91');
  const users: SimUser[] = [
    { username: 'root', password: password(), role: 'administrator' },
    { username: 'operator', password: ops.operator, role: 'operator' },
    { username: 'viewer', password: ops.viewer, role: 'viewer' },
  ];
  return {
    id: `cam-${String(i + 1).padStart(2, '0')}`,
    serial,
    mac: serial.match(/../g)!.join(':'),
    ...model,
    firmware,
    users,
  };
}

export async function startSimulatedFleet(opts: SimFleetOptions): Promise<SimFleet> {
  const n = Math.floor(opts.cameras);
  if (!(n >= 1 && n <= 256)) throw new Error('cameras must be between 1 and 256');
  const seed = opts.seed ?? randomBytes(4).readUInt32LE(0);
  const now = opts.now ?? Date.now;
  if (opts.firmware !== undefined && !/^\d{1,2}\.\d{1,3}(\.\d{1,4})?$/.test(opts.firmware)) throw new Error(`firmware must be an AXIS OS version such as 12.0.91, not ${opts.firmware}`);
  if (opts.broker !== undefined && !parseBrokerUrl(opts.broker, 'check')) throw new Error(`broker must be a URL such as mqtt://127.0.0.1:1883, not ${opts.broker}`);
  if (opts.lite && !opts.broker) throw new Error('lite fleets connect to their broker at start: give broker too');
  if (opts.fpsCamera !== undefined && !(Number.isInteger(opts.fpsCamera) && opts.fpsCamera >= 1 && opts.fpsCamera <= 30)) throw new Error('fpsCamera must be an integer from 1 to 30');
  const rng = createRng(seed);
  const scene = createScene({ seed, cameras: n, origin: now() });
  const ops = { operator: password(), viewer: password() };
  const taken = new Set<string>();
  const cams: SimCamera[] = [];
  // Each camera installs into its own folder; a temp folder unless the caller keeps one.
  const ownDir = !opts.dataDir;
  // Runs that were killed left their temp folders: sweep those whose process is gone.
  if (ownDir) sweepStaleFleetDirs(os.tmpdir());
  const baseDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'camsim-apps-'));
  if (ownDir) claimFleetDir(baseDir);
  const emulator = opts.apps === 'agent' ? null : (findEmulator() ?? undefined);
  const runtimes: EapRuntime[] = [];
  for (let i = 0; i < n; i++) {
    const identity = identityFor(i, rng.fork(100 + i), ops, taken, opts.firmware);
    const model: ModelName = i % 4 === 3 ? 'yolov5n' : 'ssd_mobilenet_v2';
    cams.push(
      createSimCamera({
        identity,
        port: opts.basePort ? opts.basePort + i : 0,
        // HTTPS ports follow the HTTP ones (basePort + cameras + i) unless given on their own.
        httpsPort: opts.httpsBasePort ? opts.httpsBasePort + i : opts.basePort ? opts.basePort + n + i : 0,
        stateDir: path.join(baseDir, identity.serial),
        scene,
        cam: scene.model(identity.id),
        rng: rng.fork(1000 + i),
        now,
        broker: opts.broker,
        frameWidth: opts.frameWidth ?? 640,
        frameHeight: opts.frameHeight ?? 360,
        model,
        fpsCamera: opts.fpsCamera ?? 10,
        mqttActive: opts.lite === true,
        flMemoryOnly: opts.lite === true,
        runtime: (hw) => {
          const r = createEapRuntime({ dir: path.join(baseDir, identity.serial), hw, emulator });
          runtimes.push(r);
          return r;
        },
      }),
    );
  }
  try {
    for (const c of cams) await c.start();
  } catch (e) {
    await Promise.all(cams.map((c) => c.stop()));
    if (ownDir) fs.rmSync(baseDir, { recursive: true, force: true });
    throw e;
  }
  const byId = new Map(cams.map((c) => [c.identity.id, c]));
  const cameras: SimCameraInfo[] = cams.map((c) => {
    const admin = c.identity.users[0]!;
    return {
      id: c.identity.id,
      url: `http://127.0.0.1:${c.port()}`,
      httpsPort: c.httpsPort(),
      username: admin.username,
      password: admin.password,
      serial: c.identity.serial,
      model: c.identity.prodFullName,
      mac: c.identity.mac,
      soc: c.identity.soc,
      users: c.identity.users.map((u) => ({ ...u })),
    };
  });
  let stopped = false;
  return {
    cameras,
    scene,
    appMode: runtimes[0]?.mode ?? 'agent',
    appNote: runtimes[0]?.note ?? '',
    agentKey: (id) => {
      const c = byId.get(id);
      if (!c) throw new Error(`No simulated camera ${id}`);
      return c.agentKey();
    },
    installedFiles: (id, app) => {
      const c = byId.get(id);
      if (!c) throw new Error(`No simulated camera ${id}`);
      return c.installedFiles(app);
    },
    faults: (id) => {
      const c = byId.get(id);
      if (!c) throw new Error(`No simulated camera ${id}; the fleet has ${[...byId.keys()].join(', ')}`);
      return c.faults;
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await Promise.all(cams.map((c) => c.stop()));
      if (ownDir) fs.rmSync(baseDir, { recursive: true, force: true });
    },
  };
}
