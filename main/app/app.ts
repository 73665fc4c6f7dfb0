// Composition root: builds every service once, then links them, then starts what listens; closes
// them in reverse order of construction from one list (lifecycle.ts). A service is built only from
// services built before it; where two services talk both ways, the link phase joins them through a
// service method or a signal. Both front doors (Electron in main/electron/, browser mode in
// main/serve.ts) call createApp and differ only in the adapters they pass in.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { version } from '../../package.json';
import type { AppInfo } from '../../preload/contract';
import { createAgentBridge, type AgentBridge } from '../agents';
import { createClipboardRelay, createOrchestrator, createSummaryService, relayRoomsFrom, summaryRoomsFrom, type RelayClipboard } from '../agents';
import { createAuditLog, type AuditLog } from '../audit';
import { createReviewService } from '../review';
import { createFederatedService, liveCameras } from '../federated';
import { linkFederated } from './wiring-federated';
import { createDeployApproval, createDeployService, defaultNativeDir } from '../fleet';
import { createFleetRuntime, type FleetRuntime } from './fleet-runtime';
import { createRoomsService, type RoomsService } from '../rooms';
import { createSettingsService, type SettingsService } from '../settings';
import { openDatabase, type Db } from '../store';
import { createTimelineHistory, createTimelineService, type TimelineService } from '../timeline';
import { createPerfService, type PerfService } from '../perf';
import { createReplayWriter, createSessionNotices, createSwarmService, createVerifyPool, loadDesktopSessionKey, REPLAY_FILE, SESSION_KEY_TOPIC, type SwarmService } from '../swarm';
import { linkSwarm } from './wiring-swarm';
import { linkBrokerHealth, linkQuarantineToFleet, linkSwarmMessagesToFleet, linkVerifiedTimeline, snapshotBySerial } from './wiring-glue';
import { mulberry32 } from '../kernel/random';
import { createEventBus, type EventBus } from '../kernel/bus';
import { createDispatcher, type Dispatcher, type RejectedCall } from '../kernel/dispatcher';
import type { Logger } from '../kernel/logger';
import { createNodeClipboard } from './clipboard-node';
import { createClosers } from './lifecycle';
import { createDetlagTrace } from './detlag-trace';
import { builtWorkerEntry } from '../kernel/workers';
import { PRODUCT_NAME } from '../kernel/paths';
import type { HelperLauncher, Notifier, SecretStore } from '../kernel/ports';

export interface AppOptions {
  mode: AppInfo['mode'];
  dataDir: string;
  log: Logger;
  /** Built from the open database, because the browser-mode store keeps its ciphertext there. */
  secretStore: (db: Db) => SecretStore;
  notifier: Notifier;
  /** Starts the helper process; absent in unit tests. */
  launchHelper?: HelperLauncher;
  /** The built helper entry (out/main/helper.js), resolved by the front door that knows where it runs from. */
  helperEntry?: string;
  /** Turn the simulated fleet off regardless of the setting (--no-demo). */
  noDemo?: boolean;
  now?: () => number;
  /** Agent bridge port on 127.0.0.1; 0 or absent picks a free one (written to <dataDir>/bridge.json). */
  agentBridgePort?: number;
  /** The clipboard relay's adapter: Electron's clipboard in app mode; xclip / clipboardy when absent. */
  clipboard?: RelayClipboard;
}

export interface App {
  dispatcher: Dispatcher;
  bus: EventBus;
  audit: AuditLog;
  settings: SettingsService;
  secrets: SecretStore;
  db: Db;
  /** Camera fleet: helper, MQTT, registry; browser mode binds its frame sockets through it. */
  fleet: FleetRuntime;
  /** Tracks and predictions; fed through timeline.ingest() with the swarm's verified detections only. */
  timeline: TimelineService;
  rooms: RoomsService;
  /** The agent bridge; it starts listening with the app (agents.start() resolves to its port). */
  agents: AgentBridge;
  /** Swarm coordinator; the MQTT side feeds it through swarm.ingest(payload, receivedAt, topic). */
  swarm: SwarmService;
  /** Performance monitor; browser mode serves perf.metricsRoute() at /metrics (token required). */
  perf: PerfService;
  info: () => AppInfo;
  close(): Promise<void>;
}

/**
 * A worker entry the build wrote (out/main). This module is bundled into a shared chunk
 * (out/main/chunks): looking only beside it found no worker, and the built app verified and
 * committed everything on its main thread. Undefined from source (unit tests): those run here.
 */
const builtWorker = (name: string): string | undefined => builtWorkerEntry(__dirname, name);

