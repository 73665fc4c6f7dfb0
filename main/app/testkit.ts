// Test kit (tests of any folder may import it): helpers shared by capability tests: a real app on a temporary data folder.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApp, type App, type AppOptions } from './app';
import { silentLogger } from '../kernel/logger';
import type { AppNotification } from '../../preload/contract';
import { createFileKeySecretStore } from './secret-store-file';

export function tempDir(prefix = 'omnisight-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface TestApp extends App {
  dataDir: string;
  notifications: AppNotification[];
}

export function createTestApp(overrides: Partial<AppOptions> = {}): TestApp {
  const dataDir = overrides.dataDir ?? tempDir();
  const notifications: AppNotification[] = [];
  const app = createApp({
    mode: 'browser',
    dataDir,
    log: silentLogger(),
    secretStore: (db) => createFileKeySecretStore(db, dataDir),
    notifier: { notify: (n) => notifications.push(n) },
    noDemo: true,
    ...overrides,
  });
  return Object.assign(app, { dataDir, notifications });
}
