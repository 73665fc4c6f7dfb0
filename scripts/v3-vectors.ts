// Writes docs/v3-vectors.json, the envelope v3 known answers (K and the MAC) the camera clients test
// against (`npm run v3:vectors`). The values come from fixed bytes, so the file only changes when the
// protocol does; main/swarm/session.test.ts fails when the committed file is stale.
import fs from 'node:fs';
import path from 'node:path';
import { buildV3Vectors } from '../main/swarm/session';

const out = path.join(import.meta.dirname, '..', 'docs', 'v3-vectors.json');
fs.writeFileSync(out, `${JSON.stringify(buildV3Vectors(), null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), out)}`);
