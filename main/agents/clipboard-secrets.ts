// Recognises text that looks like a credential, so the clipboard relay never posts it to a room.
// It errs on the side of skipping: a missed relay costs the user one paste, a leaked key costs more.
//
// Two layers. Provider tokens (cloud, SCM, SaaS, private keys, connection strings, webhooks) come
// from secretlint's recommended preset, a rule set maintained by the secret-scanning community, so
// new token formats arrive with a dependency update rather than a hand edit here. On top of it,
// what such scanners leave out because it is not a provider format: card numbers (Luhn), passwords
// on command lines, credentials in any URL scheme, "password: …" lines, bearer headers, JWTs and
// random-looking runs. Known harmless look-alikes (SSH public keys, data: URIs, module checksums,
// SRI hashes) are blanked out before the generic layer runs. `npm run eval:secrets` prints recall
// and false positives over the labelled corpus in ./secret-corpus.ts.

export type SecretKind =
  | 'provider-token'
  | 'private-key'
  | 'url-credentials'
  | 'card-number'
  | 'cli-password'
  | 'jwt'
  | 'password-line'
  | 'high-entropy';

// ---- layer 1: secretlint's maintained rules -------------------------------------------------

type LintSource = typeof import('@secretlint/core').lintSource;
type SecretLintCoreConfig = Parameters<LintSource>[0]['options']['config'];
let secretlint: Promise<{ lintSource: LintSource; config: SecretLintCoreConfig }> | undefined;
// Loaded on first use: the relay is off by default and most sessions never pay for it.
const loadSecretlint = (): Promise<{ lintSource: LintSource; config: SecretLintCoreConfig }> =>
  (secretlint ??= Promise.all([import('@secretlint/core'), import('@secretlint/secretlint-rule-preset-recommend')]).then(([core, preset]) => ({
    lintSource: core.lintSource,
    config: { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: preset.creator }] },
  })));

const kindOfRule = (ruleId: string): SecretKind => {
  if (ruleId.endsWith('privatekey')) return 'private-key';
  if (ruleId.endsWith('basicauth') || ruleId.endsWith('database-connection-string')) return 'url-credentials';
  return 'provider-token';
};

async function maintainedRules(text: string): Promise<SecretKind | null> {
  const { lintSource, config } = await loadSecretlint();
  const r = await lintSource({ source: { filePath: 'clipboard.txt', content: text, ext: '.txt', contentType: 'text' }, options: { config, maskSecrets: true } });
  const m = r.messages.find((x) => x.type === 'message' && x.severity === 'error') ?? r.messages[0];
  return m ? kindOfRule(m.ruleId) : null;
}

// ---- harmless look-alikes, blanked before the generic layer --------------------------------

const harmless: readonly RegExp[] = [
  // SSH public keys (the public half is meant to be shared).
  /\b(?:ssh-(?:rsa|ed25519|dss)|ecdsa-sha2-nistp\d{3}|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) AAAA[A-Za-z0-9+/]+=*/g,
  // data: URIs (inline images, fonts).
  /\bdata:[\w.+-]+\/[\w.+-]+(?:;[\w-]+=[\w.-]+)*;base64,[A-Za-z0-9+/]+=*/g,
  // Go module checksums, Subresource Integrity and npm lockfile hashes, Nix hashes.
  /\b(?:h1|go):[A-Za-z0-9+/]{43}=/g,
  /\bsha(?:256|384|512)-[A-Za-z0-9+/]{43,86}={0,2}/g,
  // Content digests: docker/OCI and git-style, plain hex.
  /\bsha(?:1|256|512):[0-9a-f]{40,128}\b/gi,
  // SSH host/key fingerprints.
  /\bSHA256:[A-Za-z0-9+/]{43}=?/g,
  /-----BEGIN (?:CERTIFICATE|PUBLIC KEY|RSA PUBLIC KEY|PGP PUBLIC KEY BLOCK)-----[\s\S]*?-----END [A-Z ]+-----/g,
];

function withoutHarmless(text: string): string {
  let t = text;
  for (const re of harmless) t = t.replace(re, ' ');
  return t;
}

// ---- layer 2: what provider rule sets leave out ---------------------------------------------

