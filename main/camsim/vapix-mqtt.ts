// The camera's own MQTT client (mqtt/client.cgi) and its event bridge (mqtt/event.cgi): both answer
// in full shape from the first call, with a fresh device's defaults, and once publication is
// configured the device's events go out on Axis event topics.
import mqtt, { type MqttClient } from 'mqtt';
import type { Auth, Route } from './http-kit';
import { JsonApiError, jsonRoute, unsupported } from './json-api';
import type { FaultState } from './types';

type Protocol = 'tcp' | 'ssl' | 'ws' | 'wss';
const DEFAULT_PORT: Record<Protocol, number> = { tcp: 1883, ssl: 8883, ws: 80, wss: 443 };

interface Message {
  useDefault: boolean;
  topic?: string;
  message?: string;
  retain?: boolean;
  qos?: 0 | 1 | 2;
}

export interface MqttConfig {
  server: { protocol: Protocol; host: string; port: number; alpnProtocol?: string; basepath?: string };
  clientId: string;
  username?: string;
  password?: string;
  keepAliveInterval: number;
  cleanSession: boolean;
  activateOnReboot: boolean;
  autoReconnect: boolean;
  connectTimeout: number;
  deviceTopicPrefix: string;
  lastWillTestament: Message;
  connectMessage: Message;
  disconnectMessage: Message;
  ssl: { validateServerCert: boolean; CACertID?: string; clientCertID?: string };
}

interface EventFilter {
  topicFilter: string;
  qos: 0 | 1 | 2;
  retain: 'none' | 'property' | 'all';
}

interface EventPublication {
  topicPrefix: 'default' | 'custom';
  customTopicPrefix: string;
  appendEventTopic: boolean;
  includeTopicNamespaces: boolean;
  includeSerialNumberInPayload: boolean;
  eventFilterList: EventFilter[];
}

/** One event as the device's event system has it; the topic in namespaced form (onvif:Device/axis:Status/SystemReady). */
export interface DeviceEvent {
  topic: string;
  source: Record<string, string>;
  key?: Record<string, string>;
  data: Record<string, string>;
  /** A property (state) event: its current value is published when publication starts. */
  property: boolean;
}

const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);

const freshConfig = (serial: string): MqttConfig => ({
  server: { protocol: 'tcp', host: '', port: 1883 },
  clientId: '',
  keepAliveInterval: 60,
  cleanSession: true,
  activateOnReboot: true,
  autoReconnect: true,
  connectTimeout: 60,
  deviceTopicPrefix: `axis/${serial}`,
  lastWillTestament: { useDefault: true },
  connectMessage: { useDefault: true },
  disconnectMessage: { useDefault: true },
  ssl: { validateServerCert: false },
});

export function parseBrokerUrl(url: string, clientId: string): Pick<MqttConfig, 'server' | 'clientId' | 'username' | 'password'> | undefined {
  try {
    const u = new URL(url);
    const schemes: Record<string, Protocol> = { 'mqtt:': 'tcp', 'tcp:': 'tcp', 'mqtts:': 'ssl', 'ssl:': 'ssl', 'ws:': 'ws', 'wss:': 'wss' };
    const protocol = schemes[u.protocol];
    if (!protocol) return undefined;
    const port = u.port ? Number(u.port) : DEFAULT_PORT[protocol];
    return { server: { protocol, host: u.hostname.replace(/^\[|\]$/g, ''), port }, clientId, ...(u.username ? { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) } : {}) };
  } catch {
    return undefined;
  }
}

/** Topic filter of the event bridge: a topic, or a topic followed by `//.` for it and everything below. */
export function topicMatches(filter: string, topic: string): boolean {
  const strip = (t: string): string =>
    t
      .split('/')
      .map((l) => l.replace(/^[A-Za-z0-9]+:/, ''))
      .join('/');
  const f = strip(filter);
  const t = strip(topic);
  if (f.endsWith('//.')) {
    const base = f.slice(0, -3);
    return base === '' || t === base || t.startsWith(`${base}/`);
  }
  return f === t;
}

const str = (v: unknown, name: string, max = 1024): string => {
  if (typeof v !== 'string' || v.length > max) throw new JsonApiError('badParam', `${name} must be a string of at most ${max} characters`);
  return v;
};
const bool = (v: unknown, name: string): boolean => {
  if (typeof v !== 'boolean') throw new JsonApiError('badParam', `${name} must be true or false`);
  return v;
};
const int = (v: unknown, name: string, lo: number, hi: number): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw new JsonApiError('badParam', `${name} must be an integer from ${lo} to ${hi}`);
  return v;
};
const only = (o: Record<string, unknown>, allowed: readonly string[], where: string): void => {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new JsonApiError('badParam', `Unknown parameter ${where}${k}`);
};
const obj = (v: unknown, name: string): Record<string, unknown> => {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new JsonApiError('badParam', `${name} must be an object`);
  return v as Record<string, unknown>;
};

