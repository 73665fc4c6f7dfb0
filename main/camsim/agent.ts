import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Detector, ModelName } from './detector';
import { createFlClient, flTopics, type FlClient, type FlClientEvent, type FlPhase } from './fl/client';
import { builtinHead, evaluate, features, predict, type Head, type Metrics } from './fl/head';
import { createLocalData, type LocalData } from './fl/localdata';
import { loadHead, saveHead } from './fl/model-files';
import { outcomesSchema, parseJson } from './fl/messages';
import type { SceneEngine } from './scene';
import { DESKTOP_SESSION_KEY_TOPIC, macV3, openSession, parseDesktopKey, parseSessionNotice, sessionNoticeTopic, type DesktopKey } from './session-v3';
import { SENSOR_FPS } from './scene';

/**
 * The simulator's built-in OmniSight agent: it stands for an already installed "omnisight" app and
 * behaves as the C app in native/ does (SHARED-SPECS.md): its Ed25519 key and boot epoch live in
 * that app's local data folder (created on first start, kept across restarts and upgrades, so a
 * deploy of the C app keeps the identity), a new epoch is written at every app start before the
 * first message, seq starts at 1 in each epoch, envelopes are v2, and it answers the same
 * reverse-proxied routes (identity, calibration, admin rotation and calibration).
 */
export interface Agent {
  identity(): { camera: string; key: string; publicKey: string; version: string; epoch: number; model: ModelReport };
  /** The app process starts: next boot epoch persisted (fsync) before anything is signed, seq from 1. */
  boot(): void;
  /** Publish only while the app runs and MQTT is connected. */
  setRunning(on: boolean): void;
  running(): boolean;
  /** The installed version it reports (an upgrade keeps the key). */
  setVersion(version: string): void;
  /** The app's HTTP routes behind the camera's reverse proxy (paths as the proxy forwards them). */
  serveHttp(req: { method: string; path: string; query: string; body: Buffer }): { status: number; body: string };
  /** Decide for one sensor frame whether it is processed or skipped (exposed for tests). */
  processFrame(tick: number): { skipped: true } | { skipped: false; inferenceMs: number; payload: string; truth?: readonly boolean[] };
  stats(): { fps_camera: number; fps_processed: number; fps_skipped: number; inference_ms: number };
  /** Fault: report, confidently, an object that is not there (a lying camera). */
  setLie(on: boolean): void;
  /** Fault: after each detections message, publish a second, conflicting signed one for the same track and frame. */
  setEquivocate(on: boolean): void;
  /** Fault: from this fl2 phase on the agent does not answer rounds (a real dropout); null answers again. */
  setFlSilence(phase: FlPhase | null): void;
  /** The topics the app listens to (its fl2 rounds and its detections' outcomes). */
  subscriptions(): string[];
  /**
   * The camera's MQTT client (re)connected: no session and no desktop key from before this
   * connection (the broker may be another one, or its desktop gone); this connection's subscription
   * delivers the retained key if a desktop is there.
   */
  connected(): void;
  /** One message from the broker on a subscribed topic. */
  deliver(topic: string, payload: Buffer): void;
  /** The confirmation head in use and its measured effect on held-out local data (also on identity.cgi as "model"). */
  model(): ModelReport;
  /** Simulator-only (ground truth): detections published and dropped by the head, and how many of each were false positives. */
  liveCounts(): { published: number; publishedFalse: number; dropped: number; droppedFalse: number };
  close(): void;
}

/**
 * What identity.cgi's "model" says: the head in use and, on this camera's held-out labelled
 * detections, the built-in head's metrics against it. Only published detections get outcomes, so
 * once a head drops some, the held-out set lacks exactly those: the comparison then understates
 * what the head in use gains (its correct drops are not counted), never overstates it.
 */
export interface ModelReport {
  name: string;
  version: number;
  source: Head['source'];
  dropBelow: number;
  samples: { pending: number; labelled: number; train: number; heldOut: number };
  heldOut: { builtin: Metrics; inUse: Metrics } | null;
  rounds: { joined: number; masked: number; lastRound?: string; last?: string };
}

/** Observation shape the agent publishes (the detector's). */
type Obs = { bounding_box: { left: number; top: number; right: number; bottom: number }; class: { type: string; score: number }; track_id: string; timestamp: number };

