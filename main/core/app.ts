// Composition root: builds every service once and wires them to the dispatcher and event bus.
// Both front doors (Electron in main/electron/, browser mode in main/serve.ts) call createApp and
// differ only in the adapters they pass in.
import { version } from '../../package.json';
import type { AppInfo } from '../../preload/contract';
import { createAuditLog, type AuditLog } from '../audit';
import { createSettingsService, type SettingsService } from '../settings';
import { openDatabase, type Db } from '../store';
import { createEventBus, type EventBus } from './bus';
import { createDispatcher, type Dispatcher, type RejectedCall } from './dispatcher';
import type { Logger } from './logger';
import { PRODUCT_NAME } from './paths';
import type { HelperLauncher, Notifier, SecretStore } from './ports';

export interface AppOptions {
  mode: AppInfo['mode'];
  dataDir: string;
  log: Logger;
  /** Built from the open database, because the browser-mode store keeps its ciphertext there. */
  secretStore: (db: Db) => SecretStore;
  notifier: Notifier;
  /** Starts the helper process; absent in unit tests. */
  launchHelper?: HelperLauncher;
  /** Turn the simulated fleet off regardless of the setting (--no-demo). */
  noDemo?: boolean;
  now?: () => number;
}

export interface App {
  dispatcher: Dispatcher;
  bus: EventBus;
  audit: AuditLog;
  settings: SettingsService;
  secrets: SecretStore;
  db: Db;
  info: () => AppInfo;
  close(): Promise<void>;
}

export function createApp(opts: AppOptions): App {
  const now = opts.now ?? Date.now;
  const { log } = opts;
  const { db, file, migrated } = openDatabase({ dir: opts.dataDir, now });
  if (migrated.length) log.info({ file, migrated }, 'database migrated');

  const bus = createEventBus((err) => log.error({ err }, 'event listener failed'));
  const audit = createAuditLog({ db, bus, now });
  const secrets = opts.secretStore(db);
  const settings = createSettingsService({ db, bus, log, now });

  const recordRejection = (r: RejectedCall): void => {
    audit.record({
      kind: 'input.rejected',
      severity: 'warning',
      source: `${r.ctx.transport}:${r.ctx.peer}`,
      message: r.message,
      detail: { method: r.method, code: r.code },
    });
  };

  const dispatcher = createDispatcher({ log, onRejected: recordRejection });
  const startedAt = now();
  const warnings: string[] = [];
  if (secrets.protection === 'basic-text')
    warnings.push(
      'Saved passwords are not protected: this Linux session has no keyring, so Electron falls back to a fixed key. Install and unlock a keyring (GNOME Keyring or KWallet) and restart.',
    );
  const info = (): AppInfo => ({
    name: PRODUCT_NAME,
    version,
    mode: opts.mode,
    dataDir: opts.dataDir,
    platform: `${process.platform}-${process.arch}`,
    secretProtection: secrets.protection,
    warnings,
    startedAt,
  });

  dispatcher.register({
    'app.info': info,
    'app.ping': ({ sentAt }) => ({ sentAt, receivedAt: now() }),
  });
  dispatcher.register(settings.handlers);
  dispatcher.register(audit.handlers);

  bus.subscribe('app.notification', (n) => {
    if (settings.get().notifications) opts.notifier.notify(n);
  });

  const missing = dispatcher.unhandled();
  if (missing.length) log.warn({ missing }, 'contract methods without a handler');

  return {
    dispatcher,
    bus,
    audit,
    settings,
    secrets,
    db,
    info,
    async close() {
      db.close();
    },
  };
}