function parseMessage(v: unknown, name: string): Message {
  const m = obj(v, name);
  only(m, ['useDefault', 'topic', 'message', 'retain', 'qos'], `${name}.`);
  const useDefault = bool(m.useDefault ?? true, `${name}.useDefault`);
  if (useDefault) return { useDefault };
  return { useDefault, topic: str(m.topic, `${name}.topic`, 255), message: str(m.message ?? '', `${name}.message`), retain: bool(m.retain ?? false, `${name}.retain`), qos: int(m.qos ?? 0, `${name}.qos`, 0, 2) as 0 | 1 | 2 };
}

export interface MqttEndpoints {
  routes: Route[];
  /** The connected client, when there is one. */
  client(): MqttClient | undefined;
  /** Where a deployed program should connect: the configured TCP broker while the client is active. */
  broker(): { host: string; port: number } | undefined;
  connect(): void;
  disconnect(): void;
  /** An event happened on the device: published when the bridge's filters select it. */
  event(ev: DeviceEvent): void;
}

export function mqttEndpoints(o: {
  serial: string;
  broker?: string;
  auth: Auth;
  now: () => number;
  fault: FaultState;
  crashed: () => boolean;
  onChange: () => void;
  /** The device's property events with their current values (published when publication starts). */
  properties: () => DeviceEvent[];
  /** What the built-in app listens to over the camera's connection (subscribed at every connect), and where those messages go. */
  subscriptions?: () => string[];
  onMessage?: (topic: string, payload: Buffer) => void;
  activate?: boolean;
}): MqttEndpoints {
  const preset = o.broker ? parseBrokerUrl(o.broker, `omnisight-${o.serial}`) : undefined;
  let config: MqttConfig = { ...freshConfig(o.serial), ...(preset ?? {}) };
  // A bench fleet's camera starts with its client active on the preset broker; a fresh device starts inactive.
  let active = !!(o.activate && preset);
  let client: MqttClient | undefined;
  let publication: EventPublication = { topicPrefix: 'default', customTopicPrefix: '', appendEventTopic: true, includeTopicNamespaces: true, includeSerialNumberInPayload: false, eventFilterList: [] };

  const disconnect = (): void => {
    const c = client;
    client = undefined;
    if (c) c.end(true);
    o.onChange();
  };
  const connect = (): void => {
    if (o.crashed() || o.fault.dropMqtt || !active || !config.server.host || client) return;
    const { server } = config;
    const scheme = { tcp: 'mqtt', ssl: 'mqtts', ws: 'ws', wss: 'wss' }[server.protocol];
    const path = server.protocol === 'ws' || server.protocol === 'wss' ? (server.basepath ?? '') : '';
    const c = mqtt.connect(`${scheme}://${server.host.includes(':') ? `[${server.host}]` : server.host}:${server.port}${path}`, {
      clientId: config.clientId || `axis-${o.serial}`,
      username: config.username || undefined,
      password: config.password,
      keepalive: config.keepAliveInterval,
      clean: config.cleanSession,
      reconnectPeriod: config.autoReconnect ? 1000 : 0,
      connectTimeout: Math.min(config.connectTimeout, 10) * 1000,
      ...(config.server.protocol === 'ssl' || config.server.protocol === 'wss' ? { rejectUnauthorized: config.ssl.validateServerCert } : {}),
    });
    c.on('connect', () => {
      // No Nagle, as a camera's own client sends: with it, a publish right after another waited for
      // the broker's delayed ACK (≈ 40 ms on Linux). The mqtt package has no option for it, so the
      // TCP socket is told once connected (a WebSocket stream has no such switch: left as it is).
      (c.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
      const subs = o.subscriptions?.() ?? [];
      if (subs.length) c.subscribe(subs, { qos: 1 });
      o.onChange();
      publishProperties();
    });
    if (o.onMessage) c.on('message', (topic, payload) => o.onMessage!(topic, payload));
    c.on('close', o.onChange);
    c.on('error', () => undefined); // reconnects by itself; the status shows it
    client = c;
  };

  const publish = (ev: DeviceEvent, initial: boolean): void => {
    const c = client;
    if (!c?.connected) return;
    const filter = publication.eventFilterList.find((f) => topicMatches(f.topicFilter, ev.topic));
    if (!filter) return;
    if (initial && !ev.property) return;
    const topic = publication.includeTopicNamespaces
      ? ev.topic
      : ev.topic
          .split('/')
          .map((l) => l.replace(/^[A-Za-z0-9]+:/, ''))
          .join('/');
    const prefix = publication.topicPrefix === 'custom' ? publication.customTopicPrefix : `${config.deviceTopicPrefix}/event`;
    const mqttTopic = publication.appendEventTopic ? `${prefix}/${topic}` : prefix;
    const payload = {
      timestamp: o.now(),
      topic,
      message: { source: ev.source, key: ev.key ?? {}, data: ev.data },
      ...(publication.includeSerialNumberInPayload ? { serialNumber: o.serial } : {}),
    };
    const retain = filter.retain === 'all' || (filter.retain === 'property' && ev.property);
    c.publish(mqttTopic, JSON.stringify(payload), { qos: filter.qos, retain });
  };
  const publishProperties = (): void => {
    for (const ev of o.properties()) publish(ev, true);
  };

  const status = (): Record<string, unknown> => {
    const { password: _password, ...shown } = config;
    void _password;
    return {
      status: { state: active ? 'active' : 'inactive', connectionStatus: active && client?.connected ? 'connected' : 'disconnected' },
      config: { ...shown, username: shown.username ?? '' },
    };
  };

  const configure = (p: Record<string, unknown>): void => {
    only(p, ['server', 'clientId', 'username', 'password', 'keepExistingPassword', 'keepAliveInterval', 'cleanSession', 'activateOnReboot', 'autoReconnect', 'connectTimeout', 'deviceTopicPrefix', 'lastWillTestament', 'connectMessage', 'disconnectMessage', 'ssl'], '');
    if (p.server === undefined) throw new JsonApiError('missingParam', 'server is required');
    const s = obj(p.server, 'server');
    only(s, ['protocol', 'host', 'port', 'alpnProtocol', 'basepath'], 'server.');
    const protocol = (s.protocol ?? 'tcp') as Protocol;
    if (!(protocol in DEFAULT_PORT)) throw new JsonApiError('badParam', 'server.protocol must be tcp, ssl, ws or wss');
    const host = str(s.host, 'server.host', 255);
    if (!host) throw new JsonApiError('badParam', 'server.host must be a host name or address');
    // The simulator lives on this machine: it never connects anywhere else.
    if (!isLoopback(host)) throw new JsonApiError('badParam', `server.host ${host} is not a loopback address; the simulated camera only connects to 127.0.0.1`);
    const next: MqttConfig = {
      ...freshConfig(o.serial),
      server: {
        protocol,
        host,
        port: s.port === undefined ? DEFAULT_PORT[protocol] : int(s.port, 'server.port', 1, 65535),
        ...(s.alpnProtocol !== undefined ? { alpnProtocol: str(s.alpnProtocol, 'server.alpnProtocol', 255) } : {}),
        ...(s.basepath !== undefined ? { basepath: str(s.basepath, 'server.basepath', 255) } : {}),
      },
      clientId: p.clientId === undefined ? '' : str(p.clientId, 'clientId', 1024),
      username: p.username === undefined ? undefined : str(p.username, 'username'),
      password: p.password !== undefined ? str(p.password, 'password') : p.keepExistingPassword === true ? config.password : undefined,
      keepAliveInterval: p.keepAliveInterval === undefined ? 60 : int(p.keepAliveInterval, 'keepAliveInterval', 1, 65535),
      cleanSession: p.cleanSession === undefined ? true : bool(p.cleanSession, 'cleanSession'),
      activateOnReboot: p.activateOnReboot === undefined ? true : bool(p.activateOnReboot, 'activateOnReboot'),
      autoReconnect: p.autoReconnect === undefined ? true : bool(p.autoReconnect, 'autoReconnect'),
      connectTimeout: p.connectTimeout === undefined ? 60 : int(p.connectTimeout, 'connectTimeout', 1, 3600),
      deviceTopicPrefix: p.deviceTopicPrefix === undefined ? `axis/${o.serial}` : str(p.deviceTopicPrefix, 'deviceTopicPrefix', 255),
      lastWillTestament: p.lastWillTestament === undefined ? { useDefault: true } : parseMessage(p.lastWillTestament, 'lastWillTestament'),
      connectMessage: p.connectMessage === undefined ? { useDefault: true } : parseMessage(p.connectMessage, 'connectMessage'),
      disconnectMessage: p.disconnectMessage === undefined ? { useDefault: true } : parseMessage(p.disconnectMessage, 'disconnectMessage'),
      ssl: (() => {
        if (p.ssl === undefined) return { validateServerCert: false };
        const x = obj(p.ssl, 'ssl');
        only(x, ['validateServerCert', 'CACertID', 'clientCertID'], 'ssl.');
        return {
          validateServerCert: bool(x.validateServerCert ?? false, 'ssl.validateServerCert'),
          ...(x.CACertID !== undefined ? { CACertID: str(x.CACertID, 'ssl.CACertID', 255) } : {}),
          ...(x.clientCertID !== undefined ? { clientCertID: str(x.clientCertID, 'ssl.clientCertID', 255) } : {}),
        };
      })(),
    };
    config = next;
    // A new configuration takes effect on the next connection.
    if (client) {
      disconnect();
      connect();
    }
  };

  const configurePublication = (p: Record<string, unknown>): void => {
    only(p, ['topicPrefix', 'customTopicPrefix', 'appendEventTopic', 'includeTopicNamespaces', 'includeSerialNumberInPayload', 'eventFilterList'], '');
    const topicPrefix = p.topicPrefix ?? publication.topicPrefix;
    if (topicPrefix !== 'default' && topicPrefix !== 'custom') throw new JsonApiError('badParam', 'topicPrefix must be default or custom');
    const customTopicPrefix = p.customTopicPrefix === undefined ? publication.customTopicPrefix : str(p.customTopicPrefix, 'customTopicPrefix', 255);
    if (topicPrefix === 'custom' && !customTopicPrefix) throw new JsonApiError('badParam', 'customTopicPrefix is required when topicPrefix is custom');
    let eventFilterList = publication.eventFilterList;
    if (p.eventFilterList !== undefined) {
      if (!Array.isArray(p.eventFilterList) || p.eventFilterList.length > 64) throw new JsonApiError('badParam', 'eventFilterList must be a list of at most 64 filters');
      eventFilterList = p.eventFilterList.map((raw: unknown, i: number) => {
        const f = obj(raw, `eventFilterList[${i}]`);
        only(f, ['topicFilter', 'qos', 'retain'], `eventFilterList[${i}].`);
        const retain = f.retain ?? 'none';
        if (retain !== 'none' && retain !== 'property' && retain !== 'all') throw new JsonApiError('badParam', 'retain must be none, property or all');
        return { topicFilter: str(f.topicFilter, 'topicFilter', 512), qos: int(f.qos ?? 0, 'qos', 0, 2) as 0 | 1 | 2, retain };
      });
    }
    publication = {
      topicPrefix,
      customTopicPrefix,
      appendEventTopic: p.appendEventTopic === undefined ? publication.appendEventTopic : bool(p.appendEventTopic, 'appendEventTopic'),
      includeTopicNamespaces: p.includeTopicNamespaces === undefined ? publication.includeTopicNamespaces : bool(p.includeTopicNamespaces, 'includeTopicNamespaces'),
      includeSerialNumberInPayload: p.includeSerialNumberInPayload === undefined ? publication.includeSerialNumberInPayload : bool(p.includeSerialNumberInPayload, 'includeSerialNumberInPayload'),
      eventFilterList,
    };
    publishProperties();
  };

  return {
    routes: [
      jsonRoute(o.auth, {
        path: '/axis-cgi/mqtt/client.cgi',
        id: 'mqtt-client',
        name: 'MQTT Client API',
        versions: ['1.0'],
        since: '9.80',
        need: 'administrator',
        handle: (method, p) => {
          switch (method) {
            case 'configureClient':
              configure(p);
              return {};
            case 'activateClient':
              if (!config.server.host) throw new JsonApiError('badParam', 'Configure the client before activating it');
              active = true;
              connect();
              return {};
            case 'deactivateClient':
              active = false;
              disconnect();
              return {};
            case 'getClientStatus':
              return status();
            default:
              return unsupported(method);
          }
        },
      }),
      jsonRoute(o.auth, {
        path: '/axis-cgi/mqtt/event.cgi',
        id: 'event-mqtt-bridge',
        name: 'MQTT Event Bridge',
        versions: ['1.0'],
        since: '9.80',
        need: 'administrator',
        handle: (method, p) => {
          if (method === 'configureEventPublication') {
            configurePublication(p);
            return {};
          }
          if (method === 'getEventPublicationConfig') return { eventPublicationConfig: publication };
          return unsupported(method);
        },
      }),
    ],
    client: () => client,
    broker: () => (o.fault.dropMqtt ? { host: '127.0.0.1', port: 1 } : active && config.server.host && config.server.protocol === 'tcp' ? { host: config.server.host, port: config.server.port } : undefined),
    connect,
    disconnect,
    event: (ev) => publish(ev, false),
  };
}