/** The same frame, but its first object reported as another class somewhere else: a self-contradiction. */
export function conflictingTwin(body: string): string | undefined {
  const b = JSON.parse(body) as { frame: { observations: Obs[] } };
  const o = b.frame.observations[0];
  if (!o) return undefined;
  const bb = o.bounding_box;
  const w = bb.right - bb.left;
  const h = bb.bottom - bb.top;
  const left = bb.left > 0.5 ? Math.max(0, bb.left - 0.4) : Math.min(1 - w, bb.left + 0.4);
  const top = Math.min(1 - h, Math.max(0, bb.top));
  b.frame.observations[0] = { ...o, class: { ...o.class, type: o.class.type === 'Car' ? 'Human' : 'Car' }, bounding_box: { left, top, right: left + w, bottom: top + h } };
  return JSON.stringify(b);
}

export const APP_VERSION = '1.2.0';

/** The reverse proxy the omnisight app's manifest declares (native/manifest.json), which the preinstalled app has too. */
export const OMNISIGHT_REVERSE_PROXY: { apiPath: string; target: string; access: 'viewer' | 'admin' }[] = [
  { apiPath: 'identity.cgi', target: 'http://localhost:2001/identity.cgi', access: 'viewer' },
  { apiPath: 'calibration.cgi', target: 'http://localhost:2001/calibration.cgi', access: 'viewer' },
  { apiPath: 'admin', target: 'http://localhost:2001/admin', access: 'admin' },
];

/**
 * The ground point (metres) an image point (normalised) looks at, through the inverse of a ground →
 * image homography (by the adjugate: the scale does not matter); undefined when it is not on the
 * ground in front of the camera (at or beyond the horizon).
 */
function groundOf(groundToImage: readonly number[]): (u: number, v: number) => { x: number; y: number } | undefined {
  const h = groundToImage;
  const inv = [
    h[4]! * h[8]! - h[5]! * h[7]!, h[2]! * h[7]! - h[1]! * h[8]!, h[1]! * h[5]! - h[2]! * h[4]!,
    h[5]! * h[6]! - h[3]! * h[8]!, h[0]! * h[8]! - h[2]! * h[6]!, h[2]! * h[3]! - h[0]! * h[5]!,
    h[3]! * h[7]! - h[4]! * h[6]!, h[1]! * h[6]! - h[0]! * h[7]!, h[0]! * h[4]! - h[1]! * h[3]!,
  ];
  return (u, v) => {
    const w = inv[6]! * u + inv[7]! * v + inv[8]!;
    if (Math.abs(w) < 1e-12) return undefined;
    const x = (inv[0]! * u + inv[1]! * v + inv[2]!) / w;
    const y = (inv[3]! * u + inv[4]! * v + inv[5]!) / w;
    // It maps forward with a positive depth: in front of the camera.
    return h[6]! * x + h[7]! * y + h[8]! > 0 ? { x, y } : undefined;
  };
}

/**
 * The camera's true ground calibration as image↔ground reference pairs (GET
 * /local/omnisight/calibration.cgi, docs/protocol.md): a 3×3 grid of image points in the lower
 * part of the frame, each mapped to the ground through the inverse of the true homography
 * (ground → normalised image). Points beyond the horizon or behind the camera are left out.
 */
export function calibrationPairs(groundToImage: readonly number[], maxRangeM: number, position: { x: number; y: number }): { image: { u: number; v: number }; ground: { x: number; y: number } }[] {
  const ground = groundOf(groundToImage);
  const out: { image: { u: number; v: number }; ground: { x: number; y: number } }[] = [];
  for (const v of [0.55, 0.75, 0.95])
    for (const u of [0.1, 0.5, 0.9]) {
      const g = ground(u, v);
      if (!g || Math.hypot(g.x - position.x, g.y - position.y) > 2 * maxRangeM) continue;
      const r6 = (n: number) => Math.round(n * 1e6) / 1e6;
      out.push({ image: { u, v }, ground: { x: r6(g.x), y: r6(g.y) } });
    }
  return out;
}
/**
 * Where in its image the camera detects (calibration.cgi `includeArea`, docs/protocol.md): the part
 * of the frame whose ground lies within its detection range (the detector reports nothing farther
 * than `maxRangeM` from the camera's ground position). For each of 17 columns, the topmost image
 * row whose ground point is in range (found by bisection: down a column the ground comes nearer),
 * joined to the bottom corners. Undefined when no column reaches the range at the frame's bottom.
 */
