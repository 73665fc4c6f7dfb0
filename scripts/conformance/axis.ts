// A conformance suite for the VAPIX surface the product and third-party clients rely on, written
// from Axis's documented request and reply shapes (developer.axis.com VAPIX library; the reply
// fixtures a widely used open-source client is tested with), not from the simulator's code. It only
// reads, except for one update firmware must refuse (a read-only parameter), so it is safe to point
// at a real camera. The HTTP client is urllib (its own Digest), shared with neither the simulator
// nor the product's helper.
import sharp from 'sharp';
import { HttpClient } from 'urllib';
import { z } from 'zod';

export interface Target {
  host: string;
  port?: number;
  https?: boolean;
  user: string;
  password: string;
}

export type Outcome = 'pass' | 'fail' | 'absent';

export interface ApiResult {
  api: string;
  outcome: Outcome;
  /** The version the device reports, when it lists the API. */
  version?: string;
  notes: string[];
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

class Check {
  notes: string[] = [];
  failed = false;
  ok(cond: boolean, what: string): boolean {
    if (!cond) {
      this.failed = true;
      this.notes.push(`expected ${what}`);
    }
    return cond;
  }
  shape<T>(schema: z.ZodType<T>, value: unknown, what: string): T | undefined {
    const r = schema.safeParse(value);
    if (!r.success) {
      this.failed = true;
      this.notes.push(`${what}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}`);
      return undefined;
    }
    return r.data;
  }
}

// ---- documented shapes -----------------------------------------------------------------------
const errorShape = z.object({ code: z.number().int(), message: z.string() });
const envelope = <T extends z.ZodType>(data: T) =>
  z.object({ apiVersion: z.string().regex(/^\d+\.\d+$/), context: z.string().optional(), method: z.string(), data: data.optional(), error: errorShape.optional() });
const supportedVersions = envelope(z.object({ apiVersions: z.array(z.string().regex(/^\d+\.\d+$/)).min(1) })).refine((x) => !!x.data && !x.error, 'data with apiVersions, not an error');
const apiList = envelope(z.object({ apiList: z.array(z.object({ id: z.string().min(1), version: z.string().regex(/^\d+\.\d+$/), name: z.string(), docLink: z.string(), status: z.string().optional() })) }));
const properties = envelope(z.object({ propertyList: z.object({ SerialNumber: z.string().regex(/^[0-9A-Fa-f]{12}$/), ProdNbr: z.string().min(1), ProdFullName: z.string().min(1), Version: z.string().regex(/^\d+\.\d+/), Brand: z.string() }).loose() }));
const mqttMessage = z.object({ useDefault: z.boolean(), topic: z.string().optional(), message: z.string().optional(), retain: z.boolean().optional(), qos: z.number().int().optional() });
const clientStatus = envelope(
  z.object({
    status: z.object({ state: z.enum(['active', 'inactive']), connectionStatus: z.string() }),
    config: z
      .object({
        server: z.object({ protocol: z.enum(['tcp', 'ssl', 'ws', 'wss']), host: z.string(), port: z.number().int().optional() }).loose(),
        clientId: z.string().optional(),
        keepAliveInterval: z.number().int().optional(),
        cleanSession: z.boolean().optional(),
        autoReconnect: z.boolean().optional(),
        deviceTopicPrefix: z.string().optional(),
        lastWillTestament: mqttMessage.optional(),
        ssl: z.object({ validateServerCert: z.boolean() }).loose().optional(),
      })
      .loose(),
  }),
);
const publicationConfig = envelope(
  z.object({
    eventPublicationConfig: z
      .object({
        topicPrefix: z.string(),
        customTopicPrefix: z.string(),
        appendEventTopic: z.boolean(),
        includeTopicNamespaces: z.boolean(),
        includeSerialNumberInPayload: z.boolean(),
        eventFilterList: z.array(z.object({ topicFilter: z.string(), qos: z.number().int().optional(), retain: z.string().optional() })),
      })
      .loose(),
  }),
);
const systemReady = envelope(z.object({ systemready: z.enum(['yes', 'no']), needsetup: z.enum(['yes', 'no']).optional(), uptime: z.string().regex(/^\d+$/).optional(), bootid: z.string().optional() }).loose());
const streamProfiles = envelope(z.object({ maxProfiles: z.number().int(), streamProfile: z.array(z.object({ name: z.string(), description: z.string(), parameters: z.string() })) }));
const ports = envelope(
  z.object({
    numberOfPorts: z.number().int(),
    items: z.array(z.object({ port: z.string(), configurable: z.boolean(), usage: z.string(), name: z.string(), direction: z.enum(['input', 'output']), state: z.enum(['open', 'closed']), normalState: z.enum(['open', 'closed']) })),
  }),
);

/** The JSON APIs checked: discovery id, path, and the read-only method whose reply shape is checked. */
const JSON_APIS: { id: string; path: string; method: string; params?: unknown; shape: z.ZodType<unknown> }[] = [
  { id: 'basic-device-info', path: '/axis-cgi/basicdeviceinfo.cgi', method: 'getAllProperties', shape: properties },
  { id: 'mqtt-client', path: '/axis-cgi/mqtt/client.cgi', method: 'getClientStatus', shape: clientStatus },
  { id: 'event-mqtt-bridge', path: '/axis-cgi/mqtt/event.cgi', method: 'getEventPublicationConfig', shape: publicationConfig },
  { id: 'systemready', path: '/axis-cgi/systemready.cgi', method: 'systemready', params: { timeout: 5 }, shape: systemReady },
  { id: 'stream-profiles', path: '/axis-cgi/streamprofile.cgi', method: 'list', params: { streamProfileName: [] }, shape: streamProfiles },
  { id: 'io-port-management', path: '/axis-cgi/io/portmanagement.cgi', method: 'getPorts', shape: ports },
];

export async function runConformance(t: Target, timeoutMs = 10_000): Promise<ApiResult[]> {
  const base = `${t.https ? 'https' : 'http'}://${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port ?? (t.https ? 443 : 80)}`;
  // A camera's certificate is self-signed until someone installs one: the suite checks the API, not the PKI.
  const client = new HttpClient({ connect: { rejectUnauthorized: false } });
  const call = async (path: string, o: { method?: 'GET' | 'POST'; body?: string; type?: string; auth?: 'good' | 'none' | 'wrong' } = {}): Promise<Reply> => {
    const auth = o.auth ?? 'good';
    const r = await client.request(`${base}${path}`, {
      method: o.method ?? (o.body !== undefined ? 'POST' : 'GET'),
      ...(o.body !== undefined ? { content: o.body, headers: { 'content-type': o.type ?? 'application/json' } } : {}),
      ...(auth === 'none' ? {} : { digestAuth: `${t.user}:${auth === 'wrong' ? `${t.password}-wrong` : t.password}` }),
      dataType: 'buffer',
      timeout: timeoutMs,
      followRedirect: false,
    });
    return { status: r.status, headers: r.headers as Reply['headers'], body: r.data as Buffer };
  };
  const json = async (path: string, req: Record<string, unknown>): Promise<{ status: number; value?: unknown }> => {
    const r = await call(path, { body: JSON.stringify(req) });
    if (r.status !== 200) return { status: r.status };
    try {
      return { status: 200, value: JSON.parse(r.body.toString('utf8')) };
    } catch {
      return { status: 200, value: undefined };
    }
  };
  const results: ApiResult[] = [];
  const record = (api: string, c: Check, version?: string, outcome?: Outcome): void => {
    results.push({ api, outcome: outcome ?? (c.failed ? 'fail' : 'pass'), ...(version ? { version } : {}), notes: c.notes });
  };

  // Authentication: Digest with qop=auth; no or wrong credentials get the challenge before anything else.
  {
    const c = new Check();
    const path = '/axis-cgi/param.cgi?action=list&group=root.Brand';
    const anon = await call(path, { auth: 'none' });
    const challenge = String(anon.headers['www-authenticate'] ?? '');
    c.ok(anon.status === 401, `401 without credentials (got ${anon.status})`);
    c.ok(/^Digest\s/i.test(challenge) && /realm="[^"]+"/.test(challenge) && /qop="?[^"]*\bauth\b/.test(challenge), `a Digest challenge with realm and qop=auth (got "${challenge}")`);
    c.ok((await call(path, { auth: 'wrong' })).status === 401, '401 for a wrong password');
    c.ok((await call('/axis-cgi/conformance-no-such.cgi', { auth: 'none' })).status === 401, '401 (not 404) for an unknown path without credentials');
    c.ok((await call('/axis-cgi/conformance-no-such.cgi')).status === 404, '404 for an unknown path after authentication');
    c.ok((await call(path)).status === 200, '200 with the right credentials');
    record('authentication', c);
  }

  // API discovery: the list every other JSON API is looked up in.
  const listed = new Map<string, string>();
  {
    const c = new Check();
    const r = await json('/axis-cgi/apidiscovery.cgi', { apiVersion: '1.0', context: 'conformance', method: 'getApiList' });
    if (r.status === 404) record('api-discovery', c, undefined, 'absent');
    else {
      c.ok(r.status === 200, `HTTP 200 (got ${r.status})`);
      const v = c.shape(apiList, r.value, 'getApiList reply');
      if (v) {
        c.ok(v.context === 'conformance', 'the context echoed');
        c.ok(!v.error && !!v.data, `data, not error ${JSON.stringify(v.error)}`);
        for (const a of v.data?.apiList ?? []) listed.set(a.id, a.version);
      }
      const sv = await json('/axis-cgi/apidiscovery.cgi', { context: 'conformance', method: 'getSupportedVersions' });
      c.shape(supportedVersions, sv.value, 'getSupportedVersions without apiVersion');
      record('api-discovery', c, listed.get('api-discovery') ?? '1.0');
    }
  }

  for (const api of JSON_APIS) {
    const c = new Check();
    const version = listed.get(api.id);
    const r = await json(api.path, { apiVersion: version ?? '1.0', context: 'conformance', method: api.method, ...(api.params ? { params: api.params } : {}) });
    if (!version && r.status === 404) {
      record(api.id, c, undefined, 'absent');
      continue;
    }
    if (!version) c.notes.push('served but not listed in API discovery (clients that trust discovery will not use it)');
    c.ok(r.status === 200, `HTTP 200 (got ${r.status})`);
    const v = c.shape(api.shape as z.ZodType<{ data?: unknown; error?: unknown; context?: string }>, r.value, `${api.method} reply`);
    if (v) {
      c.ok(!v.error && v.data !== undefined, `data, not error ${JSON.stringify(v.error)}`);
      c.ok(v.context === 'conformance', 'the context echoed');
    }
    const sv = await json(api.path, { context: 'conformance', method: 'getSupportedVersions' });
    const s = c.shape(supportedVersions, sv.value, 'getSupportedVersions without apiVersion');
    if (s && version) c.ok(!!s.data?.apiVersions.includes(version), `getSupportedVersions to include the listed ${version}`);
    record(api.id, c, version);
  }

  // Legacy parameters: list by GET and by POST form, unknown group refused, read-only update refused.
  let resolutions: string[] = [];
  {
    const c = new Check();
    const get = await call('/axis-cgi/param.cgi?action=list&group=root.Properties');
    if (get.status === 404) record('param-cgi', c, undefined, 'absent');
    else {
      const text = get.body.toString('utf8');
      c.ok(get.status === 200, `HTTP 200 (got ${get.status})`);
      c.ok(/^root\.Properties\.System\.SerialNumber=[0-9A-Fa-f]{12}\r?$/m.test(text), 'root.Properties.System.SerialNumber=<serial>');
      c.ok(/^root\.Properties\.Firmware\.Version=\d+\.\d+/m.test(text), 'root.Properties.Firmware.Version=<version>');
      resolutions = /^root\.Properties\.Image\.Resolution=(.*?)\r?$/m.exec(text)?.[1]?.split(',').filter(Boolean) ?? [];
      c.ok(resolutions.length > 0, 'root.Properties.Image.Resolution=<list>');
      const post = await call('/axis-cgi/param.cgi', { body: 'action=list&group=root.Brand', type: 'application/x-www-form-urlencoded' });
      c.ok(post.status === 200 && /^root\.Brand\.ProdNbr=.+$/m.test(post.body.toString('utf8')), 'a POSTed form list to give root.Brand.ProdNbr');
      const missing = await call('/axis-cgi/param.cgi?action=list&group=root.ConformanceNoSuchGroup');
      c.ok(/^# Error/m.test(missing.body.toString('utf8')), 'an unknown group answered with a "# Error" line');
      const ro = await call('/axis-cgi/param.cgi', { body: 'action=update&root.Brand.ProdNbr=CONFORMANCE', type: 'application/x-www-form-urlencoded' });
      c.ok(ro.status !== 200 || /Error/i.test(ro.body.toString('utf8')), 'an update of read-only root.Brand.ProdNbr refused');
      record('param-cgi', c, listed.get('param-cgi'));
    }
  }

  // User groups: the caller's own groups, two lines.
  {
    const c = new Check();
    const r = await call('/axis-cgi/usergroup.cgi');
    if (r.status === 404) record('usergroup', c, undefined, 'absent');
    else {
      const lines = r.body.toString('utf8').split('\n');
      c.ok(r.status === 200, `HTTP 200 (got ${r.status})`);
      c.ok(lines[0] === t.user, `the first line to be the user name ${t.user}`);
      c.ok(/\b(admin|operator|viewer)\b/.test(lines[1] ?? ''), 'the second line to list admin, operator or viewer');
      record('usergroup', c);
    }
  }

  // Video: a listed resolution at its size, an unlisted one refused.
  {
    const c = new Check();
    const res = resolutions.includes('640x360') ? '640x360' : resolutions[resolutions.length - 1];
    if (!res) {
      c.ok(false, 'a resolution list to test against (param-cgi)');
      record('jpg-image', c);
    } else {
      const img = await call(`/axis-cgi/jpg/image.cgi?resolution=${res}`);
      c.ok(img.status === 200 && String(img.headers['content-type']).startsWith('image/jpeg'), `a JPEG for ${res} (got ${img.status})`);
      if (img.status === 200) {
        const m = await sharp(img.body)
          .metadata()
          .catch(() => undefined);
        c.ok(m !== undefined && `${m.width}x${m.height}` === res, `the image to be ${res} (got ${m ? `${m.width}x${m.height}` : 'unreadable'})`);
      }
      const odd = await call('/axis-cgi/jpg/image.cgi?resolution=999x999');
      c.ok(odd.status !== 200 || !String(odd.headers['content-type']).startsWith('image/'), 'an unlisted resolution (999x999) refused');
      record('jpg-image', c);
    }
  }

  // MJPEG: multipart/x-mixed-replace, boundary from the header, parts framed with Content-Type and Content-Length.
  {
    const c = new Check();
    const res = resolutions.includes('320x180') ? '320x180' : resolutions[resolutions.length - 1];
    if (!res) {
      c.ok(false, 'a resolution list to test against (param-cgi)');
      record('mjpg-video', c);
    } else {
      const r = await client.request(`${base}/axis-cgi/mjpg/video.cgi?resolution=${res}&fps=5`, { digestAuth: `${t.user}:${t.password}`, dataType: 'stream', timeout: timeoutMs });
      const type = String(r.headers['content-type'] ?? '');
      const boundary = /boundary=("?)([^";]+)\1/.exec(type)?.[2];
      c.ok(r.status === 200 && type.startsWith('multipart/x-mixed-replace') && !!boundary, `200 multipart/x-mixed-replace with a boundary (got ${r.status} ${type})`);
      const stream = r.res as unknown as NodeJS.ReadableStream & { destroy(): void };
      let buf = Buffer.alloc(0);
      const parts: { head: string; body: Buffer }[] = [];
      if (boundary) {
        const delim = Buffer.from(`--${boundary}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, timeoutMs);
          stream.on('data', (chunk: Buffer) => {
            buf = Buffer.concat([buf, chunk]);
            for (;;) {
              const at = buf.indexOf(delim);
              const headEnd = at < 0 ? -1 : buf.indexOf('\r\n\r\n', at);
              if (headEnd < 0) break;
              const head = buf.subarray(at + delim.length, headEnd).toString('latin1');
              const len = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? NaN);
              if (!Number.isFinite(len) || buf.length < headEnd + 4 + len) break;
              parts.push({ head, body: buf.subarray(headEnd + 4, headEnd + 4 + len) });
              buf = buf.subarray(headEnd + 4 + len);
            }
            if (parts.length >= 2) {
              clearTimeout(timer);
              resolve();
            }
          });
          stream.on('end', () => resolve());
          stream.on('error', () => resolve());
        });
      }
      stream.destroy();
      c.ok(parts.length >= 2, `two parts within ${timeoutMs} ms (got ${parts.length})`);
      for (const p of parts) {
        c.ok(/content-type:\s*image\/jpeg/i.test(p.head), 'each part to say Content-Type: image/jpeg');
        c.ok(p.body[0] === 0xff && p.body[1] === 0xd8 && p.body[p.body.length - 2] === 0xff && p.body[p.body.length - 1] === 0xd9, 'each part to be a whole JPEG (SOI … EOI)');
      }
      record('mjpg-video', c);
    }
  }

  // Applications (the product deploys through it).
  {
    const c = new Check();
    const r = await call('/axis-cgi/applications/list.cgi', { method: 'POST', body: '', type: 'application/x-www-form-urlencoded' });
    if (r.status === 404) record('applications', c, undefined, 'absent');
    else {
      c.ok(r.status === 200, `HTTP 200 (got ${r.status})`);
      c.ok(/<reply result="ok">/.test(r.body.toString('utf8')), '<reply result="ok">');
      record('applications', c);
    }
  }
  return results;
}

export function formatReport(results: ApiResult[]): string {
  const width = Math.max(...results.map((r) => r.api.length));
  return results
    .map((r) => {
      const head = `${r.outcome.toUpperCase().padEnd(6)} ${r.api.padEnd(width)} ${r.version ?? ''}`.trimEnd();
      return [head, ...r.notes.map((n) => `         ${n}`)].join('\n');
    })
    .join('\n');
}
