// Builds the fleet's moving parts for the composition root: helper supervisor, MQTT (broker and
// subscriber) and the fleet service. Each is built once, in that order, then linked (helper and
// MQTT events reach the fleet through signals attached after the fleet exists); each is added to the
// app's one close list. createApp stays synchronous; the broker and the demo fleet come up in the
// background and report failures in the log.
import path from 'node:path';
import type { AuditLog } from '../audit';
import { startSimulatedFleet, type SimFleet } from '../camsim';
import type { EventBus } from '../kernel/bus';
import type { Logger } from '../kernel/logger';
import type { HelperLauncher, SecretStore } from '../kernel/ports';
import { createFleetService, createHelperSupervisor, inProcessHelper, type FleetDeps, type FleetService, type HelperEvent, type HelperSupervisor } from '../fleet';
import type { FromHelper } from '../helper';
import { createMqttService, type MqttService } from '../mqtt';
import type { SettingsService } from '../settings';
import type { Db } from '../store';
import { createSignal, type Closers } from './lifecycle';

export function demoCountFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const n = Number(env.OMNISIGHT_DEMO_CAMERAS);
  return Number.isInteger(n) && n >= 1 && n <= 64 ? n : undefined;
}

export type FleetCalibration = Parameters<NonNullable<FleetDeps['onCalibration']>>[0];

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
  /** The calibration a camera supplies over VAPIX, as the fleet reads it (the timeline's feed). */
  onCalibration(listener: (c: FleetCalibration) => void): () => void;
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
  /** The app's close list: the helper, the MQTT service and the fleet are added in that order. */
  closers: Closers;
  /** Without a launcher (unit tests of the app) the helper runs in-process and no broker or demo starts. */
  launchHelper?: HelperLauncher;
  helperEntry?: string;
  noDemo?: boolean;
  /** The desktop's retained MQTT messages (its envelope-v3 session key), published on every connect and cleared by the client's will. */
  mqttRetained?: ReadonlyArray<readonly [topic: string, payload: string]>;
  /**
   * Where the simulated cameras keep their HTTPS certificate and installed apps (with the app's key
   * and epoch in its local data), so a desktop restart meets the same identities; a temp folder when absent.
   */
  demoDataDir?: string;
  /** Size of the simulated fleet for this run, instead of the demoCameraCount setting. */
  demoCount?: number;
  /** Passed through to the fleet service (verified camera messages: MQTT hands raw payloads to the swarm, which the app links to the fleet). */
  consumer?: FleetDeps['consumer'];
}): FleetRuntime {
  const log = o.log.child({ cap: 'fleet' });
  let demoFleet: SimFleet | undefined;
  // Channels from the helper and MQTT (built first) to the fleet (built after them, since it calls both).
  const helperEvents = createSignal<[HelperEvent]>();
  const helperReady = createSignal<[boolean]>();
  const helperProgress = createSignal<[HelperProgress]>();
  const calibrations = createSignal<[FleetCalibration]>();

  // ---- build --------------------------------------------------------------------------------
  const helper = o.closers.add(
    'helper',
    createHelperSupervisor({
      launch: o.launchHelper ?? inProcessHelper(),
      entry: o.helperEntry ?? path.join(__dirname, 'helper.js'),
      log,
      now: o.now,
      onEvent: helperEvents.emit,
      onProgress: helperProgress.emit,
      onReady: helperReady.emit,
    }),
    (h) => h.close(),
  );
  const full = o.launchHelper !== undefined;
  const mqtt = full
    ? o.closers.add(
        'mqtt',
        createMqttService({
          config: () => {
            const s = o.settings.get();
            return { mode: s.mqttMode, url: s.mqttUrl, username: s.mqttUsername };
          },
          secrets: o.secrets,
          log,
          now: o.now,
          retained: o.mqttRetained,
        }),
        (m) => m.close(),
      )
    : undefined;
  const fleet = o.closers.add(
    'fleet',
    createFleetService({
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
      onCalibration: calibrations.emit,
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
    }),
    (f) => f.close(),
  );

  // ---- link ---------------------------------------------------------------------------------
  const links = [
    helperEvents.on((ev) => fleet.onHelperEvent(ev)),
    helperReady.on((restarted) => fleet.onHelperReady(restarted)),
  ];
  o.closers.add('fleet links', links, (offs) => offs.forEach((off) => off()));

  // ---- start --------------------------------------------------------------------------------
  const ready = (async () => {
    try {
      await mqtt?.start();
    } catch (err) {
      log.error({ err: (err as Error).message }, 'MQTT did not start; detections will not arrive');
    }
    await helper.whenReady();
    await fleet.start();
  })();

  return {
    fleet,
    helper,
    mqtt,
    ready,
    demo: () => demoFleet,
    onHelperProgress: (l) => helperProgress.on(l),
    onCalibration: (l) => calibrations.on(l),
  };
}
