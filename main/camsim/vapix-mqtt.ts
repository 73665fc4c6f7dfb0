// The camera's own MQTT client (mqtt/client.cgi) and its event bridge (mqtt/event.cgi).
import mqtt, { type MqttClient } from 'mqtt';
import type { Authorise, Req, Res, Route } from './http-kit';
import { JSON_ERR, JsonApiError, serveJsonApi } from './json-api';
import type { FaultState } from './types';

const MQTT_VERSION = '1.0';

export interface MqttConfig {
  server: { protocol: 'tcp' | 'ssl' | 'ws' | 'wss'; host: string; port: number };
  clientId: string;
  username?: string;
  password?: string;
  keepAliveInterval: number;
  cleanSession: boolean;
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

export interface MqttEndpoints {
  routes: Route[];
  /** The connected client, when there is one. */
  client(): MqttClient | undefined;
  /** Where a deployed program should connect: the configured TCP broker while the client is active. */
  broker(): { host: string; port: number } | undefined;
  connect(): void;
  disconnect(): void;
}

export function mqttEndpoints(o: { serial: string; broker?: string; authorise: Authorise; fault: FaultState; crashed: () => boolean; onChange: () => void }): MqttEndpoints {
  let mqttConfig: MqttConfig | undefined = o.broker ? parseBrokerUrl(o.broker, `omnisight-${o.serial}`) : undefined;
  let mqttActive = false;
  let mqttClient: MqttClient | undefined;
  let eventPublication: unknown = {};

  // ---- MQTT client of the camera -------------------------------------------------------------
  const mqttDisconnect = (): void => {
    const c = mqttClient;
    mqttClient = undefined;
    if (c) c.end(true);
    o.onChange();
  };
  const mqttConnect = (): void => {
    if (o.crashed() || o.fault.dropMqtt || !mqttActive || !mqttConfig || mqttClient) return;
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
    client.on('connect', o.onChange);
    client.on('close', o.onChange);
    client.on('error', () => undefined); // reconnects by itself; the status shows it
    mqttClient = client;
  };

  // ---- MQTT client API ------------------------------------------------------------------------
  const mqttStatus = (): Record<string, unknown> => {
    const c = mqttClient;
    const connectionStatus = !mqttActive ? 'disconnected' : c?.connected ? 'connected' : 'connecting';
    const config = mqttConfig ? { server: mqttConfig.server, clientId: mqttConfig.clientId, username: mqttConfig.username ?? '', keepAliveInterval: mqttConfig.keepAliveInterval, cleanSession: mqttConfig.cleanSession } : {};
    return { status: { state: mqttActive ? 'active' : 'inactive', connectionStatus }, config };
  };

  const mqttClientApi = (req: Req, res: Res): Promise<void> =>
    serveJsonApi(req, res, o.authorise, { version: MQTT_VERSION, need: () => 'administrator', handle: (method, p) => {
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
            clientId: typeof p.clientId === 'string' && p.clientId ? p.clientId : `omnisight-${o.serial}`,
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
    } });

  const mqttEventApi = (req: Req, res: Res): Promise<void> =>
    serveJsonApi(req, res, o.authorise, { version: MQTT_VERSION, need: () => 'administrator', handle: (method, p) => {
      if (method === 'configureEventPublication') {
        eventPublication = p;
        return {};
      }
      if (method === 'getEventPublicationConfig') return { eventPublicationConfig: eventPublication };
      throw new JsonApiError(JSON_ERR.methodNotSupported, `Method not supported: ${method}`);
    } });

  return {
    routes: [
      { path: '/axis-cgi/mqtt/client.cgi', need: 'by-method', handle: (req, res) => mqttClientApi(req, res) },
      { path: '/axis-cgi/mqtt/event.cgi', need: 'by-method', handle: (req, res) => mqttEventApi(req, res) },
    ],
    client: () => mqttClient,
    broker: () => (o.fault.dropMqtt ? { host: '127.0.0.1', port: 1 } : mqttActive && mqttConfig && mqttConfig.server.protocol === 'tcp' ? { host: mqttConfig.server.host, port: mqttConfig.server.port } : undefined),
    connect: mqttConnect,
    disconnect: mqttDisconnect,
  };
}