export function createApp(opts: AppOptions): App {
  const now = opts.now ?? Date.now;
  const { log } = opts;
  const closers = createClosers(log);
  const { db, file, migrated } = closers.add('database', openDatabase({ dir: opts.dataDir, now }), (d) => d.db.close());
  if (migrated.length) log.info({ file, migrated }, 'database migrated');

  // ---- build: every service, each from services built before it --------------------------------
  const bus = createEventBus((err) => log.error({ err }, 'event listener failed'));
  const audit = createAuditLog({ db, bus, now });
  const secrets = opts.secretStore(db);
  const settings = createSettingsService({ db, bus, log, now });
  const recordRejection = (r: RejectedCall): void => {
    audit.record({
      kind: 'input.rejected',
      severity: 'warning',
      source: `${r.ctx.transport}:${r.ctx.peer}`,
      message: r.message,
      detail: { method: r.method, code: r.code },
    });
  };
  const dispatcher = createDispatcher({ log, onRejected: recordRejection });
  const startedAt = now();
  const warnings: string[] = [];
  if (secrets.protection === 'basic-text')
    warnings.push(
      'Saved passwords are not protected: this Linux session has no keyring, so Electron falls back to a fixed key. Install and unlock a keyring (GNOME Keyring or KWallet) and restart.',
    );
  const info = (): AppInfo => ({
    name: PRODUCT_NAME,
    version,
    mode: opts.mode,
    dataDir: opts.dataDir,
    platform: `${process.platform}-${process.arch}`,
    secretProtection: secrets.protection,
    warnings,
    startedAt,
    broker: fleet.mqtt?.brokerState() ?? null, // fleet is built below; info() is only called once the app runs
  });

  const rooms = closers.add('rooms', createRoomsService({ db, bus, now, dataDir: opts.dataDir, log }), (s) => s.close());
  // Camera fleet: helper, MQTT, registry (each added to the close list as it is built).
  // The demo cameras keep their certificates and app data under the data folder: a restart meets the same identities.
  // Envelope v3: the desktop's X25519 key (D_sk in the secret store), published retained on every
  // MQTT connect; cameras derive per-session MAC keys from it (docs/protocol.md, "Envelope v3").
  const sessionKey = loadDesktopSessionKey(secrets);
  const fleet = createFleetRuntime({
    db, bus, log, audit, secrets, settings, now, closers, launchHelper: opts.launchHelper, helperEntry: opts.helperEntry, noDemo: opts.noDemo, demoDataDir: path.join(opts.dataDir, 'demo-fleet'),
    mqttRetained: [[SESSION_KEY_TOPIC, sessionKey.announcement()]],
  });
  // Fixed seed: the random source only draws the common samples for zone-entry probabilities.
  const later: { swarmLink?: ReturnType<typeof linkSwarm> } = {};
  const timeline = closers.add(
    'timeline',
    // A calibration that arrives (over VAPIX after the key, or the user's reference points) changes
    // what the camera covers: the swarm link builds its coverage again (declared below).
    createTimelineService({ db, bus, log, now, random: mulberry32(0x7e11), onCalibrated: () => later.swarmLink?.sync() }),
    (s) => s.close(),
  );
  const perf = closers.add('perf', createPerfService({ bus, log, now, dataDir: opts.dataDir }), (s) => s.close());
  const notices = createSessionNotices({ desktopKeyId: sessionKey.id, publish: (topic, payload) => fleet.mqtt?.publish(topic, payload) ?? false, now });
  // The swarm's replay state is committed on a writer thread (main/swarm/replay-writer.ts) when the
  // built worker is there (app and browser mode); unit tests run from source and commit on this thread.
  const replayWorker = builtWorker('replay-writer-worker.js');
  const replayWriter = replayWorker
    ? closers.add('swarm replay writer', createReplayWriter({ file: path.join(opts.dataDir, REPLAY_FILE), entry: replayWorker }), (w) => w.close())
    : undefined;
  const swarm = closers.add(
    'swarm',
    createSwarmService({
      db, bus, log, now, audit, sessionKey, replayWriter,
      onFusionLatency: (s, open) => perf.recordFusion(s, open),
      onIngest: (r, bytes) => {
        notices(r); // an "unknown session" refusal: the camera is told, and announces a new session
        perf.recordReport(r.accepted ? 'accepted' : r.reason);
        if (r.accepted) {
          perf.recordBytes(r.camera, bytes);
          if (r.stats) perf.recordCameraStats(r.camera, r.stats);
        }
      },
    }),
    (s) => s.close(),
  );
  // Event review: a snapshot from each confirming camera, over VAPIX through the fleet.
  const review = closers.add(
    'review',
    createReviewService({ db, bus, log: log.child({ cap: 'review' }), now, dataDir: opts.dataDir, snapshot: snapshotBySerial(fleet.fleet) }),
    (s) => s.close(),
  );
  // Federated learning with the cameras as clients (fl2 over MQTT): the desktop only aggregates.
  // Offline cameras are not selected; link health comes from the swarm's measurements, with the
  // fleet's connection state as the fallback for cameras it does not know.
  const fedCameras = liveCameras({ fleet: fleet.fleet, swarmLinks: () => swarm.coordinator.topology.graph().nodes });
  const federated = closers.add(
    'federated',
    createFederatedService({
      db, bus, log, now, audit,
      seed: randomBytes(32),
      publish: (topic, payload) => fleet.mqtt?.publish(topic, payload) ?? false,
      cameras: fedCameras.cameras,
      available: fedCameras.available,
      linkHealth: fedCameras.linkHealth,
    }),
    (s) => s.close(),
  );
  // Camera fl messages reach the server only through the swarm's verification; outcomes go back as labels.
  closers.add('federated link', linkFederated({ swarm, federated, isRegistered: (serial) => fleet.fleet.keyFor(serial) !== undefined }), (off) => off());
  // One-click deploy drives the helper; heartbeats reach it through the fleet's message feed.
  const deploy = closers.add(
    'deploy',
    createDeployService({
      db, bus, log: log.child({ cap: 'deploy' }), audit, now, dataDir: opts.dataDir,
      helper: fleet.helper,
      registry: fleet.fleet.registry,
      enrolment: fleet.fleet.enrolment,
      // Verified = the swarm accepts the new version's signed reports under the enrolled key.
      acceptanceOf: (serial) => swarm.acceptanceOf(serial),
      onHelperProgress: (l) => fleet.onHelperProgress(l),
      nativeDir: defaultNativeDir(),
      models: (v) => federated.modelArtifact(v),
    }),
    (s) => s.close(),
  );
  const approval = closers.add('deploy approval', createDeployApproval({ db, bus, log: log.child({ cap: 'deploy-approval' }), now, rooms, deploy }), (s) => s.close());
  // Agents reach a deploy only through a proposal the room must pass.
  const agents = closers.add(
    'agents',
    createAgentBridge({ db, bus, audit, rooms, log, now, dataDir: opts.dataDir, dispatcher, port: opts.agentBridgePort, proposeDeploy: (i) => approval.propose(i) }),
    (s) => s.close(),
  );
  // Assist: team plans (apply creates the room and issues one token per member), room summaries,
  // and the Claude Desktop clipboard relay (Node adapter unless the front door passes Electron's).
  const orchestrator = createOrchestrator({
    db,
    now,
    createRoom: ({ name }) => rooms.createRoom({ name }),
    addMember: ({ roomId, memberId, name, role }) => rooms.addMember({ roomId, member: { kind: 'agent', id: memberId, name }, roles: [role] }),
    issueToken: (t) => {
      const { token, info } = agents.tokens.create(t);
      audit.record({ kind: 'agents.token.created', severity: 'info', source: 'orchestrator', message: `Agent token "${t.name}" issued with ${t.scopes.join(', ')}`, detail: { tokenId: info.id } });
      return { token, memberId: `agent:${info.id}` }; // the id the bridge posts this agent as
    },
  });
  const summaries = closers.add('summaries', createSummaryService({ db, bus, log, now, secrets, rooms: summaryRoomsFrom(rooms, bus) }), async (s) => {
    s.close();
    await s.idle();
  });
  const clipboard = opts.clipboard ?? createNodeClipboard();
  const relay = closers.add(
    'clipboard relay',
    createClipboardRelay({
      db, bus, log, now, clipboard,
      rooms: relayRoomsFrom(rooms, bus),
      notifier: { notify: (n) => bus.publish('app.notification', n) },
      pollMs: 'suggestedPollMs' in clipboard ? (clipboard as { suggestedPollMs: number }).suggestedPollMs : 300,
      audit: (kind, message, detail) => audit.record({ kind, severity: 'info', source: 'clipboard-relay', message, detail }),
    }),
    (s) => s.close(),
  );

  // ---- link: the contract, then the glue between capabilities (service methods only) ------------
  dispatcher.register({
    'app.info': info,
    'app.ping': ({ sentAt }) => ({ sentAt, receivedAt: now() }),
  });
  for (const handlers of [settings.handlers, audit.handlers, rooms.handlers, agents.handlers, fleet.fleet.handlers, deploy.handlers, orchestrator.handlers, summaries.handlers, relay.handlers, timeline.handlers, federated.handlers, perf.handlers, swarm.handlers, review.handlers])
    dispatcher.register(handlers);
  // Timeline: the calibration a camera supplies (its detections arrive verified, from the swarm).
  closers.add(
    'calibration link',
    fleet.onCalibration((c) => {
      try {
        timeline.calibrate(c.cameraId, c.points, c.source === 'simulator' ? 'simulator' : 'camera', c.includeArea ?? null);
      } catch (err) {
        log.warn({ camera: c.cameraId, err: (err as Error).message }, 'the calibration this camera supplies is unusable; set reference points in the Timeline view');
      }
    }),
    (off) => off(),
  );
  // Signature checks in worker threads when the built worker is there (app and browser mode); unit
  // tests run from source and verify on this thread. Closed after the link that feeds it.
  const verifyWorker = builtWorker('verify-worker.js');
  // One worker per core: Ed25519 is most of the work per report, and a worker only runs while there
  // are batches (the link keeps 2 per worker in flight), so the main thread keeps its share.
  const poolSize = Math.max(1, Math.min(4, os.availableParallelism()));
  const pool = verifyWorker
    ? closers.add('verification workers', createVerifyPool({ size: poolSize, entry: verifyWorker }), (p) => p.close())
    : undefined;
  later.swarmLink = closers.add('swarm link', linkSwarm({ swarm, perf, fleet, bus, log, calibrationOf: (id) => timeline.homographyOf(id), includeAreaOf: (id) => timeline.includeAreaOf(id), pool, poolSize }), (l) => l.close());
  // Only reports the swarm accepted reach the timeline; its quarantines show in fleet status.
  closers.add('verified timeline link', linkVerifiedTimeline({ swarm, timeline, cameraOf: (serial) => fleet.fleet.keyFor(serial)?.cameraId }), (off) => off());
  // The Timeline's history: segments and interventions as they are published, kept for the
  // retention the Settings give (a shorter one prunes at once, a longer one keeps from now on).
  const HOUR_MS = 3_600_000;
  const history = closers.add('timeline history', createTimelineHistory(db, { retentionMs: settings.get().timelineRetentionHours * HOUR_MS, now }), (h) => h.close());
  closers.add('timeline history retention', bus.subscribe('settings.changed', (s) => history.setRetentionMs(s.timelineRetentionHours * HOUR_MS)), (off) => off());
  closers.add('timeline history link', bus.subscribe('timeline.tracks', (p) => history.recordTracks(p.at, p.tracks)), (off) => off());
  closers.add('timeline intervention history', bus.subscribe('timeline.intervention', (iv) => history.recordIntervention(iv)), (off) => off());
  dispatcher.register({
    'timeline.history': ({ from, to, limit }) => ({ from, to, keptSince: history.keptSince(now()), ...history.range(from, to, limit) }),
  });
  closers.add('review link', bus.subscribe('swarm.event', (e) => review.onSwarmEvent(e)), (off) => off());
  closers.add('quarantine link', linkQuarantineToFleet({ swarm, fleet: fleet.fleet, bus }), (off) => off());
  // The fleet hears of camera messages only through the swarm (the one trust path).
  closers.add('swarm → fleet messages', linkSwarmMessagesToFleet({ swarm, fleet: fleet.fleet }), (off) => off());
  // OMNISIGHT_DETLAG_TRACE=1: each detections report's stages to <dataDir>/detlag-trace.jsonl (bench:feeds BENCH_DETLAG=1).
  if (process.env.OMNISIGHT_DETLAG_TRACE === '1') closers.add('detection lag trace', createDetlagTrace({ swarm, dataDir: opts.dataDir }), (t) => t.close());
  // The embedded broker's health in the status bar, and a notice when it is back after its thread died.
  if (fleet.mqtt) closers.add('broker health link', linkBrokerHealth({ mqtt: fleet.mqtt, bus, now }), (off) => off());
  closers.add(
    'notifications',
    bus.subscribe('app.notification', (n) => {
      if (settings.get().notifications) opts.notifier.notify(n);
    }),
    (off) => off(),
  );
  // The log level is a setting: applied at start and whenever it changes.
  if (!process.env.OMNISIGHT_LOG_LEVEL) log.level = settings.get().logLevel;
  closers.add(
    'log level',
    bus.subscribe('settings.changed', (s) => {
      if (!process.env.OMNISIGHT_LOG_LEVEL && log.level !== s.logLevel) log.level = s.logLevel;
    }),
    (off) => off(),
  );
  const missing = dispatcher.unhandled();
  if (missing.length) log.warn({ missing }, 'contract methods without a handler');

  // ---- start: what listens (the fleet's broker and helper came up in the background above) ------
  agents.start().catch((err: unknown) => log.error({ err }, 'the agent bridge could not start; agents cannot connect'));

  return {
    dispatcher,
    bus,
    audit,
    settings,
    secrets,
    db,
    fleet,
    timeline,
    rooms,
    agents,
    swarm,
    perf,
    info,
    close: () => closers.closeAll(),
  };
}
