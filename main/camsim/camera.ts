import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import fs from 'node:fs';
import path from 'node:path';
import { calibrationPairs, createAgent, OMNISIGHT_REVERSE_PROXY, type Agent } from './agent';
import { serveLocal } from './app-proxy';
import { createAppStore, UPLOAD_ERR, type AppRuntime, type AppStore, type InstalledApp } from './apps';
import type { EapRuntime, SimHardware } from './runner';
import { createDetector, type ModelName } from './detector';
import { createDigestServer, type DigestServer } from './digest';
import type { SimFaults, SimUser } from './index';
import { encodeJpeg, renderBackground, renderFrame } from './render';
import type { Rng } from './rng';
import { projectActorBox, SENSOR_FPS, zoneCentroid, type CameraModel, type SceneEngine } from './scene';

export interface CameraIdentity {
  id: string;
  serial: string;
  mac: string;
  prodNbr: string;
  prodFullName: string;
  prodType: string;
  soc: 'Axis Artpec-8' | 'Axis Artpec-9';
  firmware: string;
  users: SimUser[];
}

export interface SimCamera {
  identity: CameraIdentity;
  port(): number;
  faults: SimFaults;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const ROLE_RANK = { viewer: 1, operator: 2, administrator: 3 } as const;
type Role = keyof typeof ROLE_RANK | 'anonymous';

const MAX_UPLOAD = 64 * 1024 * 1024;
const MAX_JSON = 64 * 1024;
const BOUNDARY = 'myboundary';
const JSON_ERR = { versionNotSupported: 2100, badJson: 2101, methodNotSupported: 2102, missingParam: 2103, badParam: 2104 } as const;
const BDI_VERSION = '1.3';
const MQTT_VERSION = '1.0';
const RESOLUTIONS = ['1920x1080', '1280x720', '1024x576', '800x450', '640x360', '480x270', '320x180', '160x90'];

interface Viewer {
  res: http.ServerResponse;
  fps: number;
  lastTs: number;
}

interface Hub {
  width: number;
  height: number;
  compression: number;
  viewers: Set<Viewer>;
  timer?: NodeJS.Timeout;
  last?: { tick: number; ts: number; jpeg: Buffer };
}

interface MqttConfig {
  server: { protocol: 'tcp' | 'ssl' | 'ws' | 'wss'; host: string; port: number };
  clientId: string;
  username?: string;
  password?: string;
  keepAliveInterval: number;
  cleanSession: boolean;
}

class HttpFail extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);

export function parseBrokerUrl(url: string, clientId: string): MqttConfig | undefined {
  try {
    const u = new URL(url);
    const schemes: Record<string, MqttConfig['server']['protocol']> = { 'mqtt:': 'tcp', 'tcp:': 'tcp', 'mqtts:': 'ssl', 'ssl:': 'ssl', 'ws:': 'ws', 'wss:': 'wss' };
    const protocol = schemes[u.protocol];
    if (!protocol) return undefined;
    const port = u.port ? Number(u.port) : protocol === 'ssl' ? 8883 : 1883;
    return { server: { protocol, host: u.hostname.replace(/^\[|\]$/g, ''), port }, clientId, keepAliveInterval: 60, cleanSession: true, ...(u.username ? { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) } : {}) };
  } catch {
    return undefined;
  }
}

