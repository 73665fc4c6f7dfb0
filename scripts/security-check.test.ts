import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');

describe('security check', () => {
  // The check over out/ runs in `npm test` itself; this proves it can fail.
  it('fails on an app that turns the Electron defenses off', () => {
    const r = spawnSync(process.execPath, ['scripts/security-check.mjs', '--input', 'security/fixtures/insecure'], { cwd: root, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAIL\s+CONTEXT_ISOLATION_JS_CHECK/);
    expect(r.stdout).toMatch(/FAIL\s+SANDBOX_JS_CHECK/);
    expect(r.stderr).toMatch(/medium severity or above/);
  }, 60_000);
});
