import { describe, expect, it } from 'vitest';
import { createEventBus } from './bus';

describe('event bus', () => {
  it('delivers to topic subscribers and keeps going when a listener throws', () => {
    const errors: unknown[] = [];
    const bus = createEventBus((e) => errors.push(e));
    const got: string[] = [];
    bus.subscribeAll(() => {
      throw new Error('boom');
    });
    const off = bus.subscribe('app.notification', (n) => got.push(n.title));
    bus.publish('app.notification', { title: 'a', body: '', severity: 'info' });
    off();
    bus.publish('app.notification', { title: 'b', body: '', severity: 'info' });
    expect(got).toEqual(['a']);
    expect(errors).toHaveLength(2);
  });
});
