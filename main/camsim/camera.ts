// One simulated camera: its identity, the built-in agent, the app store, the fault switches and
// the HTTP + HTTPS servers. What each VAPIX endpoint family answers lives in its own module
// (vapix-*.ts); this file joins them into one route table and authenticates before any handler runs.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { calibrationPairs, createAgent, includeAreaOf, OMNISIGHT_REVERSE_PROXY, type Agent } from './agent';
import { createAppStore, type AppRuntime, type AppStore, type InstalledApp } from './apps';
import { createDetector, type ModelName } from './detector';
import { createDigestServer, type DigestServer } from './digest';
import { createAuth, gate, HttpFail, notFound, send, type Req, type Res, type Route } from './http-kit';
import type { Rng } from './rng';
import type { EapRuntime, SimHardware } from './runner';
import { projectActorBox, SENSOR_FPS, zoneCentroid, type CameraModel, type SceneEngine } from './scene';
import { loadOrCreateCameraTls } from './tls';
import type { CameraIdentity, FaultState, SimCamera, SimFaults } from './types';
import { appRoutes } from './vapix-apps';
import { BUILD_DATE, deviceRoutes } from './vapix-device';
import { ioRoutes } from './vapix-io';
import { localAppRoutes } from './vapix-local';
import { mqttEndpoints, type DeviceEvent } from './vapix-mqtt';
import { createParamStore, paramRoutes } from './vapix-params';
import { servicesRoutes } from './vapix-services';
import { streamProfileRoutes } from './vapix-streamprofile';
import { userRoutes } from './vapix-users';
import { videoEndpoints } from './vapix-video';

export { parseBrokerUrl } from './vapix-mqtt';

/** a < b for dotted AXIS OS versions (12.0.91 vs 9.80). */
export function versionBelow(a: string, b: string): boolean {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d < 0;
  }
  return false;
}

/** A random port under the kernel's ephemeral range (where listen(0) and outgoing connections live). */
function listenPortBelowEphemeral(): number {
  let low = 32768;
  try {
    low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low;
  } catch {
    // not Linux: the usual default range starts at 32768 (49152 on Windows and macOS: still above)
  }
  const from = 10_000;
  const to = Math.max(from + 1000, low) - 1;
  return from + Math.floor(Math.random() * (to - from));
}

