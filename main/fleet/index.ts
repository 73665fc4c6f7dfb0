// The fleet capability: camera registry, live status, MQTT ingest bookkeeping, the demo fleet and
// the frame channel. Camera I/O happens in the helper process (driven through the supervisor).
import type { WebSocket } from 'ws';
import type { CameraId } from '../../preload/contract/camera-id';
import type { Camera, CameraState, CameraStatus } from '../../preload/contract/fleet';
import type { AuditLog } from '../audit';
import type { EventBus } from '../kernel/bus';
import type { Handlers } from '../kernel/dispatcher';
import { AppError, notFound } from '../kernel/errors';
import type { Logger } from '../kernel/logger';
import type { SecretStore } from '../kernel/ports';
import type { FromHelper, HelperTarget, StreamStatus } from '../helper';
import type { BrokerEndpoint } from '../mqtt';
import { MQTT_PASSWORD_SECRET } from '../mqtt';
import type { BadMessage, CameraMessage, ShowableDetections } from '../swarm';
import type { SettingsService } from '../settings';
import type { Db } from '../store';
import { createFrameMux, createSocketFrameSink, type FrameMux, type FrameSink } from './frames';
import { createEnrolment, caInfo, type Enrolment } from './enrolment';
import { createRegistry, type Registry } from './registry';
import { toAppError, type HelperSupervisor } from './supervisor';

export { createHelperSupervisor, inProcessHelper, forkHelperFromSource, HelperCallError, toAppError, type HelperSupervisor } from './supervisor';
export { createDeployApproval, DEPLOY_AUTHOR, type DeployApproval, type DeployApprovalDeps, type ProposeDeployInput } from './approval';
export { createDeployService, defaultNativeDir, type DeployDeps, type DeployService } from './deploy';
export { encodeFrame, decodeFrame, encodeDetections, FRAME_HEADER_BYTES, FRAME_KIND_JPEG, FRAME_KIND_DETECTIONS, type FrameDetections } from './frames';
export { createWindowFrameSinks, type FramePort, type FrameSinkTarget, type WindowFrameSinks } from './frames';
export { createRegistry } from './registry';
export { acceptanceVerdict, stageSizes, compareVersions, type CameraAcceptance, type Verdict } from './verdict';
export type { Enrolment, CameraIdentity } from './enrolment';

/** What the fleet needs from a simulated fleet (main/camsim's startSimulatedFleet). */
export interface DemoFleet {
  /** `httpsPort`: where the simulated camera serves the same routes over HTTPS (identity.cgi is read only there). */
  cameras: { id: string; url: string; httpsPort?: number; username: string; password: string; serial: string; model: string }[];
  stop(): Promise<void>;
}

export interface FleetDeps {
  db: Db;
  bus: EventBus;
  log: Logger;
  audit: AuditLog;
  secrets: SecretStore;
  settings: SettingsService;
  helper: HelperSupervisor;
  broker: () => BrokerEndpoint | undefined;
  now: () => number;
  noDemo?: boolean;
  startDemo?: (count: number) => Promise<DemoFleet>;
  /** Verified camera messages after the fleet's bookkeeping. */
  consumer?: (m: CameraMessage) => void;
  /** A heartbeat older than this no longer counts as "online". */
  heartbeatTimeoutMs?: number;
  /** A camera's signing key was recorded from identity.cgi (the swarm capability listens here). */
  onKeyRecorded?: (k: { cameraId: CameraId; serial: string; keyId: string; publicKey: string }) => void;
  /** The app's ground calibration (calibration.cgi), read right after the key; the timeline listens here. */
  onCalibration?: (c: {
    cameraId: CameraId;
    serial: string;
    source: string;
    points: { image: { u: number; v: number }; ground: { x: number; y: number } }[];
    /** Where in its image the camera detects; undefined = the whole frame. */
    includeArea?: { u: number; v: number }[];
  }) => void;
}

