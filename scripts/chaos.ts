// Replays one deterministic swarm simulation run and prints its trace: every message delivered,
// every decision, and the checkers' verdict.
//   npm run chaos -- --scenario equivocation --seed 17
//   npm run chaos -- --list
import { scenarioNames, type ScenarioName } from '../main/swarm/sim/scenarios';
import { runSimulation } from '../main/swarm/sim/world';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
  return eq?.slice(name.length + 3);
}

if (process.argv.includes('--list')) {
  console.log(scenarioNames.join('\n'));
  process.exit(0);
}
const scenario = arg('scenario') as ScenarioName | undefined;
const seed = Number(arg('seed') ?? '1');
if (!scenario || !scenarioNames.includes(scenario) || !Number.isInteger(seed)) {
  console.error(`Usage: npm run chaos -- --scenario <${scenarioNames.join('|')}> --seed <integer>`);
  process.exit(2);
}
const r = runSimulation(scenario, seed, { trace: true });
for (const line of r.trace) console.log(line);
const failed = !r.safety.ok || (r.liveness.applicable && !r.liveness.ok) || !r.expectations.ok;
// too-many-liars is meant to break safety: exit 0 when the checker caught it, 1 when it did not.
const expectedViolation = scenario === 'too-many-liars';
process.exit(expectedViolation ? (r.safety.ok ? 1 : 0) : failed ? 1 : 0);
