// Installed apps' own routes (/local/<appName>/…): the camera's reverse proxy forwards them as the
// app's manifest declares (app-proxy.ts) — to the running program, or to the built-in agent that
// stands in for the preinstalled omnisight app. Their logic belongs to the on-camera app's
// lifecycle (agent.ts, runner.ts, native/); this module only wires them into the camera.
import type { Agent } from './agent';
import { serveLocal } from './app-proxy';
import type { AppRuntime, AppStore } from './apps';
import { gate, htmlError, notFound, send, type Auth, type Req, type Res } from './http-kit';
import type { EapRuntime } from './runner';

export function localAppRoutes(o: { apps: AppStore; agent: Agent; runtime: AppRuntime; nativeRunning: (name: string) => boolean; auth: Auth }): (req: Req, res: Res, url: URL) => Promise<void> {
  const { apps, agent, runtime, nativeRunning, auth } = o;
  return async (req, res, url) => {
    const handled = await serveLocal(req, res, url, {
      app: (n) => apps.get(n),
      authorise: (req, res, need) => gate(auth, req, res, need) !== false,
      nativePort: (n) => (runtime as Partial<EapRuntime>).httpPort?.(n),
      inProcess: (n) => (n === 'omnisight' && !nativeRunning(n) ? agent.serveHttp : undefined),
      send: (r, status, type, body) => send(r, status, type, body),
      notFound,
      unavailable: (r, why) => send(r, 503, 'text/html', htmlError(503, 'Service Unavailable', why)),
    });
    if (!handled) notFound(res);
  };
}
