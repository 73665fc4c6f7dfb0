import { describe, expect, it } from 'vitest';
import { federatedConfig, parseCameraId } from '../../preload/contract';
import { generateTask, type TaskSpec } from './data';
import { checkPlan, Federation, planFor, trainCentralised } from './engine';
import { createRng } from './random';
import type { ClientMessage } from './secagg';

const spec: TaskSpec = { classes: 5, features: 20, clients: 12, samplesPerClient: 150, testSamples: 3000, alpha: 0.5, separation: 3 };
const cameras = Array.from({ length: 12 }, (_, i) => parseCameraId(`CAM${String(i).padStart(2, '0')}`));

describe('federation', () => {
  it('reaches the accuracy of centralised training within one point (secure aggregation, no noise)', () => {
    const task = generateTask(spec, createRng('task'));
    const central = trainCentralised(task, { epochs: 30, batchSize: 16, lr: 0.1 }, createRng('central'));
    const fed = new Federation(task, cameras, createRng('fed'));
    const config = federatedConfig({ aggregation: 'secure', clientsPerRound: 12, localEpochs: 1, learningRate: 0.1, batchSize: 16 });
    let last = 0;
    for (let round = 1; round <= 30; round++) {
      const out = fed.runRound({ round, config, linkHealth: () => 1, dropout: () => undefined });
      expect(out.status).toBe('completed');
      last = out.accuracy!;
    }
    expect(central.accuracy).toBeGreaterThan(0.6);
    expect(central.accuracy).toBeLessThan(0.99); // not a trivially separable task
    expect(Math.abs(last - central.accuracy)).toBeLessThanOrEqual(0.01);
  }, 60_000); // about 4 s on an idle machine; the margin is for a shared, busy one

  it('learns with dropouts and never hands the coordinator a plain update', () => {
    const task = generateTask(spec, createRng('task2'));
    const fed = new Federation(task, cameras, createRng('fed2'));
    const config = federatedConfig({ aggregation: 'secure', clientsPerRound: 9 });
    const seen: ClientMessage[] = [];
    const out = fed.runRound({ round: 1, config, linkHealth: () => 1, dropout: (id) => (id === 'CAM03' || id === 'CAM07' ? 'share' : undefined), tap: (m) => seen.push(m) });
    expect(out.status).toBe('completed');
    expect(seen.some((m) => m.kind === 'masked')).toBe(true);
    expect(out.accuracy!).toBeGreaterThan(0.3);
  });

  it('SecAgg+ and the full graph release the same exact sum, so the same model; offline cameras are never picked', () => {
    const many = Array.from({ length: 24 }, (_, i) => parseCameraId(`CAM${String(i).padStart(2, '0')}`));
    const task = generateTask({ ...spec, clients: 24, samplesPerClient: 40 }, createRng('t5'));
    const models = (['secagg+', 'full'] as const).map((secureGraph) => {
      const fed = new Federation(task, many, createRng('f5'));
      const out = fed.runRound({
        round: 1,
        config: federatedConfig({ aggregation: 'secure', secureGraph, clientsPerRound: 24 }),
        linkHealth: () => 1,
        dropout: (id) => (['CAM02', 'CAM09', 'CAM17'].includes(id) ? 'share' : id === 'CAM05' ? 'masked' : undefined),
      });
      expect(out.status).toBe('completed');
      expect(out.dropped.sort()).toEqual(['CAM02', 'CAM09', 'CAM17']);
      return Array.from(fed.params);
    });
    expect(models[0]).toEqual(models[1]);

    const fed = new Federation(task, many, createRng('f6'));
    const online = new Set(many.slice(0, 10));
    const out = fed.runRound({ round: 1, config: federatedConfig({ aggregation: 'plain', clientsPerRound: 24 }), linkHealth: () => 1, available: (id) => online.has(id), dropout: () => undefined });
    expect(out.selected.sort()).toEqual([...online].sort());
    const none = fed.runRound({ round: 2, config: federatedConfig({}), linkHealth: () => 1, available: (id) => id === 'CAM00' });
    expect(none.status).toBe('aborted');
    expect(none.reason).toMatch(/Only 1 of 24 cameras are online and at least 3 are needed/);
  });

  it('refuses secure and robust aggregation on the same round, and privacy with robust aggregation', () => {
    expect(() => checkPlan({ secure: true, robust: 'krum', privacy: false })).toThrow(/cannot run on the same round.*Choose one aggregation mode/);
    expect(() => checkPlan({ secure: false, robust: 'median', privacy: true })).toThrow(/sum-based aggregation/);
    expect(planFor(federatedConfig({ aggregation: 'robust-trimmed' }))).toEqual({ secure: false, robust: 'trimmed-mean', privacy: false });
    const fed = new Federation(generateTask({ ...spec, clients: 12 }, createRng('t3')), cameras, createRng('f3'));
    const config = federatedConfig({});
    expect(() => fed.runRound({ round: 1, config, linkHealth: () => 1, plan: { secure: true, robust: 'trimmed-mean', privacy: false } })).toThrow(/Choose one/);
  });

  it('aborts a round below quorum with the reason, leaving the model unchanged', () => {
    const fed = new Federation(generateTask(spec, createRng('t4')), cameras, createRng('f4'));
    const before = fed.params.slice();
    let k = 0;
    const config = federatedConfig({ aggregation: 'secure', clientsPerRound: 12 });
    const out = fed.runRound({ round: 1, config, linkHealth: () => 1, dropout: () => (k++ < 5 ? 'share' : undefined) });
    expect(out.status).toBe('aborted');
    expect(out.reason).toMatch(/7 of the cameras answered and at least 8 are needed/);
    expect(Array.from(fed.params)).toEqual(Array.from(before));
  });
});
