import { describe, expect, it } from 'vitest';
import { digestAuthorization, parseChallenge, parseChallenges } from './digest';

const field = (header: string, name: string): string | undefined => new RegExp(`${name}="?([^",]*)"?`).exec(header)?.[1];

describe('Digest challenges (RFC 7616)', () => {
  it('answers the RFC 7616 section 3.9.1 examples exactly, SHA-256 and MD5', () => {
    const challenge = (algorithm: string): string =>
      `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=${algorithm}, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`;
    const cred = { username: 'Mufasa', password: 'Circle of Life' };
    const cnonce = 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ';
    const sha = digestAuthorization(parseChallenge(challenge('SHA-256'))!, cred, 'GET', '/dir/index.html', 1, cnonce);
    expect(field(sha, 'response')).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
    expect(sha).toContain('algorithm=SHA-256');
    const md5 = digestAuthorization(parseChallenge(challenge('MD5'))!, cred, 'GET', '/dir/index.html', 1, cnonce);
    expect(field(md5, 'response')).toBe('8ca523f5e9506fed4657c9700eebdbec');
  });

  it('prefers SHA-256 among several challenges, whether in separate headers or joined by Node', () => {
    const md5 = 'Digest realm="AXIS_1", nonce="n1", algorithm=MD5, qop="auth"';
    const sha = 'Digest realm="AXIS_1", nonce="n2", algorithm=SHA-256, qop="auth"';
    expect(parseChallenge([md5, sha])?.nonce).toBe('n2');
    expect(parseChallenge(`Basic realm="AXIS_1", ${md5}, ${sha}`)?.nonce).toBe('n2');
    expect(parseChallenge(['Basic realm="x"', md5])?.nonce).toBe('n1');
    expect(parseChallenge('Basic realm="x"')).toBeUndefined();
    expect(parseChallenges('Negotiate abc==, Digest realm="r", nonce="n"').map((c) => c.scheme)).toEqual(['negotiate', 'digest']);
  });

  it('keeps quoted commas and escaped quotes inside values', () => {
    const c = parseChallenge('Digest realm="a, \\"b\\"", nonce="x,y", stale=TRUE');
    expect(c).toMatchObject({ realm: 'a, "b"', nonce: 'x,y', stale: true });
  });

  it('parses hostile headers in linear time (a 15 kB "Digest aaaa…" took 1.4 s before)', () => {
    const hostile = [`Digest ${'a'.repeat(15_000)}`, `Digest ${'a='.repeat(7_500)}`, `Digest realm="${'\\'.repeat(15_000)}`, `${'a '.repeat(7_500)}`];
    // Compare with a header a tenth the size, in CPU time (not wall time, so a busy machine does
    // not count): linear work shows as about 10×, the old quadratic scan as about 100×.
    const cpuPerParse = (h: string, reps: number): number => {
      let best = Infinity;
      for (let run = 0; run < 5; run++) {
        const t0 = process.cpuUsage();
        for (let i = 0; i < reps; i++) parseChallenges(h);
        const d = process.cpuUsage(t0);
        best = Math.min(best, (d.user + d.system) / reps);
      }
      return best;
    };
    for (const h of hostile) {
      expect(parseChallenge(h)).toBeUndefined();
      const small = h.slice(0, Math.floor(h.length / 10));
      cpuPerParse(h, 20); // warm up
      expect(cpuPerParse(h, 20) / cpuPerParse(small, 200)).toBeLessThan(35);
    }
  });

  it('refuses an algorithm it cannot answer with a message that names it', () => {
    expect(() => digestAuthorization(parseChallenge('Digest realm="r", nonce="n", algorithm=SHA-512-256')!, { username: 'u', password: 'p' }, 'GET', '/', 1, 'c')).toThrow(/SHA-512-256/);
  });
});
