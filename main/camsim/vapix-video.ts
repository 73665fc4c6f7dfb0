// Video: MJPEG streams (video.cgi) and snapshots (image.cgi), rendered once per size and shared by viewers.
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { HttpFail, send, type Req, type Res, type Route } from './http-kit';
import { splicedJpegEncoder, type SplicedJpegEncoder } from './jpeg-splice';
import { encodeJpeg, framePainter, qualityFor, renderBackground, renderFrame, withTimestampComment, type FramePainter } from './render';
import { SENSOR_FPS, type CameraModel, type SceneEngine } from './scene';
import type { FaultState } from './types';
import { RESOLUTIONS, type ParamStore } from './vapix-params';

const BOUNDARY = 'myboundary';

interface Viewer {
  res: http.ServerResponse;
  fps: number;
  lastTs: number;
}

interface Hub {
  width: number;
  height: number;
  compression: number;
  viewers: Set<Viewer>;
  timer?: NodeJS.Timeout;
  /** A loop is rendering or waiting for this hub. */
  running?: boolean;
  last?: { tick: number; ts: number; jpeg: Buffer };
  /** This stream's frame buffer (one per hub: its loop renders and encodes one frame at a time). */
  painter?: FramePainter;
  /** This stream's encoder: the background's MCU rows encoded once, the rows the actors touch encoded per frame. */
  encoder?: SplicedJpegEncoder;
  /** The last encoding, by the drawn pixels' key: a frame where nothing in view moved is the same picture. */
  encoded?: { key: string; jpeg: Buffer };
}

export interface VideoEndpoints {
  routes: Route[];
  /** Stop every stream (the camera went down). */
  stopAll(): void;
}