export function createSimCamera(opts: {
  identity: CameraIdentity;
  port: number;
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
}): SimCamera {
  const { identity: id, scene, cam, now } = opts;
  const realm = `AXIS_${id.mac.replace(/:/g, '').toUpperCase()}`;
  const digest: DigestServer = createDigestServer({ realm, users: () => id.users, now });
  let port = opts.port;
  let server: http.Server | undefined;
  const sockets = new Set<Socket>();
  let crashed = false;
  const fault = { refuse: false, stall: false, slowMs: 0, corrupt: 0, corruptVariant: 0, dropMqtt: false, crashUploadAfter: -1 };
  const hubs = new Map<string, Hub>();
  const backgrounds = new Map<string, Buffer>();
  const appLog: string[] = [];
  let mqttConfig: MqttConfig | undefined = opts.broker ? parseBrokerUrl(opts.broker, `omnisight-${id.serial}`) : undefined;
  let mqttActive = false;
  let mqttClient: MqttClient | undefined;
  let eventPublication: unknown = {};

  const logApp = (line: string): void => {
    appLog.push(`${new Date(now()).toISOString()} ${id.serial} omnisight[0]: ${line}`);
    if (appLog.length > 200) appLog.shift();
  };

  // The hardware layer a deployed program gets: raw detections in pixels (native/README.md), the broker, the serial.
  const hardware: SimHardware = {
    serial: id.serial,
    // The drop-MQTT fault reaches a program started while it is on: it gets a closed port.
    broker: () => (fault.dropMqtt ? { host: '127.0.0.1', port: 1 } : mqttActive && mqttConfig && mqttConfig.server.protocol === 'tcp' ? { host: mqttConfig.server.host, port: mqttConfig.server.port } : undefined),
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
  if (agentData && !fs.existsSync(path.join(agentData, 'calibration.json'))) {
    // Whoever mounted the camera calibrated it (POST /local/omnisight/admin/calibration.cgi); the
    // simulator knows the true ground mapping. A real camera has this file only if someone set it.
    const points = calibrationPairs(cam.homography, cam.maxRangeM, cam.position);
    if (points.length >= 4) fs.writeFileSync(path.join(agentData, 'calibration.json'), `${JSON.stringify({ camera: id.serial, source: 'simulator', points })}\n`, { mode: 0o600 });
  }
  const agent: Agent = createAgent({
    localData: agentData,
    serial: id.serial,
    now,
    scene,
    detector: createDetector({ cam, rng: opts.rng.fork(7), model: opts.model, soc: id.soc }),
    model: opts.model,
    fpsCamera: opts.fpsCamera,
    publish: (topic, payload, qos) => {
      const c = mqttClient;
      if (!c || !c.connected) return false;
      c.publish(topic, payload, { qos });
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
    preinstalled: [{ name: 'omnisight', niceName: 'OmniSight', vendor: 'OmniSight', version: '1.2.0', applicationId: '', status: 'Running', reverseProxy: OMNISIGHT_REVERSE_PROXY }],
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
  const syncAgent = (): void => {
    const up = !crashed && omnisightRunning() && !nativeRunning('omnisight');
    if (up && !agentProcess) {
      agentProcess = true;
      agent.boot();
    }
    if (!up) agentProcess = false;
    agent.setRunning(up && !!mqttClient?.connected);
  };

  // ---- MQTT client of the camera -------------------------------------------------------------
  const mqttDisconnect = (): void => {
    const c = mqttClient;
    mqttClient = undefined;
    if (c) c.end(true);
    syncAgent();
  };
  const mqttConnect = (): void => {
    if (crashed || fault.dropMqtt || !mqttActive || !mqttConfig || mqttClient) return;
    const { server } = mqttConfig;
    const scheme = { tcp: 'mqtt', ssl: 'mqtts', ws: 'ws', wss: 'wss' }[server.protocol];
    const client = mqtt.connect(`${scheme}://${server.host.includes(':') ? `[${server.host}]` : server.host}:${server.port}`, {
      clientId: mqttConfig.clientId,
      username: mqttConfig.username,
      password: mqttConfig.password,
      keepalive: mqttConfig.keepAliveInterval,
      clean: mqttConfig.cleanSession,
      reconnectPeriod: 1000,
      connectTimeout: 5000,
    });
    client.on('connect', syncAgent);
    client.on('close', syncAgent);
    client.on('error', () => undefined); // reconnects by itself; the status shows it
    mqttClient = client;
  };

  // ---- HTTP plumbing --------------------------------------------------------------------------
  const send = (res: http.ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string | number> = {}): void => {
    if (res.headersSent || res.destroyed) return;
    const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': buf.length, ...headers });
    res.end(buf);
  };
  const htmlError = (status: number, title: string, text: string): string => `<HTML><HEAD><TITLE>${status} ${title}</TITLE></HEAD><BODY><H1>${status} ${title}</H1>\n${text}\n</BODY></HTML>\n`;

  const readBody = (req: http.IncomingMessage, limit: number): Promise<Buffer | undefined> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let over = false;
      // A declared length (every upload client sends one) fills one buffer: no chunk list, no 5 MB concat copy.
      const declared = Number(req.headers['content-length']);
      let whole = Number.isInteger(declared) && declared > 0 && declared <= limit ? Buffer.allocUnsafe(declared) : undefined;
      req.on('data', (c: Buffer) => {
        if (whole && size + c.length > whole.length) {
          chunks.push(whole.subarray(0, size)); // more than declared: back to a chunk list
          whole = undefined;
        }
        if (size + c.length > limit) over = true; // keep draining so the reply can still be read
        else if (whole) c.copy(whole, size);
        else chunks.push(c);
        size += c.length;
      });
      req.on('end', () => resolve(over ? undefined : whole ? whole.subarray(0, size) : Buffer.concat(chunks)));
      req.on('error', reject);
    });

  /** Digest check: 401 for missing or wrong credentials (stale=true for an old nonce), 403 for a role too low. */
  const authorise = (req: http.IncomingMessage, res: http.ServerResponse, need: Role): boolean => {
    if (need === 'anonymous') return true;
    const r = digest.verify(req.method ?? 'GET', req.url ?? '/', req.headers.authorization);
    if (!r.ok) {
      send(res, 401, 'text/html', htmlError(401, 'Unauthorized', 'Your client does not have permission to get this URL from this server.'), {
        'WWW-Authenticate': digest.challenge(r.stale),
      });
      return false;
    }
    if (ROLE_RANK[r.user.role] < ROLE_RANK[need]) {
      send(res, 403, 'text/html', htmlError(403, 'Forbidden', `Your user ${r.user.username} (${r.user.role}) may not access this resource.`));
      return false;
    }
    return true;
  };

  // ---- Device information ---------------------------------------------------------------------
  const unrestricted = (): Record<string, string> => ({
    Brand: 'AXIS',
    BuildDate: 'Jun 12 2025 09:15',
    HardwareID: id.prodNbr === 'Q1656' ? '7A1' : id.soc === 'Axis Artpec-9' ? '9C2' : '7B4',
    ProdFullName: id.prodFullName,
    ProdNbr: id.prodNbr,
    ProdShortName: `AXIS ${id.prodNbr}`,
    ProdType: id.prodType,
    ProdVariant: '',
    SerialNumber: id.serial,
    Version: id.firmware,
    WebURL: 'http://www.axis.com',
  });
  const allProperties = (): Record<string, string> => ({ ...unrestricted(), Architecture: 'aarch64', Soc: id.soc, SocSerialNumber: `${id.serial.slice(0, 8)}-${id.serial.slice(4)}` });

  const jsonApi = async (req: http.IncomingMessage, res: http.ServerResponse, version: string, need: (method: string) => Role, handle: (method: string, params: Record<string, unknown>) => unknown): Promise<void> => {
    if (req.method !== 'POST') {
      send(res, 405, 'text/plain', 'Method Not Allowed\n', { Allow: 'POST' });
      return;
    }
    const body = await readBody(req, MAX_JSON);
    let msg: { apiVersion?: unknown; context?: unknown; method?: unknown; params?: unknown } | undefined;
    try {
      msg = body ? (JSON.parse(body.toString('utf8')) as typeof msg) : undefined;
    } catch {
      msg = undefined;
    }
    const reply = (obj: Record<string, unknown>): void => send(res, 200, 'application/json', JSON.stringify({ apiVersion: version, ...obj }));
    // Digest clients (curl among them) probe with an empty body first: that must get the challenge.
    if (body && body.length === 0 && !authorise(req, res, 'viewer')) return;
    if (!msg || typeof msg !== 'object' || Array.isArray(msg)) {
      // Axis answers even unreadable requests without asking for credentials first.
      reply({ error: { code: JSON_ERR.badJson, message: 'JSON input error' } });
      return;
    }
    const context = typeof msg.context === 'string' ? { context: msg.context } : {};
    const method = typeof msg.method === 'string' ? msg.method : '';
    if (!authorise(req, res, need(method))) return;
    if (typeof msg.apiVersion !== 'string' || !/^\d+(\.\d+)?$/.test(msg.apiVersion)) {
      reply({ ...context, method, error: { code: JSON_ERR.missingParam, message: 'apiVersion is required' } });
      return;
    }
    if (msg.apiVersion.split('.')[0] !== version.split('.')[0]) {
      reply({ ...context, method, error: { code: JSON_ERR.versionNotSupported, message: `The requested API version ${msg.apiVersion} is not supported` } });
      return;
    }
    const params = msg.params && typeof msg.params === 'object' && !Array.isArray(msg.params) ? (msg.params as Record<string, unknown>) : {};
    try {
      const data = handle(method, params);
      reply({ ...context, method, data });
    } catch (e) {
      const code = e instanceof JsonApiError ? e.code : 1100;
      reply({ ...context, method, error: { code, message: e instanceof JsonApiError ? e.message : 'Internal error' } });
    }
  };

  const basicDeviceInfo = (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> =>
    jsonApi(
      req,
      res,
      BDI_VERSION,
      (m) => (m === 'getAllUnrestrictedProperties' || m === 'getSupportedVersions' ? 'anonymous' : 'viewer'),
      (method, params) => {
        switch (method) {
          case 'getSupportedVersions':
            return { apiVersions: ['1.0', '1.1', '1.2', BDI_VERSION] };
          case 'getAllUnrestrictedProperties':
            return { propertyList: unrestricted() };
          case 'getAllProperties':
            return { propertyList: allProperties() };
          case 'getProperties': {
            const list = params.propertyList;
            if (!Array.isArray(list) || !list.every((p) => typeof p === 'string')) throw new JsonApiError(JSON_ERR.badParam, 'propertyList must be a list of property names');
            const all = allProperties();
            return { propertyList: Object.fromEntries(list.filter((p: string) => p in all).map((p: string) => [p, all[p]])) };
          }
          default:
            throw new JsonApiError(JSON_ERR.methodNotSupported, `Method not supported: ${method}`);
        }
      },
    );

  // ---- param.cgi ------------------------------------------------------------------------------
  const params = (): [string, string][] => {
    const p = allProperties();
    return [
      ['root.Brand.Brand', 'AXIS'],
      ['root.Brand.ProdFullName', p.ProdFullName!],
      ['root.Brand.ProdNbr', p.ProdNbr!],
      ['root.Brand.ProdShortName', p.ProdShortName!],
      ['root.Brand.ProdType', p.ProdType!],
      ['root.Brand.ProdVariant', ''],
      ['root.Brand.WebURL', 'http://www.axis.com'],
      ['root.Image.I0.Appearance.Compression', '30'],
      ['root.Image.I0.Appearance.Resolution', `${opts.frameWidth}x${opts.frameHeight}`],
      ['root.Image.I0.Stream.FPS', '0'],
      ['root.ImageSource.I0.Sensor.CaptureFrequency', String(SENSOR_FPS)],
      ['root.Network.eth0.MACAddress', id.mac],
      ['root.Properties.API.HTTP.Version', '3'],
      ['root.Properties.API.Metadata.Metadata', 'yes'],
      ['root.Properties.EmbeddedDevelopment.Version', '3.5'],
      ['root.Properties.Firmware.BuildDate', p.BuildDate!],
      ['root.Properties.Firmware.Version', id.firmware],
      ['root.Properties.Image.Format', 'jpeg,mjpeg,h264,h265'],
      ['root.Properties.Image.NbrOfViews', '1'],
      ['root.Properties.Image.Resolution', RESOLUTIONS.join(',')],
      ['root.Properties.Image.Rotation', '0,180'],
      ['root.Properties.System.Architecture', 'aarch64'],
      ['root.Properties.System.SerialNumber', id.serial],
      ['root.Properties.System.Soc', id.soc],
    ];
  };

  const paramList = (url: URL): string => {
    const action = url.searchParams.get('action');
    if (action !== 'list') return `# Error: action '${action ?? ''}' is not supported\r\n`;
    const groups = (url.searchParams.get('group') ?? '').split(',').filter(Boolean);
    const all = params();
    if (groups.length === 0) return all.map(([k, v]) => `${k}=${v}\r\n`).join('');
    let out = '';
    for (const g of groups) {
      const full = g.startsWith('root.') ? g : `root.${g}`;
      const hit = all.filter(([k]) => k === full || k.startsWith(`${full}.`));
      out += hit.length ? hit.map(([k, v]) => `${k}=${v}\r\n`).join('') : `# Error: Error -1 getting param in group '${g}'\r\n`;
    }
    return out;
  };

  // ---- video ----------------------------------------------------------------------------------
  const videoParams = (url: URL): { width: number; height: number; fps: number; compression: number } => {
    const res = url.searchParams.get('resolution') ?? `${opts.frameWidth}x${opts.frameHeight}`;
    const m = /^(\d{2,4})x(\d{2,4})$/.exec(res);
    const width = m ? Number(m[1]) : NaN;
    const height = m ? Number(m[2]) : NaN;
    if (!m || width < 16 || height < 16 || width > 1920 || height > 1080) throw new HttpFail(400, `Error: Invalid value '${res}' for parameter resolution`);
    const fpsRaw = url.searchParams.get('fps') ?? '0';
    const fps = Number(fpsRaw);
    if (!/^\d+$/.test(fpsRaw) || fps > 60) throw new HttpFail(400, `Error: Invalid value '${fpsRaw}' for parameter fps`);
    const compRaw = url.searchParams.get('compression') ?? '30';
    const compression = Number(compRaw);
    if (!/^\d+$/.test(compRaw) || compression > 100) throw new HttpFail(400, `Error: Invalid value '${compRaw}' for parameter compression`);
    const camera = url.searchParams.get('camera') ?? '1';
    if (camera !== '1') throw new HttpFail(400, `Error: Invalid value '${camera}' for parameter camera`);
    return { width, height, fps: fps === 0 ? SENSOR_FPS : Math.min(fps, SENSOR_FPS), compression };
  };

  const background = (width: number, height: number): Buffer => {
    const key = `${width}x${height}`;
    let bg = backgrounds.get(key);
    if (!bg) {
      bg = renderBackground(scene, cam, width, height);
      backgrounds.set(key, bg);
      if (backgrounds.size > 6) backgrounds.delete(backgrounds.keys().next().value!);
    }
    return bg;
  };

  const renderAt = async (tick: number, width: number, height: number, compression: number): Promise<{ ts: number; jpeg: Buffer }> => {
    const ts = scene.timeOfTick(tick);
    const rgb = renderFrame(background(width, height), cam, scene.snapshot(tick), width, height);
    return { ts, jpeg: await encodeJpeg(rgb, width, height, compression, ts) };
  };

  const partHeader = (len: number, ts: number): string => `--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${len}\r\nX-Frame-Timestamp: ${ts}\r\n\r\n`;

  /** Write one part to one viewer, or a corrupted one while the corrupt switch has parts left. */
  const writePart = (v: Viewer, ts: number, jpeg: Buffer): void => {
    if (fault.corrupt > 0) {
      fault.corrupt--;
      const variant = fault.corruptVariant++ % 3;
      if (variant === 0) {
        const junk = randomBytes(512 + (jpeg.length % 1024));
        v.res.write(partHeader(junk.length, ts));
        v.res.write(junk);
        v.res.write('\r\n');
      } else if (variant === 1) {
        const cut = jpeg.subarray(0, Math.floor(jpeg.length / 2));
        v.res.write(partHeader(cut.length, ts));
        v.res.write(cut);
        v.res.write('\r\n');
      } else {
        // Bytes outside any part: a reader must resynchronise on the next boundary.
        v.res.write(randomBytes(700));
        v.res.write(partHeader(jpeg.length, ts));
        v.res.write(jpeg);
        v.res.write('\r\n');
      }
      return;
    }
    v.res.write(partHeader(jpeg.length, ts));
    v.res.write(jpeg);
    v.res.write('\r\n');
  };

  const hubTick = (hub: Hub, key: string): void => {
    hub.timer = undefined;
    if (hub.viewers.size === 0 || crashed) {
      // Nobody watches: stop rendering. A hub from before a restart must not remove its successor.
      if (hubs.get(key) === hub) hubs.delete(key);
      return;
    }
    const hubFps = Math.max(...[...hub.viewers].map((v) => v.fps));
    const stride = Math.max(1, Math.round(SENSOR_FPS / hubFps));
    // As in the agent: a timer may fire just before its tick; never render a tick twice.
    const k = Math.max(scene.tickAt(now()), hub.last?.tick ?? -1);
    const next = (Math.floor(k / stride) + 1) * stride;
    const delay = Math.max(2, scene.timeOfTick(next) - now());
    hub.timer = setTimeout(() => {
      void (async () => {
        if (hub.viewers.size > 0 && !crashed) {
          // Render once for every viewer of this size and compression.
          const frame = await renderAt(next, hub.width, hub.height, hub.compression);
          hub.last = { tick: next, ...frame };
          if (!fault.stall) {
            for (const v of hub.viewers) {
              if (v.res.destroyed) continue;
              if (frame.ts - v.lastTs < 1000 / v.fps - 1000 / SENSOR_FPS / 2) continue;
              // A viewer that cannot keep up loses frames instead of queueing them.
              if (v.res.writableLength > frame.jpeg.length * 2) continue;
              v.lastTs = frame.ts;
              writePart(v, frame.ts, frame.jpeg);
            }
          }
        }
        hubTick(hub, key);
      })().catch(() => hubTick(hub, key));
    }, delay);
  };

  const mjpeg = (req: http.IncomingMessage, res: http.ServerResponse, url: URL): void => {
    const p = videoParams(url);
    const key = `${p.width}x${p.height}@${p.compression}`;
    let hub = hubs.get(key);
    if (!hub) {
      hub = { width: p.width, height: p.height, compression: p.compression, viewers: new Set() };
      hubs.set(key, hub);
    }
    const viewer: Viewer = { res, fps: p.fps, lastTs: -Infinity };
    hub.viewers.add(viewer);
    res.writeHead(200, { 'Content-Type': `multipart/x-mixed-replace; boundary=${BOUNDARY}`, 'Cache-Control': 'no-cache', Pragma: 'no-cache', Connection: 'close' });
    const h = hub;
    res.on('close', () => h.viewers.delete(viewer));
    if (!hub.timer) hubTick(hub, key);
  };

  const snapshot = async (res: http.ServerResponse, url: URL): Promise<void> => {
    const p = videoParams(url);
    const k = scene.tickAt(now());
    const hub = hubs.get(`${p.width}x${p.height}@${p.compression}`);
    const frame = hub?.last && k - hub.last.tick <= 1 ? hub.last : await renderAt(k, p.width, p.height, p.compression);
    let jpeg = frame.jpeg;
    if (fault.corrupt > 0) {
      fault.corrupt--;
      jpeg = jpeg.subarray(0, Math.floor(jpeg.length / 2));
    }
    send(res, 200, 'image/jpeg', jpeg, { 'X-Frame-Timestamp': frame.ts, 'Cache-Control': 'no-cache' });
  };

  // ---- applications ---------------------------------------------------------------------------
  const upload = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    if (req.method !== 'POST') {
      send(res, 405, 'text/plain', 'Method Not Allowed\n', { Allow: 'POST' });
      return;
    }
    if (apps.busy()) {
      req.resume();
      send(res, 200, 'text/plain', `Error: ${UPLOAD_ERR.inProgress}\n`);
      return;
    }
    apps.receiving(true);
    let body: Buffer | undefined;
    try {
      if (fault.crashUploadAfter >= 0) {
        const limit = fault.crashUploadAfter;
        fault.crashUploadAfter = -1;
        let seen = 0;
        req.on('data', (c: Buffer) => {
          seen += c.length;
          if (seen >= limit && !crashed) void goDown();
        });
      }
      body = await readBody(req, MAX_UPLOAD);
    } finally {
      apps.receiving(false);
    }
    if (crashed) return;
    if (!body) {
      send(res, 200, 'text/plain', `Error: ${UPLOAD_ERR.tooLarge}\n`);
      return;
    }
    const file = multipartFile(req.headers['content-type'] ?? '', body, ['file', 'packfil']);
    if (!file) {
      send(res, 200, 'text/plain', `Error: ${UPLOAD_ERR.notEap}\n`);
      return;
    }
    send(res, 200, 'text/plain', await apps.upload(file));
  };

  // ---- MQTT client API ------------------------------------------------------------------------
  const mqttStatus = (): Record<string, unknown> => {
    const c = mqttClient;
    const connectionStatus = !mqttActive ? 'disconnected' : c?.connected ? 'connected' : 'connecting';
    const config = mqttConfig ? { server: mqttConfig.server, clientId: mqttConfig.clientId, username: mqttConfig.username ?? '', keepAliveInterval: mqttConfig.keepAliveInterval, cleanSession: mqttConfig.cleanSession } : {};
    return { status: { state: mqttActive ? 'active' : 'inactive', connectionStatus }, config };
  };

  const mqttClientApi = (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> =>
    jsonApi(req, res, MQTT_VERSION, () => 'administrator', (method, p) => {
      switch (method) {
        case 'configureClient': {
          const server = p.server as Record<string, unknown> | undefined;
          if (!server || typeof server !== 'object') throw new JsonApiError(JSON_ERR.missingParam, 'server is required');
          const protocol = server.protocol ?? 'tcp';
          const host = server.host;
          const portNo = server.port ?? (protocol === 'ssl' ? 8883 : 1883);
          if (protocol !== 'tcp' && protocol !== 'ssl' && protocol !== 'ws' && protocol !== 'wss') throw new JsonApiError(JSON_ERR.badParam, 'server.protocol must be tcp, ssl, ws or wss');
          if (typeof host !== 'string' || host.length === 0 || host.length > 255) throw new JsonApiError(JSON_ERR.badParam, 'server.host must be a host name or address');
          // The simulator lives on this machine: it never connects anywhere else.
          if (!isLoopback(host)) throw new JsonApiError(JSON_ERR.badParam, `server.host ${host} is not a loopback address; the simulated camera only connects to 127.0.0.1`);
          if (typeof portNo !== 'number' || !Number.isInteger(portNo) || portNo < 1 || portNo > 65535) throw new JsonApiError(JSON_ERR.badParam, 'server.port must be 1..65535');
          for (const f of ['clientId', 'username', 'password'] as const) {
            if (p[f] !== undefined && (typeof p[f] !== 'string' || (p[f] as string).length > 1024)) throw new JsonApiError(JSON_ERR.badParam, `${f} must be a string`);
          }
          const keepAlive = typeof p.keepAliveInterval === 'number' ? p.keepAliveInterval : 60;
          mqttConfig = {
            server: { protocol, host, port: portNo },
            clientId: typeof p.clientId === 'string' && p.clientId ? p.clientId : `omnisight-${id.serial}`,
            username: p.username as string | undefined,
            password: p.password as string | undefined,
            keepAliveInterval: Math.max(5, Math.min(3600, keepAlive)),
            cleanSession: p.cleanSession !== false,
          };
          // A new configuration takes effect on the next connection.
          if (mqttClient) {
            mqttDisconnect();
            mqttConnect();
          }
          return {};
        }
        case 'activateClient':
          if (!mqttConfig) throw new JsonApiError(JSON_ERR.badParam, 'Configure the client before activating it');
          mqttActive = true;
          mqttConnect();
          return {};
        case 'deactivateClient':
          mqttActive = false;
          mqttDisconnect();
          return {};
        case 'getClientStatus':
          return mqttStatus();
        default:
          throw new JsonApiError(JSON_ERR.methodNotSupported, `Method not supported: ${method}`);
      }
    });

  const mqttEventApi = (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> =>
    jsonApi(req, res, MQTT_VERSION, () => 'administrator', (method, p) => {
      if (method === 'configureEventPublication') {
        eventPublication = p;
        return {};
      }
      if (method === 'getEventPublicationConfig') return { eventPublicationConfig: eventPublication };
      throw new JsonApiError(JSON_ERR.methodNotSupported, `Method not supported: ${method}`);
    });

  // ---- routing --------------------------------------------------------------------------------
  const route = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    if (fault.slowMs > 0) await new Promise((r) => setTimeout(r, fault.slowMs));
    if (res.destroyed) return;
    const url = new URL(req.url ?? '/', 'http://camera');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    switch (path) {
      case '/axis-cgi/basicdeviceinfo.cgi':
        return basicDeviceInfo(req, res);
      case '/axis-cgi/param.cgi':
        if (!authorise(req, res, 'operator')) return;
        return send(res, 200, 'text/plain', paramList(url));
      case '/axis-cgi/mjpg/video.cgi':
        if (!authorise(req, res, 'viewer')) return;
        return mjpeg(req, res, url);
      case '/axis-cgi/jpg/image.cgi':
        if (!authorise(req, res, 'viewer')) return;
        return snapshot(res, url);
      case '/axis-cgi/applications/upload.cgi':
        if (!authorise(req, res, 'administrator')) return void req.resume();
        return upload(req, res);
      case '/axis-cgi/applications/list.cgi':
        if (!authorise(req, res, 'administrator')) return;
        return send(res, 200, 'text/xml', apps.listXml());
      case '/axis-cgi/applications/control.cgi':
        if (!authorise(req, res, 'administrator')) return;
        return send(res, 200, 'text/plain', await apps.control(url.searchParams.get('action'), url.searchParams.get('package')));
      case '/axis-cgi/applications/config.cgi':
        if (!authorise(req, res, 'administrator')) return;
        return send(res, 200, 'text/xml', apps.config(url.searchParams.get('action'), url.searchParams.get('name'), url.searchParams.get('value')));
      case '/axis-cgi/admin/systemlog.cgi': {
        if (!authorise(req, res, 'administrator')) return;
        const name = url.searchParams.get('appname');
        return send(res, 200, 'text/plain', `${appLog.filter((l) => !name || l.includes(` ${name}[`)).join('\n')}\n`);
      }
      case '/axis-cgi/mqtt/client.cgi':
        return mqttClientApi(req, res);
      case '/axis-cgi/mqtt/event.cgi':
        return mqttEventApi(req, res);
      default:
        void method;
        // Installed apps' routes, through the reverse proxy their manifest declares.
        if (
          await serveLocal(req, res, url, {
            app: (n) => apps.get(n),
            authorise,
            nativePort: (n) => (runtime as Partial<EapRuntime>).httpPort?.(n),
            inProcess: (n) => (n === 'omnisight' && !nativeRunning(n) ? agent.serveHttp : undefined),
            send: (r, status, type, body) => send(r, status, type, body),
            notFound: (r) => send(r, 404, 'text/html', htmlError(404, 'Not Found', 'The requested URL was not found on this server.')),
            unavailable: (r, why) => send(r, 503, 'text/html', htmlError(503, 'Service Unavailable', why)),
          })
        )
          return;
        return send(res, 404, 'text/html', htmlError(404, 'Not Found', 'The requested URL was not found on this server.'));
    }
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    route(req, res).catch((e: unknown) => {
      if (e instanceof HttpFail) send(res, e.status, 'text/plain', `${e.message}\n`);
      else if (!res.headersSent) send(res, 500, 'text/plain', 'Error: internal error\n');
      else res.destroy();
    });
  };

  const listen = async (): Promise<void> => {
    const s = http.createServer({ keepAliveTimeout: 5000, headersTimeout: 10_000, requestTimeout: 0 }, onRequest);
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
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        s.off('error', reject);
        resolve();
      });
    });
    port = (s.address() as AddressInfo).port;
    server = s;
  };

  const goDown = async (): Promise<void> => {
    crashed = true;
    const halted = apps.suspend();
    for (const hub of hubs.values()) {
      if (hub.timer) clearTimeout(hub.timer);
      for (const v of hub.viewers) v.res.destroy();
    }
    hubs.clear();
    mqttDisconnect();
    agent.setRunning(false);
    const s = server;
    server = undefined;
    if (s) {
      const closed = new Promise<void>((r) => s.close(() => r()));
      for (const sock of sockets) sock.destroy();
      s.closeAllConnections();
      await closed;
    }
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
      if (on) mqttDisconnect();
      else mqttConnect();
    },
    crash: goDown,
    restart: async () => {
      if (server) return;
      crashed = false;
      await listen();
      mqttConnect();
      await apps.resume();
      syncAgent();
    },
    crashDuringUpload: (afterBytes) => {
      fault.crashUploadAfter = Math.max(0, Math.floor(afterBytes));
    },
    lie: (on) => agent.setLie(on),
    equivocate: (on) => agent.setEquivocate(on),
  };

  return {
    identity: id,
    port: () => port,
    faults,
    start: async () => {
      crashed = false;
      await listen();
    },
    stop: async () => {
      await goDown();
      await runtime.halt?.();
      agent.close();
    },
  };
}

class JsonApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Pull one named file part out of a multipart/form-data body. */
export function multipartFile(contentType: string, body: Buffer, names: readonly string[]): Buffer | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!/^multipart\/form-data/i.test(contentType) || !m) return undefined;
  const delim = Buffer.from(`--${m[1] ?? m[2]}`);
  let pos = body.indexOf(delim);
  while (pos >= 0) {
    const start = pos + delim.length;
    if (body[start] === 0x2d && body[start + 1] === 0x2d) return undefined; // closing delimiter
    const headEnd = body.indexOf('\r\n\r\n', start);
    if (headEnd < 0) return undefined;
    const head = body.subarray(start, headEnd).toString('latin1');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]), headEnd + 4);
    if (next < 0) return undefined;
    const name = /content-disposition:[^\r\n]*\bname="([^"]*)"/i.exec(head)?.[1];
    if (name && names.includes(name)) return body.subarray(headEnd + 4, next);
    pos = next + 2;
  }
  return undefined;
}
