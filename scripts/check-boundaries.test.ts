import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without type declarations
import { checkBoundaries } from './check-boundaries.mjs';

type Result = { files: number; deep: { from: string; to: string }[]; cycles: string[][] };

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A main/ tree made of the given files (path → source). */
function tree(files: Record<string, string>): string {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boundaries-'));
  const main = path.join(dir, 'main');
  for (const [p, src] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(main, p)), { recursive: true });
    fs.writeFileSync(path.join(main, p), src);
  }
  return main;
}

describe('check-boundaries', () => {
  it('accepts imports through index.ts, of kernel files, of a testkit from a test, and within a folder', () => {
    const main = tree({
      'kernel/bus.ts': 'export const bus = 1;',
      'fleet/index.ts': "export { x } from './x';",
      'fleet/x.ts': "import { bus } from '../kernel/bus';\nexport const x = bus;",
      'fleet/testkit.ts': 'export const kit = 1;',
      'swarm/index.ts': "import { x } from '../fleet';\nimport type { x as y } from '../fleet/index';\nexport const s = [x];",
      'swarm/a.test.ts': "import { kit } from '../fleet/testkit';\nexport const t = kit;",
      'serve.ts': "import { s } from './swarm';\nexport { s };",
    });
    const r = checkBoundaries(main) as Result;
    expect(r.files).toBe(7);
    expect(r.deep).toEqual([]);
    expect(r.cycles).toEqual([]);
  });

  it('reports deep imports (static, type-only, re-export, dynamic), a testkit outside tests, and the kernel importing a capability', () => {
    const main = tree({
      'kernel/bus.ts': "import { x } from '../fleet';\nexport const bus = x;",
      'fleet/index.ts': "export const x = 1;",
      'fleet/approval.ts': 'export const a = 1;',
      'fleet/testkit.ts': 'export const kit = 1;',
      'agents/bridge.ts': "import { a } from '../fleet/approval';\nexport const b = a;",
      'agents/types.ts': "import type { a } from '../fleet/approval.js';\nexport type T = typeof a;",
      'agents/re.ts': "export { a } from '../fleet/approval';",
      'agents/lazy.ts': "export const l = () => import('../fleet/approval');",
      'agents/kit.ts': "export { kit } from '../fleet/testkit';",
      'agents/sub/deeper.ts': "export { a } from '../../fleet/approval';",
      'serve.ts': "export { a } from './fleet/approval';",
    });
    const r = checkBoundaries(main) as Result;
    expect(r.deep.map((d) => `${d.from} -> ${d.to}`).sort()).toEqual([
      'main/agents/bridge.ts -> main/fleet/approval.ts',
      'main/agents/kit.ts -> main/fleet/testkit.ts',
      'main/agents/lazy.ts -> main/fleet/approval.ts',
      'main/agents/re.ts -> main/fleet/approval.ts',
      'main/agents/sub/deeper.ts -> main/fleet/approval.ts',
      'main/agents/types.ts -> main/fleet/approval.ts',
      'main/kernel/bus.ts -> main/fleet/index.ts',
      'main/serve.ts -> main/fleet/approval.ts',
    ]);
  });

  it('reports each import cycle once, with all its files, type-only edges included', () => {
    const main = tree({
      'rooms/index.ts': "import { s } from './service';\nexport interface Room { id: string }\nexport const r = s;",
      'rooms/service.ts': "import type { Room } from './index';\nexport const s = (x: Room) => x;",
      'camsim/a.ts': "import { b } from './b';\nexport const a = b;",
      'camsim/b.ts': "import { c } from './c';\nexport const b = c;",
      'camsim/c.ts': "import { a } from './a';\nexport const c = a;",
      'camsim/d.ts': "import { a } from './a';\nexport const d = a;",
    });
    const r = checkBoundaries(main) as Result;
    expect(r.deep).toEqual([]);
    expect(r.cycles.sort()).toEqual([
      ['main/camsim/a.ts', 'main/camsim/b.ts', 'main/camsim/c.ts'],
      ['main/rooms/index.ts', 'main/rooms/service.ts'],
    ]);
  });
});
