import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../app/testkit';
import { openDatabase } from '../store';
import { electronSqliteBinding } from './sqlite-binding';

const root = path.resolve(__dirname, '../..');
const place = { packaged: false, resourcesPath: '/opt/OmniSight/resources', appPath: root, platform: 'linux', arch: 'x64', electronVersion: '45.4.1', abi: '150' };

afterEach(() => {
  delete process.env.OMNISIGHT_SQLITE_BINDING;
});

describe("app mode's better-sqlite3 build", () => {
  it('is the staged Electron build in a checkout and resources/electron-native in an install', () => {
    expect(electronSqliteBinding(place, () => true)).toBe(path.join(root, 'build/electron-native/linux-x64/better_sqlite3.node'));
    expect(electronSqliteBinding({ ...place, packaged: true }, () => true)).toBe('/opt/OmniSight/resources/electron-native/better_sqlite3.node');
  });

  it('says how to get it when it is missing (a start-up error, not a crash)', () => {
    expect(() => electronSqliteBinding(place, () => false)).toThrow(/NODE_MODULE_VERSION 150.*npm run rebuild:electron/);
    expect(() => electronSqliteBinding({ ...place, packaged: true }, () => false)).toThrow(/Reinstall OmniSight/);
  });

  it('the store loads the build named in OMNISIGHT_SQLITE_BINDING, and only that one', () => {
    process.env.OMNISIGHT_SQLITE_BINDING = path.join(tempDir(), 'absent', 'better_sqlite3.node');
    expect(() => openDatabase({ dir: tempDir() })).toThrow(/Cannot find module|absent/);
    const nodeBuild = path.join(root, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node');
    expect(fs.existsSync(nodeBuild)).toBe(true);
    process.env.OMNISIGHT_SQLITE_BINDING = nodeBuild;
    const { db } = openDatabase({ dir: tempDir() });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });
});
