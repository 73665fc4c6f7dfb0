// Writes docs/fl1-vectors.json, the fl1 known-answer vectors the camera clients test against
// (`npm run fl1:vectors`). The values come from fixed bytes, so the file only changes when the
// protocol does; main/federated/fl1.test.ts fails when the committed file is stale.
import fs from 'node:fs';
import path from 'node:path';
import { buildFl1Vectors } from '../main/federated/fl1-vectors';

const out = path.join(import.meta.dirname, '..', 'docs', 'fl1-vectors.json');
fs.writeFileSync(out, `${JSON.stringify(buildFl1Vectors(), null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), out)}`);
