// One MJPEG stream from one camera at the size and rate a viewer asked for: reconnects with
// exponential backoff, a per-stream circuit breaker (open after N consecutive failures, one
// half-open probe later), stall detection, and counts of everything that was wrong on the wire.
import type http from 'node:http';
import type { CameraId } from '../../preload/contract/camera-id';
import { DigestSession, VapixError, type Target } from './digest';
import { boundaryFrom, MjpegParser, type BadFrameReason, type ParsedFrame } from './mjpeg';
import type { StreamState, StreamStatus } from './protocol';

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface StreamTuning {
  /** No frame for this long while connected → stalled (and a reconnect). */
  stallMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Consecutive failures that open the circuit. */
  breakerThreshold: number;
  /** How long an open circuit waits before one half-open attempt. */
  breakerOpenMs: number;
  connectTimeoutMs: number;
  maxFrameBytes: number;
  /** Frames forwarded may exceed the asked rate by this factor (cameras round their rates). */
  rateTolerance: number;
  /** Bytes a second the helper reads per stream: at least this, or asked fps × pixels × this. */
  minBytesPerSecond: number;
  bytesPerPixel: number;
}

export const defaultTuning: StreamTuning = {
  stallMs: 3000,
  backoffBaseMs: 500,
  backoffMaxMs: 15_000,
  breakerThreshold: 5,
  breakerOpenMs: 30_000,
  connectTimeoutMs: 8000,
  maxFrameBytes: 4 * 1024 * 1024,
  rateTolerance: 1.5,
  minBytesPerSecond: 1024 * 1024,
  // A JPEG is far below one byte per pixel at any quality a camera streams; 1.5 leaves room.
  bytesPerPixel: 1.5,
};

export interface StreamSpec {
  streamId: string;
  cameraId: CameraId;
  target: Target;
  width: number;
  height: number;
  fps: number;
}

export interface StreamDeps {
  onFrame(f: ParsedFrame & { ts: number }): void;
  onStatus(s: StreamStatus): void;
  now: () => number;
  random: () => number;
  timers?: Timers;
  tuning?: Partial<StreamTuning>;
}

export interface StreamReader {
  status(): StreamStatus;
  close(): void;
}

