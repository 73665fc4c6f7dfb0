// param.cgi: the legacy parameter tree, listed and updated by GET query or POST form.
import { methodNotAllowed, readBody, roleAllows, send, type Auth, type Route } from './http-kit';
import { SENSOR_FPS } from './scene';
import type { CameraIdentity } from './types';

export const RESOLUTIONS = ['1920x1080', '1280x720', '1024x576', '800x450', '640x360', '480x270', '320x180', '160x90'];
const MAX_FORM = 16 * 1024;

export interface ParamStore {
  get(name: string): string | undefined;
  /** Every parameter as [root.Group.Name, value], in tree order. */
  all(): [string, string][];
  /** Set one parameter; a reason when firmware would refuse it. */
  set(name: string, value: string): string | undefined;
  /** Remove a dynamic group (a stream profile). */
  removeGroup(prefix: string): void;
}

const intIn = (lo: number, hi: number) => (v: string) => (/^\d+$/.test(v) && Number(v) >= lo && Number(v) <= hi ? undefined : `must be an integer from ${lo} to ${hi}`);
const text = (max: number) => (v: string) => (v.length <= max && !/[\r\n]/.test(v) ? undefined : `must be one line of at most ${max} characters`);

export function createParamStore(o: { id: CameraIdentity; frameWidth: number; frameHeight: number; buildDate: string }): ParamStore {
  const { id } = o;
  const values = new Map<string, string>([
    ['root.Brand.Brand', 'AXIS'],
    ['root.Brand.ProdFullName', id.prodFullName],
    ['root.Brand.ProdNbr', id.prodNbr],
    ['root.Brand.ProdShortName', `AXIS ${id.prodNbr}`],
    ['root.Brand.ProdType', id.prodType],
    ['root.Brand.ProdVariant', ''],
    ['root.Brand.WebURL', 'http://www.axis.com'],
    ['root.Image.I0.Appearance.Compression', '30'],
    ['root.Image.I0.Appearance.Resolution', `${o.frameWidth}x${o.frameHeight}`],
    ['root.Image.I0.Stream.FPS', '0'],
    ['root.ImageSource.I0.Sensor.CaptureFrequency', String(SENSOR_FPS)],
    ['root.Input.NbrOfInputs', '1'],
    ['root.IOPort.I0.Configurable', 'no'],
    ['root.IOPort.I0.Direction', 'input'],
    ['root.IOPort.I0.Input.Name', 'Input 1'],
    ['root.IOPort.I0.Input.Trig', 'closed'],
    ['root.IOPort.I1.Configurable', 'no'],
    ['root.IOPort.I1.Direction', 'output'],
    ['root.IOPort.I1.Output.Active', 'closed'],
    ['root.IOPort.I1.Output.Name', 'Output 1'],
    ['root.Network.eth0.MACAddress', id.mac],
    ['root.Network.HostName', `axis-${id.serial.toLowerCase()}`],
    ['root.Output.NbrOfOutputs', '1'],
    ['root.Properties.API.HTTP.AdminPath', '/'],
    ['root.Properties.API.HTTP.Version', '3'],
    ['root.Properties.API.Metadata.Metadata', 'yes'],
    ['root.Properties.API.Metadata.Version', '1.0'],
    ['root.Properties.ApiDiscovery.ApiDiscovery', 'yes'],
    ['root.Properties.EmbeddedDevelopment.Version', '3.5'],
    ['root.Properties.Firmware.BuildDate', o.buildDate],
    ['root.Properties.Firmware.Version', id.firmware],
    ['root.Properties.Image.Format', 'jpeg,mjpeg,h264,h265'],
    ['root.Properties.Image.NbrOfViews', '1'],
    ['root.Properties.Image.Resolution', RESOLUTIONS.join(',')],
    ['root.Properties.Image.Rotation', '0,180'],
    ['root.Properties.System.Architecture', 'aarch64'],
    ['root.Properties.System.SerialNumber', id.serial],
    ['root.Properties.System.Soc', id.soc],
    ['root.StreamProfile.MaxGroups', '26'],
    ['root.StreamProfile.S0.Description', 'Balanced quality for viewing'],
    ['root.StreamProfile.S0.Name', 'Quality'],
    ['root.StreamProfile.S0.Parameters', 'resolution=1280x720&fps=30&compression=30'],
  ]);
  // What a user may change, with the check firmware applies; everything else is read-only.
  const writable: [RegExp, (v: string) => string | undefined][] = [
    [/^root\.Image\.I0\.Appearance\.Resolution$/, (v) => (RESOLUTIONS.includes(v) ? undefined : `must be one of ${RESOLUTIONS.join(', ')}`)],
    [/^root\.Image\.I0\.Appearance\.Compression$/, intIn(0, 100)],
    [/^root\.Image\.I0\.Stream\.FPS$/, intIn(0, SENSOR_FPS)],
    [/^root\.IOPort\.I[01]\.(Input|Output)\.Name$/, text(64)],
    [/^root\.Network\.HostName$/, (v) => (/^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/.test(v) ? undefined : 'must be a host name')],
    [/^root\.StreamProfile\.S\d{1,2}\.(Name|Description|Parameters)$/, text(255)],
  ];
  const sorted = (): [string, string][] => [...values.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    get: (name) => values.get(name),
    all: sorted,
    set: (name, value) => {
      const rule = writable.find(([re]) => re.test(name));
      if (!rule) return values.has(name) ? 'read-only' : 'no such parameter';
      const why = rule[1](value);
      if (why) return why;
      values.set(name, value);
      return undefined;
    },
    removeGroup: (prefix) => {
      for (const k of [...values.keys()]) if (k.startsWith(`${prefix}.`)) values.delete(k);
    },
  };
}

