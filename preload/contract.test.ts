import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { events, methods } from './contract';

describe('contract', () => {
  // The whole API surface in one reviewable snapshot: a change to it shows in review.
  it('lists every method and event with its input and payload shape', () => {
    const surface = {
      methods: Object.fromEntries(
        Object.entries(methods)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([name, m]) => [name, { description: m.description, input: z.toJSONSchema(m.input, { io: 'input', unrepresentable: 'any' }) }]),
      ),
      events: Object.fromEntries(
        Object.entries(events)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([topic, e]) => [topic, { description: e.description }]),
      ),
    };
    expect(surface).toMatchSnapshot();
  });

  it('refuses unknown fields on every object input', () => {
    for (const [name, m] of Object.entries(methods)) {
      const schema = z.toJSONSchema(m.input, { io: 'input', unrepresentable: 'any' }) as { type?: string; additionalProperties?: unknown };
      if (schema.type === 'object') expect(schema.additionalProperties, name).toBe(false);
    }
  });

  it('names methods capability.verb and events capability.noun', () => {
    for (const name of [...Object.keys(methods), ...Object.keys(events)]) expect(name).toMatch(/^[a-z]+(\.[a-zA-Z]+)+$/);
  });
});