export function includeAreaOf(groundToImage: readonly number[], maxRangeM: number, position: { x: number; y: number }): { u: number; v: number }[] | undefined {
  const ground = groundOf(groundToImage);
  const inRange = (u: number, v: number): boolean => {
    const g = ground(u, v);
    return !!g && Math.hypot(g.x - position.x, g.y - position.y) <= maxRangeM;
  };
  const top: { u: number; v: number }[] = [];
  for (let i = 0; i <= 16; i++) {
    const u = i / 16;
    if (!inRange(u, 1)) continue;
    let lo = 0; // out of range or in range: bisect towards the first row in range
    let hi = 1;
    if (inRange(u, 0)) hi = 0;
    else
      for (let k = 0; k < 30; k++) {
        const mid = (lo + hi) / 2;
        if (inRange(u, mid)) hi = mid;
        else lo = mid;
      }
    top.push({ u, v: Math.round(hi * 1e6) / 1e6 });
  }
  if (top.length < 2) return undefined;
  return [...top, { u: top.at(-1)!.u, v: 1 }, { u: top[0]!.u, v: 1 }];
}
const MAX_PAYLOAD = 64 * 1024;
type Kind = 'detections' | 'heartbeat' | 'fl' | 'session';
/** docs/protocol.md: a session is announced again this often while it lasts. */
export const SESSION_REPEAT_MS = 30_000;

export function signingInput(camera: string, epoch: number, seq: number, sent: number, kind: string, key: string, body: string): string {
  return ['omnisight.v2', camera, String(epoch), String(seq), String(sent), kind, key, body].join('\n');
}

/** Key id: lowercase hex of the first 8 bytes of SHA-256(raw 32-byte public key). */
export const keyIdOf = (publicRaw: Buffer): string => createHash('sha256').update(publicRaw).digest('hex').slice(0, 16);

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

interface Identity {
  id: string;
  priv: KeyObject;
  pubRaw: Buffer;
}

const identityFrom = (seed: Buffer): Identity => {
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
  const pubRaw = createPublicKey(priv).export({ format: 'der', type: 'spki' }).subarray(-32);
  return { id: keyIdOf(pubRaw), priv, pubRaw };
};

const newSeed = (): Buffer => generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32);

