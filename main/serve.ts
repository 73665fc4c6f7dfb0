// Browser mode: the same services and dispatcher as the desktop app, served to the same renderer
// over a loopback WebSocket. Prints one line, OMNISIGHT_URL=…, when ready.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createApp, createFileKeySecretStore, startWebServer } from './app';
import { forkHelper } from './helper';
import { createLogger } from './kernel/logger';
import { defaultDataDir } from './kernel/paths';

const usage = 'Usage: npm run serve -- [--port N] [--data-dir DIR] [--no-demo]';

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        port: { type: 'string', default: '0' },
        'data-dir': { type: 'string' },
        'no-demo': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${usage}\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const port = Number(args.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port must be a whole number from 0 to 65535 (0 picks a free port).\n${usage}\n`);
    process.exit(2);
  }
  const dataDir = path.resolve(args['data-dir'] ?? defaultDataDir());
  const { log, close: closeLog } = createLogger({ dir: path.join(dataDir, 'logs'), console: process.stderr, level: process.env.OMNISIGHT_LOG_LEVEL });
  const rendererDir = process.env.OMNISIGHT_RENDERER_DIR ?? path.join(__dirname, '../renderer');
  if (!fs.existsSync(path.join(rendererDir, 'index.html')))
    log.warn({ rendererDir }, 'the renderer is not built; run "npm run build" first');

  let app;
  try {
    app = createApp({
      mode: 'browser',
      dataDir,
      log,
      secretStore: (db) => createFileKeySecretStore(db, dataDir),
      notifier: { notify: (n) => log.info({ notification: n }, 'notification') },
      launchHelper: forkHelper,
      helperEntry: path.join(__dirname, 'helper.js'),
      noDemo: args['no-demo'],
    });
  } catch (err) {
    process.stderr.write(`OmniSight could not open its data folder ${dataDir}:\n  ${(err as Error).message}\n`);
    closeLog();
    process.exit(1);
  }

  // A fixed token (OMNISIGHT_TOKEN) lets a supervisor restart the server without reloading its
  // pages; by default every launch gets a fresh random one.
  const fixed = process.env.OMNISIGHT_TOKEN;
  if (fixed !== undefined && fixed.length < 32) {
    process.stderr.write('OMNISIGHT_TOKEN must be at least 32 characters; unset it to get a random token.\n');
    process.exit(2);
  }
  const token = fixed ?? crypto.randomBytes(32).toString('base64url');
  const server = await startWebServer({ port, token, rendererDir, dispatcher: app.dispatcher, bus: app.bus, audit: app.audit, log });
  server.onClient((ws) => app.fleet.fleet.attachSocket(ws)); // camera frames share the contract socket
  // Prometheus scrape endpoint (Authorization: Bearer <token>). App mode has no HTTP server, so no /metrics there.
  server.addTokenRoute('/metrics', app.perf.metricsRoute());
  log.info({ port: server.port, dataDir }, 'browser mode ready');
  // The token travels in the fragment: browsers never send it to a server or put it in a Referer.
  process.stdout.write(`OMNISIGHT_URL=${server.url}#token=${token}\n`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    void (async () => {
      await server.close();
      await app.close();
      closeLog();
      process.exit(0);
    })();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

void main().catch((err: unknown) => {
  process.stderr.write(`OmniSight failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
