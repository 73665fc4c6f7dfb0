import { describe, expect, it } from 'vitest';
import { runSimulation } from './world';
import type { ScenarioName } from './scenarios';

const SEEDS = 1_000;

// These scenarios need real Ed25519 signatures and the verifier in the path; kept in their own file
// so they run on the second worker beside the unsigned ones (about 30 s for the three on an idle
// 2-core machine). In the replay scenario every camera also restarts once (boot epoch 2, seq from
// 1): replays of its first boot's messages are refused as an old epoch, its new ones accepted.
describe.each(['replay', 'forged', 'equivocation'] as const)('simulation (signed): %s over 1,000 seeds', (scenario: ScenarioName) => {
  it('refuses or quarantines the attacker and keeps safety and liveness', () => {
    const failures: string[] = [];
    let quarantines = 0;
    let refused = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = runSimulation(scenario, seed);
      quarantines += r.quarantined.length;
      refused += Object.values(r.rejected).reduce((a, b) => a + (b ?? 0), 0);
      const bad = [...r.safety.violations, ...r.liveness.missed, ...r.expectations.problems];
      if (bad.length && failures.length < 3) failures.push(`seed ${seed}: ${bad.join('; ')}`);
    }
    expect(failures).toEqual([]);
    if (scenario === 'equivocation') expect(quarantines).toBeGreaterThanOrEqual(SEEDS);
    else expect(refused).toBeGreaterThan(SEEDS);
  }, 120_000);
});
