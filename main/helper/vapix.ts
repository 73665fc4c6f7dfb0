// VAPIX calls the desktop needs: device probe, parameters, the camera's MQTT client, and the
// OmniSight identity endpoint. Replies are bounded and parsed strictly; anything odd becomes a
// VapixError whose message says what to check.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { DigestSession, readBody, VapixError, type Target } from './digest';
import { pinnedSocket, type PeerCertificate, type TlsPolicy, type TlsTrust } from './tls';

const MAX_JSON_BYTES = 256 * 1024;
const MAX_TEXT_BYTES = 512 * 1024;

const where = (t: Target): string => `${t.host}:${t.port}`;

export interface DeviceInfo {
  model: string;
  productName: string;
  serial: string;
  architecture: string;
  soc: string;
  firmware: string;
}

const propertyList = z
  .object({
    ProdNbr: z.string().max(200).optional(),
    ProdFullName: z.string().max(200).optional(),
    SerialNumber: z.string().max(64),
    Architecture: z.string().max(64).optional(),
    Soc: z.string().max(200).optional(),
    Version: z.string().max(64).optional(),
  })
  .loose();

const deviceInfoError = z.object({ error: z.object({ code: z.number(), message: z.string().max(500).optional() }).loose() }).loose();
const deviceInfoReply = z.object({ data: z.object({ propertyList }).loose() }).loose();

function statusCheck(status: number | undefined, t: Target, what: string): void {
  if (status === 403)
    throw new VapixError('forbidden', `User "${t.username}" may log in to ${where(t)} but its role is too low: this needs an administrator account. Enter an administrator account for this camera.`);
  if (status === 404) throw new VapixError('not_axis', `${where(t)} has no ${what}: it is not an Axis camera, or not its HTTP port. Check the address and port.`);
  if (status === undefined || status >= 400) throw new VapixError('http', `${where(t)} answered ${what} with HTTP ${status}. Try again; check the camera's firmware if it persists.`);
}

function parseJson(body: Buffer, t: Target, what: string): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new VapixError('bad_reply', `${where(t)} sent an unreadable ${what} reply (not JSON). It may not be an Axis camera or runs unusual firmware.`);
  }
}

export class VapixClient {
  private readonly session: DigestSession;

  constructor(
    readonly target: Target,
    private readonly timeoutMs = 8000,
  ) {
    this.session = new DigestSession(target);
  }

  get digest(): DigestSession {
    return this.session;
  }

  private async postJson(path: string, body: unknown, what: string): Promise<unknown> {
    const res = await this.session.open({ method: 'POST', path, body: JSON.stringify(body), timeoutMs: this.timeoutMs });
    if (res.statusCode !== 200) {
      res.resume();
      statusCheck(res.statusCode, this.target, what);
    }
    return parseJson(await readBody(res, MAX_JSON_BYTES, this.target, this.timeoutMs), this.target, what);
  }

  /** basicdeviceinfo getAllProperties: proves it is an Axis device and fills the registry row. */
  async probe(): Promise<DeviceInfo> {
    const t = this.target;
    let raw: unknown;
    try {
      raw = await this.postJson('/axis-cgi/basicdeviceinfo.cgi', { apiVersion: '1.0', context: 'omnisight', method: 'getAllProperties' }, 'basicdeviceinfo.cgi');
    } catch (err) {
      if (err instanceof VapixError && (err.kind === 'bad_reply' || err.kind === 'http'))
        throw new VapixError('not_axis', `${where(t)} is not an Axis camera: its basicdeviceinfo.cgi reply is missing or unreadable. Check the address and port.`);
      throw err;
    }
    const failed = deviceInfoError.safeParse(raw);
    if (failed.success)
      throw new VapixError('bad_reply', `${where(t)} refused basicdeviceinfo.cgi (error ${failed.data.error.code}: ${failed.data.error.message ?? 'no message'}). Update the camera's firmware or try again.`);
    const parsed = deviceInfoReply.safeParse(raw);
    if (!parsed.success) throw new VapixError('not_axis', `${where(t)} is not an Axis camera: basicdeviceinfo.cgi did not return device properties. Check the address and port.`);
    const p = parsed.data.data.propertyList;
    return {
      model: p.ProdNbr ?? '',
      productName: p.ProdFullName ?? '',
      serial: p.SerialNumber.toUpperCase(),
      architecture: p.Architecture ?? '',
      soc: p.Soc ?? '',
      firmware: p.Version ?? '',
    };
  }

