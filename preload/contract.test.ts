import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { bridgeClientFrames, bridgeOperations, bridgeServerFrames, events, methods } from './contract';

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

  // The agent bridge's operations and frames (preload/contract/bridge.ts): inputs, outputs and payloads.
  it('lists every agent bridge operation with its scope, input and output, and every frame with its payload', () => {
    const json = (t: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(t, { io, unrepresentable: 'any' });
    const surface = {
      operations: Object.fromEntries(
        Object.entries(bridgeOperations)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([name, o]) => [name, { description: o.description, scope: o.scope, socketOnly: 'socketOnly' in o, input: json(o.input, 'input'), output: json(o.output, 'output') }]),
      ),
      clientFrames: Object.fromEntries(Object.entries(bridgeClientFrames).map(([n, f]) => [n, { description: f.description, payload: json(f.payload, 'input') }])),
      serverFrames: Object.fromEntries(Object.entries(bridgeServerFrames).map(([n, f]) => [n, { description: f.description, payload: json(f.payload, 'output') }])),
    };
    expect(surface).toMatchSnapshot();
    for (const [name, o] of Object.entries(bridgeOperations)) expect((json(o.input, 'input') as { additionalProperties?: unknown }).additionalProperties, name).toBe(false);
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
