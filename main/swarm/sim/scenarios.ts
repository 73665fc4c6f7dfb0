// The fault scenarios the simulation knows. Each says how many cameras misbehave and how, relative
// to f of the zone the adversaries target; world.ts turns that into messages. Faulty cameras are
// chosen among those covering the target zone, never more than f of any zone they cover (except
// where a scenario is meant to exceed it).
export const scenarioNames = [
  'honest',
  'crash',
  'partition',
  'delay',
  'replay',
  'forged',
  'equivocation',
  'colluding-liars',
  'intermittent-liars',
  'too-many-liars',
] as const;
export type ScenarioName = (typeof scenarioNames)[number];

export interface ScenarioSpec {
  /** Needs real Ed25519 signing and the verifier in the path. */
  signed: boolean;
  /** Faulty cameras as a function of the target zone's f: crashed, partitioned, lying, equivocating. */
  crashed: (f: number) => number;
  partitioned: (f: number) => number;
  liars: (f: number) => number;
  equivocators: (f: number) => number;
  /** Probability that a liar tells its lie for a given fake event (1: always; below 1: lies only sometimes). */
  lieRate: number;
  /** Liars may exceed f in the target zone (the scenario that must break safety). */
  overBudget: boolean;
  /** Messages replayed by an attacker on the network (and every camera restarts once, with a new boot epoch). */
  replays: boolean;
  /** Messages forged under honest cameras' names (without their keys). */
  forgeries: boolean;
  /** Network delay range, ms. */
  delay: [number, number];
  dropRate: number;
  /** Whether the liveness checker applies (at most f faulty). */
  expectLive: boolean;
}

const base: ScenarioSpec = {
  signed: false,
  crashed: () => 0,
  partitioned: () => 0,
  liars: () => 0,
  equivocators: () => 0,
  lieRate: 1,
  overBudget: false,
  replays: false,
  forgeries: false,
  delay: [1, 40],
  dropRate: 0,
  expectLive: true,
};

export const scenarios: Record<ScenarioName, ScenarioSpec> = {
  honest: { ...base },
  crash: { ...base, crashed: (f) => f },
  partition: { ...base, partitioned: (f) => f, dropRate: 0.02 },
  delay: { ...base, delay: [50, 1500] },
  replay: { ...base, signed: true, replays: true },
  forged: { ...base, signed: true, forgeries: true },
  equivocation: { ...base, signed: true, equivocators: (f) => Math.max(1, f) },
  'colluding-liars': { ...base, liars: (f) => f },
  'intermittent-liars': { ...base, liars: (f) => f, lieRate: 0.5 },
  'too-many-liars': { ...base, liars: (f) => f + 1, overBudget: true, expectLive: false },
};
