import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkNativeAbi, electronAbi, readNativeAbi } from './native-abi.mjs';

const root = path.resolve(__dirname, '../..');
const sqlite = path.join(root, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node');
const sharp = fs
  .readdirSync(path.join(root, 'node_modules/@img'))
  .filter((d) => d.startsWith('sharp-') && !d.startsWith('sharp-libvips'))
  .map((d) => path.join(root, 'node_modules/@img', d, 'lib'))
  .flatMap((dir) => fs.readdirSync(dir).filter((f) => f.endsWith('.node')).map((f) => path.join(dir, f)))[0]!;

describe('native add-on ABI, read from the binary', () => {
  it("reads this machine's better-sqlite3 as built for this Node's ABI", () => {
    expect(readNativeAbi(fs.readFileSync(sqlite))).toEqual({ kind: 'abi', abi: Number(process.versions.modules) });
  });

  it('reads sharp as Node-API (loads under any ABI)', () => {
    expect(readNativeAbi(fs.readFileSync(sharp))).toEqual({ kind: 'node-api' });
    expect(checkNativeAbi(sharp, 150).ok).toBe(true);
  });

  it("fails a Node build against Electron's ABI, with the reason", () => {
    const need = electronAbi(path.join(root, 'node_modules/electron'));
    expect(need).not.toBe(Number(process.versions.modules));
    const r = checkNativeAbi(sqlite, need);
    expect(r.ok).toBe(false);
    expect(r.reason).toContain(`NODE_MODULE_VERSION ${process.versions.modules}`);
    expect(r.reason).toContain(`Electron needs ${need}`);
    expect(checkNativeAbi(sqlite, Number(process.versions.modules), 'Node').ok).toBe(true);
  });

  it('refuses a file that is no add-on', () => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'abi-')), 'x.node');
    fs.writeFileSync(f, Buffer.from('\x7fELF not really'));
    expect(checkNativeAbi(f, 150)).toMatchObject({ ok: false, found: 'unknown' });
  });
});
