import { createIpcTransport, type PreloadApi } from './ipc';
import type { Transport } from './types';
import { createWsTransport } from './ws';

export * from './types';

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
  return createWsTransport(`ws://${window.location.host}/ws`, token);
}

let current: Transport | undefined;
export const transport = (): Transport => (current ??= pickTransport());