export function videoEndpoints(o: { scene: SceneEngine; cam: CameraModel; now: () => number; params: ParamStore; fault: FaultState; crashed: () => boolean }): VideoEndpoints {
  const { scene, cam, now } = o;
  const hubs = new Map<string, Hub>();
  const backgrounds = new Map<string, Buffer>();

  const videoParams = (url: URL): { width: number; height: number; fps: number; compression: number } => {
    // A stream profile (streamprofile=<name>) supplies defaults; arguments in the URL override them.
    const profileName = url.searchParams.get('streamprofile');
    let profile = new URLSearchParams();
    if (profileName !== null) {
      const slot = o.params.all().find(([k, v]) => /^root\.StreamProfile\.S\d+\.Name$/.test(k) && v === profileName);
      if (!slot) throw new HttpFail(400, `Error: Invalid value '${profileName}' for parameter streamprofile`);
      profile = new URLSearchParams(o.params.get(slot[0].replace(/Name$/, 'Parameters')) ?? '');
    }
    const arg = (k: string): string | null => url.searchParams.get(k) ?? profile.get(k);
    const res = arg('resolution') ?? o.params.get('root.Image.I0.Appearance.Resolution') ?? '640x360';
    // Only the sizes the camera lists in Properties.Image.Resolution: any other is refused, as firmware does.
    if (!RESOLUTIONS.includes(res)) throw new HttpFail(400, `Error: Invalid value '${res}' for parameter resolution`);
    const [width, height] = res.split('x').map(Number) as [number, number];
    const fpsRaw = arg('fps') ?? o.params.get('root.Image.I0.Stream.FPS') ?? '0';
    const fps = Number(fpsRaw);
    if (!/^\d+$/.test(fpsRaw) || fps > 60) throw new HttpFail(400, `Error: Invalid value '${fpsRaw}' for parameter fps`);
    const compRaw = arg('compression') ?? o.params.get('root.Image.I0.Appearance.Compression') ?? '30';
    const compression = Number(compRaw);
    if (!/^\d+$/.test(compRaw) || compression > 100) throw new HttpFail(400, `Error: Invalid value '${compRaw}' for parameter compression`);
    const camera = url.searchParams.get('camera') ?? '1';
    if (camera !== '1') throw new HttpFail(400, `Error: Invalid value '${camera}' for parameter camera`);
    return { width, height, fps: fps === 0 ? SENSOR_FPS : Math.min(fps, SENSOR_FPS), compression };
  };

  const background = (width: number, height: number): Buffer => {
    const key = `${width}x${height}`;
    let bg = backgrounds.get(key);
    if (!bg) {
      bg = renderBackground(scene, cam, width, height);
      backgrounds.set(key, bg);
      if (backgrounds.size > 6) backgrounds.delete(backgrounds.keys().next().value!);
    }
    return bg;
  };

  // Encoders by size and quality: building one encodes the whole background (a full frame's cost),
  // so a stream that stops and starts again (a viewer reconnecting) keeps it.
  const encoders = new Map<string, SplicedJpegEncoder>();
  const encoderFor = (width: number, height: number, compression: number): SplicedJpegEncoder => {
    const key = `${width}x${height}@${qualityFor(compression)}`;
    let enc = encoders.get(key);
    if (!enc) {
      enc = splicedJpegEncoder(background(width, height), width, height, qualityFor(compression));
      encoders.set(key, enc);
      if (encoders.size > 4) encoders.delete(encoders.keys().next().value!);
    }
    return enc;
  };

  const renderAt = async (tick: number, width: number, height: number, compression: number): Promise<{ ts: number; jpeg: Buffer }> => {
    const ts = scene.timeOfTick(tick);
    const rgb = renderFrame(background(width, height), cam, scene.snapshot(tick), width, height);
    return { ts, jpeg: await encodeJpeg(rgb, width, height, compression, ts) };
  };

  /**
   * The hub's next frame: painted in its own buffer, encoded once (or the same picture's last
   * encoding) for every viewer. Streams use the row-splicing encoder (jpeg-splice.ts): only the MCU
   * rows the actors touch are encoded again, the rest are the background's rows, as a camera's
   * hardware encoder would spare the host CPU; every frame is a complete baseline JPEG.
   */
  const renderForHub = async (hub: Hub, tick: number): Promise<{ ts: number; jpeg: Buffer }> => {
    const ts = scene.timeOfTick(tick);
    hub.painter ??= framePainter(background(hub.width, hub.height), cam, hub.width, hub.height);
    hub.encoder ??= encoderFor(hub.width, hub.height, hub.compression);
    const { rgb, key, rects } = hub.painter.paint(scene.snapshot(tick));
    if (hub.encoded?.key !== key) hub.encoded = { key, jpeg: hub.encoder.encode(rgb, rects) };
    return { ts, jpeg: withTimestampComment(hub.encoded.jpeg, ts) };
  };

  // Exactly the part headers AXIS OS sends (Content-Type, Content-Length): a client that looks for
  // more must not find it here. The capture time travels in the JPEG's COM segment instead.
  const partHeader = (len: number): string => `--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${len}\r\n\r\n`;

  /** Write one part to one viewer, or a corrupted one while the corrupt switch has parts left. */
  const writePart = (v: Viewer, jpeg: Buffer): void => {
    if (o.fault.corrupt > 0) {
      o.fault.corrupt--;
      const variant = o.fault.corruptVariant++ % 3;
      if (variant === 0) {
        const junk = randomBytes(512 + (jpeg.length % 1024));
        v.res.write(partHeader(junk.length));
        v.res.write(junk);
        v.res.write('\r\n');
      } else if (variant === 1) {
        const cut = jpeg.subarray(0, Math.floor(jpeg.length / 2));
        v.res.write(partHeader(cut.length));
        v.res.write(cut);
        v.res.write('\r\n');
      } else {
        // Bytes outside any part: a reader must resynchronise on the next boundary.
        v.res.write(randomBytes(700));
        v.res.write(partHeader(jpeg.length));
        v.res.write(jpeg);
        v.res.write('\r\n');
      }
      return;
    }
    // One writev for the part's three pieces (the stream's CPU at 16 × 10 fps showed a write each).
    v.res.cork();
    v.res.write(partHeader(jpeg.length));
    v.res.write(jpeg);
    v.res.write('\r\n');
    v.res.uncork();
  };

  /**
   * One hub loop step: render the next tick ahead of its time (encoding is off the critical path),
   * then send it when its time comes. A loop that fell more than two frames behind jumps ahead
   * instead of queueing; a frame a little late is still sent rather than dropped.
   */
  const hubTick = (hub: Hub, key: string): void => {
    hub.timer = undefined;
    if (hub.viewers.size === 0 || o.crashed()) {
      hub.running = false;
      // Nobody watches: stop rendering. A hub from before a restart must not remove its successor.
      if (hubs.get(key) === hub) hubs.delete(key);
      return;
    }
    hub.running = true;
    const hubFps = Math.max(...[...hub.viewers].map((v) => v.fps));
    const stride = Math.max(1, Math.round(SENSOR_FPS / hubFps));
    const k = scene.tickAt(now());
    const fresh = (Math.floor(k / stride) + 1) * stride;
    // Never a tick twice; never further back than two frames.
    const next = hub.last && hub.last.tick + stride >= k - 2 * stride ? hub.last.tick + stride : Math.max(fresh, (hub.last?.tick ?? -1) + 1);
    void (async () => {
      // Render once for every viewer of this size and compression.
      const frame = await renderForHub(hub, next);
      hub.timer = setTimeout(
        () => {
          hub.timer = undefined;
          if (hub.viewers.size > 0 && !o.crashed()) {
            hub.last = { tick: next, ...frame };
            if (!o.fault.stall) {
              for (const v of hub.viewers) {
                if (v.res.destroyed) continue;
                if (frame.ts - v.lastTs < 1000 / v.fps - 1000 / SENSOR_FPS / 2) continue;
                // A viewer that cannot keep up loses frames instead of queueing them.
                if (v.res.writableLength > frame.jpeg.length * 2) continue;
                v.lastTs = frame.ts;
                writePart(v, frame.jpeg);
              }
            }
          }
          hubTick(hub, key);
        },
        Math.max(0, frame.ts - now()),
      );
    })().catch(() => {
      hub.timer = setTimeout(() => hubTick(hub, key), 1000 / SENSOR_FPS);
    });
  };

  const mjpeg = (_req: Req, res: Res, url: URL): void => {
    const p = videoParams(url);
    const key = `${p.width}x${p.height}@${p.compression}`;
    let hub = hubs.get(key);
    if (!hub) {
      hub = { width: p.width, height: p.height, compression: p.compression, viewers: new Set() };
      hubs.set(key, hub);
    }
    const viewer: Viewer = { res, fps: p.fps, lastTs: -Infinity };
    hub.viewers.add(viewer);
    res.writeHead(200, { 'Content-Type': `multipart/x-mixed-replace; boundary=${BOUNDARY}`, 'Cache-Control': 'no-cache', Pragma: 'no-cache', Connection: 'close' });
    const h = hub;
    res.on('close', () => h.viewers.delete(viewer));
    if (!hub.running) hubTick(hub, key);
  };

  const snapshot = async (res: Res, url: URL): Promise<void> => {
    const p = videoParams(url);
    const k = scene.tickAt(now());
    const hub = hubs.get(`${p.width}x${p.height}@${p.compression}`);
    const frame = hub?.last && k - hub.last.tick <= 1 ? hub.last : await renderAt(k, p.width, p.height, p.compression);
    let jpeg = frame.jpeg;
    if (o.fault.corrupt > 0) {
      o.fault.corrupt--;
      jpeg = jpeg.subarray(0, Math.floor(jpeg.length / 2));
    }
    send(res, 200, 'image/jpeg', jpeg, { 'Cache-Control': 'no-cache' });
  };

  return {
    routes: [
      { path: '/axis-cgi/mjpg/video.cgi', need: 'viewer', handle: (req, res, url) => mjpeg(req, res, url) },
      { path: '/axis-cgi/jpg/image.cgi', need: 'viewer', handle: (_req, res, url) => snapshot(res, url) },
    ],
    stopAll: () => {
      for (const hub of hubs.values()) {
        if (hub.timer) clearTimeout(hub.timer);
        hub.running = false;
        for (const v of hub.viewers) v.res.destroy();
      }
      hubs.clear();
    },
  };
}
