import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedFleet, type SimFleet } from '../../main/camsim';
import { formatReport, runConformance, type ApiResult } from './axis';

// The suite written from Axis's documented shapes, run against the simulated camera over HTTP and HTTPS.
describe('VAPIX conformance of the simulated camera', () => {
  let fleet: SimFleet;
  beforeAll(async () => {
    fleet = await startSimulatedFleet({ cameras: 1, seed: 41, apps: 'agent' });
  });
  afterAll(() => fleet.stop());

  const expectAllPass = (results: ApiResult[]): void => {
    const report = formatReport(results);
    expect(results.filter((r) => r.outcome !== 'pass'), report).toEqual([]);
    expect(results.map((r) => r.api)).toEqual([
      'authentication',
      'api-discovery',
      'basic-device-info',
      'mqtt-client',
      'event-mqtt-bridge',
      'systemready',
      'stream-profiles',
      'io-port-management',
      'param-cgi',
      'usergroup',
      'jpg-image',
      'mjpg-video',
      'applications',
    ]);
  };

  it('passes every API over HTTP', async () => {
    const c = fleet.cameras[0]!;
    expectAllPass(await runConformance({ host: '127.0.0.1', port: Number(new URL(c.url).port), user: c.username, password: c.password }));
  });

  it('passes over HTTPS too, and fails authentication with a wrong password', async () => {
    const c = fleet.cameras[0]!;
    expectAllPass(await runConformance({ host: '127.0.0.1', port: c.httpsPort, https: true, user: c.username, password: c.password }));
    const wrong = await runConformance({ host: '127.0.0.1', port: c.httpsPort, https: true, user: c.username, password: 'not-it' });
    expect(wrong.find((r) => r.api === 'authentication')?.outcome).toBe('fail');
  });
});
