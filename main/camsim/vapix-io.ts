// I/O port management (io/portmanagement.cgi): one input and one output, as the parameters describe them.
import type { Auth, Route } from './http-kit';
import { DISCOVERY_ERR, DISCOVERY_ONLY_POST, JsonApiError, jsonRoute, unsupported } from './json-api';
import type { ParamStore } from './vapix-params';

interface Port {
  port: string;
  configurable: boolean;
  usage: string;
  name: string;
  direction: 'input' | 'output';
  state: 'open' | 'closed';
  normalState: 'open' | 'closed';
}

export function ioRoutes(o: { auth: Auth; params: ParamStore }): Route[] {
  const state: Record<string, Port['state']> = { '0': 'open', '1': 'open' };
  const ports = (): Port[] => [
    { port: '0', configurable: false, usage: '', name: o.params.get('root.IOPort.I0.Input.Name') ?? 'Input 1', direction: 'input', state: state['0']!, normalState: 'open' },
    { port: '1', configurable: false, usage: '', name: o.params.get('root.IOPort.I1.Output.Name') ?? 'Output 1', direction: 'output', state: state['1']!, normalState: 'open' },
  ];
  return [
    jsonRoute(o.auth, {
      path: '/axis-cgi/io/portmanagement.cgi',
      id: 'io-port-management',
      name: 'IO Port Management',
      versions: ['1.0'],
      codes: DISCOVERY_ERR,
      onlyPostCode: DISCOVERY_ONLY_POST,
      need: 'by-method',
      methodNeed: (m) => (m === 'getPorts' ? 'viewer' : 'operator'),
      handle: (method, p) => {
        if (method === 'getPorts') {
          const items = ports();
          return { numberOfPorts: items.length, items };
        }
        if (method === 'setPorts') {
          const list = p.ports;
          if (!Array.isArray(list) || list.length === 0) throw new JsonApiError('missingParam', 'ports is required');
          // Validate every entry before changing any.
          const changes: [string, string][] = [];
          const outputs: [string, Port['state']][] = [];
          for (const raw of list as unknown[]) {
            const e = raw as Record<string, unknown>;
            const port = ports().find((x) => x.port === e?.port);
            if (!port) throw new JsonApiError('badParam', `No such port: ${String(e?.port)}`);
            for (const k of Object.keys(e)) if (!['port', 'name', 'state', 'usage', 'direction', 'normalState'].includes(k)) throw new JsonApiError('badParam', `Unknown field ${k}`);
            if (e.direction !== undefined && e.direction !== port.direction) throw new JsonApiError('badParam', `Port ${port.port} is not configurable`);
            if (e.name !== undefined) {
              if (typeof e.name !== 'string' || e.name.length > 64) throw new JsonApiError('badParam', 'name must be a string of at most 64 characters');
              changes.push([port.direction === 'input' ? 'root.IOPort.I0.Input.Name' : 'root.IOPort.I1.Output.Name', e.name]);
            }
            if (e.state !== undefined) {
              if (port.direction !== 'output') throw new JsonApiError('badParam', `Port ${port.port} is an input`);
              if (e.state !== 'open' && e.state !== 'closed') throw new JsonApiError('badParam', 'state must be open or closed');
              outputs.push([port.port, e.state]);
            }
          }
          for (const [k, v] of changes) o.params.set(k, v);
          for (const [k, v] of outputs) state[k] = v;
          return {};
        }
        return unsupported(method);
      },
    }),
  ];
}
