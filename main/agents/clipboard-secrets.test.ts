import { describe, expect, it } from 'vitest';
import { detectSecret, shannonEntropy } from './clipboard-secrets';

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
    ['openai-key', 'OpenAI legacy key', j('sk-', rand(3, 48))],
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
  for (const [kind, name, text] of cases) it(`flags ${name}`, () => expect(detectSecret(text)).toBe(kind));
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
  for (const [name, text] of clean) it(`passes ${name}`, () => expect(detectSecret(text)).toBeNull());
});

describe('shannonEntropy', () => {
  it('is 0 for a repeated character and log2(n) for n distinct ones', () => {
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('abcdefgh')).toBeCloseTo(3, 10);
  });
});
