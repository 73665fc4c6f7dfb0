// Test harness: the real fleet stack (in-process helper, embedded MQTT broker, registry) and the
// real swarm coordinator fed with every raw camera message (as main/app wires them), on a
// temporary database, for tests that talk to the simulated cameras over the wire.
import type { AuditLog } from '../audit';
import { createAuditLog } from '../audit';
import { createEventBus, type EventBus } from '../kernel/bus';
import type { Logger } from '../kernel/logger';
import type { SecretStore } from '../kernel/ports';
import { createFileKeySecretStore } from '../app';
import { createMqttService, type MqttService } from '../mqtt';
import { createSettingsService } from '../settings';
import { openDatabase, type Db } from '../store';
import { buildCoverage, createSwarmService, type SwarmService } from '../swarm';
import { createFleetService, type FleetService } from './index';
import { createHelperSupervisor, inProcessHelper, type HelperSupervisor } from './supervisor';

type ProgressListener = (ev: { id: string; sent?: number; total?: number; line?: string }) => void;

export interface FleetHarness {
  db: Db;
  bus: EventBus;
  audit: AuditLog;
  secrets: SecretStore;
  helper: HelperSupervisor;
  mqtt: MqttService;
  fleet: FleetService;
  /** The swarm coordinator: enrolled keys are registered with it, every camera message is ingested. */
  swarm: SwarmService;
  /** Pass as a deploy service's deps: the pinned enrolment channel and the swarm's acceptance. */
  deployDeps: { enrolment: FleetService['enrolment']; acceptanceOf: SwarmService['acceptanceOf'] };
  /** Pass as a deploy service's onHelperProgress. */
  onHelperProgress(l: ProgressListener): () => void;
  /** Closes the fleet, helper, broker and database (close the services built on top first). */
  close(): Promise<void>;
}

export async function createFleetHarness(dir: string, log: Logger, bus: EventBus = createEventBus()): Promise<FleetHarness> {
  const db = openDatabase({ dir }).db;
  const audit = createAuditLog({ db, bus, now: Date.now });
  const secrets = createFileKeySecretStore(db, dir);
  const settings = createSettingsService({ db, bus, log, now: Date.now });
  const ref: { fleet?: FleetService } = {};
  const progress = new Set<ProgressListener>();
  const helper = createHelperSupervisor({
    launch: inProcessHelper(),
    entry: 'in-process',
    log,
    onEvent: (e) => ref.fleet?.onHelperEvent(e),
    onProgress: (e) => progress.forEach((l) => l(e)),
  });
  const mqtt = createMqttService({ config: () => ({ mode: 'embedded', url: '', username: '' }), secrets, log });
  // The one trust path, as in the app: raw payloads → the swarm (keys as the fleet recorded them) → the fleet.
  const swarm = createSwarmService({ db, bus, log, now: Date.now, audit, keys: { get: (serial) => ref.fleet?.keyFor(serial) }, every: () => () => {} });
  const offRaw = mqtt.onRaw((topic, payload, at) => swarm.ingest(payload, at, topic));
  swarm.onMessage((m) => ref.fleet?.onCameraMessage(m));
  swarm.onRefused((b) => ref.fleet?.onBadMessage(b));
  await mqtt.start();
  const fleet = createFleetService({
    db, bus, log, audit, secrets, settings, helper, broker: () => mqtt.endpoint(), now: Date.now, noDemo: true,
    onKeyRecorded: (k) => {
      const { calibrated: _c, ...coverage } = buildCoverage({ serial: k.serial }, []);
      swarm.registerCamera({ serial: k.serial, keyId: k.keyId, publicKey: k.publicKey, coverage });
    },
  });
  ref.fleet = fleet;
  return {
    db,
    bus,
    audit,
    secrets,
    helper,
    mqtt,
    fleet,
    swarm,
    deployDeps: { enrolment: fleet.enrolment, acceptanceOf: (serial) => swarm.acceptanceOf(serial) },
    onHelperProgress(l) {
      progress.add(l);
      return () => void progress.delete(l);
    },
    async close() {
      await fleet.close();
      helper.close();
      offRaw();
      await mqtt.close();
      swarm.close();
      db.close();
    },
  };
}
