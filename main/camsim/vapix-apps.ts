// Applications: upload, list, control, config (AllowUnsigned) and the app log. The install rules
// themselves live in apps.ts / eap.ts / runner.ts; this module only speaks their HTTP.
import { methodNotAllowed, multipartFile, readBody, send, type Req, type Res, type Route } from './http-kit';
import { UPLOAD_ERR, type AppStore } from './apps';
import type { FaultState } from './types';

const MAX_UPLOAD = 64 * 1024 * 1024;

export function appRoutes(o: { apps: AppStore; fault: FaultState; crashed: () => boolean; goDown: () => Promise<void>; appLog: () => readonly string[] }): Route[] {
  const upload = async (req: Req, res: Res): Promise<void> => {
    if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
    if (o.apps.busy()) {
      req.resume();
      send(res, 200, 'text/plain', `Error: ${UPLOAD_ERR.inProgress}\n`);
      return;
    }
    o.apps.receiving(true);
    let body: Buffer | undefined;
    try {
      if (o.fault.crashUploadAfter >= 0) {
        const limit = o.fault.crashUploadAfter;
        o.fault.crashUploadAfter = -1;
        let seen = 0;
        req.on('data', (c: Buffer) => {
          seen += c.length;
          if (seen >= limit && !o.crashed()) void o.goDown();
        });
      }
      body = await readBody(req, MAX_UPLOAD);
    } finally {
      o.apps.receiving(false);
    }
    if (o.crashed()) return;
    if (!body) {
      send(res, 200, 'text/plain', `Error: ${UPLOAD_ERR.tooLarge}\n`);
      return;
    }
    const file = multipartFile(req.headers['content-type'] ?? '', body, ['file', 'packfil']);
    if (!file) {
      send(res, 200, 'text/plain', `Error: ${UPLOAD_ERR.notEap}\n`);
      return;
    }
    send(res, 200, 'text/plain', await o.apps.upload(file));
  };

  return [
    { path: '/axis-cgi/applications/upload.cgi', need: 'administrator', handle: (req, res) => upload(req, res) },
    { path: '/axis-cgi/applications/list.cgi', need: 'administrator', handle: (_req, res) => send(res, 200, 'text/xml', o.apps.listXml()) },
    {
      path: '/axis-cgi/applications/control.cgi',
      need: 'administrator',
      handle: async (_req, res, url) => send(res, 200, 'text/plain', await o.apps.control(url.searchParams.get('action'), url.searchParams.get('package'))),
    },
    {
      path: '/axis-cgi/applications/config.cgi',
      need: 'administrator',
      // The AllowUnsigned toggle came with AXIS OS 11.2 (ACAP SDK 3.2); older firmware has no config.cgi.
      since: '11.2',
      handle: (_req, res, url) => send(res, 200, 'text/xml', o.apps.config(url.searchParams.get('action'), url.searchParams.get('name'), url.searchParams.get('value'))),
    },
    {
      path: '/axis-cgi/admin/systemlog.cgi',
      need: 'administrator',
      handle: (_req, res, url) => {
        const name = url.searchParams.get('appname');
        send(res, 200, 'text/plain', `${o.appLog().filter((l) => !name || l.includes(` ${name}[`)).join('\n')}\n`);
      },
    },
  ];
}
