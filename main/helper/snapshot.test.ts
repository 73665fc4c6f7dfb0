import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedFleet, type SimFleet } from '../camsim';
import { VapixClient } from './vapix';

describe('VAPIX snapshot against the simulator', () => {
  let fleet: SimFleet;
  beforeAll(async () => {
    fleet = await startSimulatedFleet({ cameras: 1, seed: 11 });
  });
  afterAll(async () => fleet?.stop());
  it('reads one JPEG from image.cgi with Digest, and refuses a wrong password', async () => {
    const cam = fleet.cameras[0]!;
    const u = new URL(cam.url);
    const target = { host: u.hostname, port: Number(u.port), username: cam.username, password: cam.password };
    const jpeg = await new VapixClient(target).snapshot(320, 180);
    expect(jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(jpeg.length).toBeGreaterThan(1000);
    await expect(new VapixClient({ ...target, password: 'wrong' }).snapshot(320, 180)).rejects.toMatchObject({ kind: 'unauthorized' });
  });
});
