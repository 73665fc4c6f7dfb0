// MQTT for the fleet: the broker in use (embedded aedes on 127.0.0.1, or an external one from
// Settings) and main's subscriber on axis/+/omnisight/#, which hands every payload exactly as it
// arrived to its raw listeners. It parses nothing: the swarm capability is the one parser and the
// one judge of a camera message (main/swarm, "the ingest seam"), and everything else hears of a
// message only once the swarm has verified it.
//
// The embedded broker's thread may die while serving (a bug in aedes, an out-of-memory thread). The
// service then starts a new one on the same port with the same desktop password, with back-off, for
// as long as it is open: cameras were configured over VAPIX with that host:port and reconnect on
// their own, and the desktop's client reconnects (every 2 s) with the password it has and publishes
// its retained messages again on connect. Nothing else lives in the broker (cameras log in
// anonymously; retained messages and sessions were in the dead thread's memory).
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { BrokerHealth } from '../../preload/contract';
import type { Logger } from '../kernel/logger';
import type { SecretStore } from '../kernel/ports';
import { DESKTOP_USERNAME, startEmbeddedBroker, type EmbeddedBroker } from './broker';

export { DESKTOP_TOPIC_PREFIX, DESKTOP_USERNAME, startEmbeddedBroker, type EmbeddedBroker, type EmbeddedBrokerOptions } from './broker';

export type { BrokerHealth } from '../../preload/contract';

export const MQTT_PASSWORD_SECRET = 'mqtt.password';

/** Waits before restart attempt n (1, 2, …) of a dead embedded broker: 0.5 s doubling, capped at 30 s. */
export function restartDelayMs(attempt: number): number {
  return Math.min(30_000, 500 * 2 ** Math.min(Math.max(attempt - 1, 0), 16));
}
export const CAMERA_TOPIC_FILTER = 'axis/+/omnisight/#';

export interface BrokerConfig {
  mode: 'embedded' | 'external';
  url: string;
  username: string;
}

/** Where a camera should publish: what VAPIX configureClient needs. */
export interface BrokerEndpoint {
  host: string;
  port: number;
  protocol: 'tcp' | 'ssl';
  username?: string;
  password?: string;
}

export interface MqttService {
  start(): Promise<void>;
  /** The broker cameras should be pointed at; undefined before start() or when it failed. */
  endpoint(): BrokerEndpoint | undefined;
  connected(): boolean;
  /** Messages received on the camera topics; publishes the embedded broker dropped because it was full (0 with an external broker). */
  counts(): { received: number; brokerDropped: number };
  /** Every payload on axis/+/omnisight/# exactly as it arrived, before parsing (the swarm verifies the signed bytes). */
  onRaw(listener: (topic: string, payload: Buffer, receivedAt: number) => void): () => void;
  /**
   * Publishes a desktop message (omnisight/desktop/…: fl2 rounds, outcomes) with QoS 1. False when
   * not connected (the message is dropped: fl2 phases have deadlines, outcomes are best effort).
   */
  publish(topic: string, payload: string): boolean;
  /**
   * A desktop message published RETAINED with QoS 1 now (when connected) and again on every connect
   * of the desktop's client, to the embedded broker or an external one: the desktop's envelope-v3
   * session key (docs/protocol.md), which a camera must find whenever it subscribes, and whose
   * re-publication after a desktop restart tells cameras to open new sessions. It is true only while
   * this desktop is connected: it goes out after the client's subscription to the camera topics is
   * acknowledged (a camera's answer must find the desktop listening), the client's will clears it
   * (an empty retained message) when the connection dies, and close() clears it first.
   */
  retainOnConnect(topic: string, payload: string): void;
  /** The embedded broker's health; undefined with an external broker or before start(). */
  brokerState(): BrokerHealth | undefined;
  /** Called on every change of brokerState() (with the state before). Returns an unsubscribe function. */
  onBrokerState(listener: (health: BrokerHealth, before: BrokerHealth | undefined) => void): () => void;
  close(): Promise<void>;
}

export interface MqttDeps {
  config: () => BrokerConfig;
  secrets: SecretStore;
  log: Logger;
  now?: () => number;
  /** Port for the embedded broker; 0 = any free port. */
  embeddedPort?: number;
  /**
   * Retained messages known when the service is made (retainOnConnect for them): in the client's
   * will from its first connection. One registered later is in the will from the next reconnect.
   */
  retained?: ReadonlyArray<readonly [topic: string, payload: string]>;
  /**
   * The embedded broker thread's entry (startEmbeddedBroker's `entry`); found when absent. Tests pass
   * a fixture that runs the real broker-worker.ts and can be made to die (testdata/killable-broker.ts).
   */
  brokerEntry?: string;
}

