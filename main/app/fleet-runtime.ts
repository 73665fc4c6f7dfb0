// Builds the fleet's moving parts for the composition root: helper supervisor, MQTT (broker and
// subscriber) and the fleet service, wired to each other. createApp stays synchronous; the broker
// and the demo fleet come up in the background and report failures in the log.
import path from 'node:path';
import type { AuditLog } from '../audit';
import { startSimulatedFleet, type SimFleet } from '../camsim';
import type { EventBus } from '../kernel/bus';
import type { Logger } from '../kernel/logger';
import type { HelperLauncher, SecretStore } from '../kernel/ports';
import type { FromHelper } from '../helper';
import { createMqttService, type MqttService } from '../mqtt';
import type { SettingsService } from '../settings';
import type { Db } from '../store';
import { createFleetService, createHelperSupervisor, inProcessHelper, type FleetDeps, type FleetService, type HelperSupervisor } from '../fleet';

export function demoCountFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const n = Number(env.OMNISIGHT_DEMO_CAMERAS);
  return Number.isInteger(n) && n >= 1 && n <= 64 ? n : undefined;
}

export interface FleetRuntime {
  fleet: FleetService;
  helper: HelperSupervisor;
  mqtt: MqttService | undefined;
  /** Resolves when the broker and demo fleet are up (or failed and were logged). */
  ready: Promise<void>;
  /** The running demo fleet's public scene (zones, calibrations) and cameras, for the swarm's zone seed. */
  demo(): Pick<SimFleet, 'cameras' | 'scene'> | undefined;
  /** Upload bytes and build log lines the helper reports, keyed by the id in the request (deploy). */
  onHelperProgress(listener: (ev: HelperProgress) => void): () => void;
  close(): Promise<void>;
}

export type HelperProgress = Extract<FromHelper, { type: 'progress' }>;

export function createFleetRuntime(o: {
  db: Db;
  bus: EventBus;
  log: Logger;
  audit: AuditLog;
  secrets: SecretStore;
  settings: SettingsService;
  now: () => number;
  /** Without a launcher (unit tests of the app) the helper runs in-process and no broker or demo starts. */
  launchHelper?: HelperLauncher;
  helperEntry?: string;
  noDemo?: boolean;
  /**
   * Where the simulated cameras keep their HTTPS certificate and installed apps (with the app's key
   * and epoch in its local data), so a desktop restart meets the same identities; a temp folder when absent.
   */
  demoDataDir?: string;
  /** Size of the simulated fleet for this run, instead of the demoCameraCount setting. */
  demoCount?: number;
  /** Passed through to the fleet service (valid camera messages; calibrations read over VAPIX). */
  consumer?: FleetDeps['consumer'];
  onCalibration?: FleetDeps['onCalibration'];
}): FleetRuntime {
  const log = o.log.child({ cap: 'fleet' });
  const ref: { fleet?: FleetService } = {};
  let demoFleet: SimFleet | undefined;
  const progressListeners = new Set<(ev: HelperProgress) => void>();
  const helper = createHelperSupervisor({
    launch: o.launchHelper ?? inProcessHelper(),
    entry: o.helperEntry ?? path.join(__dirname, 'helper.js'),
    log,
    now: o.now,
    onEvent: (ev) => ref.fleet?.onHelperEvent(ev),
    onProgress: (ev) => {
      for (const l of progressListeners) l(ev);
    },
    onReady: (restarted) => ref.fleet?.onHelperReady(restarted),
  });
  const full = o.launchHelper !== undefined;
  const mqtt = full
    ? createMqttService({
        config: () => {
          const s = o.settings.get();
          return { mode: s.mqttMode, url: s.mqttUrl, username: s.mqttUsername };
        },
        secrets: o.secrets,
        log,
        now: o.now,
        onMessage: (m) => ref.fleet?.onCameraMessage(m),
        onBad: (b) => ref.fleet?.onBadMessage(b),
      })
    : undefined;
  const fleet = createFleetService({
    db: o.db,
    bus: o.bus,
    log,
    audit: o.audit,
    secrets: o.secrets,
    settings: o.settings,
    helper,
    broker: () => mqtt?.endpoint(),
    now: o.now,
    noDemo: o.noDemo || !full,
    consumer: o.consumer,
    onCalibration: o.onCalibration,
    // OMNISIGHT_DEMO_CAMERAS overrides the setting for one run (e2e and benchmarks size the fleet).
    startDemo: async (count) => {
      const sim = await startSimulatedFleet({ cameras: o.demoCount ?? demoCountFromEnv() ?? count, seed: 1, ...(o.demoDataDir ? { dataDir: o.demoDataDir } : {}) });
      demoFleet = sim;
      log.info({ cameras: sim.cameras.length, first: sim.cameras[0]?.url }, 'simulated ARTPEC fleet running (turn it off in Settings → Camera fleet)');
      return {
        cameras: sim.cameras,
        stop: async () => {
          if (demoFleet === sim) demoFleet = undefined;
          await sim.stop();
        },
      };
    },
  });
  ref.fleet = fleet;
  const f = fleet;
  const ready = (async () => {
    try {
      await mqtt?.start();
    } catch (err) {
      log.error({ err: (err as Error).message }, 'MQTT did not start; detections will not arrive');
    }
    await helper.whenReady();
    await f.start();
  })();

  return {
    fleet: f,
    helper,
    mqtt,
    ready,
    demo: () => demoFleet,
    onHelperProgress(l) {
      progressListeners.add(l);
      return () => void progressListeners.delete(l);
    },
    async close() {
      await f.close();
      helper.close();
      await mqtt?.close();
    },
  };
}