export function startStream(spec: StreamSpec, deps: StreamDeps): StreamReader {
  const tuning = { ...defaultTuning, ...deps.tuning };
  const timers = deps.timers ?? realTimers;
  const { now } = deps;
  const session = new DigestSession(spec.target);
  const path = `/axis-cgi/mjpg/video.cgi?resolution=${spec.width}x${spec.height}&fps=${spec.fps}&compression=30&camera=1`;

  let state: StreamState = 'connecting';
  let since = now();
  let closed = false;
  let failures = 0;
  let reconnects = 0;
  let frames = 0;
  let badFrames = 0;
  const badByReason: Record<string, number> = {};
  let lastError: string | null = null;
  let lastFrameTs: number | null = null;
  const recent: number[] = [];
  // What the camera is allowed to send: the asked rate (token bucket) and a byte budget per
  // second. A camera that ignores the asked rate (one sent ~821 fps of 200 kB frames for 1 fps)
  // would otherwise flood main and the UI and grow the helper by hundreds of MB.
  const maxRate = Math.max(1, spec.fps) * tuning.rateTolerance;
  const burst = Math.max(2, Math.ceil(maxRate));
  let tokens = burst;
  let tokensAt = now();
  const byteBudget = Math.max(tuning.minBytesPerSecond, spec.fps * spec.width * spec.height * tuning.bytesPerPixel);
  let windowStart = now();
  let windowBytes = 0;
  let windowFrames = 0;
  let dropped = 0;
  let warning: string | null = null;
  let overrunAt = -Infinity;
  let pauseTimer: unknown;
  let res: http.IncomingMessage | undefined;
  let retryTimer: unknown;
  let stallTimer: unknown;
  let statusTimer: unknown;

  const fps = (): number => {
    const t = now();
    while (recent.length && recent[0]! < t - 2000) recent.shift();
    return Math.round((recent.length / 2) * 10) / 10;
  };

  const status = (): StreamStatus => ({
    streamId: spec.streamId,
    cameraId: spec.cameraId,
    state,
    since,
    fps: fps(),
    frames,
    badFrames,
    badByReason: { ...badByReason },
    reconnects,
    lastError,
    lastFrameTs,
    dropped,
    warning,
  });

  const setState = (next: StreamState): void => {
    if (next === state) return;
    state = next;
    since = now();
    deps.onStatus(status());
  };

  // Status once a second while open, so fps and counters stay fresh without a message per frame.
  const tick = (): void => {
    if (closed) return;
    deps.onStatus(status());
    statusTimer = timers.setTimeout(tick, 1000);
  };

  const bad = (reason: BadFrameReason | 'http' | 'no_boundary'): void => {
    badFrames++;
    badByReason[reason] = (badByReason[reason] ?? 0) + 1;
  };

  /** Rolls the one-second accounting window; says so to the user while the camera overruns. */
  const rollWindow = (t: number): void => {
    if (t - windowStart < 1000) return;
    const secs = (t - windowStart) / 1000;
    const rate = windowFrames / secs;
    const bytesPerSec = windowBytes / secs;
    if (rate > maxRate || bytesPerSec > byteBudget) {
      overrunAt = t;
      const mb = (bytesPerSec / 1e6).toFixed(1);
      warning = `The camera sends about ${Math.round(rate)} fps (${mb} MB/s) where ${spec.fps} fps was asked: the helper drops the excess and slows the stream. Check the camera's stream settings.`;
    } else if (warning && t - overrunAt > 5000) warning = null;
    windowStart = t;
    windowBytes = 0;
    windowFrames = 0;
  };

  /** One frame may pass when the bucket holds a token (refilled at the asked rate × tolerance). */
  const admit = (t: number): boolean => {
    tokens = Math.min(burst, tokens + ((t - tokensAt) / 1000) * maxRate);
    tokensAt = t;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };

  const drop = (): void => {
    timers.clearTimeout(stallTimer);
    timers.clearTimeout(pauseTimer);
    if (res) {
      res.removeAllListeners('data');
      res.destroy();
      res = undefined;
    }
  };

  const scheduleRetry = (): void => {
    if (closed) return;
    let delay: number;
    if (failures >= tuning.breakerThreshold) {
      setState('circuit_open');
      delay = tuning.breakerOpenMs;
    } else {
      const base = Math.min(tuning.backoffMaxMs, tuning.backoffBaseMs * 2 ** Math.max(0, failures - 1));
      delay = base * (0.75 + deps.random() * 0.5); // jitter, so a fleet does not reconnect in step
    }
    retryTimer = timers.setTimeout(() => void connect(), delay);
  };

  const fail = (message: string): void => {
    drop();
    if (closed) return;
    failures++;
    lastError = message;
    if (state !== 'stalled' && failures < tuning.breakerThreshold) setState('offline');
    deps.onStatus(status());
    scheduleRetry();
  };

  const armStall = (): void => {
    timers.clearTimeout(stallTimer);
    stallTimer = timers.setTimeout(() => {
      if (closed) return;
      lastError = `No frame for more than ${Math.round(tuning.stallMs / 1000)} s`;
      setState('stalled');
      // Reconnect: a stalled connection rarely recovers on its own, a new one often does.
      drop();
      reconnects++;
      scheduleRetry();
    }, tuning.stallMs);
  };

  const connect = async (): Promise<void> => {
    if (closed) return;
    if (state !== 'stalled') setState(failures >= tuning.breakerThreshold ? 'circuit_open' : 'connecting');
    let r: http.IncomingMessage;
    try {
      r = await session.open({ path, timeoutMs: tuning.connectTimeoutMs });
    } catch (err) {
      fail(err instanceof VapixError ? err.message : (err as Error).message);
      return;
    }
    if (closed) {
      r.destroy();
      return;
    }
    if (r.statusCode !== 200) {
      r.resume();
      bad('http');
      fail(r.statusCode === 403 ? `User "${spec.target.username}" may not view video (HTTP 403).` : `The camera answered video.cgi with HTTP ${r.statusCode}.`);
      return;
    }
    const boundary = boundaryFrom(r.headers['content-type']);
    if (!boundary) {
      r.resume();
      bad('no_boundary');
      fail(`The camera's video reply is not multipart (Content-Type: ${String(r.headers['content-type']).slice(0, 80)}).`);
      return;
    }
    res = r;
    const parser = new MjpegParser({
      boundary,
      maxFrameBytes: tuning.maxFrameBytes,
      onFrame: (f) => {
        const t = now();
        windowFrames++;
        if (!admit(t)) {
          dropped++;
          armStall(); // the camera is alive, just too fast
          return;
        }
        frames++;
        failures = 0; // a frame closes the circuit
        recent.push(t);
        const ts = f.ts ?? t;
        lastFrameTs = ts;
        lastError = null;
        armStall();
        setState('online');
        deps.onFrame({ ...f, ts });
      },
      onBad: (reason) => bad(reason),
    });
    armStall();
    r.on('data', (chunk: Buffer) => {
      const t = now();
      rollWindow(t);
      windowBytes += chunk.length;
      try {
        parser.push(chunk);
        if (windowBytes > byteBudget && res === r) {
          // Over the byte budget: stop reading until the window ends. TCP backpressure then
          // slows the camera itself, instead of the helper parsing (and dropping) the flood.
          r.pause();
          timers.clearTimeout(pauseTimer);
          pauseTimer = timers.setTimeout(() => {
            if (res === r) r.resume();
          }, Math.max(1, 1000 - (t - windowStart)));
        }
      } catch (err) {
        bad('garbage');
        fail(`Unreadable video stream: ${(err as Error).message}`);
      }
    });
    r.on('end', () => {
      if (res === r) fail('The camera ended the video stream.');
    });
    r.on('error', (err) => {
      if (res === r) fail(`The video stream broke off: ${err.message}`);
    });
    r.on('close', () => {
      if (res === r) fail('The camera closed the video stream.');
    });
  };

  void connect();
  statusTimer = timers.setTimeout(tick, 1000);

  return {
    status,
    close() {
      closed = true;
      timers.clearTimeout(retryTimer);
      timers.clearTimeout(statusTimer);
      drop();
    },
  };
}
