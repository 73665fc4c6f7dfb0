import { describe, expect, it } from 'vitest';
import { runSimulation } from './world';
import type { ScenarioName } from './scenarios';

const SEEDS = 1_000;

function sweep(scenario: ScenarioName) {
  const failures: string[] = [];
  let safetyViolations = 0;
  let livenessChecked = 0;
  let confirmed = 0;
  let maxF = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = runSimulation(scenario, seed);
    maxF = Math.max(maxF, ...r.zones.map((z) => z.f));
    if (!r.safety.ok) safetyViolations++;
    if (r.liveness.applicable) livenessChecked++;
    confirmed += r.confirmed.length;
    const bad = [...r.safety.violations, ...r.liveness.missed, ...r.expectations.problems];
    if (bad.length && failures.length < 3) failures.push(`seed ${seed}: ${bad.join('; ')}`);
  }
  return { failures, safetyViolations, livenessChecked, confirmed, maxF };
}

// Unsigned scenarios exercise fusion and topology; the verifier is covered by the signed file.
// Fleets of 4–16 cameras with partial, overlapping coverage of four zones (f up to 5); liars collude
// on one zone with plausible objects next to true events, some lie only half the time. About 20 s
// for the six sweeps on this 2-core machine (sim-signed.test.ts: about 30 s, on the other worker).
describe.each(['honest', 'crash', 'partition', 'delay', 'colluding-liars', 'intermittent-liars'] as const)('simulation: %s over 1,000 seeds', (scenario) => {
  it('keeps safety and liveness on every seed', () => {
    const s = sweep(scenario);
    expect(s.failures).toEqual([]);
    expect(s.livenessChecked).toBe(SEEDS); // at most f faulty in every zone of every run, so liveness applies
    expect(s.confirmed).toBeGreaterThan(SEEDS); // something was actually confirmed
    expect(s.maxF).toBe(5); // some runs have a zone seen by 16 cameras
  }, 60_000);
});

describe('simulation: too-many-liars (f+1 colluding) over 1,000 seeds', () => {
  it('the safety checker catches the confirmed invented event', () => {
    const s = sweep('too-many-liars');
    expect(s.safetyViolations).toBeGreaterThan(0);
    // f+1 colluding liars always manage it here: they agree on the event and nobody drops their reports.
    expect(s.safetyViolations).toBe(SEEDS);
  }, 60_000);
});

describe('simulation checkers are not vacuous', () => {
  it('a run is reproducible from its seed, trace included', () => {
    const a = runSimulation('delay', 42, { trace: true });
    const b = runSimulation('delay', 42, { trace: true });
    expect(a.trace).toEqual(b.trace);
    expect(a.trace.at(-1)).toMatch(/^verdict safety=ok liveness=ok/);
    expect(runSimulation('delay', 43, { trace: true }).trace).not.toEqual(a.trace);
  });
  it('with more than f faulty, liveness is declared not applicable rather than passed', () => {
    expect(runSimulation('too-many-liars', 7).liveness.applicable).toBe(false);
  });
  it('the safety checker catches f liars once fusion is mis-configured to accept a single camera', () => {
    let caught = 0;
    for (let seed = 1; seed <= 50; seed++) if (!runSimulation('colluding-liars', seed, { fusion: { maxF: 0 } }).safety.ok) caught++;
    expect(caught).toBe(50);
  });
  it('the position check matters: with fusion ungated, liars next to a true event drag a confirmation onto their spot', () => {
    let caught = 0;
    for (let seed = 1; seed <= 100; seed++) {
      const r = runSimulation('colluding-liars', seed, { fusion: { positionGate: 1e9 } });
      if (!r.safety.ok) {
        caught++;
        expect(r.safety.violations[0]).toMatch(/matches no true event \(class, within 2\.5 m, time\)/);
      }
    }
    expect(caught).toBeGreaterThan(10); // whenever the liars happen to report before enough honest cameras
  });
  it('liars lie plausibly: the classes and zone of true events, a few metres away, and never confirm', () => {
    const r = runSimulation('colluding-liars', 5);
    const liars = r.cameras.filter((c) => c.role === 'liar');
    expect(liars.length).toBeGreaterThan(0);
    for (const l of liars) expect(l.zones).toContain(r.target);
    for (const fk of r.fakes) {
      expect(fk.zone).toBe(r.target);
      expect(['Human', 'Car', 'Truck', 'Bike']).toContain(fk.cls);
      expect(Math.min(...r.truth.map((t) => Math.hypot(t.x - fk.x, t.y - fk.y)))).toBeGreaterThanOrEqual(4);
    }
    expect(r.fakes[0]!.cls).toBe(r.truth[0]!.cls); // the same class as the true event it stands next to
    expect(r.safety.ok).toBe(true);
  });
  it('the liveness checker catches a fusion window too short for honest reports to meet', () => {
    let missed = 0;
    for (let seed = 1; seed <= 50; seed++) if (!runSimulation('honest', seed, { fusion: { windowMs: 1 } }).liveness.ok) missed++;
    expect(missed).toBeGreaterThan(0); // some runs still meet by chance (frames land in the same millisecond)
  });
});
