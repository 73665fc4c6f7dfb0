import { beforeAll, describe, expect, it } from 'vitest';
import { federatedConfig, type FederatedConfig } from '../../preload/contract';
import { generateTask } from './data';
import { Federation } from './engine';
import { pickByzantine, poisonUpdates, type Attack } from './poison';
import { createRng } from './random';

// The app's own round (engine.ts, the mode chosen in the Federated view) with poisoned cameras:
// the same adversary model as robust-eval.test.ts, applied through the engine's tamper seam to the
// updates the coordinator is about to aggregate. Task: the app's default head (10 classes, 32
// features, Dirichlet 0.5 split), 20 cameras all taking part, 8 rounds.
const CAMERAS = Array.from({ length: 20 }, (_, i) => `CAM-${String(i + 1).padStart(2, '0')}`);
const task = generateTask({ classes: 10, features: 32, clients: CAMERAS.length, samplesPerClient: 200, testSamples: 2000, alpha: 0.5, separation: 3 }, createRng('robust-engine/task'));
const ROUNDS = 8;
const MARGIN = 0.05;

function train(config: Partial<FederatedConfig>, attack: Attack, poisoned: number, rounds = ROUNDS): number {
  const fed = new Federation(task, CAMERAS, createRng('robust-engine/federation'));
  const bad = new Set(pickByzantine(CAMERAS.length, poisoned, createRng('robust-engine/byzantine')).map((i) => CAMERAS[i]!));
  const attackRng = createRng('robust-engine/attack');
  const cfg = federatedConfig({ clientsPerRound: CAMERAS.length, localEpochs: 1, learningRate: 0.1, batchSize: 16, secureGraph: 'full', ...config });
  let accuracy = 0;
  for (let round = 1; round <= rounds; round++) {
    const out = fed.runRound({
      round,
      config: cfg,
      linkHealth: () => 1,
      tamper: (updates) => {
        const ids = [...updates.keys()];
        const received = poisonUpdates(ids.map((id) => updates.get(id)!), ids.flatMap((id, i) => (bad.has(id) ? [i] : [])), attack, attackRng);
        ids.forEach((id, i) => updates.get(id)!.set(received[i]!));
      },
    });
    expect(out.status, out.reason ?? '').toBe('completed');
    accuracy = out.accuracy!;
  }
  return accuracy;
}

describe('the app’s aggregation modes with poisoned cameras (engine rounds)', () => {
  const flip: Attack = { kind: 'sign-flip', lambda: 10 };
  const modes = { trimmed: { aggregation: 'robust-trimmed', trimFraction: 0.3 }, median: { aggregation: 'robust-median' }, krum: { aggregation: 'krum', krumFaulty: 6 } } as const;
  let clean: number;
  let cleanOf: Record<keyof typeof modes, number>;
  beforeAll(() => {
    clean = train({ aggregation: 'plain' }, { kind: 'none' }, 0);
    cleanOf = Object.fromEntries(Object.entries(modes).map(([k, c]) => [k, train(c, { kind: 'none' }, 0)])) as Record<keyof typeof modes, number>;
  }, 60_000);

  it('without an attack the robust modes cost accuracy on cameras that see different classes; Krum most (it keeps one camera’s update)', () => {
    expect(clean).toBeGreaterThan(0.5);
    expect(cleanOf.trimmed).toBeGreaterThan(clean - 2 * MARGIN);
    expect(cleanOf.median).toBeGreaterThan(clean - 2 * MARGIN);
    // The limit, stated: on this Dirichlet(0.5) split Krum ends far below the mean. Reported, not hidden.
    expect(cleanOf.krum).toBeLessThan(clean - 3 * MARGIN);
    expect(cleanOf.krum).toBeGreaterThan(0.2);
  });

  it('one or two sign-flipped cameras of 20 wreck plain FedAvg and the secure mode (its quantizer clamp is no defence)', () => {
    for (const k of [1, 2]) expect(train({ aggregation: 'plain' }, flip, k), `plain, ${k}`).toBeLessThan(clean - 3 * MARGIN);
    // Secure rounds are the slow ones (pairwise keys for 20 cameras): three rounds show it.
    expect(train({ aggregation: 'secure' }, flip, 1, 3)).toBeLessThan(clean - 3 * MARGIN);
  }, 60_000);

  it('at 2 of 20 (10 %) each robust mode stays within 5 points of its own clean run; at 4 of 20 within 10, far above FedAvg', () => {
    const plain4 = train({ aggregation: 'plain' }, flip, 4);
    for (const [name, config] of Object.entries(modes) as [keyof typeof modes, (typeof modes)[keyof typeof modes]][]) {
      expect(train(config, flip, 2), `${name}, 2 poisoned`).toBeGreaterThan(cleanOf[name] - MARGIN);
      const four = train(config, flip, 4);
      expect(four, `${name}, 4 poisoned`).toBeGreaterThan(cleanOf[name] - 2 * MARGIN);
      expect(four - plain4, `${name} vs plain, 4 poisoned`).toBeGreaterThan(0.3);
    }
  }, 60_000);

  it('a trim fraction below the poisoned share (the default 10 % against 4 of 20) gives most of that away', () => {
    expect(train({ aggregation: 'robust-trimmed', trimFraction: 0.1 }, flip, 4)).toBeLessThan(cleanOf.trimmed - 4 * MARGIN);
  });
});