export function createSimCamera(opts: {
  identity: CameraIdentity;
  port: number;
  /** 0 = ephemeral. */
  httpsPort?: number;
  /** The camera's own folder: its HTTPS key and certificate live here across restarts. */
  stateDir: string;
  scene: SceneEngine;
  cam: CameraModel;
  rng: Rng;
  now: () => number;
  broker?: string;
  frameWidth: number;
  frameHeight: number;
  model: ModelName;
  fpsCamera: number;
  /** A shared runtime, or a factory that gets this camera's hardware layer (programs run per camera). */
  runtime: AppRuntime | ((hw: SimHardware) => AppRuntime);
  /** The MQTT client starts active with the preset broker (bench fleets: no VAPIX configuration round trip). */
  mqttActive?: boolean;
  /** The built-in app keeps its fl2 training data in memory only (bench fleets). */
  flMemoryOnly?: boolean;
}): SimCamera {
  const { identity: id, scene, cam, now } = opts;
  const realm = `AXIS_${id.mac.replace(/:/g, '').toUpperCase()}`;
  const digest: DigestServer = createDigestServer({ realm, users: () => id.users, now });
  const auth = createAuth(digest);
  const params = createParamStore({ id, frameWidth: opts.frameWidth, frameHeight: opts.frameHeight, buildDate: BUILD_DATE });
  let port = opts.port;
  let server: http.Server | undefined;
  let tlsPort = opts.httpsPort ?? 0;
  let tlsServer: https.Server | undefined;
  let fingerprint = '';
  const sockets = new Set<Socket>();
  let crashed = false;
  const isCrashed = (): boolean => crashed;
  const fault: FaultState = { refuse: false, stall: false, slowMs: 0, corrupt: 0, corruptVariant: 0, dropMqtt: false, crashUploadAfter: -1 };
  const appLog: string[] = [];
  // Filled below, once the agent exists; the MQTT client calls back through it on every connection change.
  let syncAgent = (): void => undefined;
  let bootedAt = now();

  // ---- the device's own events (published by the MQTT event bridge, listed by the event service) --
  let motion = false;
  const motionEvent = (): DeviceEvent => ({ topic: 'onvif:VideoSource/MotionAlarm', source: { VideoSourceConfigurationToken: '1' }, data: { State: motion ? '1' : '0' }, property: true });
  // The installed app's own event (declared by it, like AXIS Object Analytics scenarios): someone in view.
  let presence: string | undefined;
  const presenceEvent = (): DeviceEvent => ({ topic: 'onvif:CameraApplicationPlatform/axis:OmniSight/Presence', source: { device: '1' }, data: { active: presence ? '1' : '0', classTypes: presence ?? '' }, property: true });
  const appSaw = (payload: string): void => {
    let classes: string | undefined;
    try {
      const env = JSON.parse(payload) as { kind?: string; body?: string };
      if (env.kind !== 'detections' || typeof env.body !== 'string') return;
      const obs = (JSON.parse(env.body) as { frame?: { observations?: { class?: { type?: string } }[] } }).frame?.observations ?? [];
      const types = [...new Set(obs.map((x) => x.class?.type?.toLowerCase()).filter((x): x is string => !!x))].sort();
      classes = types.length ? types.join(',') : undefined;
    } catch {
      return;
    }
    if (classes !== presence) {
      presence = classes;
      mq.event(presenceEvent());
    }
  };
  const properties = (): DeviceEvent[] => [
    { topic: 'onvif:Device/axis:Status/SystemReady', source: {}, data: { ready: crashed ? '0' : '1' }, property: true },
    { topic: 'onvif:Device/axis:IO/Port', source: { port: '1' }, data: { state: '0' }, property: true },
    motionEvent(),
    ...(apps.get('omnisight')?.status === 'Running' ? [presenceEvent()] : []),
  ];
  const mq = mqttEndpoints({
    serial: id.serial,
    broker: opts.broker,
    auth,
    now,
    fault,
    crashed: isCrashed,
    onChange: () => syncAgent(),
    properties,
    // The built-in app hears its fl2 rounds and its detections' outcomes over the camera's connection.
    subscriptions: () => agent.subscriptions(),
    onMessage: (topic, payload) => agent.deliver(topic, payload),
    activate: opts.mqttActive,
  });
  const video = videoEndpoints({ scene, cam, now, params, fault, crashed: isCrashed });
  // Motion: something moving inside this camera's view and range, checked a few times a second while the client is connected.
  let motionTimer: NodeJS.Timeout | undefined;
  const watchMotion = (): void => {
    if (motionTimer) return;
    motionTimer = setInterval(() => {
      if (crashed || !mq.client()?.connected) return;
      const k = scene.tickAt(now());
      const moving = scene.snapshot(k).some((a) => {
        if (a.speed <= 0.05) return false;
        const b = projectActorBox(cam, a);
        return !!b && b.depth < cam.maxRangeM && b.right > 0 && b.left < 1 && b.bottom > 0 && b.top < 1;
      });
      if (moving !== motion) {
        motion = moving;
        mq.event(motionEvent());
      }
    }, Math.round((1000 / SENSOR_FPS) * 10));
    motionTimer.unref();
  };

  const logApp = (line: string): void => {
    appLog.push(`${new Date(now()).toISOString()} ${id.serial} omnisight[0]: ${line}`);
    if (appLog.length > 200) appLog.shift();
  };

  // The hardware layer a deployed program gets: raw detections in pixels (native/README.md), the broker, the serial.
  const hardware: SimHardware = {
    serial: id.serial,
    // The drop-MQTT fault reaches a program started while it is on: it gets a closed port.
    broker: () => mq.broker(),
    fpsCamera: opts.fpsCamera,
    log: (line) => logApp(line),
    detectionLine: () => {
      if (crashed) return undefined;
      const r = agent.processFrame(scene.tickAt(now()));
      if (r.skipped) return undefined;
      const body = JSON.parse(r.payload) as {
        frame: { timestamp: number; observations: { bounding_box: { left: number; top: number; right: number; bottom: number }; class: { type: string; score: number }; track_id: string }[]; operations: { id: string }[] };
        stats: { inference_ms: number; fps_camera: number; width: number; height: number };
      };
      const { width: w, height: h } = body.stats;
      return JSON.stringify({
        timestamp: body.frame.timestamp,
        width: w,
        height: h,
        inference_ms: body.stats.inference_ms,
        fps_camera: body.stats.fps_camera,
        model: opts.model,
        detections: body.frame.observations.map((o) => ({
          box: [o.bounding_box.left * w, o.bounding_box.top * h, o.bounding_box.right * w, o.bounding_box.bottom * h].map((v) => Math.round(v * 10) / 10),
          score: o.class.score,
          label: o.class.type,
          track: o.track_id,
        })),
        deleted: body.frame.operations.map((op) => op.id),
      });
    },
  };
  const runtime: AppRuntime = typeof opts.runtime === 'function' ? opts.runtime(hardware) : opts.runtime;
  // The built-in agent is the preinstalled omnisight app: its identity lives in that app's local data.
  const agentData = (runtime as Partial<EapRuntime>).localData?.('omnisight');
  // Whoever mounted the camera calibrated it (POST /local/omnisight/admin/calibration.cgi); the
  // simulator knows the true ground mapping. A real camera has this file only if someone set it.
  // Its own earlier one (source "simulator") is written again when it predates the include area.
  const ownOutdated = (file: string): boolean => {
    try {
      const c = JSON.parse(fs.readFileSync(file, 'utf8')) as { source?: unknown; includeArea?: unknown };
      return c.source === 'simulator' && c.includeArea === undefined;
    } catch {
      return false;
    }
  };
  if (agentData && (!fs.existsSync(path.join(agentData, 'calibration.json')) || ownOutdated(path.join(agentData, 'calibration.json')))) {
    const points = calibrationPairs(cam.homography, cam.maxRangeM, cam.position);
    const includeArea = includeAreaOf(cam.homography, cam.maxRangeM, cam.position);
    if (points.length >= 4)
      fs.writeFileSync(path.join(agentData, 'calibration.json'), `${JSON.stringify({ camera: id.serial, source: 'simulator', points, ...(includeArea ? { includeArea } : {}) })}\n`, { mode: 0o600 });
  }
  const agent: Agent = createAgent({
    localData: agentData,
    serial: id.serial,
    now,
    scene,
    detector: createDetector({ cam, rng: opts.rng.fork(7), model: opts.model, soc: id.soc }),
    model: opts.model,
    fpsCamera: opts.fpsCamera,
    memoryOnly: opts.flMemoryOnly,
    log: (line) => logApp(line),
    publish: (topic, payload, qos, onAck) => {
      const c = mq.client();
      if (!c || !c.connected) return false;
      // mqtt.js calls back on PUBACK for QoS 1 (with an error if the connection ends first).
      c.publish(topic, payload, { qos }, onAck ? (err) => onAck(err ?? undefined) : undefined);
      appSaw(payload);
      return true;
    },
    phantomBox: () => {
      // A standing person at the middle of the first zone this camera sees: a lie that lands in a zone.
      const z = scene.zones.find((x) => x.id === cam.zones[0]);
      if (!z) return { left: 0.45, top: 0.4, right: 0.55, bottom: 0.7 };
      const c = zoneCentroid(z);
      const b = projectActorBox(cam, { id: 'phantom', kind: 'Human', x: c.x, y: c.y, heading: 0, speed: 0, length: 0.45, width: 0.5, height: 1.75 });
      const clamp = (v: number): number => Math.min(1, Math.max(0, v));
      return b && clamp(b.right) - clamp(b.left) > 0.002 && clamp(b.bottom) - clamp(b.top) > 0.002
        ? { left: clamp(b.left), top: clamp(b.top), right: clamp(b.right), bottom: clamp(b.bottom) }
        : { left: 0.45, top: 0.4, right: 0.55, bottom: 0.7 };
    },
  });

  const nativeRunning = (name: string): boolean => (runtime as Partial<EapRuntime>).isNative?.(name) ?? false;

  const apps: AppStore = createAppStore({
    runtime,
    architecture: 'aarch64',
    firmware: id.firmware,
    preinstalled: [{ name: 'omnisight', niceName: 'OmniSight', vendor: 'OmniSight', version: '1.2.0', applicationId: '', status: 'Running', reverseProxy: OMNISIGHT_REVERSE_PROXY, vendorUrl: 'https://omnisight.invalid' }],
    onStatus: (app: InstalledApp, installedNow: boolean) => {
      if (app.name !== 'omnisight') return;
      // An upgrade keeps the key (it lives in local data); every start of the app is a new boot epoch.
      if (installedNow) agent.setVersion(app.version);
      if (app.status === 'Running') agentProcess = false;
      logApp(`${installedNow ? 'installed' : app.status.toLowerCase()} version ${app.version}`);
      syncAgent();
    },
  });

  const omnisightRunning = (): boolean => apps.get('omnisight')?.status === 'Running';
  // A deployed program that really runs publishes for itself; the built-in agent stands in otherwise.
  // agentProcess: the agent's "process" is up; when it comes up it writes its next boot epoch first.
  let agentProcess = false;
  let lastConnection: unknown; // the MQTT client connection the agent last ran on (a new one tells the agent)
  syncAgent = (): void => {
    const up = !crashed && omnisightRunning() && !nativeRunning('omnisight');
    if (up && !agentProcess) {
      // An app that cannot write its boot epoch to its local data does not start (a real app's
      // start fails the same way); this runs from broker and VAPIX events, so it must not throw.
      try {
        agent.boot();
      } catch (err) {
        logApp(`omnisight failed to start: ${err instanceof Error ? err.message : String(err)}`);
        agent.setRunning(false);
        return;
      }
      agentProcess = true;
    }
    if (!up) agentProcess = false;
    const c = mq.client();
    const connection = c?.connected ? c.stream : undefined; // mqtt.js makes a new stream per (re)connect
    if (connection && connection !== lastConnection) {
      agent.setRunning(false);
      agent.connected();
    }
    if (connection) lastConnection = connection;
    agent.setRunning(up && !!connection);
  };

  const local = localAppRoutes({ apps, agent, runtime, nativeRunning, auth });

  // ---- the route table ------------------------------------------------------------------------
  const routes = new Map<string, Route>();
  for (const r of [
    ...deviceRoutes({ id, auth, now, bootedAt: () => bootedAt, apiList: () => [...routes.values()].flatMap((x) => (x.api ? [x.api] : [])).sort((a, b) => (a.id < b.id ? -1 : 1)) }),
    ...paramRoutes({ auth, params }),
    ...userRoutes({ users: () => id.users }),
    ...ioRoutes({ auth, params }),
    ...streamProfileRoutes({ auth, params }),
    ...servicesRoutes({ events: properties }),
    ...video.routes,
    ...appRoutes({ apps, fault, crashed: isCrashed, goDown: () => goDown(), appLog: () => appLog }),
    ...mq.routes,
  ]) {
    if (routes.has(r.path)) throw new Error(`two handlers for ${r.path}`);
    // Older firmware than the API's first release does not serve it at all.
    if (r.since && versionBelow(id.firmware, r.since)) continue;
    routes.set(r.path, r);
  }

  const route = async (req: Req, res: Res): Promise<void> => {
    if (fault.slowMs > 0) await new Promise((r) => setTimeout(r, fault.slowMs));
    if (res.destroyed) return;
    const url = new URL(req.url ?? '/', 'http://camera');
    const r = routes.get(url.pathname);
    // Installed apps' routes (/local/<app>/…) go through the reverse proxy their manifest declares,
    // which applies the entry's access level (one Digest verification per request, done there).
    if (!r && url.pathname.startsWith('/local/')) return local(req, res, url);
    // Authentication comes before anything else: an unknown path is 404 only for a caller who logged in.
    const user = gate(auth, req, res, r ? (r.need === 'by-method' ? 'anonymous' : r.need) : 'viewer');
    if (user === false) return void req.resume();
    if (!r) return notFound(res);
    return r.handle(req, res, url, user);
  };

  const onRequest = (req: Req, res: Res): void => {
    route(req, res).catch((e: unknown) => {
      if (e instanceof HttpFail) send(res, e.status, 'text/plain', `${e.message}\n`);
      else if (!res.headersSent) send(res, 500, 'text/plain', 'Error: internal error\n');
      else res.destroy();
    });
  };

  const serverOptions = { keepAliveTimeout: 5000, headersTimeout: 10_000, requestTimeout: 0 };
  const bind = async (s: http.Server | https.Server, at: number): Promise<number> => {
    // Plain TCP sockets are counted for both servers (so a crash cuts them all), the refuse fault drops them at once.
    s.on('connection', (sock: Socket) => {
      if (fault.refuse) {
        sock.destroy();
        return;
      }
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
    });
    s.on('clientError', (_err, sock) => {
      if (sock.writable) sock.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else sock.destroy();
    });
    const tryListen = (p: number): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(p, '127.0.0.1', () => {
          s.off('error', reject);
          resolve();
        });
      });
    // A camera keeps its port across restarts. A port from the ephemeral range can meanwhile be the
    // source port of some outgoing connection on this machine, and the restart would fail: so the
    // first start picks a port below that range, and a restart retries briefly.
    const first = at === 0;
    for (let attempt = 0; ; attempt++) {
      const p = first ? listenPortBelowEphemeral() : at;
      try {
        await tryListen(p);
        return (s.address() as AddressInfo).port;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 40) throw err;
        if (!first) await new Promise((r) => setTimeout(r, 100));
      }
    }
  };

  const listen = async (): Promise<void> => {
    // Read back (or, at the very first start, make) the certificate: restarts keep the same one.
    const tls = await loadOrCreateCameraTls(opts.stateDir, id.serial);
    fingerprint = tls.fingerprint;
    const s = http.createServer(serverOptions, onRequest);
    port = await bind(s, port);
    server = s;
    const t = https.createServer({ ...serverOptions, key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2' }, onRequest);
    try {
      tlsPort = await bind(t, tlsPort);
    } catch (e) {
      server = undefined;
      await new Promise<void>((r) => s.close(() => r()));
      throw e;
    }
    tlsServer = t;
    watchMotion();
  };

  const goDown = async (): Promise<void> => {
    crashed = true;
    const halted = apps.suspend();
    video.stopAll();
    mq.disconnect();
    if (motionTimer) clearInterval(motionTimer);
    motionTimer = undefined;
    agent.setRunning(false);
    const open = [server, tlsServer].filter((x): x is http.Server | https.Server => x !== undefined);
    server = undefined;
    tlsServer = undefined;
    const closed = open.map((s) => new Promise<void>((r) => s.close(() => r())));
    for (const sock of sockets) sock.destroy();
    for (const s of open) s.closeAllConnections();
    await Promise.all(closed);
    await halted;
  };

  const faults: SimFaults = {
    refuseConnections: (on) => {
      fault.refuse = on;
    },
    stallStream: (on) => {
      fault.stall = on;
    },
    slowReplies: (ms) => {
      fault.slowMs = Math.max(0, ms);
    },
    corruptNextFrames: (n) => {
      fault.corrupt = Math.max(0, Math.floor(n));
    },
    dropMqtt: (on) => {
      fault.dropMqtt = on;
      if (on) mq.disconnect();
      else mq.connect();
    },
    crash: goDown,
    restart: async () => {
      if (server) return;
      crashed = false;
      bootedAt = now();
      await listen();
      mq.connect();
      await apps.resume();
      syncAgent();
    },
    crashDuringUpload: (afterBytes) => {
      fault.crashUploadAfter = Math.max(0, Math.floor(afterBytes));
    },
    lie: (on) => agent.setLie(on),
    equivocate: (on) => agent.setEquivocate(on),
    flSilence: (phase) => agent.setFlSilence(phase),
  };

  return {
    identity: id,
    port: () => port,
    httpsPort: () => tlsPort,
    tlsFingerprint: () => fingerprint,
    faults,
    agentKey: () => {
      const i = agent.identity();
      return { key: i.key, publicKey: i.publicKey };
    },
    installedFiles: (name) => apps.get(name)?.files,
    start: async () => {
      crashed = false;
      await listen();
      // The preinstalled app starts with the camera (its boot epoch is written now, not at the first MQTT connection).
      syncAgent();
      // Only a client that is already active (a bench fleet's) connects here; a fresh device waits for VAPIX.
      mq.connect();
    },
    stop: async () => {
      await goDown();
      await runtime.halt?.();
      agent.close();
    },
  };
}
