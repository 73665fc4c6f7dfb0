// MQTT for the fleet: the broker in use (embedded aedes on 127.0.0.1, or an external one from
// Settings) and main's subscriber on axis/+/omnisight/#, which hands every payload exactly as it
// arrived to its raw listeners. It parses nothing: the swarm capability is the one parser and the
// one judge of a camera message (main/swarm, "the ingest seam"), and everything else hears of a
// message only once the swarm has verified it.
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '../kernel/logger';
import type { SecretStore } from '../kernel/ports';
import { DESKTOP_USERNAME, startEmbeddedBroker, type EmbeddedBroker } from './broker';

export { DESKTOP_TOPIC_PREFIX, DESKTOP_USERNAME, startEmbeddedBroker, type EmbeddedBroker, type EmbeddedBrokerOptions } from './broker';

export const MQTT_PASSWORD_SECRET = 'mqtt.password';
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
        broker = await startEmbeddedBroker({
          port: deps.embeddedPort,
          desktopPassword: password,
          // The broker's thread is gone: the client's reconnects fail from now on, and this says why.
          onError: (err) => deps.log.error({ err: err.message }, 'embedded MQTT broker failed; cameras cannot publish until the application restarts'),
        });
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
    counts: () => ({ received, brokerDropped: broker?.dropped() ?? 0 }),
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
    async close() {
      // A graceful end discards the will, so the retained messages are cleared here: a camera that
      // kept the key of a desktop that is gone would open a session no desktop can know.
      const c = client;
      if (c?.connected && retained.size) {
        const cleared = [...retained.keys()].map((topic) => c.publishAsync(topic, '', { qos: 1, retain: true }).catch(() => undefined));
        await Promise.race([Promise.all(cleared), new Promise((r) => setTimeout(r, 2000).unref())]);
      }
      if (client) await client.endAsync(true).catch(() => undefined);
      client = undefined;
      await broker?.close();
      broker = undefined;
    },
  };
}

