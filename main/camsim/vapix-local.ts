// The installed omnisight app's own CGIs (/local/omnisight/…): identity and calibration.
// Their logic belongs to the on-camera app's lifecycle (agent.ts, runner.ts); this module only routes.
import { calibrationPairs, type Agent } from './agent';
import type { AppRuntime, AppStore } from './apps';
import { htmlError, notFound, send, type Route } from './http-kit';
import type { EapRuntime } from './runner';
import type { CameraModel } from './scene';
import type { CameraIdentity } from './types';

export function localAppRoutes(o: { id: CameraIdentity; cam: CameraModel; apps: AppStore; agent: Agent; runtime: AppRuntime; omnisightRunning: () => boolean }): Route[] {
  const { id, cam, apps, agent, runtime, omnisightRunning } = o;
  return [
    {
      path: '/local/omnisight/identity.cgi',
      need: 'viewer',
      handle: (_req, res) => {
        if (!apps.get('omnisight')) return notFound(res);
        if (!omnisightRunning()) return send(res, 503, 'text/html', htmlError(503, 'Service Unavailable', 'The application is not running.'));
        // The deployed program signs with the key provisioned for it at start.
        const native = (runtime as Partial<EapRuntime>).identity?.('omnisight');
        return send(res, 200, 'application/json', JSON.stringify(native ? { camera: id.serial, ...native } : agent.identity()));
      },
    },
    {
      path: '/local/omnisight/calibration.cgi',
      need: 'viewer',
      handle: (_req, res) => {
        if (!apps.get('omnisight')) return notFound(res);
        return send(res, 200, 'application/json', JSON.stringify({ camera: id.serial, source: 'simulator', points: calibrationPairs(cam.homography, cam.maxRangeM, cam.position) }));
      },
    },
  ];
}
