import { safeStorage } from 'electron';
import type { Db } from '../store';
import type { SecretProtection, SecretStore } from '../kernel/ports';

const SCHEME = 'electron-safeStorage';

/** App-mode SecretStore: Electron's safeStorage (Keychain, DPAPI, libsecret/kwallet). */
export function createSafeStorageSecretStore(db: Db): SecretStore {
  const backend = process.platform === 'linux' ? safeStorage.getSelectedStorageBackend() : 'os';
  // On Linux without a keyring Electron selects "basic_text": a fixed, public key. We still use it
  // (it keeps clear text out of the database) but say so in app.info's warnings.
  const protection: SecretProtection = backend === 'basic_text' ? 'basic-text' : 'os-keychain';
  const put = db.prepare(
    'INSERT INTO secrets (name, ciphertext, scheme, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET ciphertext = excluded.ciphertext, scheme = excluded.scheme, updated_at = excluded.updated_at',
  );
  const read = db.prepare('SELECT ciphertext, scheme FROM secrets WHERE name = ?');
  const del = db.prepare('DELETE FROM secrets WHERE name = ?');
  return {
    protection,
    set(name, value) {
      if (!safeStorage.isEncryptionAvailable()) throw new Error('The operating system offers no encryption for saved passwords right now; unlock your keyring and try again.');
      put.run(name, safeStorage.encryptString(value), SCHEME, Date.now());
    },
    get(name) {
      const row = read.get(name) as { ciphertext: Buffer; scheme: string } | undefined;
      if (!row) return undefined;
      if (row.scheme !== SCHEME) throw new Error(`Secret "${name}" was stored by browser mode; enter it again here.`);
      return safeStorage.decryptString(row.ciphertext);
    },
    delete(name) {
      del.run(name);
    },
  };
}
