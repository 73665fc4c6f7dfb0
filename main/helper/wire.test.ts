// The helper's VAPIX client and MJPEG reader against the simulated fleet, over real HTTP.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCameraId } from '../../preload/contract/camera-id';
import { startSimulatedFleet } from '../camsim';
import { VapixError, type Target } from './digest';
import type { StreamStatus } from './protocol';
import { startStream } from './stream';
import { VapixClient } from './vapix';

type Fleet = Awaited<ReturnType<typeof startSimulatedFleet>>;
let fleet: Fleet;
const targetOf = (i: number, user?: { username: string; password: string }): Target => {
  const c = fleet.cameras[i]!;
  const u = new URL(c.url);
  return { host: u.hostname, port: Number(u.port), username: user?.username ?? c.username, password: user?.password ?? c.password };
};
const failure = async (p: Promise<unknown>): Promise<VapixError> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VapixError);
  return err as VapixError;
};
const freePort = async (): Promise<number> => {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
};
const until = async (cond: () => boolean, ms: number): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
};

beforeAll(async () => {
  fleet = await startSimulatedFleet({ cameras: 3, seed: 7 });
});
afterAll(async () => {
  await fleet?.stop();
});

describe('VAPIX client against the simulator', () => {
  it('probes model, serial, architecture and SoC with Digest', async () => {
    const info = await new VapixClient(targetOf(0)).probe();
    expect(info.serial).toBe(fleet.cameras[0]!.serial);
    expect(fleet.cameras[0]!.model).toContain(info.model);
    expect(info.architecture).toBe('aarch64');
    expect(info.soc).toMatch(/Artpec-[89]/);
    expect(info.firmware).not.toBe('');
  });

  it('says the password is wrong on 401', async () => {
    const err = await failure(new VapixClient(targetOf(0, { username: fleet.cameras[0]!.username, password: 'wrong' })).probe());
    expect(err.kind).toBe('unauthorized');
    expect(err.message).toMatch(/refused user .* password/);
  });

  it('says an administrator is needed on 403', async () => {
    const viewer = fleet.cameras[1]!.users?.find((u) => u.role === 'viewer');
    expect(viewer).toBeDefined();
    const client = new VapixClient(targetOf(1, viewer));
    // A viewer may not read the full device properties (operator and up), nor the MQTT client.
    for (const err of [await failure(client.probe()), await failure(client.mqttStatus())]) {
      expect(err.kind).toBe('forbidden');
      expect(err.message).toMatch(/needs an administrator account\. Enter an administrator account/);
    }
  });

  it('says nothing answers on a closed port', async () => {
    const err = await failure(new VapixClient({ host: '127.0.0.1', port: await freePort(), username: 'a', password: 'b' }).probe());
    expect(err.kind).toBe('refused');
    expect(err.message).toMatch(/Nothing answers at 127\.0\.0\.1:\d+/);
  });

  it('says a plain web server is not an Axis camera, and survives bogus JSON', async () => {
    let reply = (res: http.ServerResponse): void => void res.writeHead(404).end('not here');
    const server = http.createServer((_req, res) => reply(res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const t = { host: '127.0.0.1', port: (server.address() as AddressInfo).port, username: 'root', password: 'x' };
    try {
      expect((await failure(new VapixClient(t).probe())).kind).toBe('not_axis');
      reply = (res) => void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"data": [1, 2');
      const err = await failure(new VapixClient(t).probe());
      expect(err.kind).toBe('not_axis');
      expect(err.message).toMatch(/is not an Axis camera/);
      reply = (res) => void res.writeHead(200).end(Buffer.alloc(400 * 1024, 0x20));
      expect((await failure(new VapixClient(t).probe())).kind).toBe('too_large');
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('times out on a camera that does not answer', async () => {
    fleet.faults(fleet.cameras[2]!.id).slowReplies(2000);
    try {
      const err = await failure(new VapixClient(targetOf(2), 300).probe());
      expect(err.kind).toBe('timeout');
    } finally {
      fleet.faults(fleet.cameras[2]!.id).slowReplies(0);
    }
  });
});

describe('MJPEG reader against the simulator', () => {
  it('gets frames with capture timestamps, counts corrupt ones, detects a stall and recovers', async () => {
    const cam = fleet.cameras[0]!;
    const frames: { ts: number; width: number; height: number }[] = [];
    let last: StreamStatus | undefined;
    const states: string[] = [];
    const reader = startStream(
      { streamId: 's1', cameraId: parseCameraId(cam.id), target: targetOf(0), width: 320, height: 180, fps: 10 },
      {
        now: Date.now,
        random: () => 0.5,
        tuning: { stallMs: 800, backoffBaseMs: 100 },
        onFrame: (f) => frames.push({ ts: f.ts, width: f.width, height: f.height }),
        onStatus: (s) => {
          last = s;
          if (states.at(-1) !== s.state) states.push(s.state);
        },
      },
    );
    try {
      await until(() => frames.length >= 5, 5000);
      const t0 = Date.now();
      expect(frames[0]).toMatchObject({ width: 320, height: 180 });
      // Capture times from the camera's clock, not arrival times: close to now, strictly increasing.
      for (const f of frames) expect(Math.abs(f.ts - t0)).toBeLessThan(5000);
      expect(frames[4]!.ts).toBeGreaterThan(frames[0]!.ts);

      fleet.faults(cam.id).corruptNextFrames(3);
      await until(() => (reader.status().badFrames ?? 0) >= 3, 5000).catch((e: unknown) => {
        console.log(JSON.stringify(reader.status()), frames.length);
        throw e;
      });
      const afterCorrupt = frames.length;
      await until(() => frames.length > afterCorrupt + 2, 5000);

      fleet.faults(cam.id).stallStream(true);
      await until(() => reader.status().state === 'stalled', 4000);
      fleet.faults(cam.id).stallStream(false);
      await until(() => reader.status().state === 'online', 6000);
      expect(states).toEqual(expect.arrayContaining(['online', 'stalled']));
      expect(last?.badFrames).toBeGreaterThanOrEqual(3);
    } finally {
      reader.close();
    }
  });

  it('opens the circuit after repeated refusals and closes it once the camera is back', async () => {
    const cam = fleet.cameras[1]!;
    fleet.faults(cam.id).refuseConnections(true);
    const reader = startStream(
      { streamId: 's2', cameraId: parseCameraId(cam.id), target: targetOf(1), width: 160, height: 90, fps: 5 },
      { now: Date.now, random: () => 0.5, tuning: { backoffBaseMs: 20, backoffMaxMs: 40, breakerThreshold: 3, breakerOpenMs: 400 }, onFrame: () => {}, onStatus: () => {} },
    );
    try {
      await until(() => reader.status().state === 'circuit_open', 4000);
      expect(reader.status().lastError).toMatch(/refused|reached|closed/);
      fleet.faults(cam.id).refuseConnections(false);
      await until(() => reader.status().state === 'online', 5000);
    } finally {
      fleet.faults(cam.id).refuseConnections(false);
      reader.close();
    }
  });
});
