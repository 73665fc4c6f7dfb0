import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedFleet, type SimCameraInfo, type SimFleet } from './index';
import { comTimestamp, curl, isCompleteJpeg, MjpegReader, sleep } from './testkit';

describe('fault switches', () => {
  let fleet: SimFleet;
  let cam: SimCameraInfo;
  let auth: { user: string; pass: string };
  const ping = (maxTime = 3): ReturnType<typeof curl> => curl(`${cam.url}/axis-cgi/param.cgi?action=list&group=Brand.ProdNbr`, { ...auth, maxTime });

  beforeAll(async () => {
    fleet = await startSimulatedFleet({ cameras: 2, seed: 31 });
    cam = fleet.cameras[0]!;
    auth = { user: cam.username, pass: cam.password };
  });
  afterAll(() => fleet.stop());

  it('refuses connections while the switch is on', async () => {
    fleet.faults(cam.id).refuseConnections(true);
    const r = await ping();
    expect(r.status).toBe(0);
    expect(r.exitCode).not.toBe(0);
    fleet.faults(cam.id).refuseConnections(false);
    expect((await ping()).status).toBe(200);
  });

  it('delays every reply by the slow-reply time', async () => {
    fleet.faults(cam.id).slowReplies(250);
    const r = await ping();
    fleet.faults(cam.id).slowReplies(0);
    expect(r.status).toBe(200);
    expect(r.seconds).toBeGreaterThanOrEqual(0.45); // the 401 round and the authorised round are both delayed
    expect((await ping()).seconds).toBeLessThan(0.4);
  });

  it('stalls streams with the connection kept open, then resumes', async () => {
    const reader = new MjpegReader(`${cam.url}/axis-cgi/mjpg/video.cgi?resolution=160x90&fps=10`, cam.username, cam.password);
    try {
      // The first parts arrive once the background is rendered; on a busy machine that may take a while.
      for (let i = 0; i < 50 && reader.parts.length <= 2; i++) await sleep(100);
      expect(reader.parts.length).toBeGreaterThan(2);
      fleet.faults(cam.id).stallStream(true);
      await sleep(150);
      const stalledAt = reader.parts.length;
      await sleep(800);
      expect(reader.parts.length).toBe(stalledAt);
      expect(reader.running()).toBe(true);
      fleet.faults(cam.id).stallStream(false);
      await sleep(600);
      expect(reader.parts.length).toBeGreaterThan(stalledAt + 2);
    } finally {
      fleet.faults(cam.id).stallStream(false);
      reader.stop();
    }
  });

  it('corrupts exactly the next N parts, then streams clean frames again', async () => {
    const reader = new MjpegReader(`${cam.url}/axis-cgi/mjpg/video.cgi?resolution=160x90&fps=10`, cam.username, cam.password);
    try {
      await sleep(450);
      fleet.faults(cam.id).corruptNextFrames(3);
      await sleep(1200);
    } finally {
      reader.stop();
    }
    const bad = reader.parts.filter((p) => !isCompleteJpeg(p.body) || comTimestamp(p.body) === undefined);
    expect(bad.length).toBe(2); // garbage body and truncated JPEG; the third variant is garbage between parts
    expect(reader.skippedBytes).toBeGreaterThan(0);
    const lastGood = reader.parts.slice(-3);
    for (const p of lastGood) expect(isCompleteJpeg(p.body)).toBe(true);
  });

  it('crashes (nothing answers) and restarts on the same port with the same identity and apps', async () => {
    const other = fleet.cameras[1]!;
    // A state change before the crash must survive it (apps live on the camera's disk).
    expect((await curl(`${cam.url}/axis-cgi/applications/control.cgi?action=stop&package=omnisight`, auth)).body.toString()).toBe('OK\n');
    await fleet.faults(cam.id).crash();
    expect((await ping()).status).toBe(0);
    expect((await curl(`${other.url}/axis-cgi/param.cgi?action=list&group=Brand.ProdNbr`, { user: other.username, pass: other.password })).status).toBe(200);
    await fleet.faults(cam.id).restart();
    const r = await curl(`${cam.url}/axis-cgi/basicdeviceinfo.cgi`, { data: '{"apiVersion":"1.0","method":"getAllUnrestrictedProperties"}' });
    expect(JSON.parse(r.body.toString()).data.propertyList.SerialNumber).toBe(cam.serial);
    expect((await ping()).status).toBe(200); // same password
    const list = (await curl(`${cam.url}/axis-cgi/applications/list.cgi`, auth)).body.toString();
    expect(list).toMatch(/Name="omnisight"[^>]*Status="Stopped"/);
  });

  it('rejects unknown camera ids with a clear error', () => {
    expect(() => fleet.faults('cam-99')).toThrow(/cam-01/);
  });
});
