// Helpers for tests across capabilities (the kernel's test kit: it imports nothing but the kernel).
import type { SecretStore } from './ports';

/** A secret store in memory (the file-key protection level), optionally with secrets already in it. */
export function memorySecrets(init: Record<string, string> = {}): SecretStore {
  const m = new Map<string, string>(Object.entries(init));
  return { protection: 'file-key', get: (n) => m.get(n), set: (n, v) => void m.set(n, v), delete: (n) => void m.delete(n) };
}

/** Polls `cond` until it holds; throws "timed out waiting for <what>" after `ms`. */
export async function waitFor(what: string, cond: () => boolean, ms = 20_000, stepMs = 25): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
