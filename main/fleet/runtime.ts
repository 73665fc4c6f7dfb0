// Builds the fleet's moving parts for the composition root: helper supervisor, MQTT (broker and
// subscriber) and the fleet service, wired to each other. createApp stays synchronous; the broker
// and the demo fleet come up in the background and report failures in the log.
import path from 'node:path';
import type { AuditLog } from '../audit';
import { startSimulatedFleet } from '../camsim';
import type { EventBus } from '../core/bus';
import type { Logger } from '../core/logger';
import type { HelperLauncher, SecretStore } from '../core/ports';
import { createMqttService, type MqttService } from '../mqtt';
import type { SettingsService } from '../settings';
import type { Db } from '../store';
import { createFleetService, type FleetService } from './index';
import { createHelperSupervisor, inProcessHelper, type HelperSupervisor } from './supervisor';

export interface FleetRuntime {
  fleet: FleetService;
  helper: HelperSupervisor;
  mqtt: MqttService | undefined;
  /** Resolves when the broker and demo fleet are up (or failed and were logged). */
  ready: Promise<void>;
  close(): Promise<void>;
}

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
}): FleetRuntime {
  const log = o.log.child({ cap: 'fleet' });
  const ref: { fleet?: FleetService } = {};
  const helper = createHelperSupervisor({
    launch: o.launchHelper ?? inProcessHelper(),
    entry: o.helperEntry ?? path.join(__dirname, 'helper.js'),
    log,
    now: o.now,
    onEvent: (ev) => ref.fleet?.onHelperEvent(ev),
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
    startDemo: async (count) => startSimulatedFleet({ cameras: count, seed: 1 }),
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
    async close() {
      await f.close();
      helper.close();
      await mqtt?.close();
    },
  };
}
