import { describe, expect, it } from 'vitest';
import { readPastedAddress, tokenInHash } from './addressCore';

const here = { origin: 'http://127.0.0.1:5173', pathname: '/' };

describe('readPastedAddress', () => {
  it('reconnects in place to the same server with the new token', () => {
    expect(readPastedAddress('http://127.0.0.1:5173/#token=abcdefghijklmnop1234', here)).toEqual({ kind: 'token', token: 'abcdefghijklmnop1234' });
    expect(readPastedAddress('  abcdefghijklmnop1234  ', here)).toEqual({ kind: 'token', token: 'abcdefghijklmnop1234' });
  });
  it('goes to a server on another port (a restart that chose a new one)', () => {
    expect(readPastedAddress('http://127.0.0.1:6000/#token=abcdefghijklmnop1234', here)).toEqual({ kind: 'navigate', url: 'http://127.0.0.1:6000/#token=abcdefghijklmnop1234' });
  });
  it('says what is missing', () => {
    expect(readPastedAddress('http://127.0.0.1:5173/', here)).toMatchObject({ kind: 'error', message: /no token/ });
    expect(readPastedAddress('hello there', here)).toMatchObject({ kind: 'error', message: /not an address/ });
    expect(readPastedAddress('', here)).toMatchObject({ kind: 'error' });
  });
  it('reads the token from a fragment', () => {
    expect(tokenInHash('#token=x1')).toBe('x1');
    expect(tokenInHash('')).toBeNull();
  });
});
