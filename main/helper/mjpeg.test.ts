import { describe, expect, it } from 'vitest';
import { boundaryFrom, inspectJpeg, MjpegParser, type BadFrameReason, type ParsedFrame } from './mjpeg';

/** A minimal but structurally valid JPEG: SOI, optional COM, SOF0 with the size, SOS, data, EOI. */
function jpeg(width: number, height: number, opts: { ts?: number; fill?: number } = {}): Buffer {
  const parts: Buffer[] = [Buffer.from([0xff, 0xd8])];
  if (opts.ts !== undefined) {
    const text = Buffer.from(`omnisight-ts=${opts.ts}`);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(text.length + 2);
    parts.push(Buffer.from([0xff, 0xfe]), len, text);
  }
  const sof = Buffer.from([0xff, 0xc0, 0x00, 0x0b, 0x08, 0, 0, 0, 0, 0x01, 0x01, 0x11, 0x00]);
  sof.writeUInt16BE(height, 5);
  sof.writeUInt16BE(width, 7);
  parts.push(sof, Buffer.from([0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00]), Buffer.alloc(50, opts.fill ?? 0x55), Buffer.from([0xff, 0xd9]));
  return Buffer.concat(parts);
}

const part = (b: string, body: Buffer, headers: Record<string, string | number> = { 'Content-Length': body.length }): Buffer =>
  Buffer.concat([
    Buffer.from(`--${b}\r\nContent-Type: image/jpeg\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`),
    body,
    Buffer.from('\r\n'),
  ]);

function collect(boundary: string) {
  const frames: ParsedFrame[] = [];
  const bad: BadFrameReason[] = [];
  const p = new MjpegParser({ boundary, onFrame: (f) => frames.push(f), onBad: (r) => bad.push(r), maxFrameBytes: 10_000 });
  return { p, frames, bad };
}

describe('MJPEG framing', () => {
  it('reads the boundary from Content-Type, quoted or not, with or without leading dashes', () => {
    expect(boundaryFrom('multipart/x-mixed-replace; boundary=myboundary')).toBe('myboundary');
    expect(boundaryFrom('multipart/x-mixed-replace;boundary="--abc 1"')).toBe('abc 1');
    expect(boundaryFrom('image/jpeg')).toBeUndefined();
  });

  it('finds size and COM timestamp in a JPEG and rejects a truncated one', () => {
    expect(inspectJpeg(jpeg(640, 360, { ts: 1795222210400 }))).toEqual({ width: 640, height: 360, ts: 1795222210400 });
    expect(inspectJpeg(jpeg(64, 48).subarray(0, 40))).toBeUndefined();
  });

  it('splits parts by Content-Length across arbitrary chunking, header timestamp before COM', () => {
    const { p, frames, bad } = collect('b');
    const stream = Buffer.concat([
      part('b', jpeg(64, 48, { ts: 111 }), { 'Content-Length': jpeg(64, 48, { ts: 111 }).length, 'X-Frame-Timestamp': 222 }),
      part('b', jpeg(32, 16, { ts: 333 })),
    ]);
    for (let i = 0; i < stream.length; i += 7) p.push(stream.subarray(i, i + 7));
    expect(frames.map((f) => [f.width, f.height, f.ts])).toEqual([
      [64, 48, 222],
      [32, 16, 333],
    ]);
    expect(bad).toEqual([]);
  });

  it('falls back to the boundary scan without Content-Length and resynchronises after garbage', () => {
    const { p, frames, bad } = collect('xx');
    p.push(Buffer.from('some junk before the first part'));
    p.push(part('xx', jpeg(10, 10, { ts: 5 }), {}));
    p.push(Buffer.from('\x00\x01garbage in between\r\n'));
    p.push(part('xx', jpeg(20, 20, { ts: 6 })));
    p.push(Buffer.from('--xx\r\n'));
    expect(frames.map((f) => f.ts)).toEqual([5, 6]);
    expect(bad.filter((r) => r === 'garbage').length).toBeGreaterThanOrEqual(2);
  });

  it('counts truncated JPEGs and lying lengths and keeps going', () => {
    const { p, frames, bad } = collect('b');
    const good = jpeg(8, 8, { ts: 1 });
    p.push(part('b', good.subarray(0, good.length - 10), { 'Content-Length': good.length - 10 })); // EOI cut off
    p.push(part('b', good, { 'Content-Length': good.length + 50 })); // claims more than it sends
    p.push(part('b', jpeg(8, 8, { ts: 2 })));
    p.push(Buffer.from('--b\r\n'));
    expect(bad).toContain('truncated');
    expect(frames.map((f) => f.ts)).toContain(2);
  });

  it('drops an oversized part instead of buffering it', () => {
    const { p, frames, bad } = collect('b');
    p.push(Buffer.from('--b\r\nContent-Type: image/jpeg\r\n\r\n'));
    p.push(Buffer.alloc(20_000, 0x11));
    expect(bad).toContain('oversized');
    p.push(part('b', jpeg(8, 8, { ts: 9 })));
    p.push(Buffer.from('--b\r\n'));
    expect(frames.map((f) => f.ts)).toEqual([9]);
  });
});

describe('MJPEG parser memory bounds', () => {
  it('a boundary with no line end does not hold the rest of the stream (every state is bounded)', () => {
    const { p, frames, bad } = collect('b');
    p.push(Buffer.from('--b'));
    // 131 MB arrived in the report; 2 MB of no line end is plenty to show growth without the bound.
    for (let i = 0; i < 200; i++) p.push(Buffer.alloc(10_000, 0x41));
    expect(p.buffered).toBeLessThan(10_000 + 4096 + 300);
    expect(bad).toContain('bad_headers');
    // And the parser still reads a good part afterwards.
    p.push(Buffer.from('\r\n'));
    p.push(part('b', jpeg(8, 8, { ts: 7 })));
    p.push(Buffer.from('--b\r\n'));
    expect(frames.map((f) => f.ts)).toEqual([7]);
  });

  it('never holds more than one frame and its headers, whatever the input', () => {
    const { p } = collect('bnd');
    let max = 0;
    const chunks = [Buffer.from('--bnd'), Buffer.from('\r\nX: '), Buffer.alloc(5000, 0x20), Buffer.from('--bnd\r\n\r\n'), Buffer.alloc(30_000, 0xff), Buffer.from('--b'), Buffer.alloc(3000, 0x0d)];
    for (let round = 0; round < 50; round++)
      for (const c of chunks) {
        p.push(c);
        max = Math.max(max, p.buffered);
      }
    expect(max).toBeLessThanOrEqual(10_000 + 4096 + 5 + 256 + 4);
  });
});
