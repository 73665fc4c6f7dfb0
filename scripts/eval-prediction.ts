// npm run eval:prediction -- <file>: ADE/FDE of the IMM predictor (probability-weighted mean of its
// futures) and of the constant-velocity baseline, 8 observed → 12 predicted steps of 0.4 s.
import fs from 'node:fs';
import { evaluate, parseTrajectories, TrajectoryParseError } from '../main/timeline/evaluation';

const file = process.argv[2];
if (!file) {
  console.error('Usage: npm run eval:prediction -- <file>  (plain-text lines "frame id x y", metres, 0.4 s steps)');
  process.exit(2);
}
try {
  const rows = parseTrajectories(fs.readFileSync(file, 'utf8'));
  const result = evaluate(rows);
  if (result.windows === 0) {
    console.error(`${file}: no pedestrian has 20 consecutive frames (8 observed + 12 predicted); nothing to evaluate.`);
    process.exit(1);
  }
  console.log(JSON.stringify(result));
} catch (err) {
  if (err instanceof TrajectoryParseError) console.error(`${file}:\n${err.message}`);
  else console.error(`${file}: ${(err as Error).message}`);
  process.exit(1);
}
