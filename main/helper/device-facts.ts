// Device facts the way widely used Axis clients read them: API discovery first (AXIS OS 8.50+), then
// the APIs it lists (basic device information), with the parameter API as the fallback for older
// firmware; and a plain refusal when the camera lacks an API the product cannot work without.
import { z } from 'zod';
import { readBody, VapixError, type Target } from './digest';
import type { DeviceInfo, VapixClient } from './vapix';

const MAX_JSON_BYTES = 256 * 1024;

export interface DeviceFacts extends DeviceInfo {
  /** How the facts were read. */
  via: 'basic-device-info' | 'param-cgi';
  /** JSON APIs the camera lists in API discovery (id → version); empty without API discovery. */
  apis: Record<string, string>;
}

/** APIs the product needs, with what they are for and since when AXIS OS has them. */
export const REQUIRED_APIS = [{ id: 'mqtt-client', path: '/axis-cgi/mqtt/client.cgi', purpose: 'send its detections and heartbeats to OmniSight', since: 'AXIS OS 9.80' }] as const;

const apiListReply = z
  .object({
    data: z.object({ apiList: z.array(z.object({ id: z.string().max(200), version: z.string().max(32) }).loose()).max(1000) }).loose().optional(),
    error: z.object({ code: z.number(), message: z.string().max(500).optional() }).loose().optional(),
  })
  .loose();

const where = (t: Target): string => `${t.host}:${t.port}`;

/** getApiList; undefined when the firmware has no API discovery (404, or an error reply). */
export async function listApis(client: VapixClient, timeoutMs = 8000): Promise<Record<string, string> | undefined> {
  const t = client.target;
  const res = await client.digest.open({ method: 'POST', path: '/axis-cgi/apidiscovery.cgi', body: JSON.stringify({ apiVersion: '1.0', context: 'omnisight', method: 'getApiList' }), timeoutMs });
  if (res.statusCode === 404) {
    res.resume();
    return undefined;
  }
  if (res.statusCode === 403) {
    res.resume();
    throw new VapixError('forbidden', `User "${t.username}" may log in to ${where(t)} but may not list its APIs. Enter an administrator account for this camera.`);
  }
  if (res.statusCode !== 200) {
    res.resume();
    return undefined;
  }
  let raw: unknown;
  try {
    raw = JSON.parse((await readBody(res, MAX_JSON_BYTES, t, timeoutMs)).toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = apiListReply.safeParse(raw);
  if (!parsed.success || parsed.data.error || !parsed.data.data) return undefined;
  return Object.fromEntries(parsed.data.data.apiList.map((a) => [a.id, a.version]));
}

/** Facts from param.cgi (firmware before API discovery, or without basic device information). */
async function factsFromParams(client: VapixClient): Promise<DeviceInfo> {
  const p = { ...(await client.params('root.Brand')), ...(await client.params('root.Properties')) };
  const serial = p['root.Properties.System.SerialNumber'];
  if (!serial) throw new VapixError('not_axis', `${where(client.target)} lists no serial number (root.Properties.System.SerialNumber). It may not be an Axis camera; check the address and port.`);
  return {
    model: p['root.Brand.ProdNbr'] ?? '',
    productName: p['root.Brand.ProdFullName'] ?? '',
    serial: serial.toUpperCase(),
    architecture: p['root.Properties.System.Architecture'] ?? '',
    soc: p['root.Properties.System.Soc'] ?? '',
    firmware: p['root.Properties.Firmware.Version'] ?? '',
  };
}

export async function readDeviceFacts(client: VapixClient, timeoutMs = 8000): Promise<DeviceFacts> {
  const apis = await listApis(client, timeoutMs);
  if (apis && 'basic-device-info' in apis) return { ...(await client.probe()), via: 'basic-device-info', apis };
  return { ...(await factsFromParams(client)), via: 'param-cgi', apis: apis ?? {} };
}

/** Whether a JSON API answers getSupportedVersions (for an API discovery did not list, or when there is none). */
async function answers(client: VapixClient, path: string, timeoutMs: number): Promise<boolean> {
  const t = client.target;
  const res = await client.digest.open({ method: 'POST', path, body: JSON.stringify({ context: 'omnisight', method: 'getSupportedVersions' }), timeoutMs });
  if (res.statusCode === 403) {
    res.resume();
    throw new VapixError('forbidden', `User "${t.username}" may log in to ${where(t)} but its role is too low: this needs an administrator account. Enter an administrator account for this camera.`);
  }
  if (res.statusCode !== 200) {
    res.resume();
    return false;
  }
  try {
    const v = z.object({ data: z.object({ apiVersions: z.array(z.string()).min(1) }).loose() }).loose().safeParse(JSON.parse((await readBody(res, MAX_JSON_BYTES, t, timeoutMs)).toString('utf8')));
    return v.success;
  } catch {
    return false;
  }
}

/**
 * The product's needs the camera does not meet, each as a sentence that says what to do. An API
 * discovery did not list is asked directly once, so a discovery hiccup never refuses a good camera.
 */
export async function missingApis(client: VapixClient, facts: DeviceFacts, timeoutMs = 8000): Promise<string[]> {
  const name = `${facts.productName || facts.model || 'This camera'} (serial ${facts.serial}${facts.firmware ? `, AXIS OS ${facts.firmware}` : ''})`;
  const out: string[] = [];
  for (const a of REQUIRED_APIS) {
    if (a.id in facts.apis || (await answers(client, a.path, timeoutMs))) continue;
    out.push(`${name} has no ${a.id === 'mqtt-client' ? 'MQTT client' : a.id} API, which it needs to ${a.purpose}. ${a.since} and later have it: update the camera's firmware, then add it again.`);
  }
  return out;
}
