// The bridge's operations are one definition: the contract's list, what the server runs, and what
// docs/protocol.md describes are the same set.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bridgeOperations } from '../../preload/contract';
import { createOperations } from './operations';

describe('bridge operations', () => {
  it('the server runs exactly the contract operations, and docs/protocol.md names each with its scope', () => {
    const none = undefined as never;
    const ops = createOperations({ rooms: none, tokens: none, replay: none, refuse: () => undefined });
    expect(Object.keys(ops).sort()).toEqual(Object.keys(bridgeOperations).sort());
    const doc = fs.readFileSync(path.resolve(__dirname, '../../docs/protocol.md'), 'utf8');
    const section = doc.slice(doc.indexOf('# The agent bridge'));
    for (const [name, o] of Object.entries(bridgeOperations)) {
      const row = section.split('\n').find((l) => l.startsWith('|') && l.includes(`\`${name}\``));
      expect(row, name).toBeDefined();
      expect(row, name).toContain(o.scope ?? 'any');
    }
  });
});