export interface FleetService {
  handlers: Handlers;
  registry: Registry;
  /** The pinned HTTPS channel to each camera: reads and enrols its signing key (deploy uses it). */
  enrolment: Enrolment;
  mux: FrameMux;
  /** Starts the demo fleet when the settings ask for it. */
  start(): Promise<void>;
  /**
   * A camera message as the swarm passed it on (the one trust path): a verified one updates the
   * camera's live status and tile and reaches the subscribers; an unverified one (permissive mode)
   * only shows its boxes on the tile, marked as unverified.
   */
  onCameraMessage(m: CameraMessage): void;
  /**
   * A report's boxes as soon as the swarm checked it, before its commit (swarm.onDetectionsShowable):
   * drawn on the camera's tile and nothing else. The same report's onCameraMessage then does the
   * bookkeeping and does not draw it again (nor an older one over it).
   */
  showDetections(m: ShowableDetections): void;
  /** Every verified camera message (heartbeats, detections) after the fleet's bookkeeping; returns the unsubscribe. */
  subscribeMessages(listener: (m: CameraMessage) => void): () => void;
  onBadMessage(b: BadMessage): void;
  /** Browser mode: binds a client's WebSocket as its frame sink. */
  attachSocket(ws: WebSocket): void;
  /** App mode: binds a window's frame port (see createWindowFrameSinks); `peer` is the dispatcher's name for the window. */
  attachSink(peer: string, sink: FrameSink): void;
  /** Unbinds a sink and stops every channel its peer watched. */
  detachSink(peer: string): void;
  status(id: CameraId): CameraStatus | undefined;
  /** The swarm quarantined (or, with null, released) the camera with this serial; shown in its status. */
  setQuarantine(serial: string, q: { since: number; reason: string } | null): void;
  /** One JPEG from this camera, over VAPIX (image.cgi); for the event review. */
  snapshot(id: CameraId, size?: { width: number; height: number }): Promise<Buffer>;
  /**
   * The camera a serial names (the swarm and a camera's own messages name it so): the one place a
   * serial becomes a camera id. Of several records with the serial (a demo camera left behind by a
   * real one), the active one.
   */
  cameraIdOf(serial: string): CameraId | undefined;
  /** The signing key recorded for the active camera with this serial, for verifying its messages. */
  keyFor(serial: string): { cameraId: CameraId; keyId: string; publicKey: string } | undefined;
  /** Frames and stream status from the helper (wire as the supervisor's onEvent). */
  onHelperEvent(ev: HelperEvent): void;
  /** Wire as the supervisor's onReady: after a restart, streams are started again. */
  onHelperReady(restarted: boolean): void;
  close(): Promise<void>;
}

export type HelperEvent = Extract<FromHelper, { type: 'frame' | 'status' }>;

interface Live {
  streams: Map<string, StreamStatus>;
  state: CameraState;
  since: number;
  fpsCamera: number | null;
  inferenceMs: number | null;
  lastHeartbeat: number | null;
  badMqtt: number;
  badVapix: number;
  lastError: string | null;
  detections: { frameTs: number | null; observations: { box: { left: number; top: number; right: number; bottom: number }; cls: string; score: number; trackId: string }[]; unverified?: true };
  /** The frame time of the last report drawn by showDetections: its commit (onCameraMessage) draws nothing older or equal. */
  shownTs: number;
  published: string;
}