/** Writes through a temporary file, fsync, rename and a directory fsync (as the C app does). */
function durableWrite(dir: string, name: string, data: Buffer | string): void {
  const tmp = path.join(dir, `.${name}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, path.join(dir, name));
  const d = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(d);
  } finally {
    fs.closeSync(d);
  }
}

/**
 * The app's identity in its local data folder (signing.key: 32-byte seed ‖ 32-byte public key,
 * libsodium's layout, mode 0600; epoch: decimal). The same files the C app reads and writes, so
 * either can take over from the other. Without a folder (a bare test runtime) it lives in memory.
 */
export function createIdentityStore(dir: string | undefined): { key(): Identity; nextEpoch(): number; epoch(): number; rotate(): Identity } {
  let key: Identity | undefined;
  let epoch = 0;
  const load = (): Identity => {
    if (key) return key;
    if (!dir) return (key = identityFrom(newSeed()));
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, 'signing.key');
    try {
      const raw = fs.readFileSync(file);
      if (raw.length !== 64) throw new Error(`${file} holds ${raw.length} bytes, not 64: remove it to create a new identity`);
      const k = identityFrom(raw.subarray(0, 32));
      if (!k.pubRaw.equals(raw.subarray(32))) throw new Error(`${file} is inconsistent: remove it to create a new identity`);
      return (key = k);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    // First start: create exclusively (the flag 'wx' fails if another start won the race).
    const seed = newSeed();
    const k = identityFrom(seed);
    try {
      const tmp = path.join(dir, `.signing.key.${process.pid}.tmp`);
      fs.writeFileSync(tmp, Buffer.concat([seed, k.pubRaw]), { mode: 0o600 });
      fs.linkSync(tmp, file);
      fs.rmSync(tmp, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return load();
      throw e;
    }
    return (key = k);
  };
  return {
    key: load,
    epoch: () => epoch,
    nextEpoch() {
      // A start reads the key from flash again: the C app may have rotated it while it ran.
      if (dir) key = undefined;
      load();
      let prev = epoch;
      if (dir) {
        try {
          const text = fs.readFileSync(path.join(dir, 'epoch'), 'utf8');
          if (!/^\d+\n?$/.test(text)) throw new Error(`${path.join(dir, 'epoch')} is damaged: refusing to guess an epoch`);
          prev = Number(text.trim());
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
          prev = 0;
        }
      }
      if (prev >= 0xffffffff) throw new Error('boot epoch exhausted: rotate the key');
      epoch = prev + 1;
      if (dir) durableWrite(dir, 'epoch', `${epoch}\n`);
      return epoch;
    },
    rotate() {
      const seed = newSeed();
      const k = identityFrom(seed);
      if (dir) durableWrite(dir, 'signing.key', Buffer.concat([seed, k.pubRaw]));
      return (key = k);
    },
  };
}

export function createAgent(deps: {
  serial: string;
  now: () => number;
  scene: SceneEngine;
  detector: Detector;
  model: ModelName;
  fpsCamera: number;
  /**
   * Hands a message to the MQTT client: false when it cannot go out (not connected). `onAck` is
   * called once the broker acknowledged a QoS 1 message (PUBACK), or with an error when it never
   * will be (the connection closed first).
   */
  publish: (topic: string, payload: string, qos: 0 | 1, onAck?: (err?: Error) => void) => boolean;
  /** The omnisight app's local data folder (kept across restarts and upgrades); absent = in memory. */
  localData?: string;
  /** Where a lying camera claims a person stands (normalised box); absent = the image centre. */
  phantomBox?: () => { left: number; top: number; right: number; bottom: number };
  /** fl2 key and mask randomness (crypto.randomBytes unless a test fixes it). */
  random?: (n: number) => Buffer;
  /** Adopt a successful round's model (default true). */
  adoptRoundResults?: boolean;
  /** Keep the training data in memory only (bench fleets of many cameras). */
  memoryOnly?: boolean;
  onFlEvent?: (e: FlClientEvent) => void;
  log?: (line: string) => void;
}): Agent {
  const { serial, now, scene, detector } = deps;
  const stride = Math.max(1, Math.round(SENSOR_FPS / deps.fpsCamera));
  const store = createIdentityStore(deps.localData);
  let seq = 0;
  let version = APP_VERSION;
  let started = now();
  let busyUntil = -Infinity;
  let lastInference = 0;
  const processedAt: number[] = [];
  const skippedAt: number[] = [];
  let frameTimer: NodeJS.Timeout | undefined;
  let beatTimer: NodeJS.Timeout | undefined;
  const pending = new Set<NodeJS.Timeout>();
  let on = false;
  let lying = false;
  let equivocating = false;

  // ---- envelope v3 (docs/protocol.md): the desktop's key, this epoch's session counter, the session
  // in use once the broker acknowledged its announcement. Detections and heartbeats are MACed under
  // K; fl and session stay signed.
  let desktop: DesktopKey | undefined;
  let sessionNo = 0;
  let session: { n: number; k: Buffer; body: string; acked: boolean } | undefined;
  let announceTimer: NodeJS.Timeout | undefined;
  // MQTT orders messages within a topic, not across topics or QoS levels: a QoS 0 report published
  // after the QoS 1 announcement may reach the desktop first (a broker that stores QoS 1 messages
  // before forwarding them does this) and be refused as "unknown session". So reports stay v2 until
  // the broker acknowledged an announcement of this session (PUBACK: it has taken the message on,
  // and forwards it ahead of anything it receives from us afterwards).
  const announce = (): void => {
    const s = session;
    if (!s) return;
    send('session', s.body, (err) => {
      if (!err && session === s) s.acked = true;
    });
  };
  const newSession = (): void => {
    if (!on || !desktop || store.epoch() === 0) return;
    const n = ++sessionNo;
    const { k, ephemeralPublic } = openSession(desktop, serial, store.epoch(), n, deps.random ?? randomBytes);
    session = { n, k, body: JSON.stringify({ session: n, desktopKey: desktop.id, ephemeral: ephemeralPublic.toString('base64') }), acked: false };
    announce();
    if (announceTimer) clearInterval(announceTimer);
    announceTimer = setInterval(announce, SESSION_REPEAT_MS);
    announceTimer.unref?.();
  };
  const endSession = (): void => {
    session = undefined;
    if (announceTimer) clearInterval(announceTimer);
    announceTimer = undefined;
  };

  const envelope = (kind: Kind, body: string): string => {
    const sent = now();
    const key = store.key();
    const epoch = store.epoch();
    const s = seq + 1;
    if (session?.acked && (kind === 'detections' || kind === 'heartbeat')) {
      const mac = macV3(session.k, { camera: serial, epoch, seq: s, sent, kind, key: key.id, session: session.n, body });
      return JSON.stringify({ v: 3, camera: serial, epoch, seq: s, sent, kind, key: key.id, session: session.n, body, mac });
    }
    const sig = sign(null, Buffer.from(signingInput(serial, epoch, s, sent, kind, key.id, body), 'utf8'), key.priv).toString('base64');
    return JSON.stringify({ v: 2, camera: serial, epoch, seq: s, sent, kind, key: key.id, body, sig });
  };

  /** The seq the message went out with, or 0 when it did not leave. */
  const send = (kind: Kind, body: string, onAck?: (err?: Error) => void): number => {
    if (!on || store.epoch() === 0) return 0;
    if (Buffer.byteLength(body) > MAX_PAYLOAD) return 0;
    // A seq that never left (no connection) can be used again: nobody saw it.
    if (deps.publish(`axis/${serial}/omnisight/${kind}`, envelope(kind, body), kind === 'detections' ? 0 : 1, onAck)) return ++seq;
    return 0;
  };

  // ---- the confirmation head and the camera's own training data (FL-SPEC) ----------------------
  const appDir = deps.localData ? path.dirname(deps.localData) : undefined;
  let head: Head = builtinHead();
  const data: LocalData = createLocalData({ dir: deps.localData && !deps.memoryOnly ? path.join(deps.localData, 'fl') : undefined, now });
  const rounds = { joined: 0, masked: 0, lastRound: undefined as string | undefined, last: undefined as string | undefined };
  const loadModel = (): void => {
    const r = loadHead({ packageDir: appDir && path.join(appDir, 'model'), adoptedDir: deps.localData && path.join(deps.localData, 'model') });
    head = r.head;
    for (const w of r.warnings) deps.log?.(w);
  };
  const adopt = (h: Head): void => {
    if (h.version <= head.version) return;
    if (deps.localData && !deps.memoryOnly) saveHead(path.join(deps.localData, 'model'), h);
    head = h;
    deps.log?.(`adopted ${h.name} v${h.version} from round ${String(h.round)}`);
  };
  const fl: FlClient = createFlClient({
    serial,
    send: (body) => send('fl', body) > 0,
    trainingData: () => data.train(),
    random: deps.random ?? randomBytes,
    now,
    onResult: (h) => {
      if (deps.adoptRoundResults !== false) adopt(h);
    },
    onEvent: (e: FlClientEvent) => {
      rounds.lastRound = e.round;
      rounds.last = e.what + (e.detail ? `: ${e.detail}` : '');
      if (e.what === 'advertised') rounds.joined++;
      if (e.what === 'masked') rounds.masked++;
      deps.onFlEvent?.(e);
    },
  });
  let reportCache: { at: number; report: ModelReport } | undefined;
  const model = (): ModelReport => {
    const t = now();
    if (reportCache && t - reportCache.at < 2000 && reportCache.report.version === head.version) return reportCache.report;
    const held = data.heldOut();
    const c = data.counts();
    const report: ModelReport = {
      name: head.name,
      version: head.version,
      source: head.source,
      dropBelow: head.dropBelow,
      samples: { pending: c.pending, labelled: c.labelled, train: c.train, heldOut: c.heldOut },
      heldOut: held.length ? { builtin: evaluate(builtinHead().params, held, builtinHead().dropBelow), inUse: evaluate(head.params, held, head.dropBelow) } : null,
      rounds: { ...rounds },
    };
    reportCache = { at: t, report };
    return report;
  };
  const headMetric = (): { head?: { version: number; heldOut: number; logLoss: number; accuracy: number } } => {
    const m = model().heldOut?.inUse;
    return m && m.n > 0 ? { head: { version: head.version, heldOut: m.n, logLoss: m.logLoss, accuracy: m.accuracy } } : {};
  };
  const deliver = (topic: string, payload: Buffer): void => {
    if (topic === DESKTOP_SESSION_KEY_TOPIC) {
      // Kept while the app is stopped (on this connection): it stands for the retained message the
      // app's own subscription receives when it starts (setRunning opens the session then).
      if (payload.length === 0) {
        // The retained key cleared: the desktop left (its will, or its close). v2 until one is back.
        desktop = undefined;
        endSession();
        return;
      }
      const d = parseDesktopKey(payload);
      if (!d) return;
      desktop = d;
      newSession(); // every receipt, also of the same key: the desktop restarted and lost its sessions
      return;
    }
    if (topic === sessionNoticeTopic(serial)) {
      // The desktop refused a report of ours as "unknown session": if it names the session in use,
      // open a new one (v2 until its PUBACK); if that desktop's key is not the one we hold, ours is
      // stale: v2 until the desktop's key arrives.
      const n = parseSessionNotice(payload);
      const s = session;
      if (!on || !n || !s || n.session !== s.n || n.epoch !== store.epoch() || n.key !== store.key().id) return;
      if (desktop && n.desktopKey === desktop.id) newSession();
      else {
        desktop = undefined;
        endSession();
      }
      return;
    }
    if (!on) return;
    if (topic === `omnisight/desktop/outcomes/${serial}`) {
      const p = outcomesSchema.safeParse(parseJson(payload));
      if (!p.success) return;
      for (const it of p.data.items) data.label(p.data.epoch, it.seq, it.index, it.confirmed);
      return;
    }
    fl.handle(topic, payload);
  };

  const identity = (): ReturnType<Agent['identity']> => {
    const k = store.key();
    return { camera: serial, key: k.id, publicKey: k.pubRaw.toString('base64'), version, epoch: store.epoch(), model: model() };
  };

  const json = (status: number, value: unknown): { status: number; body: string } => ({ status, body: JSON.stringify(value) });
  const calibrationFile = deps.localData ? path.join(deps.localData, 'calibration.json') : undefined;
  let calibrationMem: string | undefined;
  const setCalibration = (raw: Buffer): { status: number; body: string } => {
    let v: unknown;
    try {
      v = JSON.parse(raw.toString('utf8'));
    } catch {
      return json(400, { error: 'the body must be a JSON object {"points":[…]}' });
    }
    const o = v as { points?: unknown; source?: unknown };
    const num = (x: unknown, lo: number, hi: number): x is number => typeof x === 'number' && Number.isFinite(x) && x >= lo && x <= hi;
    if (!o || typeof o !== 'object' || !Array.isArray(o.points) || o.points.length < 4 || o.points.length > 32) return json(400, { error: 'points must be an array of 4 to 32 image/ground pairs' });
    if (o.source !== undefined && (typeof o.source !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(o.source))) return json(400, { error: 'source must be 1-32 letters, digits, _ or -' });
    const r6 = (n: number): number => Math.round(n * 1e6) / 1e6;
    const points = [];
    for (const p of o.points as { image?: { u?: unknown; v?: unknown }; ground?: { x?: unknown; y?: unknown } }[]) {
      if (!p || !num(p.image?.u, 0, 1) || !num(p.image?.v, 0, 1) || !num(p.ground?.x, -1e6, 1e6) || !num(p.ground?.y, -1e6, 1e6))
        return json(400, { error: 'every point needs image.u and image.v in 0..1 and ground.x and ground.y in metres' });
      points.push({ image: { u: r6(p.image!.u as number), v: r6(p.image!.v as number) }, ground: { x: r6(p.ground!.x as number), y: r6(p.ground!.y as number) } });
    }
    let includeArea: { u: number; v: number }[] | undefined;
    const area = (o as { includeArea?: unknown }).includeArea;
    if (area !== undefined) {
      if (!Array.isArray(area) || area.length < 3 || area.length > 32) return json(400, { error: 'includeArea must be an array of 3 to 32 image points {"u","v"}' });
      includeArea = [];
      for (const p of area as { u?: unknown; v?: unknown }[]) {
        if (!p || typeof p !== 'object' || !num(p.u, 0, 1) || !num(p.v, 0, 1)) return json(400, { error: 'every includeArea point needs u and v in 0..1' });
        includeArea.push({ u: r6(p.u as number), v: r6(p.v as number) });
      }
    }
    const text = `${JSON.stringify({ camera: serial, source: (o.source as string | undefined) ?? 'camera', points, ...(includeArea ? { includeArea } : {}) })}\n`;
    if (deps.localData && calibrationFile) {
      fs.mkdirSync(deps.localData, { recursive: true, mode: 0o700 });
      durableWrite(deps.localData, 'calibration.json', text);
    } else calibrationMem = text;
    return { status: 200, body: text };
  };
  const getCalibration = (): { status: number; body: string } => {
    const text = calibrationFile ? (fs.existsSync(calibrationFile) ? fs.readFileSync(calibrationFile, 'utf8') : undefined) : calibrationMem;
    return text ? { status: 200, body: text } : json(404, { error: 'no ground calibration on this camera: set it with POST /local/omnisight/admin/calibration.cgi, or set four reference points in the Timeline view' });
  };

  /** The same routes, paths and refusals as native/src/main.c's handle_http. */
  const serveHttp: Agent['serveHttp'] = (req) => {
    const get = req.method === 'GET' || req.method === 'HEAD';
    const post = req.method === 'POST';
    switch (req.path) {
      case '/identity.cgi':
        if (get) return json(200, identity());
        return post ? json(403, { error: 'rotation needs an administrator: POST /local/omnisight/admin/identity.cgi?action=rotate' }) : json(405, { error: 'GET identity.cgi' });
      case '/calibration.cgi':
        if (get) return getCalibration();
        return post ? json(403, { error: 'setting the calibration needs an administrator: POST /local/omnisight/admin/calibration.cgi' }) : json(405, { error: 'GET calibration.cgi' });
      case '/admin/identity.cgi':
        if (get) return json(200, identity());
        if (!post) return json(405, { error: 'POST admin/identity.cgi?action=rotate' });
        if (req.query !== 'action=rotate') return json(400, { error: 'the only action is rotate: POST admin/identity.cgi?action=rotate' });
        store.rotate();
        newSession(); // the session belonged to the old key
        return json(200, identity());
      case '/admin/calibration.cgi':
        if (post) return setCalibration(req.body);
        if (get) return getCalibration();
        return json(405, { error: 'POST admin/calibration.cgi' });
      default:
        return json(404, { error: 'not found: try /local/omnisight/identity.cgi' });
    }
  };

  const trim = (list: number[], t: number): number => {
    while (list.length && list[0]! <= t - 1000) list.shift();
    return list.length;
  };

  const stats = (): ReturnType<Agent['stats']> => {
    const t = now();
    // Rates over the last second, or over the time since start when that is shorter, so a camera
    // that just started does not report a fraction of its frame rate as if frames were lost.
    const window = Math.min(1000, Math.max(1, t - started));
    const rate = (n: number): number => Math.round((n * 1000) / Math.max(window, 1000 / deps.fpsCamera));
    return { fps_camera: deps.fpsCamera, fps_processed: Math.min(deps.fpsCamera, rate(trim(processedAt, t))), fps_skipped: rate(trim(skippedAt, t)), inference_ms: lastInference };
  };

  const processFrame: Agent['processFrame'] = (tick) => {
    const ts = scene.timeOfTick(tick);
    if (ts < busyUntil) {
      skippedAt.push(ts);
      return { skipped: true };
    }
    const inferenceMs = detector.sampleInferenceMs();
    busyUntil = ts + inferenceMs;
    lastInference = inferenceMs;
    processedAt.push(ts);
    const frame = detector.detect(scene.snapshot(tick), ts);
    if (lying)
      (frame.observations as Obs[]).push({ bounding_box: deps.phantomBox?.() ?? { left: 0.45, top: 0.4, right: 0.55, bottom: 0.7 }, class: { type: 'Human', score: 0.97 }, track_id: 'phantom-1', timestamp: ts });
    const s = stats();
    const body = JSON.stringify({ frame, stats: { ...s, width: 640, height: 360 } });
    const truth = detector.lastTruth?.();
    return { skipped: false, inferenceMs, payload: body, ...(truth ? { truth: lying ? [...truth, false] : truth } : {}) };
  };

  // Simulator-only bookkeeping against the detector's ground truth (a real camera cannot know it): for tests and the bench.
  const published = { total: 0, falseTotal: 0 };
  const dropped = { total: 0, falseTotal: 0 };
  /**
   * The app scores every detection with the head in use, drops those below its dropBelow, publishes
   * the rest and keeps each published detection's features (never sent) until its outcome arrives.
   */
  const publishFrame = (payload: string, truth: readonly boolean[] | undefined): void => {
    const b = JSON.parse(payload) as { frame: { observations: Obs[] }; stats: unknown };
    const all = b.frame.observations;
    const kept: Obs[] = [];
    const feats: number[][] = [];
    for (let i = 0; i < all.length; i++) {
      const o = all[i]!;
      // The lie is not the detector's: a lying camera does not filter its lies, nor learn from them.
      if (o.track_id === 'phantom-1') {
        kept.push(o);
        feats.push([]);
        continue;
      }
      const x = features(o);
      const p = predict(head.params, x);
      if (p < head.dropBelow) {
        dropped.total++;
        if (truth?.[i] === false) dropped.falseTotal++;
        continue;
      }
      kept.push(o);
      feats.push(x);
      published.total++;
      if (truth?.[i] === false) published.falseTotal++;
    }
    b.frame.observations = kept;
    const body = kept.length === all.length ? payload : JSON.stringify(b);
    const s = send('detections', body);
    if (s > 0) {
      const t = now();
      feats.forEach((x, i) => {
        if (x.length) data.record(store.epoch(), s, i, x, t);
      });
    }
    const twin = equivocating ? conflictingTwin(body) : undefined;
    if (twin) send('detections', twin);
  };

  // The sensor runs on the camera's clock, not on the host's timers: a timer that fires late (a busy
  // test machine) must not lose the frames in between, or the camera's frame rate, its heartbeat's
  // fps_processed and every count a test makes would depend on the host's load. So every tick due
  // since the last one taken is taken now, at most one second of them (a longer stall loses the
  // rest, as a full frame queue would); a frame's result leaves when its inference would finish.
  let lastTick = -1; // the last sensor tick taken (processed or skipped)
  const aligned = (tick: number): number => Math.floor(tick / stride) * stride;
  const takeDue = (): void => {
    if (!on) return;
    const due = aligned(scene.tickAt(now()));
    for (let tick = Math.max(lastTick + stride, due - stride * (deps.fpsCamera - 1)); tick <= due; tick += stride) {
      const r = processFrame(tick);
      if (r.skipped) continue;
      const wait = scene.timeOfTick(tick) + r.inferenceMs - now();
      // Its inference is over already (a timer that fired late, or frames taken together): it leaves
      // now. A zero timeout would hold it for another turn of the event loop (≥ 1 ms, more on a
      // loaded host) for nothing but lateness.
      if (wait <= 0) {
        publishFrame(r.payload, r.truth);
        continue;
      }
      const t = setTimeout(() => {
        pending.delete(t);
        publishFrame(r.payload, r.truth);
      }, wait);
      pending.add(t);
    }
    lastTick = Math.max(lastTick, due);
  };
  const scheduleFrame = (): void => {
    if (!on) return;
    // A timer can fire a little before its tick by Date.now() (Node measures timeouts from the
    // event loop's cached clock), and tick arithmetic can round down; takeDue then finds nothing
    // due and the next timer is a few ms away. A tick already taken is never taken again.
    const next = lastTick + stride;
    frameTimer = setTimeout(() => {
      takeDue();
      scheduleFrame();
    }, Math.max(2, scene.timeOfTick(next) - now()));
  };

  const beat = (): void => {
    takeDue(); // the rates count every frame due by now, whichever timer fired first
    const s = stats();
    send(
      'heartbeat',
      JSON.stringify({
        app: 'omnisight',
        version,
        uptime_s: Math.floor((now() - started) / 1000),
        ...s,
        mem_bytes: 31_457_280 + Math.round(process.memoryUsage().heapUsed % 4_194_304),
        // FL-SPEC: the head in use; the detector's network travels as "detector".
        model: { name: head.name, version: head.version },
        // docs/protocol.md: the head's metric on held-out local samples (aggregates only).
        ...headMetric(),
        detector: deps.model,
      }),
    );
    data.expire(now());
    data.flush();
  };

  const stopTimers = (): void => {
    if (frameTimer) clearTimeout(frameTimer);
    if (beatTimer) clearInterval(beatTimer);
    for (const t of pending) clearTimeout(t);
    pending.clear();
    frameTimer = undefined;
    beatTimer = undefined;
  };

  return {
    identity,
    boot() {
      store.nextEpoch();
      seq = 0;
      sessionNo = 0;
      endSession();
      // A start loads the highest head version present (the deployed package's, or one adopted from a round).
      loadModel();
    },
    setVersion(v) {
      version = v;
    },
    serveHttp,
    setRunning(next) {
      if (next === on) return;
      on = next;
      stopTimers();
      endSession();
      if (on) {
        started = now();
        newSession(); // the app's subscription at start gets the retained desktop key
        lastTick = Math.max(lastTick, aligned(scene.tickAt(now()))); // frames from now on
        scheduleFrame();
        beat();
        beatTimer = setInterval(beat, 1000);
      }
    },
    running: () => on,
    processFrame,
    stats,
    setLie: (v) => {
      lying = v;
    },
    setEquivocate: (v) => {
      equivocating = v;
    },
    setFlSilence: (phase) => fl.silenceFrom(phase),
    subscriptions: () => [...flTopics(serial), `omnisight/desktop/outcomes/${serial}`, DESKTOP_SESSION_KEY_TOPIC, sessionNoticeTopic(serial)],
    connected: () => {
      // A session is bound to the desktop key it was announced to and to the connection its
      // announcement was acknowledged on. A key kept from the previous connection may be another
      // broker's desktop's (its announcement would be acknowledged here and its reports refused as
      // "unknown session") or a desktop that is gone; the retained message tells which, at once.
      desktop = undefined;
      endSession();
    },
    deliver,
    model,
    liveCounts: () => ({ published: published.total, publishedFalse: published.falseTotal, dropped: dropped.total, droppedFalse: dropped.falseTotal }),
    close: () => {
      on = false;
      stopTimers();
      endSession();
      fl.close();
      data.close();
    },
  };
}
