// Device facts through API discovery, the parameter API on firmware from before it, and a plain
// refusal when a camera lacks what the product needs: against the simulated fleet over HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedFleet, type SimFleet } from '../camsim';
import { createHelperCore } from './core';
import type { Target } from './digest';
import { missingApis, readDeviceFacts } from './device-facts';
import type { FromHelper } from './protocol';
import { VapixClient } from './vapix';

const targetOf = (fleet: SimFleet, i = 0): Target => {
  const c = fleet.cameras[i]!;
  const u = new URL(c.url);
  return { host: u.hostname, port: Number(u.port), username: c.username, password: c.password };
};

/** One request through the helper's message boundary, as main sends it. */
async function helperCall(req: Record<string, unknown>): Promise<Extract<FromHelper, { type: 'response' }>> {
  return new Promise((resolve) => {
    const core = createHelperCore({
      send: (m) => {
        if (m.type === 'response') {
          core.close();
          resolve(m);
        }
      },
    });
    core.handle({ type: 'request', id: 1, req });
  });
}

describe('device facts as Axis clients read them', () => {
  let current: SimFleet;
  let legacy: SimFleet;
  beforeAll(async () => {
    current = await startSimulatedFleet({ cameras: 1, seed: 51, apps: 'agent' });
    // A camera from before API discovery (8.50) and the MQTT client (9.80).
    legacy = await startSimulatedFleet({ cameras: 1, seed: 52, apps: 'agent', firmware: '8.40.3' });
  });
  afterAll(async () => {
    await current?.stop();
    await legacy?.stop();
  });

  it('reads facts through API discovery and basic device information on current firmware', async () => {
    const facts = await readDeviceFacts(new VapixClient(targetOf(current)));
    expect(facts.via).toBe('basic-device-info');
    expect(facts.apis).toMatchObject({ 'api-discovery': '1.0', 'basic-device-info': expect.any(String), 'mqtt-client': '1.0' });
    expect(facts).toMatchObject({ serial: current.cameras[0]!.serial, model: 'Q1656', productName: 'AXIS Q1656 Box Camera', architecture: 'aarch64', soc: 'Axis Artpec-8', firmware: '12.0.91' });
    expect(await missingApis(new VapixClient(targetOf(current)), facts)).toEqual([]);
    // Listed or not, an API that answers is not missing (a discovery hiccup never refuses a good camera).
    expect(await missingApis(new VapixClient(targetOf(current)), { ...facts, apis: {} })).toEqual([]);
  });

  it('logs in to API discovery on the 10.12 LTS track (which asks for it), and reads the same facts', async () => {
    const lts = await startSimulatedFleet({ cameras: 1, seed: 53, apps: 'agent', firmware: '10.12.236' });
    try {
      const facts = await readDeviceFacts(new VapixClient(targetOf(lts)));
      expect(facts.via).toBe('basic-device-info');
      expect(facts.apis).toMatchObject({ 'basic-device-info': expect.any(String), 'mqtt-client': '1.0' });
      expect(facts).toMatchObject({ serial: lts.cameras[0]!.serial, architecture: 'aarch64', firmware: '10.12.236' });
    } finally {
      await lts.stop();
    }
  });

  it('falls back to param.cgi on firmware without API discovery, with the same facts', async () => {
    const facts = await readDeviceFacts(new VapixClient(targetOf(legacy)));
    expect(facts.via).toBe('param-cgi');
    expect(facts.apis).toEqual({});
    expect(facts).toMatchObject({ serial: legacy.cameras[0]!.serial, model: 'Q1656', productName: 'AXIS Q1656 Box Camera', architecture: 'aarch64', soc: 'Axis Artpec-8', firmware: '8.40.3' });
  });

  it('tells the user plainly when a camera lacks the MQTT client API, and adds a current one', async () => {
    const old = await helperCall({ op: 'probe', target: targetOf(legacy) });
    expect(old.ok).toBe(false);
    const err = (old as { error: { kind: string; message: string } }).error;
    expect(err.kind).toBe('unsupported');
    expect(err.message).toContain(`serial ${legacy.cameras[0]!.serial}, AXIS OS 8.40.3`);
    expect(err.message).toContain('has no MQTT client API');
    expect(err.message).toContain('update the camera');
    const ok = await helperCall({ op: 'probe', target: targetOf(current) });
    expect(ok.ok).toBe(true);
    expect((ok as { value: { serial: string } }).value.serial).toBe(current.cameras[0]!.serial);
    expect(Object.keys((ok as { value: object }).value).sort()).toEqual(['architecture', 'firmware', 'model', 'productName', 'serial', 'soc']);
  });
});
