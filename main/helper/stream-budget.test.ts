// A camera that ignores the asked frame rate must not flood the helper, main or the UI: the
// helper forwards at most the asked rate, reads at most its byte budget (TCP slows the camera),
// and tells the user. Against a real HTTP peer that floods as fast as the socket takes it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCameraId } from '../../preload/contract/camera-id';
import type { StreamStatus } from './protocol';
import { startStream, type StreamReader } from './stream';

/** A minimal JPEG (SOI, SOF0, SOS, padding, EOI) of `bytes` bytes. */
function jpeg(bytes: number): Buffer {
  const head = Buffer.from([0xff, 0xd8, 0xff, 0xc0, 0x00, 0x0b, 0x08, 0x01, 0x68, 0x02, 0x80, 0x01, 0x01, 0x11, 0x00, 0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00]);
  return Buffer.concat([head, Buffer.alloc(bytes - head.length - 2, 0x55), Buffer.from([0xff, 0xd9])]);
}

let server: http.Server | undefined;
let reader: StreamReader | undefined;
afterEach(async () => {
  reader?.close();
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = reader = undefined;
});

/** Serves video.cgi as fast as the socket drains, whatever fps was asked; counts what it wrote. */
async function floodingCamera(frameBytes: number): Promise<{ port: number; written: () => number }> {
  let written = 0;
  const frame = jpeg(frameBytes);
  const part = Buffer.concat([Buffer.from(`--flood\r\nContent-Type: image/jpeg\r\nContent-Length: ${frame.length}\r\n\r\n`), frame, Buffer.from('\r\n')]);
  server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'multipart/x-mixed-replace; boundary=flood' });
    const pump = (): void => {
      while (!res.destroyed) {
        written += part.length;
        if (!res.write(part)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as AddressInfo).port, written: () => written };
}

describe('stream budget', () => {
  it('forwards at most the asked rate from a camera that floods, reads a bounded number of bytes, and says so', async () => {
    const cam = await floodingCamera(200_000);
    const forwarded: number[] = [];
    let last: StreamStatus | undefined;
    const started = Date.now();
    reader = startStream(
      { streamId: 's1', cameraId: parseCameraId('c1'), target: { host: '127.0.0.1', port: cam.port, username: 'u', password: 'p' }, width: 640, height: 360, fps: 1 },
      { onFrame: (f) => forwarded.push(f.jpeg.length), onStatus: (s) => (last = s), now: Date.now, random: () => 0.5 },
    );
    await new Promise((r) => setTimeout(r, 3200));
    const secs = (Date.now() - started) / 1000;
    const status = reader.status();
    // Asked 1 fps: the bucket lets a burst of 2 and 1.5 a second after it.
    expect(forwarded.length).toBeLessThanOrEqual(2 + Math.ceil(1.5 * secs));
    expect(forwarded.length).toBeGreaterThanOrEqual(2);
    expect(status.dropped).toBeGreaterThan(0);
    // Byte budget 1 MiB/s read (plus what sits in socket buffers): without it the reader takes
    // hundreds of MB a second from a loopback flood.
    expect(cam.written()).toBeLessThan((secs + 1) * 1024 * 1024 + 8 * 1024 * 1024);
    expect(status.warning ?? last?.warning).toMatch(/where 1 fps was asked/);
    expect(status.state).toBe('online');
  });

  it('says nothing and drops nothing while a camera keeps to the asked rate', async () => {
    const frame = jpeg(20_000);
    server = http.createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'multipart/x-mixed-replace; boundary=b' });
      const t = setInterval(() => res.write(Buffer.concat([Buffer.from(`--b\r\nContent-Length: ${frame.length}\r\n\r\n`), frame, Buffer.from('\r\n')])), 100);
      res.on('close', () => clearInterval(t));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const forwarded: number[] = [];
    reader = startStream(
      { streamId: 's2', cameraId: parseCameraId('c2'), target: { host: '127.0.0.1', port: (server.address() as AddressInfo).port, username: 'u', password: 'p' }, width: 640, height: 360, fps: 10 },
      { onFrame: (f) => forwarded.push(f.jpeg.length), onStatus: () => {}, now: Date.now, random: () => 0.5 },
    );
    await new Promise((r) => setTimeout(r, 2200));
    expect(forwarded.length).toBeGreaterThanOrEqual(15);
    expect(reader.status().dropped).toBe(0);
    expect(reader.status().warning).toBeNull();
  });
});
