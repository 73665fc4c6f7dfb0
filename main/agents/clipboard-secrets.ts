// Recognises text that looks like a credential, so the clipboard relay never posts it to a room.
// It errs on the side of skipping: a missed relay costs the user one paste, a leaked key costs more.

export type SecretKind =
  | 'anthropic-key'
  | 'openai-key'
  | 'github-token'
  | 'aws-access-key'
  | 'slack-token'
  | 'jwt'
  | 'private-key'
  | 'password-line'
  | 'high-entropy';

interface Rule {
  kind: SecretKind;
  re: RegExp;
}

// Order matters only for the reported kind: the Anthropic prefix also matches the OpenAI one.
const rules: readonly Rule[] = [
  { kind: 'private-key', re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/ },
  { kind: 'anthropic-key', re: /\bsk-ant-[A-Za-z0-9_-]{20,}/ },
  { kind: 'openai-key', re: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/ },
  { kind: 'github-token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})/ },
  { kind: 'aws-access-key', re: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/ },
  { kind: 'slack-token', re: /\bxox[abposre]-[A-Za-z0-9-]{10,}/ },
  { kind: 'jwt', re: /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/ },
];

// "password: hunter2", "API_KEY=…", "Authorization: Bearer …" — a name that says secret, then a value.
const assignment =
  /^\s*(?:export\s+|["']?)?[\w.-]*?(?:password|passwd|pwd|passphrase|secret|api[_-]?key|access[_-]?key|auth[_-]?token|token|client[_-]?secret)["']?\s*[:=]\s*["']?([^\s"']+)/im;
const bearer = /\bauthorization\s*:\s*(?:bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{12,}/i;
// Values that say "put yours here" rather than being one.
const placeholder = /^(?:<[^>]*>?|\*+|x+|\.\.\.|…|\$\{?[\w.]+\}?|%[\w]+%|process\.env\.\w+|changeme|example|none|null|undefined|true|false|required|optional|string)$/i;

/** Shannon entropy in bits per character of the string's own character distribution. */
export function shannonEntropy(s: string): number {
  if (!s) return 0;
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

// Random credentials (base64 / base62 tokens) carry ~5–6 bits per character; prose, identifiers,
// hex digests (≤ 4 bits) and UUIDs stay below the threshold. Short strings cannot show their
// entropy, so only runs of 32+ characters are judged.
const MIN_RUN = 32;
const MIN_BITS = 4.3;
const run = /[A-Za-z0-9+/_=-]{32,}/g;

function looksRandom(token: string): boolean {
  if (token.length < MIN_RUN) return false;
  if (/^[0-9a-f-]+$/i.test(token)) return false; // hashes, UUIDs: shared openly in code review
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((r) => r.test(token)).length;
  if (classes < 3) return false; // long words, snake_case identifiers
  if (token.includes('/') && /^[\w.-]+(?:\/[\w.-]+)+$/.test(token) && !/[+=]/.test(token)) return false; // paths
  return shannonEntropy(token) >= MIN_BITS;
}

/** The kind of secret the text seems to contain, or null. Never returns the secret itself. */
export function detectSecret(text: string): SecretKind | null {
  for (const r of rules) if (r.re.test(text)) return r.kind;
  if (bearer.test(text)) return 'password-line';
  for (const line of text.split(/\r?\n/)) {
    const m = assignment.exec(line);
    if (m && m[1]!.length >= 4 && !placeholder.test(m[1]!)) return 'password-line';
  }
  for (const m of text.matchAll(run)) {
    // A URL's path and query are judged without the scheme and host.
    if (looksRandom(m[0])) return 'high-entropy';
  }
  return null;
}
