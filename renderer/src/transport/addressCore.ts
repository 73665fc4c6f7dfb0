// What to do with an address the user pasted to reconnect: the token in its fragment, and whether
// it is this server (reconnect in place) or another one (a restart on a new port: go there).

export type PastedAddress = { kind: 'token'; token: string } | { kind: 'navigate'; url: string } | { kind: 'error'; message: string };

export function readPastedAddress(text: string, here: { origin: string; pathname: string }): PastedAddress {
  const t = text.trim();
  if (!t) return { kind: 'error', message: 'Paste the address OmniSight printed when it started (it ends in #token=…).' };
  // A bare token is accepted too: it is what follows #token= in the printed address.
  if (/^[A-Za-z0-9_-]{16,}$/.test(t)) return { kind: 'token', token: t };
  let url: URL;
  try {
    url = new URL(t);
  } catch {
    return { kind: 'error', message: 'That is not an address. Paste the whole line OmniSight printed, e.g. http://127.0.0.1:5173/#token=…' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { kind: 'error', message: 'The address should start with http://127.0.0.1:' };
  const token = new URLSearchParams(url.hash.slice(1)).get('token');
  if (!token) return { kind: 'error', message: 'That address has no token: copy the whole address, including the part after #token=.' };
  if (url.origin !== here.origin) return { kind: 'navigate', url: url.href };
  return { kind: 'token', token };
}

/** The token in a location's fragment, if any. */
export const tokenInHash = (hash: string): string | null => new URLSearchParams(hash.replace(/^#/, '')).get('token');
