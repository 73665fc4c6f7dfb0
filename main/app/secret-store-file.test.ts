import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './testkit';

let app: TestApp | undefined;
afterEach(async () => app?.close());

describe('file-key secret store', () => {
  it('keeps secrets out of the database in clear text and reads them back after a restart', async () => {
    app = createTestApp();
    const secret = 'camera-password-Zq8!unique-marker';
    app.secrets.set('camera.1.password', secret);
    expect(app.secrets.get('camera.1.password')).toBe(secret);
    const dir = app.dataDir;
    await app.close();

    const bytes = Buffer.concat(
      fs.readdirSync(dir).filter((f) => f.startsWith('omnisight.db')).map((f) => fs.readFileSync(path.join(dir, f))),
    );
    expect(bytes.includes(Buffer.from(secret))).toBe(false);
    expect((fs.statSync(path.join(dir, 'secrets.key')).mode & 0o777).toString(8)).toBe('600');

    app = createTestApp({ dataDir: dir });
    expect(app.secrets.get('camera.1.password')).toBe(secret);
    expect(app.info().secretProtection).toBe('file-key');
  });

  it('refuses a secret whose ciphertext was tampered with', () => {
    app = createTestApp();
    app.secrets.set('k', 'value');
    app.db.prepare("UPDATE secrets SET ciphertext = zeroblob(40) WHERE name = 'k'").run();
    expect(() => app!.secrets.get('k')).toThrow();
  });

  it('binds each ciphertext to its name', () => {
    app = createTestApp();
    app.secrets.set('a', 'alpha');
    app.db.prepare("INSERT INTO secrets (name, ciphertext, scheme, updated_at) SELECT 'b', ciphertext, scheme, 0 FROM secrets WHERE name = 'a'").run();
    expect(() => app!.secrets.get('b')).toThrow();
    app.secrets.delete('a');
    expect(app.secrets.get('a')).toBeUndefined();
  });
});