const privateKey = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/;
// Fixed-prefix formats the preset does not carry (yet): AWS key ids without their secret beside
// them, Vault service/batch/recovery tokens, age identities; and Anthropic/OpenAI/GitHub prefixes
// whose rest is shorter or shaped otherwise than the preset's exact format (a key cut by a
// line break is still a key).
const prefixedTokens =
  /\b(?:(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}|hv[sbr]\.[A-Za-z0-9_-]{24,}|AGE-SECRET-KEY-1[0-9A-Z]{58}|sk-ant-[A-Za-z0-9_-]{20,}|sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,}|xox[abposre]-[A-Za-z0-9-]{10,})/;
const jwt = /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/;
// scheme://user:password@host for any scheme (postgres, redis, amqp, ftp, smb, https, …).
const urlCredentials = /\b[a-z][a-z0-9+.-]{1,20}:\/\/[^\s:/@]{0,100}:([^\s@/]{3,200})@[\w.-]+/gi;
// Passwords on command lines: mysql -pSECRET, --password=SECRET, --password SECRET, sshpass -p,
// curl -u user:pass, PGPASSWORD=…, docker login -p.
const cliPassword: readonly RegExp[] = [
  /\b(?:mysql|mysqldump|mysqladmin|mariadb)\b[^\n]*?\s-p([^\s'"-][^\s'"]{2,})/,
  /\b(?:mysql|mysqldump|mysqladmin|mariadb)\b[^\n]*?\s-p["']([^"'\s]{3,})["']/,
  /--(?:password|passwd|pass|token|secret|api-key|apikey)(?:=|\s+)["']?([^\s"'-][^\s"']{2,})/i,
  /\bsshpass\s+-p\s*["']?([^\s"']{3,})/,
  /\bcurl\b[^\n]*?\s(?:-u|--user)\s+["']?[^\s:"']+:([^\s"']{3,})/,
  /\b(?:PGPASSWORD|MYSQL_PWD|REDISCLI_AUTH|SSHPASS)=["']?([^\s"']{3,})/,
  /\bdocker\s+login\b[^\n]*?\s-p\s+["']?([^\s"']{3,})/,
];
// "password: hunter2", "API_KEY=…" — a name that says secret, then a value.
const assignment =
  /(?:^|[\s{,;(])(?:export\s+|set\s+|\$env:|["']?)?[\w.-]*?(?:password|passwd|pwd|passphrase|secret|api[_-]?key|access[_-]?key|auth[_-]?token|token|client[_-]?secret|private[_-]?key|credentials?)["']?\s*(?::=|[:=]|=>)\s*["']?([^\s"',;]+)/im;
const bearerHeader = /\bauthorization\s*:\s*(?:bearer|basic|token|digest)\s+[A-Za-z0-9._~+/=-]{12,}/i;
// "Bearer <token>" without the header name: the token must look like one (letters and digits).
const bearerBare = /\bbearer\s+(?=[A-Za-z0-9._~+/=-]*\d)(?=[A-Za-z0-9._~+/=-]*[A-Za-z])[A-Za-z0-9._~+/=-]{20,}/i;
// Values that say "put yours here" rather than being one.
const placeholder =
  /^(?:<[^>]*>?|\[[^\]]*\]?|\*+|x+|X+|\.\.\.|…|\$\{?[\w.:-]+\}?|\$\(.*\)?|%[\w]+%|\{\{.*\}\}|process\.env\.\w+|os\.environ.*|env\(.*|getenv\(.*|changeme|example|your[_-]?\w*|none|null|nil|undefined|true|false|required|optional|string|str|int|secret|password|redacted|hidden|todo)$/i;

// Code that assigns a secret from somewhere else, rather than a secret: `token = await issue()`,
// `password = getPassword()`, `secret = config.db.secret`.
const codeValue = /^(?:await|new|yield|function|lambda|async|typeof|None|nil)$|^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*\(|^(?:this|self|config|cfg|options|opts|settings|env|args|params|props|req|request)\./;

/** Luhn checksum over the digits of a candidate card number. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

// 13–19 digits, optionally in groups separated by one space or dash, not part of a longer number.
const cardCandidate = /(?<![\d.-])(?:\d[ -]?){12,18}\d(?![\d-])/g;
// Issuer prefixes (IIN ranges) of the card networks people paste: Visa, Mastercard, Amex,
// Discover, JCB, Diners, UnionPay, Maestro. An order number that passes Luhn by chance rarely
// also starts like a card.
const issuer = /^(?:4\d{12,18}|5[1-5]\d{14}|2(?:2[2-9]|[3-6]\d|7[01])\d{13}|2720\d{12}|3[47]\d{13}|6(?:011|5\d{2}|4[4-9]\d)\d{12,15}|35(?:2[89]|[3-8]\d)\d{12,15}|3(?:0[0-5]|[689]\d)\d{11,16}|62\d{14,17}|(?:5[06-9]|6\d)\d{10,17})$/;

function isCard(groups: string[]): boolean {
  // Groups must look like a card's (4-4-4-4, 4-6-5, …), not a phone number's or a date's.
  if (groups.length > 1 && groups.some((g) => g.length < 4)) return false;
  const digits = groups.join('');
  if (digits.length < 13 || digits.length > 19 || /^(\d)\1+$/.test(digits)) return false;
  return issuer.test(digits) && luhnValid(digits);
}

function hasCardNumber(text: string): boolean {
  for (const m of text.matchAll(cardCandidate)) {
    const groups = m[0].split(/[ -]/);
    // The scan may run into what follows the number ("… 3456 1/27" takes the month's 1).
    for (let n = groups.length; n >= 1; n--) if (isCard(groups.slice(0, n))) return true;
  }
  return false;
}

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

/** Base64 of ordinary text (a greeting, a JSON snippet) is an encoding, not a secret. */
function isBase64OfText(token: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(token) || token.length % 4 !== 0) return false;
  const bytes = Buffer.from(token, 'base64');
  let printable = 0;
  for (const b of bytes) if ((b >= 0x20 && b < 0x7f) || b === 0x0a) printable++;
  const text = bytes.toString('latin1');
  // Text has spaces between words; "user:password" has none and stays suspicious.
  return printable === bytes.length && / \w/.test(text);
}

function looksRandom(token: string): boolean {
  if (token.length < MIN_RUN) return false;
  if (isBase64OfText(token)) return false;
  if (/^[0-9a-f-]+$/i.test(token)) return false; // hashes, UUIDs: shared openly in code review
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((r) => r.test(token)).length;
  if (classes < 3) return false; // long words, snake_case identifiers
  if (token.includes('/') && /^[\w.-]+(?:\/[\w.-]+)+$/.test(token) && !/[+=]/.test(token)) return false; // paths
  return shannonEntropy(token) >= MIN_BITS;
}

/** The generic layer alone (synchronous): what provider rule sets do not cover. */
export function detectGenericSecret(input: string): SecretKind | null {
  if (privateKey.test(input)) return 'private-key';
  const text = withoutHarmless(input);
  if (prefixedTokens.test(text)) return 'provider-token';
  for (const m of text.matchAll(urlCredentials)) if (!placeholder.test(m[1]!) && !/^\$/.test(m[1]!)) return 'url-credentials';
  for (const re of cliPassword) {
    const m = re.exec(text);
    if (m && !placeholder.test(m[1]!)) return 'cli-password';
  }
  if (hasCardNumber(text)) return 'card-number';
  if (jwt.test(text)) return 'jwt';
  if (bearerHeader.test(text) || bearerBare.test(text)) return 'password-line';
  for (const line of text.split(/\r?\n/)) {
    const m = assignment.exec(line);
    if (m && m[1]!.length >= 4 && !placeholder.test(m[1]!) && !codeValue.test(m[1]!)) return 'password-line';
  }
  for (const m of text.matchAll(run)) if (looksRandom(m[0])) return 'high-entropy';
  return null;
}

/** Loads the maintained rules ahead of the first detection (the relay calls it when turned on). */
export async function prepareSecretDetection(): Promise<void> {
  await loadSecretlint();
}

/** The kind of secret the text seems to contain, or null. Never returns the secret itself. */
export async function detectSecret(text: string): Promise<SecretKind | null> {
  return (await maintainedRules(text)) ?? detectGenericSecret(text);
}
