// The main bundle reaches the simulator at start (composition root → fleet → camsim). A native
// module loaded on that path makes the app crash at launch wherever its binary is missing (a build
// for the second architecture of a mac or Windows installer carries the host's sharp only).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '../..');

function loadedAfter(script: string): string[] {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as string[];
}
const simulatorOnly = `Object.keys(require.cache).filter((k) => /node_modules[\\\\/](sharp|@img)[\\\\/]/.test(k))`;

describe('native modules at start', () => {
  it('the composition root loads without sharp; the simulator loads it on its first frame', () => {
    const atStart = loadedAfter(`require('./main/app/app.ts'); console.log(JSON.stringify(${simulatorOnly}));`);
    expect(atStart).toEqual([]);
    const afterFrame = loadedAfter(
      `const { encodeJpeg } = require('./main/camsim/render.ts');
       encodeJpeg(Buffer.alloc(8 * 8 * 3, 128), 8, 8, 30, 1).then((jpeg) => {
         if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('not a JPEG');
         console.log(JSON.stringify(${simulatorOnly}));
       });`,
    );
    expect(afterFrame.some((k) => /[\\/]@img[\\/]sharp-[^\\/]+[\\/].*\.node$/.test(k)), afterFrame.join('\n')).toBe(true);
  });
});
