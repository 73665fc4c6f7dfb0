import { describe, expect, it } from 'vitest';
import { createAction, type ActionState } from './actionCore';
import { CallError } from '../transport/types';

describe('createAction', () => {
  it('is pending while it runs and answers the value', async () => {
    const seen: ActionState[] = [];
    const a = createAction((s) => seen.push(s));
    const r = await a.run(async () => 5);
    expect(r).toEqual({ ok: true, value: 5 });
    expect(seen.map((s) => s.pending)).toEqual([true, false]);
    expect(a.state()).toEqual({ pending: false, error: undefined });
  });

  it("shows the contract's message for a failed call and does not throw", async () => {
    const a = createAction(() => {});
    const r = await a.run(() => Promise.reject(new CallError({ code: 'invalid_input', message: 'Name: required' })));
    expect(r).toEqual({ ok: false, error: 'Name: required' });
    expect(a.state()).toEqual({ pending: false, error: 'Name: required' });
  });

  it('a new run clears the previous error', async () => {
    const a = createAction(() => {});
    await a.run(() => Promise.reject(new Error('no')));
    const p = a.run(async () => 1);
    expect(a.state().error).toBeUndefined();
    await p;
  });

  it('an older run that fails late does not overwrite the newer success, and pending lasts until both end', async () => {
    const a = createAction(() => {});
    let failOld!: (e: Error) => void;
    const old = a.run(() => new Promise<number>((_, reject) => (failOld = reject)));
    await a.run(async () => 2);
    expect(a.state().pending).toBe(true);
    failOld(new Error('stale'));
    await old;
    expect(a.state()).toEqual({ pending: false, error: undefined });
  });

  it('fail shows a form problem where the call errors go, and clear removes it', () => {
    const a = createAction(() => {});
    a.fail('Point 1 needs four numbers');
    expect(a.state().error).toBe('Point 1 needs four numbers');
    a.clear();
    expect(a.state().error).toBeUndefined();
  });

  it('notifies nobody after dispose', async () => {
    let n = 0;
    const a = createAction(() => n++);
    a.dispose();
    await a.run(async () => 1);
    expect(n).toBe(0);
  });
});
