import { describe, expect, it } from 'vitest';
import { detectSecret, luhnValid, shannonEntropy } from './clipboard-secrets';
import { secretCorpus } from './secret-corpus';

// Fixtures are assembled at run time so that no credential-shaped literal sits in the repository.
const rand = (seed: number, n: number, alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'): string => {
  let x = seed >>> 0 || 1;
  let out = '';
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out += alphabet[(x >>> 0) % alphabet.length];
  }
  return out;
};
const j = (...parts: string[]): string => parts.join('');

describe('detectSecret: true positives', () => {
  const cases: [string, string, string][] = [
    ['anthropic-key', 'Anthropic key', `my key is ${j('sk-', 'ant-', 'api03-')}${rand(1, 40)}`],
    ['openai-key', 'OpenAI project key', `OPENAI ${j('sk-', 'proj-')}${rand(2, 48)}`],
    ['high-entropy', 'OpenAI legacy key', j('sk-', rand(3, 48))],
    ['github-token', 'GitHub classic token', j('gh', 'p_', rand(4, 36))],
    ['github-token', 'GitHub OAuth token', j('gh', 'o_', rand(5, 36))],
    ['github-token', 'GitHub fine-grained token', j('github', '_pat_', rand(6, 22), '_', rand(7, 59))],
    ['aws-access-key', 'AWS access key id', `aws_id ${j('AK', 'IA', rand(8, 16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'))}`],
    ['slack-token', 'Slack bot token', j('xo', 'xb-', '1234567890-', rand(9, 24))],
    ['jwt', 'JWT', j('ey', 'J', rand(10, 20), '.', 'ey', 'J', rand(11, 30), '.', rand(12, 43))],
    ['private-key', 'PEM RSA key', j('-----BEGIN RSA ', 'PRIVATE KEY-----\n', rand(13, 64), '\n-----END RSA PRIVATE KEY-----')],
    ['private-key', 'OpenSSH key', j('-----BEGIN OPENSSH ', 'PRIVATE KEY-----\n', rand(14, 70))],
    ['private-key', 'PKCS#8 key', j('-----BEGIN ', 'PRIVATE KEY-----')],
    ['password-line', 'password line', 'host: db.local\npassword: hunter2-correct'],
    ['password-line', 'env assignment', 'export DB_PASSWORD="s3cr3t-value"'],
    ['password-line', 'api_key assignment', 'api_key = 9f8e7d6c'],
    ['password-line', 'bearer header', `Authorization: Bearer ${rand(15, 30)}`],
    ['high-entropy', 'random base64 blob', `here: ${rand(16, 40, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/')}==`],
  ];
  for (const [, name, text] of cases) it(`flags ${name}`, async () => expect(await detectSecret(text)).not.toBeNull());
});

describe('detectSecret: false positives it must not raise', () => {
  const clean: [string, string][] = [
    ['prose', 'Here is the refactor you asked for. I renamed the helper and added two tests.'],
    ['talk about passwords', 'The password field must be at least 12 characters; we never log it.'],
    ['placeholder value', 'password: <your password here>'],
    ['env placeholder', 'api_key: ${ANTHROPIC_API_KEY}'],
    ['masked', 'password: ********'],
    ['max_tokens config', 'max_tokens: 1024\nmodel: claude-sonnet-5-5'],
    ['git sha', 'Fixed in commit 3f2a9c1b7e4d5a6f8b9c0d1e2f3a4b5c6d7e8f90 on main.'],
    ['sha256 digest', `sha256: ${'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'}`],
    ['uuid', 'room 550e8400-e29b-41d4-a716-446655440000 was created'],
    ['long identifier', 'Call createSurveillanceCameraConfigurationServiceFactory before start.'],
    ['file path', 'see main/agents/clipboard-relay/implementation/details/file.ts for the loop'],
    ['url', 'Docs: https://platform.claude.com/docs/en/build-with-claude/streaming'],
    ['word sk-', 'use sk-learn style pipelines'],
    ['code', 'const token = await issueToken({ name, scopes });\nreturn token.id;'],
  ];
  for (const [name, text] of clean) it(`passes ${name}`, async () => expect(await detectSecret(text)).toBeNull());
});

describe('shannonEntropy', () => {
  it('is 0 for a repeated character and log2(n) for n distinct ones', () => {
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('abcdefgh')).toBeCloseTo(3, 10);
  });
});

describe('the labelled corpus (npm run eval:secrets prints the same figures)', () => {
  const { secrets, harmless } = secretCorpus();
  it('has at least 150 secrets of 40 kinds and 100 harmless look-alikes', () => {
    expect(secrets.length).toBeGreaterThanOrEqual(150);
    expect(new Set(secrets.map((s) => s.kind)).size).toBeGreaterThanOrEqual(40);
    expect(harmless.length).toBeGreaterThanOrEqual(100);
  });
  it('finds at least 98 % of the secrets and flags at most 1 % of the harmless texts', async () => {
    const missed: string[] = [];
    for (const s of secrets) if (!(await detectSecret(s.text))) missed.push(s.kind);
    const flagged: string[] = [];
    for (const h of harmless) if (await detectSecret(h.text)) flagged.push(h.kind);
    expect(missed.length / secrets.length, `missed: ${missed.join(', ')}`).toBeLessThanOrEqual(0.02);
    expect(flagged.length / harmless.length, `flagged: ${flagged.join(', ')}`).toBeLessThanOrEqual(0.01);
  });
});

describe('luhnValid', () => {
  it('accepts a valid card number and refuses one digit changed', () => {
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('79927398710')).toBe(false);
  });
});
