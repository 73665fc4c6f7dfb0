import { describe, expect, it } from 'vitest';
import { addSelfTimes, sideOf } from './bench-federated-profile';

describe('bench-federated-profile', () => {
  const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber, columnNumber: 0 });

  it('adds each sample the time until the next one, per function, over several profiles', () => {
    const p = {
      nodes: [
        { id: 1, callFrame: frame('(root)', '') },
        { id: 2, callFrame: frame('interpolateAtZero', 'file:///x/main/federated/shamir.ts', 10) },
        { id: 3, callFrame: frame('onUnmask', 'file:///x/main/camsim/fl/client.ts', 20) },
      ],
      // Samples at 2, 3, 2, 1 with deltas before each: 5, 7, 11, 13 µs; the last sample's time is unknown.
      samples: [2, 3, 2, 1],
      timeDeltas: [5, 7, 11, 13],
    };
    const into: Parameters<typeof addSelfTimes>[1] = new Map();
    addSelfTimes(p, into);
    const us = (name: string): number | undefined => [...into.values()].find((e) => e.frame.functionName === name)?.us;
    expect(us('interpolateAtZero')).toBe(7 + 13);
    expect(us('onUnmask')).toBe(11);
    expect(us('(root)')).toBe(0);
    addSelfTimes(p, into);
    expect(us('interpolateAtZero')).toBe(40);
    expect(into.size).toBe(3);
  });

  it('tells the server, camera and other frames apart by file', () => {
    expect(sideOf('file:///w/main/federated/fl-server.ts')).toBe('server');
    expect(sideOf('file:///w/main/camsim/fl/client.ts')).toBe('camera');
    expect(sideOf('node:internal/timers')).toBe('other');
    expect(sideOf('')).toBe('other');
  });
});
