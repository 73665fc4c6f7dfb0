import { describe, expect, it } from 'vitest';
import { silentLogger } from '../kernel/logger';
import { createClosers, createSignal } from './lifecycle';

describe('closers', () => {
  it('closes in reverse order of construction, awaiting each, once', async () => {
    const closed: string[] = [];
    const c = createClosers(silentLogger());
    for (const name of ['db', 'rooms', 'fleet', 'agents'])
      c.add(name, name, async (n) => {
        await new Promise((r) => setImmediate(r));
        closed.push(n);
      });
    expect(c.order()).toEqual(['agents', 'fleet', 'rooms', 'db']);
    await Promise.all([c.closeAll(), c.closeAll()]);
    await c.closeAll();
    expect(closed).toEqual(['agents', 'fleet', 'rooms', 'db']);
  });

  it('keeps closing after a failure and rethrows the first one', async () => {
    const closed: string[] = [];
    const c = createClosers(silentLogger());
    c.add('a', 0, () => closed.push('a'));
    c.add('b', 0, () => {
      throw new Error('b failed');
    });
    c.add('c', 0, () => {
      throw new Error('c failed');
    });
    await expect(c.closeAll()).rejects.toThrow('c failed');
    expect(closed).toEqual(['a']);
  });
});

describe('signal', () => {
  it('delivers to listeners attached after the producer was built, and stops after detach', () => {
    const s = createSignal<[number]>();
    const emit = s.emit; // what a producer keeps
    emit(1); // before the link: nobody listens yet
    const got: number[] = [];
    const off = s.on((n) => got.push(n));
    emit(2);
    off();
    emit(3);
    expect(got).toEqual([2]);
  });
});