export function parseBrokerUrl(url: string): { host: string; port: number; protocol: 'tcp' | 'ssl' } {
  const u = new URL(url);
  const tls = u.protocol === 'mqtts:' || u.protocol === 'wss:';
  return { host: u.hostname, port: u.port ? Number(u.port) : tls ? 8883 : 1883, protocol: tls ? 'ssl' : 'tcp' };
}

/** The client's will: the last retained message's topic cleared (empty, retained) if the connection dies. */
function willFor(retained: ReadonlyMap<string, string>): { will?: { topic: string; payload: Buffer; qos: 1; retain: true } } {
  const topic = [...retained.keys()].at(-1);
  return topic ? { will: { topic, payload: Buffer.alloc(0), qos: 1, retain: true } } : {};
}

export function createMqttService(deps: MqttDeps): MqttService {
  const now = deps.now ?? Date.now;
  let broker: EmbeddedBroker | undefined;
  let closed = false;
  // The embedded broker's life: which thread is current (a report from an older one is stale), its
  // health, the restart waiting or under way, and what the dead ones dropped (counts() adds it up).
  let generation = 0;
  let health: BrokerHealth | undefined;
  const healthListeners = new Set<(health: BrokerHealth, before: BrokerHealth | undefined) => void>();
  let restartTimer: ReturnType<typeof setTimeout> | undefined;
  let restarting: Promise<void> | undefined;
  let droppedBefore = 0;
  const setHealth = (h: BrokerHealth): void => {
    const before = health;
    health = h;
    for (const l of healthListeners) {
      try {
        l(h, before);
      } catch (err) {
        deps.log.error({ err }, 'broker state listener failed');
      }
    }
  };
  let client: MqttClient | undefined;
  let ep: BrokerEndpoint | undefined;
  let received = 0;
  const rawListeners = new Set<(topic: string, payload: Buffer, receivedAt: number) => void>();
  const retained = new Map<string, string>(deps.retained);
  const publishRetained = (c: MqttClient, topic: string, payload: string): void => {
    c.publish(topic, payload, { qos: 1, retain: true }, (err) => {
      if (err) deps.log.warn({ err: err.message, topic }, 'MQTT retained publish failed');
    });
  };

  const ingest = (topic: string, payload: Buffer): void => {
    received++;
    const at = now();
    for (const l of rawListeners) {
      try {
        l(topic, payload, at);
      } catch (err) {
        // The listener's bug, not the camera's: keep the subscriber alive.
        deps.log.error({ err, topic: topic.slice(0, 200) }, 'raw camera message listener failed');
      }
    }
  };

  /** A broker thread whose death while serving starts the restarts; stale reports (an older thread's) are ignored. */
  const startBroker = (port: number, desktopPassword: string): Promise<EmbeddedBroker> => {
    const gen = ++generation;
    return startEmbeddedBroker({
      port,
      desktopPassword,
      ...(deps.brokerEntry ? { entry: deps.brokerEntry } : {}),
      onError: (err) => {
        if (gen === generation) died(err, desktopPassword);
      },
    });
  };

  const died = (err: Error, desktopPassword: string): void => {
    const dead = broker;
    broker = undefined;
    if (!dead) return; // not yet handed out: cannot happen (onError follows the start), nothing to restart
    // The port it got, not the one asked for (0 = any): the cameras were configured with this one.
    const port = dead.port;
    droppedBefore += dead.dropped();
    void dead.close(); // ends what is left of the thread
    if (closed) return;
    deps.log.error({ err: err.message, port }, 'embedded MQTT broker stopped; restarting it on the same port (reports from cameras are lost until it is back)');
    waitThenRestart(1, now(), err.message, port, desktopPassword);
  };

  const waitThenRestart = (attempt: number, since: number, lastError: string, port: number, desktopPassword: string): void => {
    if (closed) return;
    const restarts = health?.restarts ?? 0;
    // The timer is set before the state is announced: a listener may call close(), which must find it.
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (closed) return;
      restarting = startBroker(port, desktopPassword).then(
        async (b) => {
          if (closed) return b.close(); // close() came while it started: it waits for this
          broker = b;
          setHealth({ state: 'serving', restarts: restarts + 1 });
          deps.log.info({ port, attempt, downMs: now() - since }, 'embedded MQTT broker restarted');
        },
        (e: Error) => {
          if (closed) return;
          const why = /EADDRINUSE/.test(e.message)
            ? `Another program took 127.0.0.1:${port}, the port the cameras publish to. Stop it (the broker keeps trying), or restart OmniSight to move the broker to a free port and configure the cameras again.`
            : e.message;
          deps.log.warn({ err: why, port, attempt }, 'embedded MQTT broker did not restart; trying again');
          waitThenRestart(attempt + 1, since, why, port, desktopPassword);
        },
      );
    }, restartDelayMs(attempt));
    setHealth({ state: 'restarting', restarts, attempt, since, lastError: lastError.slice(0, 2_000) });
  };

  return {
    async start() {
      const cfg = deps.config();
      let url: string;
      let username: string | undefined;
      let password: string | undefined;
      if (cfg.mode === 'external' && cfg.url) {
        url = cfg.url;
        username = cfg.username || undefined;
        password = deps.secrets.get(MQTT_PASSWORD_SECRET);
        ep = { ...parseBrokerUrl(url), ...(username ? { username, password: password ?? '' } : {}) };
      } else {
        // A fresh secret per start: only this client may publish under omnisight/desktop/.
        password = randomBytes(24).toString('base64url');
        username = DESKTOP_USERNAME;
        try {
          broker = await startBroker(deps.embeddedPort ?? 0, password);
        } catch (err) {
          setHealth({ state: 'failed', restarts: 0, lastError: (err as Error).message.slice(0, 2_000) });
          throw err;
        }
        setHealth({ state: 'serving', restarts: 0 });
        url = broker.url;
        ep = { host: broker.host, port: broker.port, protocol: 'tcp' };
      }
      const c = mqtt.connect(url, {
        clientId: `omnisight-desktop-${process.pid}-${Math.floor(now() % 1e6)}`,
        username,
        password,
        reconnectPeriod: 2000,
        connectTimeout: 10_000,
        clean: true,
        ...willFor(retained),
      });
      client = c;
      c.on('message', (topic, payload) => ingest(topic, payload));
      c.on('error', (err) => deps.log.warn({ err: err.message, url }, 'MQTT client error'));
      c.on('connect', () => {
        // No Nagle: the desktop acknowledges every camera message (QoS 1) and then publishes (an fl2
        // phase request after the last answer of the previous one); with Nagle that publish waited
        // for the broker's delayed ACK of the last PUBACK, 40 ms on Linux, on every such hop.
        (c.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
        deps.log.info({ url }, 'MQTT connected');
        // Subscribed first, published after the SUBACK: a camera answers the session key at once
        // (its session announcement), and an answer the broker forwards before this client listens
        // is lost while the camera, holding its PUBACK, goes on under a session nobody knows.
        c.subscribe(CAMERA_TOPIC_FILTER, { qos: 1 }, (err) => {
          if (err) deps.log.error({ err: err.message }, 'MQTT subscribe failed');
          if (client === c && c.connected) for (const [topic, payload] of retained) publishRetained(c, topic, payload);
        });
      });
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`The MQTT broker at ${url} did not accept a connection within 10 s. Check the broker URL, user and password in Settings.`)), 10_000);
        c.once('connect', () => {
          // Resolve once subscribed, so nothing published right after start() is missed.
          c.subscribe(CAMERA_TOPIC_FILTER, { qos: 1 }, () => {
            clearTimeout(t);
            resolve();
          });
        });
      });
    },
    endpoint: () => ep,
    connected: () => client?.connected ?? false,
    counts: () => ({ received, brokerDropped: droppedBefore + (broker?.dropped() ?? 0) }),
    publish(topic, payload) {
      if (!client?.connected) return false;
      client.publish(topic, payload, { qos: 1 }, (err) => {
        if (err) deps.log.warn({ err: err.message, topic: topic.slice(0, 200) }, 'MQTT publish failed');
      });
      return true;
    },
    retainOnConnect(topic, payload) {
      retained.set(topic, payload);
      if (client) Object.assign(client.options, willFor(retained)); // read again at every reconnect
      if (client?.connected) publishRetained(client, topic, payload);
    },
    onRaw(listener) {
      rawListeners.add(listener);
      return () => rawListeners.delete(listener);
    },
    brokerState: () => health,
    onBrokerState(listener) {
      healthListeners.add(listener);
      return () => healthListeners.delete(listener);
    },
    async close() {
      // No restart after this: a wait is cancelled, an attempt under way is waited for (it closes
      // the broker it gets), so neither a thread nor a timer is left behind.
      closed = true;
      if (restartTimer) clearTimeout(restartTimer);
      restartTimer = undefined;
      // A graceful end discards the will, so the retained messages are cleared here: a camera that
      // kept the key of a desktop that is gone would open a session no desktop can know.
      const c = client;
      if (c?.connected && retained.size) {
        const cleared = [...retained.keys()].map((topic) => c.publishAsync(topic, '', { qos: 1, retain: true }).catch(() => undefined));
        await Promise.race([Promise.all(cleared), new Promise((r) => setTimeout(r, 2000).unref())]);
      }
      if (client) await client.endAsync(true).catch(() => undefined);
      client = undefined;
      await restarting;
      restarting = undefined;
      generation++; // the thread's exit after close() is not a death
      await broker?.close();
      broker = undefined;
    },
  };
}

