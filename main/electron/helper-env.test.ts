import { describe, expect, it } from 'vitest';
import { helperEnv } from './helper-env';

describe('the helper process environment', () => {
  it('keeps what a build needs and drops keys and tokens', () => {
    const env = helperEnv({
      PATH: '/usr/bin',
      HOME: '/home/u',
      LC_ALL: 'C.UTF-8',
      SOURCE_DATE_EPOCH: '1700000000',
      OMNISIGHT_NATIVE_DIR: '/data/native',
      OMNISIGHT_TOKEN: 'x'.repeat(40),
      ANTHROPIC_API_KEY: 'sk-ant-secret',
      AWS_SECRET_ACCESS_KEY: 'aws',
      GITHUB_TOKEN: 'ghp',
      ELECTRON_RUN_AS_NODE: '1',
    });
    expect(env).toEqual({ PATH: '/usr/bin', HOME: '/home/u', LC_ALL: 'C.UTF-8', SOURCE_DATE_EPOCH: '1700000000', OMNISIGHT_NATIVE_DIR: '/data/native' });
  });
});