  /** param.cgi?action=list: `root.Group.Name=value` lines into a map. */
  async params(group: string): Promise<Record<string, string>> {
    const path = `/axis-cgi/param.cgi?action=list&group=${encodeURIComponent(group)}`;
    const res = await this.session.open({ path, timeoutMs: this.timeoutMs });
    if (res.statusCode !== 200) {
      res.resume();
      statusCheck(res.statusCode, this.target, 'param.cgi');
    }
    const text = (await readBody(res, MAX_TEXT_BYTES, this.target, this.timeoutMs)).toString('utf8');
    if (/^#\s*Error/im.test(text) || /^Error/i.test(text.trim()))
      throw new VapixError('bad_reply', `${where(this.target)} refused parameter group ${group}: ${text.trim().slice(0, 200)}`);
    const out: Record<string, string> = {};
    for (const line of text.split(/\r?\n/)) {
      const eq = line.indexOf('=');
      if (eq > 0) out[line.slice(0, eq).trim()] = line.slice(eq + 1);
    }
    return out;
  }

  private async mqttCall(method: string, params?: unknown): Promise<unknown> {
    const raw = await this.postJson('/axis-cgi/mqtt/client.cgi', { apiVersion: '1.0', context: 'omnisight', method, ...(params ? { params } : {}) }, 'mqtt/client.cgi');
    const reply = z.object({ error: z.object({ code: z.number(), message: z.string().max(500).optional() }).loose().optional(), data: z.unknown().optional() }).loose().safeParse(raw);
    if (!reply.success) throw new VapixError('bad_reply', `${where(this.target)} sent an unexpected mqtt/client.cgi reply. Update the camera's firmware or try again.`);
    if (reply.data.error)
      throw new VapixError('bad_reply', `${where(this.target)} refused ${method} (error ${reply.data.error.code}: ${reply.data.error.message ?? 'no message'}).`);
    return reply.data.data;
  }

  /** Points the camera's own MQTT client at our broker and switches it on. */
  async configureMqtt(broker: { host: string; port: number; protocol: 'tcp' | 'ssl'; username?: string; password?: string }, clientId: string): Promise<void> {
    await this.mqttCall('configureClient', {
      server: { protocol: broker.protocol, host: broker.host, port: broker.port },
      ...(broker.username ? { username: broker.username, password: broker.password ?? '' } : {}),
      clientId,
      keepAliveInterval: 60,
      cleanSession: true,
      autoReconnect: true,
    });
    await this.mqttCall('activateClient');
  }

  async mqttStatus(): Promise<unknown> {
    return this.mqttCall('getClientStatus');
  }

  /**
   * One JPEG snapshot (`GET /axis-cgi/jpg/image.cgi`, Viewer role), for the event review: bounded,
   * and refused unless it is a JPEG (SOI marker).
   */
  async snapshot(width: number, height: number): Promise<Buffer> {
    const res = await this.session.open({ path: `/axis-cgi/jpg/image.cgi?resolution=${width}x${height}&camera=1`, timeoutMs: this.timeoutMs });
    if (res.statusCode !== 200) {
      res.resume();
      statusCheck(res.statusCode, this.target, 'image.cgi');
    }
    const body = await readBody(res, 4 * 1024 * 1024, this.target, this.timeoutMs);
    if (body.length < 4 || body[0] !== 0xff || body[1] !== 0xd8) throw new VapixError('bad_reply', `${where(this.target)} sent an image.cgi reply that is not a JPEG.`);
    return body;
  }

  /**
   * The camera's ground calibration as image↔ground reference pairs, from the OmniSight app's
   * `GET /local/omnisight/calibration.cgi` (Viewer role; the simulator supplies its true one).
   */
  async calibration(): Promise<{ camera: string; source: string; points: { image: { u: number; v: number }; ground: { x: number; y: number } }[]; includeArea?: { u: number; v: number }[] }> {
    const res = await this.session.open({ path: '/local/omnisight/calibration.cgi', timeoutMs: this.timeoutMs });
    if (res.statusCode !== 200) {
      res.resume();
      if (res.statusCode === 404)
        throw new VapixError('not_axis', `${where(this.target)} offers no ground calibration (calibration.cgi not found). Set four reference points for it in the Timeline view.`);
      statusCheck(res.statusCode, this.target, 'calibration.cgi');
    }
    const raw = parseJson(await readBody(res, 16 * 1024, this.target, this.timeoutMs), this.target, 'calibration.cgi');
    const coord = z.number().finite().min(-1e5).max(1e5);
    const unit = z.number().finite().min(0).max(1);
    const parsed = z
      .object({
        camera: z.string().max(64),
        source: z.string().max(64).default('camera'),
        points: z.array(z.object({ image: z.object({ u: unit, v: unit }).loose(), ground: z.object({ x: coord, y: coord }).loose() }).loose()).min(4).max(32),
        includeArea: z.array(z.object({ u: unit, v: unit }).loose()).min(3).max(32).optional(),
      })
      .loose()
      .safeParse(raw);
    if (!parsed.success)
      throw new VapixError(
        'bad_reply',
        `${where(this.target)} sent a calibration.cgi reply without 4–32 valid reference points (or with an includeArea that is not 3–32 image points in 0..1). Set four reference points for it in the Timeline view.`,
      );
    return {
      camera: parsed.data.camera,
      source: parsed.data.source,
      points: parsed.data.points.map((p) => ({ image: { u: p.image.u, v: p.image.v }, ground: { x: p.ground.x, y: p.ground.y } })),
      ...(parsed.data.includeArea ? { includeArea: parsed.data.includeArea.map((p) => ({ u: p.u, v: p.v })) } : {}),
    };
  }
}

export interface CameraIdentity {
  camera: string;
  key: string;
  publicKey: string;
  version: string;
  /** The app's boot epoch (SHARED-SPECS identity endpoint); absent from older apps. */
  epoch: number | null;
  /** The certificate the reply came over, and how it was trusted. */
  certificate: PeerCertificate & { trust: TlsTrust };
}

const identityReply = z
  .object({
    camera: z.string().min(1).max(64),
    key: z.string().regex(/^[0-9a-f]{16}$/, 'key id: 16 lowercase hex'),
    publicKey: z.string().regex(/^[A-Za-z0-9+/]{43}=$/),
    version: z.string().max(64),
    // 0: the app has not signed anything yet (the simulator answers before its first start).
    epoch: z.number().int().min(0).max(2 ** 32 - 1).optional(),
  })
  .loose();

/**
 * The OmniSight app's signing identity (SHARED-SPECS "Identity endpoint"), read only over HTTPS with
 * the camera's certificate pinned (or CA-verified): never from a plain-HTTP reply. `rotate` asks the
 * app for a new key (administrator), answered the same way.
 */
export async function readIdentity(target: Target, policy: TlsPolicy, o: { rotate?: boolean; timeoutMs?: number } = {}): Promise<CameraIdentity> {
  const timeoutMs = o.timeoutMs ?? 8000;
  let cert: CameraIdentity['certificate'] | undefined;
  const session = new DigestSession(target, (ms) => pinnedSocket(target.host, policy, ms, (c, trust) => (cert = { ...c, trust })));
  const where = `${target.host}:${policy.port}`;
  // Rotation needs an administrator: the app's reverse proxy grants that per path, so it lives under admin/.
  const res = await session.open({ method: o.rotate ? 'POST' : 'GET', path: o.rotate ? '/local/omnisight/admin/identity.cgi?action=rotate' : '/local/omnisight/identity.cgi', timeoutMs });
  if (res.statusCode !== 200) {
    res.resume();
    if (res.statusCode === 404) throw new VapixError('not_axis', `The OmniSight app is not running on ${where} (identity.cgi not found). Deploy it first.`);
    statusCheck(res.statusCode, { ...target, port: policy.port }, 'identity.cgi');
  }
  const raw = parseJson(await readBody(res, 16 * 1024, target, timeoutMs), target, 'identity.cgi');
  const parsed = identityReply.safeParse(raw);
  if (!parsed.success) throw new VapixError('bad_reply', `${where} sent an identity.cgi reply without a valid key id and public key. Redeploy the OmniSight app.`);
  const p = parsed.data;
  // The key id is derived from the public key (SHARED-SPECS): a reply where they disagree is not trusted.
  const derived = createHash('sha256').update(Buffer.from(p.publicKey, 'base64')).digest('hex').slice(0, 16);
  if (derived !== p.key) throw new VapixError('bad_reply', `${where} names key ${p.key} but its public key has id ${derived}. Redeploy the OmniSight app.`);
  return { camera: p.camera, key: p.key, publicKey: p.publicKey, version: p.version, epoch: p.epoch ?? null, certificate: cert! };
}
