// The helper's logic, independent of how it is hosted: the process entry (index.ts) feeds it
// messages from main, and tests may host it in-process behind the same message boundary.
import { VapixError } from './digest';
import { fromHelperSchema, helperRequestSchema, toHelperSchema, type FromHelper, type HelperErrorKind } from './protocol';
import { startStream, type StreamReader, type StreamTuning, type Timers } from './stream';
import { missingApis, readDeviceFacts } from './device-facts';
import { VapixClient } from './vapix';
import { AppClient, uploadApp } from './apps';
import { runNativeBuild } from './build';

export interface HelperCoreOptions {
  /** Where replies, frames and status go; `transfer` lists buffers that may be moved, not copied. */
  send: (m: FromHelper, transfer?: ArrayBuffer[]) => void;
  now?: () => number;
  random?: () => number;
  timers?: Timers;
  tuning?: Partial<StreamTuning>;
}

export interface HelperCore {
  handle(raw: unknown): void;
  close(): void;
}

export function createHelperCore(o: HelperCoreOptions): HelperCore {
  const now = o.now ?? Date.now;
  const random = o.random ?? Math.random;
  const streams = new Map<string, StreamReader>();
  const uploads = new Map<string, AbortController>();
  // One Digest session per camera account, so app calls after the first skip the 401 round trip.
  const appClients = new Map<string, AppClient>();
  const appClient = (t: { host: string; port: number; username: string; password: string }): AppClient => {
    const key = JSON.stringify([t.host, t.port, t.username, t.password]);
    let c = appClients.get(key);
    if (!c) {
      if (appClients.size >= 1024) appClients.delete(appClients.keys().next().value!);
      c = new AppClient(t);
      appClients.set(key, c);
    }
    return c;
  };

  const respondError = (id: number, kind: HelperErrorKind, message: string): void =>
    o.send({ type: 'response', id, ok: false, error: { kind, message: message.slice(0, 2000) } });

  const run = async (id: number, rawReq: unknown): Promise<void> => {
    const parsed = helperRequestSchema.safeParse(rawReq);
    if (!parsed.success) {
      respondError(id, 'invalid_request', `Invalid helper request: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
      return;
    }
    const req = parsed.data;
    try {
      let value: unknown;
      switch (req.op) {
        case 'ping':
          value = { pid: process.pid };
          break;
        case 'probe': {
          const client = new VapixClient(req.target);
          // API discovery first, the APIs it lists, param.cgi on old firmware (device-facts.ts).
          const facts = await readDeviceFacts(client);
          const { via: _via, apis: _apis, ...info } = facts;
          // Adding a camera means configuring it later (MQTT, apps): prove the role now, and that it has what the product needs.
          if (req.requireAdmin) {
            const missing = await missingApis(client, facts);
            if (missing.length > 0) throw new VapixError('unsupported', missing.join(' '));
            await client.mqttStatus();
          }
          value = info;
          break;
        }
        case 'configureMqtt':
          await new VapixClient(req.target).configureMqtt(req.broker, req.clientId);
          value = { ok: true };
          break;
        case 'identity':
          value = await new VapixClient(req.target).identity();
          break;
        case 'calibration':
          value = await new VapixClient(req.target).calibration();
          break;
        case 'snapshot': {
          const jpeg = await new VapixClient(req.target).snapshot(req.width, req.height);
          value = { jpegBase64: jpeg.toString('base64'), bytes: jpeg.length };
          break;
        }
        case 'watch': {
          streams.get(req.streamId)?.close();
          streams.set(
            req.streamId,
            startStream(req, {
              now,
              random,
              timers: o.timers,
              tuning: o.tuning,
              onStatus: (status) => o.send({ type: 'status', status }),
              onFrame: (f) => {
                // A fresh ArrayBuffer per frame, so it can be transferred rather than copied.
                const jpeg = new Uint8Array(f.jpeg.length);
                jpeg.set(f.jpeg);
                o.send({ type: 'frame', streamId: req.streamId, cameraId: req.cameraId, ts: f.ts, width: f.width, height: f.height, jpeg }, [jpeg.buffer]);
              },
            }),
          );
          value = { ok: true };
          break;
        }
        case 'unwatch':
          streams.get(req.streamId)?.close();
          streams.delete(req.streamId);
          value = { ok: true };
          break;
        case 'uploadApp': {
          const ac = new AbortController();
          uploads.set(req.uploadId, ac);
          try {
            value = await uploadApp(req.target, req.file, { signal: ac.signal, onProgress: (sent, total) => o.send({ type: 'progress', id: req.uploadId, sent, total }) });
          } finally {
            uploads.delete(req.uploadId);
          }
          break;
        }
        case 'cancelUpload': {
          const ac = uploads.get(req.uploadId);
          ac?.abort();
          value = { cancelled: !!ac };
          break;
        }
        case 'appControl':
          value = await appClient(req.target).control(req.action, req.package);
          break;
        case 'listApps':
          value = { apps: await appClient(req.target).list() };
          break;
        case 'allowUnsigned':
          value = { allowUnsigned: await appClient(req.target).allowUnsigned(req.set) };
          break;
        case 'appLog':
          value = { text: await appClient(req.target).log(req.app) };
          break;
        case 'buildCameraApp':
          value = await runNativeBuild(req, (line) => o.send({ type: 'progress', id: req.buildId, line }));
          break;
      }
      o.send({ type: 'response', id, ok: true, value });
    } catch (err) {
      if (err instanceof VapixError) respondError(id, err.kind, err.message);
      else respondError(id, 'internal', `The helper failed: ${(err as Error).message}`);
    }
  };

  return {
    handle(raw) {
      const msg = toHelperSchema.safeParse(raw);
      if (!msg.success) {
        o.send({ type: 'log', level: 'warn', msg: 'helper ignored a malformed message from main' });
        return;
      }
      void run(msg.data.id, msg.data.req);
    },
    close() {
      for (const u of uploads.values()) u.abort();
      for (const s of streams.values()) s.close();
      streams.clear();
    },
  };
}

/** Main-side check of what the helper says; anything else is dropped and counted by the caller. */
export const parseFromHelper = (raw: unknown): FromHelper | undefined => {
  const r = fromHelperSchema.safeParse(raw);
  return r.success ? r.data : undefined;
};
