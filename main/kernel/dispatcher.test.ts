import { describe, expect, it } from 'vitest';
import { silentLogger } from './logger';
import { createDispatcher, type RejectedCall } from './dispatcher';
import { AppError } from './errors';

const ctx = { transport: 'ws' as const, peer: 'test' };

describe('dispatcher', () => {
  const setup = () => {
    const rejected: RejectedCall[] = [];
    const d = createDispatcher({ log: silentLogger(), onRejected: (r) => rejected.push(r) });
    return { d, rejected };
  };

  it('refuses an unknown method with a structured error that names nearby methods', async () => {
    const { d, rejected } = setup();
    const r = await d.dispatch('settings.gte', {}, ctx);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('unknown_method');
    expect(r.error.message).toContain('settings.get');
    expect(rejected).toHaveLength(1);
  });

  it('refuses a non-string method without throwing', async () => {
    const { d } = setup();
    const r = await d.dispatch({ evil: true }, {}, ctx);
    expect(r).toMatchObject({ ok: false, error: { code: 'unknown_method' } });
  });

  it('validates input before the handler sees it, naming the field', async () => {
    const { d, rejected } = setup();
    let called = false;
    d.register({ 'settings.set': () => ((called = true), {} as never) });
    const r = await d.dispatch('settings.set', { demoCameraCount: 1000 }, ctx);
    expect(called).toBe(false);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('invalid_input');
    expect(r.error.issues?.[0]?.path).toBe('demoCameraCount');
    expect(r.error.message).toMatch(/demoCameraCount/);
    expect(rejected[0]?.code).toBe('invalid_input');
  });

  it('refuses unknown fields rather than ignoring them', async () => {
    const { d } = setup();
    d.register({ 'app.ping': ({ sentAt }) => ({ sentAt, receivedAt: 1 }) });
    const r = await d.dispatch('app.ping', { sentAt: 1, extra: 2 }, ctx);
    expect(r).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    if (!r.ok) expect(r.error.message).toContain('"extra"');
  });

  it('passes AppError messages through and hides unexpected errors', async () => {
    const { d } = setup();
    d.register({
      'app.ping': () => {
        throw new AppError('conflict', 'Try again later.');
      },
      'app.info': () => {
        throw new Error('secret internals');
      },
    });
    expect(await d.dispatch('app.ping', { sentAt: 1 }, ctx)).toEqual({ ok: false, error: { code: 'conflict', message: 'Try again later.' } });
    const r = await d.dispatch('app.info', {}, ctx);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('internal');
      expect(r.error.message).not.toContain('secret internals');
    }
  });

  it('refuses a second registration of the same method', () => {
    const { d } = setup();
    d.register({ 'app.ping': ({ sentAt }) => ({ sentAt, receivedAt: 0 }) });
    expect(() => d.register({ 'app.ping': ({ sentAt }) => ({ sentAt, receivedAt: 0 }) })).toThrow(/Two services/);
  });
});
