import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Db } from '../store';
import type { SecretStore } from '../kernel/ports';

const SCHEME = 'aes-256-gcm/file-key';

/**
 * Browser-mode SecretStore: AES-256-GCM with a random key in a 0600 file beside the database. It
 * keeps secrets out of the database in clear text; it does not protect them from someone who can
 * read the user's files (the OS keychain through Electron's safeStorage does, in app mode).
 */
export function createFileKeySecretStore(db: Db, dir: string): SecretStore {
  const keyFile = path.join(dir, 'secrets.key');
  let key: Buffer;
  try {
    key = fs.readFileSync(keyFile);
  } catch {
    key = crypto.randomBytes(32);
    fs.writeFileSync(keyFile, key, { mode: 0o600, flag: 'wx' });
  }
  if (key.length !== 32) throw new Error(`${keyFile} is damaged (expected 32 bytes). Move it away to start with no stored secrets.`);
  if (process.platform !== 'win32') fs.chmodSync(keyFile, 0o600);

  const put = db.prepare(
    'INSERT INTO secrets (name, ciphertext, scheme, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET ciphertext = excluded.ciphertext, scheme = excluded.scheme, updated_at = excluded.updated_at',
  );
  const read = db.prepare('SELECT ciphertext, scheme FROM secrets WHERE name = ?');
  const del = db.prepare('DELETE FROM secrets WHERE name = ?');

  return {
    protection: 'file-key',
    set(name, value) {
      const iv = crypto.randomBytes(12);
      const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(name));
      const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
      put.run(name, Buffer.concat([iv, cipher.getAuthTag(), body]), SCHEME, Date.now());
    },
    get(name) {
      const row = read.get(name) as { ciphertext: Buffer; scheme: string } | undefined;
      if (!row) return undefined;
      if (row.scheme !== SCHEME) throw new Error(`Secret "${name}" was stored by app mode (${row.scheme}); open OmniSight as a desktop app to use it, or enter it again.`);
      const decipher = crypto.createDecipheriv('aes-256-gcm', key, row.ciphertext.subarray(0, 12));
      decipher.setAAD(Buffer.from(name));
      decipher.setAuthTag(row.ciphertext.subarray(12, 28));
      return Buffer.concat([decipher.update(row.ciphertext.subarray(28)), decipher.final()]).toString('utf8');
    },
    delete(name) {
      del.run(name);
    },
  };
}