export function parseAddress(address: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(address.trim());
  if (!m) throw new AppError('invalid_input', 'Use host or host:port, e.g. 192.168.0.90 or cam1.local:8080.');
  const port = m[2] ? Number(m[2]) : 80;
  if (port < 1 || port > 65535) throw new AppError('invalid_input', 'The port must be between 1 and 65535.');
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

const socketPeer = (ws: WebSocket): string | undefined => {
  // ws keeps the TCP socket as _socket; the dispatcher names ws callers by the same address:port.
  const s = (ws as unknown as { _socket?: { remoteAddress?: string; remotePort?: number } })._socket;
  return s?.remoteAddress ? `${s.remoteAddress}:${s.remotePort}` : undefined;
};

export function createFleetService(deps: FleetDeps): FleetService {
  const { db, bus, log, audit, secrets, settings, helper, now } = deps;
  const hbTimeout = deps.heartbeatTimeoutMs ?? 5000;
  const registry = createRegistry({ db, secrets, now });
  const live = new Map<CameraId, Live>();
  const active = new Map<string, { cameraId: CameraId }>(); // streams the helper runs, by key
  let demo: DemoFleet | undefined;
  let demoBusy: Promise<void> = Promise.resolve();
  let closed = false;

  const messageListeners = new Set<(m: CameraMessage) => void>();
  // By serial, as the swarm knows cameras; kept for serials not (yet) registered too.
  const quarantines = new Map<string, { since: number; reason: string }>();
  const liveOf = (id: CameraId): Live => {
    let l = live.get(id);
    if (!l) {
      l = { streams: new Map(), state: 'unknown', since: now(), fpsCamera: null, inferenceMs: null, lastHeartbeat: null, badMqtt: 0, badVapix: 0, lastError: null, detections: { frameTs: null, observations: [] }, shownTs: -Infinity, published: '' };
      live.set(id, l);
    }
    return l;
  };

  const target = (c: Camera): HelperTarget => ({ host: c.host, port: c.port, username: c.username, password: registry.password(c.id) });

  const computeState = (c: Camera, l: Live): CameraState => {
    if (c.demo && !c.demoActive) return 'offline';
    const order: CameraState[] = ['online', 'stalled', 'connecting', 'offline'];
    let best: CameraState | undefined;
    for (const s of l.streams.values()) {
      const st: CameraState = s.state === 'circuit_open' ? 'offline' : s.state;
      if (!best || order.indexOf(st) < order.indexOf(best)) best = st;
    }
    if (best && best !== 'offline') return best;
    if (l.lastHeartbeat !== null && now() - l.lastHeartbeat <= hbTimeout) return 'online';
    if (best) return best;
    return l.lastHeartbeat !== null ? 'offline' : 'unknown';
  };

  const statusOf = (c: Camera): CameraStatus => {
    const l = liveOf(c.id);
    const state = computeState(c, l);
    if (state !== l.state) {
      l.state = state;
      l.since = now();
      if (state !== 'unknown' && state !== 'connecting') registry.update(c.id, { status: state });
    }
    let fps = 0;
    let frames = 0;
    let lastErr: string | null = l.lastError;
    for (const s of l.streams.values()) {
      fps = Math.max(fps, s.fps);
      frames += s.badFrames;
      if (s.lastError) lastErr = s.lastError;
      else if (s.warning) lastErr = s.warning;
    }
    return {
      cameraId: c.id,
      state,
      since: l.since,
      fps,
      fpsCamera: l.fpsCamera,
      inferenceMs: l.inferenceMs,
      lastHeartbeat: l.lastHeartbeat,
      badInput: { frames, mqtt: l.badMqtt, vapix: l.badVapix },
      lastError: lastErr,
      ...(quarantines.has(c.serial) ? { quarantined: { ...quarantines.get(c.serial)! } } : {}),
    };
  };

  /** Publishes fleet.cameraStatus when something a tile shows has changed. */
  const publishStatus = (c: Camera): void => {
    const s = statusOf(c);
    const l = liveOf(c.id);
    const sig = JSON.stringify([s.state, s.since, s.fps, s.inferenceMs, s.badInput, s.lastError, s.quarantined ?? null]);
    if (sig === l.published) return;
    l.published = sig;
    bus.publish('fleet.cameraStatus', s);
  };

  const changed = (): void => bus.publish('fleet.changed', { cameras: registry.list() });

  // ---- streams: what clients watch, run in the helper ----
  const reconcile = (): void => {
    if (closed) return;
    const wanted = mux.wanted();
    for (const [key, spec] of wanted) {
      if (active.has(key)) continue;
      const c = registry.get(spec.cameraId);
      if (!c || (c.demo && !c.demoActive)) continue;
      active.set(key, { cameraId: c.id });
      helper
        .call({ op: 'watch', streamId: key, cameraId: c.id, target: target(c), width: spec.width, height: spec.height, fps: spec.fps })
        .catch((err: Error) => {
          active.delete(key);
          log.warn({ err: err.message, camera: c.id }, 'could not start a stream');
        });
    }
    for (const [key, a] of [...active]) {
      if (wanted.has(key)) continue;
      active.delete(key);
      const l = live.get(a.cameraId);
      l?.streams.delete(key);
      helper.call({ op: 'unwatch', streamId: key }).catch(() => undefined);
      const c = registry.get(a.cameraId);
      if (c) publishStatus(c);
    }
  };
  const mux = createFrameMux({ onChange: () => reconcile() });

  const stopCameraStreams = (cameraId: CameraId): void => {
    for (const [key, a] of [...active]) {
      if (a.cameraId !== cameraId) continue;
      active.delete(key);
      helper.call({ op: 'unwatch', streamId: key }).catch(() => undefined);
    }
    live.get(cameraId)?.streams.clear();
  };

  const onHelperEvent = (ev: HelperEvent): void => {
    if (ev.type === 'frame') {
      if (active.has(ev.streamId)) mux.deliver(ev.streamId, ev);
      return;
    }
    const s = ev.status;
    if (!active.has(s.streamId)) return;
    const c = registry.get(s.cameraId);
    if (!c) return;
    liveOf(c.id).streams.set(s.streamId, s);
    publishStatus(c);
  };

  // ---- camera configuration over VAPIX ----
  const configureMqtt = async (c: Camera): Promise<void> => {
    const ep = deps.broker();
    if (!ep) return;
    try {
      await helper.call({ op: 'configureMqtt', target: target(c), clientId: `omnisight-${c.serial || c.id}`, broker: ep });
    } catch (err) {
      const l = liveOf(c.id);
      l.lastError = `MQTT setup failed: ${(err as Error).message}`;
      log.warn({ camera: c.id, err: (err as Error).message }, 'could not configure the camera MQTT client');
    }
  };

  const probe = async (t: HelperTarget) => {
    try {
      return await helper.call({ op: 'probe', target: t, requireAdmin: true });
    } catch (err) {
      throw toAppError(err);
    }
  };

  const enrolment = createEnrolment({ registry, helper, audit, now, target, changed, onKeyRecorded: deps.onKeyRecorded });

  /**
   * Reads the app's signing key over the camera's pinned HTTPS channel and enrols it. A camera
   * without a pin yet is pinned first (trust on first use; the add dialog has the user confirm the
   * fingerprint before). A camera without the OmniSight app yet (404) is fine: the key is enrolled
   * when the app is first deployed. A changed certificate stops here until the user decides.
   */
  const recordIdentity = async (c: Camera, why: 'added' | 'reconnected' | 'trusted certificate'): Promise<Camera> => {
    try {
      if (!registry.pinOf(c.id)?.fingerprint) c = await enrolment.pin(c);
      const id = await enrolment.read(c);
      c = enrolment.enrol(registry.get(c.id)!, id, why);
      if (deps.onCalibration)
        void helper.call({ op: 'calibration', target: target(c) }).then(
          (cal) => deps.onCalibration?.({ cameraId: c.id, serial: c.serial, source: cal.source, points: cal.points, includeArea: cal.includeArea }),
          (err: unknown) => log.info({ camera: c.id, err: (err as Error).message }, 'no ground calibration from this camera; set reference points in the Timeline view'),
        );
      liveOf(c.id).lastError = null;
      return c;
    } catch (err) {
      const msg = (err as Error).message;
      log.info({ camera: c.id, err: msg }, 'no signing key enrolled from this camera');
      if (err instanceof AppError && err.code === 'conflict') liveOf(c.id).lastError = msg;
      return registry.get(c.id) ?? c;
    }
  };

  // ---- demo fleet ----
  const startDemo = async (): Promise<void> => {
    if (demo || !deps.startDemo) return;
    const count = settings.get().demoCameraCount;
    const fleet = await deps.startDemo(count);
    if (closed) {
      await fleet.stop();
      return;
    }
    demo = fleet;
    const firstRun = registry.state('demo.registered') !== '1';
    const touched: Camera[] = [];
    for (const [i, sc] of fleet.cameras.entries()) {
      const u = new URL(sc.url);
      const host = u.hostname;
      const port = Number(u.port || 80);
      const existing = registry.bySerial(sc.serial).find((c) => c.demo);
      if (existing) {
        const other = registry.byAddress(host, port);
        if (other && other.id !== existing.id) registry.remove(other.id); // a stale row on a reused port
        touched.push(registry.update(existing.id, { host, port, ...(sc.httpsPort ? { httpsPort: sc.httpsPort } : {}), username: sc.username, password: sc.password, demoActive: true }));
      } else if (firstRun && !registry.byAddress(host, port)) {
        try {
          const info = await probe({ host, port, username: sc.username, password: sc.password });
          touched.push(
            registry.insert({ name: `Demo ${i + 1} (${info.model || sc.model})`, host, port, httpsPort: sc.httpsPort, username: sc.username, password: sc.password, ...info, demo: true }),
          );
        } catch (err) {
          log.warn({ err: (err as Error).message, url: sc.url }, 'could not register a demo camera');
        }
      }
    }
    registry.setState('demo.registered', '1');
    // Read each camera's key over its pinned certificate every time the fleet comes up: the app keeps
    // its key in its local data, so this normally confirms the enrolled one.
    for (const [i, c] of touched.entries()) touched[i] = await recordIdentity(c, 'reconnected');
    changed();
    await Promise.all(touched.map((c) => configureMqtt(c)));
    reconcile();
  };

  const stopDemo = async (): Promise<void> => {
    for (const c of registry.list()) {
      if (!c.demo || !c.demoActive) continue;
      stopCameraStreams(c.id);
      registry.update(c.id, { demoActive: false, status: 'offline' });
    }
    const f = demo;
    demo = undefined;
    changed();
    for (const c of registry.list()) if (c.demo) publishStatus(c);
    await f?.stop();
  };

  const applyDemoSetting = (): Promise<void> => {
    const want = !deps.noDemo && settings.get().demoFleet;
    demoBusy = demoBusy
      .then(() => (want ? startDemo() : demo || registry.list().some((c) => c.demo && c.demoActive) ? stopDemo() : undefined))
      .catch((err: Error) => log.error({ err: err.message }, 'demo fleet failed'));
    return demoBusy;
  };
  const offSettings = bus.subscribe('settings.changed', (s) => {
    if (!!demo !== (s.demoFleet && !deps.noDemo)) void applyDemoSetting();
  });

  // Heartbeats age out without a message: re-evaluate once a second.
  const ticker = setInterval(() => {
    for (const c of registry.list()) publishStatus(c);
  }, 1000);
  ticker.unref();

  const cameraForSerial = (serial: string): Camera | undefined => registry.bySerial(serial).find((c) => !c.demo || c.demoActive) ?? registry.bySerial(serial)[0];

  const handlers: Handlers = {
    'fleet.list': () => {
      const cameras = registry.list();
      return { cameras, statuses: cameras.map(statusOf) };
    },
    'fleet.certificate': async ({ address, httpsPort }) => {
      const { host } = parseAddress(address);
      return enrolment.peek(host, httpsPort ?? 443);
    },
    'fleet.add': async ({ address, username, password, name, httpsPort, fingerprint }) => {
      const { host, port } = parseAddress(address);
      const dup = registry.byAddress(host, port);
      if (dup) throw new AppError('conflict', `${host}:${port} is already registered as "${dup.name}". Edit that camera instead.`);
      const info = await probe({ host, port, username, password });
      const same = registry.bySerial(info.serial).find((c) => !c.demo || c.demoActive);
      if (same) throw new AppError('conflict', `This camera (serial ${info.serial}) is already registered as "${same.name}" at ${same.host}:${same.port}. Edit that one instead.`);
      // The fingerprint the user confirmed must still be what the camera presents, before anything is stored.
      if (fingerprint) {
        const cert = await enrolment.peek(host, httpsPort ?? 443, info.serial);
        if (cert.fingerprint !== fingerprint)
          throw new AppError('conflict', `${host}:${httpsPort ?? 443} now presents certificate ${cert.fingerprint}, not the ${fingerprint} you confirmed. Nothing was added; check the camera and try again.`);
      }
      let cam = registry.insert({ name: name ?? `${info.model || 'Axis camera'} ${info.serial.slice(-4)}`, host, port, httpsPort, username, password, ...info });
      if (fingerprint) cam = await enrolment.pin(cam, fingerprint).catch(() => cam);
      cam = await recordIdentity(cam, 'added');
      audit.record({ kind: 'camera.added', severity: 'info', source: cam.id, message: `Camera ${cam.name} (${info.model}, ${info.serial}) added at ${host}:${port}`, detail: { serial: info.serial } });
      changed();
      void configureMqtt(cam).then(() => publishStatus(cam));
      return cam;
    },
    'fleet.trustCertificate': async ({ id, fingerprint }) => {
      const c = registry.get(id);
      if (!c) throw notFound(`Camera ${id}`);
      const pinned = await enrolment.pin(c, fingerprint);
      const updated = await recordIdentity(pinned, 'trusted certificate');
      reconcile();
      return updated;
    },
    'fleet.rotateKey': async ({ id }) => {
      const c = registry.get(id);
      if (!c) throw notFound(`Camera ${id}`);
      const before = registry.keyOf(id)?.keyId ?? null;
      const next = await enrolment.read(c, { rotate: true });
      const updated = enrolment.enrol(c, next, 'rotation');
      audit.record({ kind: 'camera.key_rotated', severity: 'info', source: id, message: `${c.name}: signing key rotated from ${before ?? 'none'} to ${next.key}; the old key is retired`, detail: { previous: before, keyId: next.key } });
      return updated;
    },
    'fleet.trustedCas': ({ pems }) => {
      if (pems) enrolment.setTrustedCas(pems);
      return { cas: enrolment.trustedCas().map((pem) => ({ ...caInfo(pem), pem })) };
    },
    'fleet.update': async ({ id, name, address, username, password, fov, httpsPort }) => {
      const c = registry.get(id);
      if (!c) throw notFound(`Camera ${id}`);
      const addr = address ? parseAddress(address) : { host: c.host, port: c.port };
      const moved = addr.host !== c.host || addr.port !== c.port;
      const reauth = moved || username !== undefined || password !== undefined;
      let info = {};
      if (moved) {
        const dup = registry.byAddress(addr.host, addr.port);
        if (dup && dup.id !== id) throw new AppError('conflict', `${addr.host}:${addr.port} is already registered as "${dup.name}".`);
      }
      const creds = { username: username ?? c.username, password: password ?? registry.password(id) };
      if (reauth) info = await probe({ ...addr, ...creds });
      let updated = registry.update(id, { name, fov, httpsPort, ...(reauth ? { ...addr, ...creds, ...info } : {}) });
      if (reauth || httpsPort !== undefined) updated = await recordIdentity(updated, 'reconnected');
      if (reauth) {
        stopCameraStreams(id); // restarted with the new target by reconcile
        reconcile();
        void configureMqtt(updated);
      }
      changed();
      return updated;
    },
    'fleet.remove': ({ id }) => {
      const c = registry.get(id);
      if (!c) throw notFound(`Camera ${id}`);
      stopCameraStreams(id);
      mux.forgetCamera(id);
      registry.remove(id);
      live.delete(id);
      audit.record({ kind: 'camera.removed', severity: 'info', source: id, message: `Camera ${c.name} (${c.serial}) removed` });
      changed();
      return { removed: true as const };
    },
    'fleet.status': ({ ids }) => {
      const cams = ids ? ids.map((id) => registry.get(id)).filter((c): c is Camera => !!c) : registry.list();
      return { statuses: cams.map(statusOf) };
    },
    'fleet.detections': ({ id }) => {
      if (!registry.get(id)) throw notFound(`Camera ${id}`);
      return liveOf(id).detections;
    },
    'fleet.watch': ({ cameraIds, width, height, fps }, ctx) => {
      for (const id of cameraIds) if (!registry.get(id)) throw notFound(`Camera ${id}`);
      return { channels: mux.watch(ctx.peer, cameraIds, width, height, fps) };
    },
    'fleet.unwatch': ({ channels }, ctx) => ({ stopped: mux.unwatch(ctx.peer, channels) }),
    'fleet.setMqttPassword': ({ password }) => {
      secrets.set(MQTT_PASSWORD_SECRET, password);
      audit.record({ kind: 'settings.secret', severity: 'info', source: 'settings', message: 'The MQTT broker password was changed' });
      return { saved: true as const };
    },
  };

  /** A verified report's boxes become the tile's: viewers get them on the frame channel, tagged with the frame they belong to. */
  const draw = (id: CameraId, l: Live, m: Extract<CameraMessage, { kind: 'detections' }>): void => {
    l.detections = {
      frameTs: m.body.frame.timestamp,
      observations: m.body.frame.observations.map((o) => ({ box: o.bounding_box, cls: o.class.type, score: o.class.score, trackId: o.track_id })),
    };
    if (mux.watching(id)) mux.deliverDetections(id, m.body.frame.timestamp, { observations: l.detections.observations, inferenceMs: l.inferenceMs });
  };

  return {
    handlers,
    registry,
    enrolment,
    mux,
    start: () => applyDemoSetting(),
    subscribeMessages(l) {
      messageListeners.add(l);
      return () => void messageListeners.delete(l);
    },
    showDetections(m) {
      const c = cameraForSerial(m.serial);
      if (!c) return;
      const l = liveOf(c.id);
      if (m.body.stats) l.inferenceMs = m.body.stats.inference_ms; // shown with the boxes; the rest of the stats wait for the commit
      l.shownTs = m.body.frame.timestamp;
      draw(c.id, l, m);
    },
    onCameraMessage(m) {
      const c = cameraForSerial(m.serial);
      if (!m.verified) {
        // Shown, marked, and nothing else: no liveness, no stats, no subscriber hears of it.
        if (c && m.kind === 'detections') {
          const l = liveOf(c.id);
          l.detections = { frameTs: m.body.frame.timestamp, observations: m.body.frame.observations.map((o) => ({ box: o.bounding_box, cls: o.class.type, score: o.class.score, trackId: o.track_id })), unverified: true };
          if (mux.watching(c.id)) mux.deliverDetections(c.id, m.body.frame.timestamp, { observations: l.detections.observations, inferenceMs: l.inferenceMs, unverified: true });
        }
        return;
      }
      if (c) {
        const l = liveOf(c.id);
        if (m.kind === 'heartbeat') {
          l.lastHeartbeat = m.receivedAt;
          l.fpsCamera = m.body.fps_camera;
          l.inferenceMs = m.body.inference_ms;
        } else {
          if (m.body.stats) {
            l.inferenceMs = m.body.stats.inference_ms;
            l.fpsCamera = m.body.stats.fps_camera;
          }
          // Drawn already when it was checked (showDetections), as was any later report since.
          if (m.body.frame.timestamp > l.shownTs) draw(c.id, l, m);
        }
      }
      deps.consumer?.(m);
      for (const l of messageListeners) l(m);
    },
    onBadMessage(b) {
      const c = cameraForSerial(b.serial);
      if (c) liveOf(c.id).badMqtt++;
      log.warn({ serial: b.serial, topic: b.topic, reason: b.reason, bytes: b.bytes }, 'invalid camera message');
      audit.record({
        kind: 'camera.bad_input',
        severity: 'warning',
        source: c?.id ?? `mqtt:${b.serial}`,
        message: `Invalid MQTT message from ${c ? c.name : b.serial}: ${b.message}`,
        detail: { topic: b.topic, reason: b.reason, bytes: b.bytes },
      });
      if (c) publishStatus(c);
    },
    attachSocket(ws) {
      const peer = socketPeer(ws);
      if (!peer) return;
      mux.attach(peer, createSocketFrameSink(ws));
      ws.on('close', () => mux.detach(peer));
    },
    attachSink: (peer, sink) => mux.attach(peer, sink),
    detachSink: (peer) => mux.detach(peer),
    status: (id) => {
      const c = registry.get(id);
      return c && statusOf(c);
    },
    setQuarantine(serial, q) {
      if (q) quarantines.set(serial, { since: q.since, reason: q.reason });
      else if (!quarantines.delete(serial)) return;
      for (const c of registry.bySerial(serial)) publishStatus(c);
    },
    async snapshot(id, size = { width: 640, height: 360 }) {
      const c = registry.get(id);
      if (!c) throw new AppError('not_found', `No camera ${id} is registered.`);
      try {
        const r = await helper.call({ op: 'snapshot', target: target(c), width: size.width, height: size.height });
        return Buffer.from(r.jpegBase64, 'base64');
      } catch (err) {
        throw toAppError(err);
      }
    },
    cameraIdOf: (serial) => cameraForSerial(serial)?.id,
    keyFor(serial) {
      const c = cameraForSerial(serial);
      const k = c && registry.keyOf(c.id);
      return c && k ? { cameraId: c.id, ...k } : undefined;
    },
    onHelperEvent,
    onHelperReady(restarted) {
      if (!restarted) return;
      active.clear();
      for (const l of live.values()) l.streams.clear();
      reconcile();
    },
    async close() {
      closed = true;
      clearInterval(ticker);
      offSettings();
      for (const key of active.keys()) helper.call({ op: 'unwatch', streamId: key }).catch(() => undefined);
      active.clear();
      await demoBusy;
      await demo?.stop();
      demo = undefined;
    },
  };
}
