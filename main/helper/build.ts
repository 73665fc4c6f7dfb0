// The native build run inside the helper: make's output is streamed line by line (so the Deploy
// view can show the log tail while it runs) and the .eap is written by main/packaging.
import { spawn } from 'node:child_process';
import { buildNativeApp } from '../packaging';

export async function runNativeBuild(
  req: { nativeDir: string; outDir?: string; version?: string; crashAtStart?: boolean },
  onLine: (line: string) => void,
): Promise<{ path: string; fileName: string; bytes: number; sha256: string; version: string; buildMs: number; logTail: string }> {
  const tail: string[] = [];
  const keep = (line: string): void => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
    onLine(line);
  };
  const runMake = (args: string[], cwd: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const child = spawn('make', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let partial = '';
      const feed = (d: Buffer): void => {
        out += d.toString();
        const parts = (partial + d.toString()).split('\n');
        partial = parts.pop() ?? '';
        for (const l of parts) if (l.trim()) keep(l.slice(0, 2000));
      };
      child.stdout.on('data', feed);
      child.stderr.on('data', feed);
      child.on('error', (err) => reject(new Error(`cannot run make (${err.message}); install the cross compiler (gcc-aarch64-linux-gnu) and make`)));
      child.on('close', (code) => {
        if (partial.trim()) keep(partial);
        if (code === 0) resolve(out);
        else reject(new Error(`make failed (exit ${code}):\n${tail.slice(-15).join('\n')}`));
      });
    });
  keep(`building ${req.crashAtStart ? 'the crash-at-start test build' : 'the camera app'} in ${req.nativeDir}`);
  const r = await buildNativeApp({ nativeDir: req.nativeDir, outDir: req.outDir, version: req.version, crashAtStart: req.crashAtStart, runMake });
  keep(`wrote ${r.fileName} (${r.bytes} bytes, sha256 ${r.sha256.slice(0, 12)}…) in ${Math.round(r.buildMs)} ms`);
  return { path: r.path, fileName: r.fileName, bytes: r.bytes, sha256: r.sha256, version: r.version, buildMs: r.buildMs, logTail: tail.join('\n') };
}
