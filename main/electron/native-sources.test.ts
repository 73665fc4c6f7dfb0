import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../app/testkit';
import { prepareNativeSources } from './native-sources';

describe('camera-app sources in an install', () => {
  it('copies the read-only sources to the data folder once per version and keeps earlier builds', () => {
    const installed = tempDir();
    fs.writeFileSync(path.join(installed, 'Makefile'), 'all:\n');
    fs.mkdirSync(path.join(installed, 'src'));
    fs.writeFileSync(path.join(installed, 'src', 'main.c'), 'int main(void){return 0;}\n');
    const data = tempDir();

    const copy = prepareNativeSources(installed, data, '0.1.0')!;
    expect(copy).toBe(path.join(data, 'native'));
    expect(fs.readFileSync(path.join(copy, 'src', 'main.c'), 'utf8')).toContain('main');

    fs.mkdirSync(path.join(copy, 'dist'));
    fs.writeFileSync(path.join(copy, 'dist', 'app.eap'), 'built');
    fs.writeFileSync(path.join(copy, 'src', 'main.c'), 'edited by hand');
    expect(prepareNativeSources(installed, data, '0.1.0')).toBe(copy);
    expect(fs.readFileSync(path.join(copy, 'src', 'main.c'), 'utf8')).toBe('edited by hand'); // same version: untouched

    fs.writeFileSync(path.join(installed, 'src', 'new.c'), '/* 0.2 */');
    prepareNativeSources(installed, data, '0.2.0');
    expect(fs.readFileSync(path.join(copy, 'src', 'main.c'), 'utf8')).toContain('main'); // refreshed
    expect(fs.existsSync(path.join(copy, 'src', 'new.c'))).toBe(true);
    expect(fs.readFileSync(path.join(copy, 'dist', 'app.eap'), 'utf8')).toBe('built'); // builds kept
  });

  it('gives nothing when the install has no sources', () => {
    expect(prepareNativeSources(tempDir(), tempDir(), '1')).toBeUndefined();
  });
});
