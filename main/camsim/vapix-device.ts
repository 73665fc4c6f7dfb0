// Device facts: basicdeviceinfo.cgi (JSON) and param.cgi (text parameter lists).
import { send, type Authorise, type Route } from './http-kit';
import { JSON_ERR, JsonApiError, serveJsonApi } from './json-api';
import { SENSOR_FPS } from './scene';
import type { CameraIdentity } from './types';
import { RESOLUTIONS } from './vapix-video';

const BDI_VERSION = '1.3';

export interface DeviceFacts {
  unrestricted(): Record<string, string>;
  all(): Record<string, string>;
}

export function deviceFacts(id: CameraIdentity): DeviceFacts {
  const unrestricted = (): Record<string, string> => ({
    Brand: 'AXIS',
    BuildDate: 'Jun 12 2025 09:15',
    HardwareID: id.prodNbr === 'Q1656' ? '7A1' : id.soc === 'Axis Artpec-9' ? '9C2' : '7B4',
    ProdFullName: id.prodFullName,
    ProdNbr: id.prodNbr,
    ProdShortName: `AXIS ${id.prodNbr}`,
    ProdType: id.prodType,
    ProdVariant: '',
    SerialNumber: id.serial,
    Version: id.firmware,
    WebURL: 'http://www.axis.com',
  });
  const all = (): Record<string, string> => ({ ...unrestricted(), Architecture: 'aarch64', Soc: id.soc, SocSerialNumber: `${id.serial.slice(0, 8)}-${id.serial.slice(4)}` });
  return { unrestricted, all };
}

export function deviceRoutes(o: { id: CameraIdentity; authorise: Authorise; frameWidth: number; frameHeight: number }): Route[] {
  const { id, authorise } = o;
  const facts = deviceFacts(id);

  const params = (): [string, string][] => {
    const p = facts.all();
    return [
      ['root.Brand.Brand', 'AXIS'],
      ['root.Brand.ProdFullName', p.ProdFullName!],
      ['root.Brand.ProdNbr', p.ProdNbr!],
      ['root.Brand.ProdShortName', p.ProdShortName!],
      ['root.Brand.ProdType', p.ProdType!],
      ['root.Brand.ProdVariant', ''],
      ['root.Brand.WebURL', 'http://www.axis.com'],
      ['root.Image.I0.Appearance.Compression', '30'],
      ['root.Image.I0.Appearance.Resolution', `${o.frameWidth}x${o.frameHeight}`],
      ['root.Image.I0.Stream.FPS', '0'],
      ['root.ImageSource.I0.Sensor.CaptureFrequency', String(SENSOR_FPS)],
      ['root.Network.eth0.MACAddress', id.mac],
      ['root.Properties.API.HTTP.Version', '3'],
      ['root.Properties.API.Metadata.Metadata', 'yes'],
      ['root.Properties.EmbeddedDevelopment.Version', '3.5'],
      ['root.Properties.Firmware.BuildDate', p.BuildDate!],
      ['root.Properties.Firmware.Version', id.firmware],
      ['root.Properties.Image.Format', 'jpeg,mjpeg,h264,h265'],
      ['root.Properties.Image.NbrOfViews', '1'],
      ['root.Properties.Image.Resolution', RESOLUTIONS.join(',')],
      ['root.Properties.Image.Rotation', '0,180'],
      ['root.Properties.System.Architecture', 'aarch64'],
      ['root.Properties.System.SerialNumber', id.serial],
      ['root.Properties.System.Soc', id.soc],
    ];
  };

  const paramList = (url: URL): string => {
    const action = url.searchParams.get('action');
    if (action !== 'list') return `# Error: action '${action ?? ''}' is not supported\r\n`;
    const groups = (url.searchParams.get('group') ?? '').split(',').filter(Boolean);
    const all = params();
    if (groups.length === 0) return all.map(([k, v]) => `${k}=${v}\r\n`).join('');
    let out = '';
    for (const g of groups) {
      const full = g.startsWith('root.') ? g : `root.${g}`;
      const hit = all.filter(([k]) => k === full || k.startsWith(`${full}.`));
      out += hit.length ? hit.map(([k, v]) => `${k}=${v}\r\n`).join('') : `# Error: Error -1 getting param in group '${g}'\r\n`;
    }
    return out;
  };

  return [
    {
      path: '/axis-cgi/basicdeviceinfo.cgi',
      need: 'by-method',
      handle: (req, res) =>
        serveJsonApi(req, res, authorise, {
          version: BDI_VERSION,
          need: (m) => (m === 'getAllUnrestrictedProperties' || m === 'getSupportedVersions' ? 'anonymous' : 'viewer'),
          handle: (method, p) => {
            switch (method) {
              case 'getSupportedVersions':
                return { apiVersions: ['1.0', '1.1', '1.2', BDI_VERSION] };
              case 'getAllUnrestrictedProperties':
                return { propertyList: facts.unrestricted() };
              case 'getAllProperties':
                return { propertyList: facts.all() };
              case 'getProperties': {
                const list = p.propertyList;
                if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) throw new JsonApiError(JSON_ERR.badParam, 'propertyList must be a list of property names');
                const all = facts.all();
                return { propertyList: Object.fromEntries(list.filter((x: string) => x in all).map((x: string) => [x, all[x]])) };
              }
              default:
                throw new JsonApiError(JSON_ERR.methodNotSupported, `Method not supported: ${method}`);
            }
          },
        }),
    },
    { path: '/axis-cgi/param.cgi', need: 'operator', handle: (_req, res, url) => send(res, 200, 'text/plain', paramList(url)) },
  ];
}
