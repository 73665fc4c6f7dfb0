import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { APP_ID } from '../main/electron/policy';

const root = path.resolve(__dirname, '..');
const schema = JSON.parse(fs.readFileSync(path.join(root, 'node_modules/app-builder-lib/scheme.json'), 'utf8'));
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
const config = YAML.parse(fs.readFileSync(path.join(root, 'electron-builder.yml'), 'utf8'));

describe('electron-builder.yml', () => {
  it("validates against electron-builder's own configuration schema", () => {
    const ok = validate(config);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 1)).toEqual([]);
    expect(ok).toBe(true);
  });

  it('the schema check can fail: a misspelt key is refused', () => {
    expect(validate({ ...config, asarUnpak: ['x'] })).toBe(false);
  });

  it('sets the fuses the security checklist asks for and targets every platform', () => {
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableCookieEncryption: true,
      onlyLoadAppFromAsar: true,
      enableEmbeddedAsarIntegrityValidation: true,
      grantFileProtocolExtraPrivileges: false,
    });
    expect(config.win.target[0].target).toBe('nsis');
    expect(config.mac.target.map((t: { target: string }) => t.target)).toEqual(['dmg', 'zip']);
    expect(config.mac.hardenedRuntime).toBe(true);
    expect(config.linux.target).toEqual(['AppImage', 'deb']);
    expect(config.npmRebuild).toBe(false);
    // Windows notifications and taskbar grouping: the AUMID main sets is the installer's appId.
    expect(config.appId).toBe(APP_ID);
    expect(config.extraResources[0]).toMatchObject({ to: 'electron-native' });
  });
});

describe('icons', () => {
  const png = (file: string) => {
    const buf = fs.readFileSync(path.join(root, 'resources', file));
    expect(buf.subarray(1, 4).toString('latin1')).toBe('PNG');
    return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20), bytes: buf.length };
  };

  it('the app icon is big enough for a macOS .icns (≥ 512×512, square) and small enough to ship (< 2 MiB)', () => {
    const icon = png('icon.png');
    expect(icon.width).toBeGreaterThanOrEqual(512);
    expect(icon.height).toBe(icon.width);
    expect(icon.bytes).toBeLessThan(2 * 1024 * 1024);
  });

  it('the tray has macOS template images (black with alpha, 16 px and @2x) and a coloured one', async () => {
    const sharp = (await import('sharp')).default;
    for (const [file, size] of [['trayTemplate.png', 16], ['trayTemplate@2x.png', 32]] as const) {
      const { data, info } = await sharp(path.join(root, 'resources', file)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height]).toEqual([size, size]);
      let opaque = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3]! > 0) expect([data[i], data[i + 1], data[i + 2]]).toEqual([0, 0, 0]);
        if (data[i + 3]! > 128) opaque++;
      }
      expect(opaque).toBeGreaterThan(size); // a drawing, not an empty square
      expect(opaque).toBeLessThan(size * size); // and not a filled one
    }
    expect(png('tray.png').width).toBe(32);
  });
});

describe('engines', () => {
  const minOf = (range: string): number[] => (/>=\s*(\d+)\.(\d+)(?:\.(\d+))?/.exec(range) ?? []).slice(1, 4).map((n) => Number(n ?? 0));
  const cmp = (a: number[], b: number[]) => a.reduce((r, v, i) => r || v - (b[i] ?? 0), 0);
  it("declares at least the Node that Electron's tooling requires", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    const ours = minOf(pkg.engines.node);
    expect(ours).toHaveLength(3);
    for (const tool of ['electron', '@electron/rebuild', '@electron/get']) {
      const range = JSON.parse(fs.readFileSync(path.join(root, 'node_modules', tool, 'package.json'), 'utf8')).engines?.node as string;
      expect(cmp(ours, minOf(range)), `${tool} wants node ${range}, package.json says ${pkg.engines.node}`).toBeGreaterThanOrEqual(0);
    }
  });
});
