// Device facts and state: basicdeviceinfo.cgi, apidiscovery.cgi, systemready.cgi (JSON APIs).
import { randomBytes } from 'node:crypto';
import type { Auth, Route } from './http-kit';
import { DISCOVERY_ERR, DISCOVERY_ONLY_POST, JsonApiError, jsonRoute, unsupported, type ApiDescription } from './json-api';
import type { CameraIdentity } from './types';

export const BUILD_DATE = 'Jun 12 2025 09:15';

export interface DeviceFacts {
  unrestricted(): Record<string, string>;
  all(): Record<string, string>;
}

export function deviceFacts(id: CameraIdentity): DeviceFacts {
  const unrestricted = (): Record<string, string> => ({
    Brand: 'AXIS',
    BuildDate: BUILD_DATE,
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

/** The LTS tracks whose API discovery asks for credentials: 9.80.x and 10.12.x. */
export const discoveryNeedsLogin = (firmware: string): boolean => /^(9\.80|10\.12)(\.|$)/.test(firmware);

export function deviceRoutes(o: { id: CameraIdentity; auth: Auth; now: () => number; bootedAt: () => number; apiList: () => ApiDescription[] }): Route[] {
  const { id, auth } = o;
  const facts = deviceFacts(id);
  // A new boot id at every start of this object (one per simulated power-on of the process).
  const bootId = randomBytes(16).toString('hex');
  return [
    jsonRoute(auth, {
      path: '/axis-cgi/basicdeviceinfo.cgi',
      id: 'basic-device-info',
      name: 'Basic Device Information',
      versions: ['1.0', '1.1', '1.2', '1.3'],
      since: '8.40',
      codes: DISCOVERY_ERR,
      onlyPostCode: DISCOVERY_ONLY_POST,
      // The unrestricted subset is open to anyone (a client identifies the device before it logs
      // in); the full property list (architecture, SoC, SoC serial) needs an operator: a viewer
      // gets 403. (The reference names no role here; this follows the conformance task's finding.)
      need: 'by-method',
      methodNeed: (m) => (m === 'getAllUnrestrictedProperties' ? 'anonymous' : 'operator'),
      handle: (method, p) => {
        switch (method) {
          case 'getAllUnrestrictedProperties':
            return { propertyList: facts.unrestricted() };
          case 'getAllProperties':
            return { propertyList: facts.all() };
          case 'getProperties': {
            const list = p.propertyList;
            if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) throw new JsonApiError('badParam', 'propertyList must be a list of property names');
            const all = facts.all();
            return { propertyList: Object.fromEntries(list.filter((x: string) => x in all).map((x: string) => [x, all[x]])) };
          }
          default:
            return unsupported(method);
        }
      },
    }),
    jsonRoute(auth, {
      path: '/axis-cgi/apidiscovery.cgi',
      id: 'api-discovery',
      name: 'API Discovery Service',
      versions: ['1.0'],
      since: '8.50',
      codes: DISCOVERY_ERR,
      onlyPostCode: DISCOVERY_ONLY_POST,
      // Discovery needs no authentication (a client asks it before it knows what to log in to),
      // except on the AXIS OS 9.80 and 10.12 LTS tracks, which ask any user to log in.
      need: discoveryNeedsLogin(id.firmware) ? 'viewer' : 'by-method',
      methodNeed: () => 'anonymous',
      handle: (method, p) => {
        if (method !== 'getApiList') return unsupported(method);
        const wanted = p.id;
        if (wanted !== undefined && typeof wanted !== 'string') throw new JsonApiError('badParam', 'id must be a string');
        return { apiList: o.apiList().filter((a) => wanted === undefined || a.id === wanted) };
      },
    }),
    jsonRoute(auth, {
      path: '/axis-cgi/systemready.cgi',
      id: 'systemready',
      name: 'Systemready',
      versions: ['1.0', '1.1', '1.2', '1.3', '1.4'],
      // Readiness is asked before setup, without credentials.
      need: 'by-method',
      methodNeed: () => 'anonymous',
      handle: (method, p) => {
        if (method !== 'systemready') return unsupported(method);
        if (p.timeout !== undefined && (typeof p.timeout !== 'number' || !Number.isInteger(p.timeout) || p.timeout < 1 || p.timeout > 3600)) {
          throw new JsonApiError('badParam', 'timeout must be an integer number of seconds');
        }
        // The simulator is ready as soon as it answers; users exist, so no setup is needed.
        return { systemready: 'yes', needsetup: 'no', uptime: String(Math.max(0, Math.floor((o.now() - o.bootedAt()) / 1000))), bootid: bootId };
      },
    }),
  ];
}
