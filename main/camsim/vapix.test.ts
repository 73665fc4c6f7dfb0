import net from 'node:net';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedFleet, type SimCameraInfo, type SimFleet } from './index';
import { curl, sleep } from './testkit';

/** A parsed JSON reply, as loosely typed as JSON.parse gives it. */
type Json = ReturnType<typeof JSON.parse>;

// The simulated camera as a third-party client written for AXIS OS sees it (issue 13).
describe('VAPIX surface like AXIS OS 12', () => {
  let fleet: SimFleet;
  let cam: SimCameraInfo;
  let admin: { user: string; pass: string };
  let operator: { user: string; pass: string };
  let viewer: { user: string; pass: string };
  const json = async (path: string, body: unknown, auth?: { user: string; pass: string }): Promise<{ status: number; j: Record<string, Json> }> => {
    const r = await curl(`${cam.url}${path}`, { ...auth, data: typeof body === 'string' ? body : JSON.stringify(body), extra: ['-H', 'Content-Type: application/json'] });
    return { status: r.status, j: r.status === 200 ? JSON.parse(r.body.toString()) : {} };
  };

  beforeAll(async () => {
    fleet = await startSimulatedFleet({ cameras: 1, seed: 33, apps: 'agent' });
    cam = fleet.cameras[0]!;
    const u = (role: string): { user: string; pass: string } => {
      const x = cam.users!.find((y) => y.role === role)!;
      return { user: x.username, pass: x.password };
    };
    admin = u('administrator');
    operator = u('operator');
    viewer = u('viewer');
  });
  afterAll(() => fleet.stop());

  it('lists every JSON API it serves in API discovery, each answering getSupportedVersions without apiVersion', async () => {
    const { status, j } = await json('/axis-cgi/apidiscovery.cgi', { apiVersion: '1.0', context: 'ha', method: 'getApiList' });
    expect(status).toBe(200);
    expect(j).toMatchObject({ apiVersion: '1.0', context: 'ha', method: 'getApiList' });
    const list = j.data.apiList as { id: string; version: string; name: string; docLink: string }[];
    const ids = list.map((a) => a.id);
    for (const id of ['api-discovery', 'basic-device-info', 'event-mqtt-bridge', 'io-port-management', 'mqtt-client', 'param-cgi', 'stream-profiles', 'systemready']) expect(ids).toContain(id);
    for (const a of list) expect(a).toEqual({ id: expect.any(String), version: expect.stringMatching(/^\d+\.\d+$/), name: expect.any(String), docLink: expect.stringMatching(/^https:\/\//) });
    const paths: Record<string, string> = {
      'api-discovery': '/axis-cgi/apidiscovery.cgi',
      'basic-device-info': '/axis-cgi/basicdeviceinfo.cgi',
      'event-mqtt-bridge': '/axis-cgi/mqtt/event.cgi',
      'io-port-management': '/axis-cgi/io/portmanagement.cgi',
      'mqtt-client': '/axis-cgi/mqtt/client.cgi',
      'stream-profiles': '/axis-cgi/streamprofile.cgi',
      systemready: '/axis-cgi/systemready.cgi',
    };
    for (const [id, path] of Object.entries(paths)) {
      const r = await json(path, { context: 'v', method: 'getSupportedVersions' }, admin);
      expect(r.j.error, id).toBeUndefined();
      expect(r.j.data.apiVersions, id).toContain(list.find((a) => a.id === id)!.version);
    }
  });

  it('reads the serial, firmware and product through the listed APIs', async () => {
    const { j } = await json('/axis-cgi/basicdeviceinfo.cgi', { apiVersion: '1.3', method: 'getAllUnrestrictedProperties' });
    expect(j.data.propertyList).toMatchObject({ SerialNumber: cam.serial, ProdNbr: 'Q1656', Version: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
    // A newer minor than served is refused; an older one is fine.
    expect((await json('/axis-cgi/basicdeviceinfo.cgi', { apiVersion: '1.9', method: 'getAllUnrestrictedProperties' })).j.error.code).toBe(2003);
    expect((await json('/axis-cgi/basicdeviceinfo.cgi', { method: 'getAllUnrestrictedProperties' })).j.error.code).toBe(4002);
  });

  it('lists and updates parameters by GET query and by POST form, with firmware reply shapes', async () => {
    const post = (form: string, auth = admin): ReturnType<typeof curl> => curl(`${cam.url}/axis-cgi/param.cgi`, { ...auth, data: form, extra: ['-H', 'Content-Type: application/x-www-form-urlencoded'] });
    const listed = (await post('action=list&group=root.Properties')).body.toString();
    expect(listed).toContain(`root.Properties.System.SerialNumber=${cam.serial}\r\n`);
    expect(listed).toContain('root.Properties.ApiDiscovery.ApiDiscovery=yes\r\n');
    expect((await post('action=list&group=root.Nope')).body.toString()).toBe("# Error: Error -1 getting param in group 'root.Nope'\r\n");
    expect((await post('action=update&root.Image.I0.Appearance.Compression=55')).body.toString()).toBe('OK\r\n');
    expect((await curl(`${cam.url}/axis-cgi/param.cgi?action=update&Image.I0.Stream.FPS=15`, admin)).body.toString()).toBe('OK\r\n');
    const image = (await curl(`${cam.url}/axis-cgi/param.cgi?action=list&group=Image.I0`, admin)).body.toString();
    expect(image).toContain('root.Image.I0.Appearance.Compression=55\r\n');
    expect(image).toContain('root.Image.I0.Stream.FPS=15\r\n');
    // Read-only and invalid values are refused and change nothing (all or nothing).
    expect((await post('action=update&root.Image.I0.Appearance.Compression=10&root.Brand.ProdNbr=X')).body.toString()).toBe("# Error: Error setting 'root.Brand.ProdNbr' to 'X'!\r\n");
    expect((await post('action=update&root.Image.I0.Appearance.Resolution=999x999')).body.toString()).toMatch(/^# Error: Error setting/);
    expect((await curl(`${cam.url}/axis-cgi/param.cgi?action=list&group=root.Image.I0.Appearance.Compression`, admin)).body.toString()).toBe('root.Image.I0.Appearance.Compression=55\r\n');
    expect((await post('action=update&root.Image.I0.Appearance.Compression=20', operator)).status).toBe(403);
    expect((await post('action=frobnicate')).body.toString()).toBe("# Error: action 'frobnicate' is not supported\r\n");
  });

  it('asks for credentials before anything else, and says 404 only to a caller who logged in', async () => {
    const unknown = await curl(`${cam.url}/axis-cgi/nothing.cgi`);
    expect(unknown.status).toBe(401);
    expect(unknown.headers['www-authenticate']).toMatch(/^Digest /);
    expect((await curl(`${cam.url}/axis-cgi/nothing.cgi`, { user: admin.user, pass: 'wrong' })).status).toBe(401);
    expect((await curl(`${cam.url}/axis-cgi/nothing.cgi`, viewer)).status).toBe(404);
    // Malformed JSON to an administrator API gets the challenge, not a JSON error.
    const bad = await curl(`${cam.url}/axis-cgi/mqtt/client.cgi`, { data: '{nope' });
    expect(bad.status).toBe(401);
    expect((await curl(`${cam.url}/axis-cgi/mqtt/client.cgi`, { ...viewer, data: '{"apiVersion":"1.0","method":"getClientStatus"}' })).status).toBe(403);
    // A wrong password is refused even where anonymous callers are served.
    expect((await curl(`${cam.url}/axis-cgi/basicdeviceinfo.cgi`, { user: admin.user, pass: 'wrong', data: '{"apiVersion":"1.0","method":"getAllUnrestrictedProperties"}' })).status).toBe(401);
    for (const p of ['/axis-cgi/pwdgrp.cgi?action=get', '/axis-cgi/usergroup.cgi', '/axis-cgi/param.cgi?action=list', '/axis-cgi/jpg/image.cgi']) expect((await curl(`${cam.url}${p}`)).status, p).toBe(401);
  });

  it('exposes access rights as user groups', async () => {
    const groups = (await curl(`${cam.url}/axis-cgi/pwdgrp.cgi?action=get`, admin)).body.toString();
    expect(groups).toContain(`admin="${admin.user}"`);
    expect(groups).toMatch(new RegExp(`^operator=".*\\b${operator.user}\\b.*"$`, 'm'));
    expect(groups).toMatch(new RegExp(`^viewer=".*\\b${viewer.user}\\b.*"$`, 'm'));
    expect((await curl(`${cam.url}/axis-cgi/pwdgrp.cgi?action=get`, operator)).status).toBe(403);
    expect((await curl(`${cam.url}/axis-cgi/usergroup.cgi`, admin)).body.toString()).toBe('root\nroot admin operator ptz viewer\n');
    expect((await curl(`${cam.url}/axis-cgi/usergroup.cgi`, operator)).body.toString()).toBe(`${operator.user}\nusers operator viewer\n`);
    expect((await curl(`${cam.url}/axis-cgi/usergroup.cgi`, viewer)).body.toString()).toBe(`${viewer.user}\nusers viewer\n`);
  });

  it('answers system readiness without credentials, and lists stream profiles and I/O ports', async () => {
    const ready = await json('/axis-cgi/systemready.cgi', { apiVersion: '1.0', method: 'systemready', params: { timeout: 10 } });
    expect(ready.j.data).toMatchObject({ systemready: 'yes', needsetup: 'no', uptime: expect.stringMatching(/^\d+$/), bootid: expect.stringMatching(/^[0-9a-f]+$/) });
    const profiles = await json('/axis-cgi/streamprofile.cgi', { apiVersion: '1.0', method: 'list', params: { streamProfileName: [] } }, viewer);
    expect(profiles.j.data.maxProfiles).toBe(26);
    expect(profiles.j.data.streamProfile[0]).toEqual({ name: 'Quality', description: expect.any(String), parameters: expect.stringContaining('resolution=1280x720') });
    const created = await json('/axis-cgi/streamprofile.cgi', { apiVersion: '1.0', method: 'create', params: { streamProfile: [{ name: 'tile', description: 'grid', parameters: 'resolution=640x360&fps=10' }] } }, operator);
    expect(created.j.error).toBeUndefined();
    expect((await json('/axis-cgi/streamprofile.cgi', { apiVersion: '1.0', method: 'list', params: { streamProfileName: [{ name: 'tile' }] } }, viewer)).j.data.streamProfile).toHaveLength(1);
    expect((await json('/axis-cgi/streamprofile.cgi', { apiVersion: '1.0', method: 'remove', params: { streamProfileName: [{ name: 'nope' }] } }, operator)).j.error.code).toBe(2006);
    expect((await curl(`${cam.url}/axis-cgi/param.cgi?action=list&group=StreamProfile`, admin)).body.toString()).toContain('.Name=tile\r\n');
    const ports = await json('/axis-cgi/io/portmanagement.cgi', { apiVersion: '1.0', method: 'getPorts' }, viewer);
    expect(ports.j.data.numberOfPorts).toBe(2);
    expect(ports.j.data.items[0]).toEqual({ port: '0', configurable: false, usage: '', name: 'Input 1', direction: 'input', state: 'open', normalState: 'open' });
  });

  it('serves only the listed resolutions, at the size asked', async () => {
    const bad = await curl(`${cam.url}/axis-cgi/jpg/image.cgi?resolution=999x999`, viewer);
    expect(bad.status).toBe(400);
    expect(bad.body.toString()).toContain("Invalid value '999x999' for parameter resolution");
    const listed = (await curl(`${cam.url}/axis-cgi/param.cgi?action=list&group=Properties.Image.Resolution`, admin)).body.toString().trim().split('=')[1]!.split(',');
    for (const res of [listed[0]!, listed[listed.length - 1]!]) {
      const img = await curl(`${cam.url}/axis-cgi/jpg/image.cgi?resolution=${res}`, viewer);
      expect(img.status).toBe(200);
      const meta = await sharp(img.body).metadata();
      expect(`${meta.width}x${meta.height}`).toBe(res);
    }
  });

  it('streams with the arguments of a stream profile, URL arguments overriding them', async () => {
    const img = await curl(`${cam.url}/axis-cgi/jpg/image.cgi?streamprofile=Quality`, viewer);
    expect(img.status).toBe(200);
    expect((await sharp(img.body).metadata()).width).toBe(1280);
    const small = await curl(`${cam.url}/axis-cgi/jpg/image.cgi?streamprofile=Quality&resolution=320x180`, viewer);
    expect((await sharp(small.body).metadata()).width).toBe(320);
    expect((await curl(`${cam.url}/axis-cgi/jpg/image.cgi?streamprofile=NoSuch`, viewer)).status).toBe(400);
  });

  it('answers the SOAP event service after authentication', async () => {
    const soap = '<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetEventInstances xmlns="http://www.axis.com/vapix/ws/event1"/></s:Body></s:Envelope>';
    expect((await curl(`${cam.url}/vapix/services`, { data: soap })).status).toBe(401);
    const r = await curl(`${cam.url}/vapix/services`, { ...viewer, data: soap, extra: ['-H', 'Content-Type: application/soap+xml'] });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toContain('<tnsaxis:SystemReady wstop:topic="true">');
  });
});

describe('MQTT client and event bridge like a fresh device', () => {
  let fleet: SimFleet;
  let cam: SimCameraInfo;
  let server: net.Server;
  let broker: Aedes;
  let port: number;
  const call = async (path: string, method: string, params?: unknown): Promise<Record<string, Json>> =>
    JSON.parse((await curl(`${cam.url}${path}`, { user: cam.username, pass: cam.password, data: JSON.stringify({ apiVersion: '1.0', context: 'c', method, ...(params ? { params } : {}) }) })).body.toString());

  beforeAll(async () => {
    broker = await Aedes.createBroker();
    server = net.createServer(broker.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
    fleet = await startSimulatedFleet({ cameras: 1, seed: 34, apps: 'agent' });
    cam = fleet.cameras[0]!;
  });
  afterAll(async () => {
    await fleet.stop();
    await new Promise<void>((r) => broker.close(() => r()));
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('answers the first getClientStatus and getEventPublicationConfig in full shape', async () => {
    const s = await call('/axis-cgi/mqtt/client.cgi', 'getClientStatus');
    expect(s.data.status).toEqual({ state: 'inactive', connectionStatus: 'disconnected' });
    expect(s.data.config).toMatchObject({
      server: { protocol: 'tcp', host: '', port: 1883 },
      deviceTopicPrefix: `axis/${cam.serial}`,
      keepAliveInterval: 60,
      cleanSession: true,
      autoReconnect: true,
      activateOnReboot: true,
      lastWillTestament: { useDefault: true },
      ssl: { validateServerCert: false },
    });
    expect(s.data.config.password).toBeUndefined();
    const e = await call('/axis-cgi/mqtt/event.cgi', 'getEventPublicationConfig');
    expect(e.data.eventPublicationConfig).toEqual({ topicPrefix: 'default', customTopicPrefix: '', appendEventTopic: true, includeTopicNamespaces: true, includeSerialNumberInPayload: false, eventFilterList: [] });
    expect((await call('/axis-cgi/mqtt/client.cgi', 'configureClient', { server: { host: '127.0.0.1' }, bogus: 1 })).error.code).toBe(2104);
  });

  it('publishes Axis event topics once publication is configured', async () => {
    const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
    const got: { topic: string; payload: Record<string, Json> }[] = [];
    await sub.subscribeAsync(`axis/${cam.serial}/event/#`);
    sub.on('message', (topic, payload) => got.push({ topic, payload: JSON.parse(payload.toString()) }));
    try {
      expect((await call('/axis-cgi/mqtt/client.cgi', 'configureClient', { server: { protocol: 'tcp', host: '127.0.0.1', port }, clientId: 'cam' })).error).toBeUndefined();
      expect((await call('/axis-cgi/mqtt/client.cgi', 'activateClient')).error).toBeUndefined();
      for (let i = 0; i < 50 && (await call('/axis-cgi/mqtt/client.cgi', 'getClientStatus')).data.status.connectionStatus !== 'connected'; i++) await sleep(100);
      await sleep(300);
      expect(got).toHaveLength(0); // nothing until the bridge is told what to send
      expect((await call('/axis-cgi/mqtt/event.cgi', 'configureEventPublication', { eventFilterList: [{ topicFilter: 'onvif:Device/axis:Status//.' }], includeSerialNumberInPayload: true })).error).toBeUndefined();
      for (let i = 0; i < 30 && got.length === 0; i++) await sleep(100);
      expect(got[0]!.topic).toBe(`axis/${cam.serial}/event/onvif:Device/axis:Status/SystemReady`);
      expect(got[0]!.payload).toEqual({ timestamp: expect.any(Number), topic: 'onvif:Device/axis:Status/SystemReady', message: { source: {}, key: {}, data: { ready: '1' } }, serialNumber: cam.serial });
      // A filter the topic does not match publishes nothing of it.
      expect(got.every((g) => g.topic.includes('/axis:Status/'))).toBe(true);
      // The device's motion alarm and the installed app's own event, without namespaces when asked.
      got.length = 0;
      expect((await call('/axis-cgi/mqtt/event.cgi', 'configureEventPublication', { eventFilterList: [{ topicFilter: 'onvif:VideoSource//.' }, { topicFilter: 'onvif:CameraApplicationPlatform//.' }], includeTopicNamespaces: false })).error).toBeUndefined();
      for (let i = 0; i < 30 && got.length < 2; i++) await sleep(100);
      const topics = got.map((g) => g.topic);
      expect(topics).toContain(`axis/${cam.serial}/event/VideoSource/MotionAlarm`);
      expect(topics).toContain(`axis/${cam.serial}/event/CameraApplicationPlatform/OmniSight/Presence`);
      const motion = got.find((g) => g.topic.endsWith('/MotionAlarm'))!.payload;
      expect(motion.message).toEqual({ source: { VideoSourceConfigurationToken: '1' }, key: {}, data: { State: expect.stringMatching(/^[01]$/) } });
      expect(motion.serialNumber).toBe(cam.serial);
    } finally {
      await sub.endAsync();
    }
  });
});
