import { createIpcTransport, type PreloadApi } from './ipc';
import type { Transport } from './types';
import { tokenInHash } from './addressCore';
import { createWsTransport } from './ws';

export * from './types';
export { readPastedAddress } from './addressCore';

const TOKEN_KEY = 'omnisight.token';

/**
 * IPC when the preload API is present (app mode), the loopback WebSocket otherwise (browser mode).
 * The token arrives in the URL fragment; it is kept for this tab only and wiped from the address bar.
 */
export function pickTransport(): Transport {
  const api = (window as unknown as { omnisight?: PreloadApi }).omnisight;
  if (api) return createIpcTransport(api);
  const fromHash = new URLSearchParams(window.location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, '', window.location.pathname + window.location.search);
  }
  const token = fromHash ?? sessionStorage.getItem(TOKEN_KEY) ?? '';
  const t = createWsTransport(`ws://${window.location.host}/ws`, token);
  // A new address pasted into the address bar with only a new #token changes the fragment, not the
  // page: take the token from it and connect again, no reload needed.
  window.addEventListener('hashchange', () => {
    const next = tokenInHash(window.location.hash);
    if (!next) return;
    switchToken(t, next);
  });
  return t;
}

/** Keep `token` for this tab, wipe it from the address bar, and reconnect with it. */
export function switchToken(t: Transport, token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
  if (window.location.hash) history.replaceState(null, '', window.location.pathname + window.location.search);
  t.useToken?.(token);
}

let current: Transport | undefined;
export const transport = (): Transport => (current ??= pickTransport());