const full = (name: string): string => (name.startsWith('root.') || name === 'root' ? name : `root.${name}`);

export function paramRoutes(o: { auth: Auth; params: ParamStore }): Route[] {
  const { params } = o;
  const list = (group: string | null): string => {
    const all = params.all();
    const groups = (group ?? '').split(',').filter(Boolean);
    if (groups.length === 0) return all.map(([k, v]) => `${k}=${v}\r\n`).join('');
    let out = '';
    for (const g of groups) {
      const f = full(g);
      const hit = all.filter(([k]) => f === 'root' || k === f || k.startsWith(`${f}.`));
      out += hit.length ? hit.map(([k, v]) => `${k}=${v}\r\n`).join('') : `# Error: Error -1 getting param in group '${g}'\r\n`;
    }
    return out;
  };
  const update = (form: URLSearchParams): string => {
    const pairs = [...form.entries()].filter(([k]) => k !== 'action');
    if (pairs.length === 0) return '# Error: No parameters to update\r\n';
    // All or nothing: one refused value leaves every parameter as it was.
    const before = pairs.map(([k]) => [full(k), params.get(full(k))] as const);
    for (const [k, v] of pairs) {
      if (params.set(full(k), v) !== undefined) {
        for (const [name, old] of before) if (old !== undefined) params.set(name, old);
        return `# Error: Error setting '${full(k)}' to '${v}'!\r\n`;
      }
    }
    return 'OK\r\n';
  };
  return [
    {
      path: '/axis-cgi/param.cgi',
      need: 'operator',
      api: { id: 'param-cgi', version: '1.0', name: 'Legacy Parameter Handling', docLink: 'https://developer.axis.com/vapix/' },
      handle: async (req, res, url, user) => {
        if (req.method !== 'GET' && req.method !== 'POST') return methodNotAllowed(res, 'GET, POST');
        // Clients send the same arguments in the query or as a form body; the body wins where both name one.
        const form = new URLSearchParams(url.search);
        if (req.method === 'POST') {
          const body = await readBody(req, MAX_FORM);
          if (!body) return send(res, 413, 'text/plain', '# Error: Request too large\r\n');
          for (const [k, v] of new URLSearchParams(body.toString('utf8'))) form.set(k, v);
        }
        const action = form.get('action');
        if (action === 'list') return send(res, 200, 'text/plain', list(form.get('group')));
        if (action === 'update') {
          if (!roleAllows(user, 'administrator')) return o.auth.forbid(res, user!);
          return send(res, 200, 'text/plain', update(form));
        }
        return send(res, 200, 'text/plain', `# Error: action '${action ?? ''}' is not supported\r\n`);
      },
    },
  ];
}
