// Browser-mode Clipboard adapter (no Electron). On Linux/X11 it runs xclip directly when present:
// one short process per read (≈ 3–5 ms CPU), and it can list the X targets, which is how a
// password manager marks its copies (x-kde-passwordManagerHint). Elsewhere it uses clipboardy,
// which spawns a helper per call too (pbpaste, PowerShell on Windows: far slower, ~100+ ms), so
// the suggested poll period is longer there.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { RelayClipboard } from '../agents';

export interface NodeClipboard extends RelayClipboard {
  readonly backend: 'xclip' | 'clipboardy';
  /** A poll period that keeps copy → room under 1 s without burning a core on process spawns. */
  readonly suggestedPollMs: number;
}

const onPath = (bin: string, env: NodeJS.ProcessEnv): boolean =>
  (env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir, bin), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    // xclip -i forks a child that keeps serving the selection and inherits stdout/stderr; waiting
    // for those pipes to close would hang, so output is ignored when writing and 'exit' is awaited.
    const child = spawn(cmd, args, { env, stdio: [input === undefined ? 'ignore' : 'pipe', input === undefined ? 'pipe' : 'ignore', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    const done = (code: number | null): void => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(Object.assign(new Error(err.trim() || `${cmd} exited with ${code}`), { exitCode: code, stderr: err }));
    };
    // Reading: wait for stdout to drain ('close'); writing: the forked server holds stderr open.
    if (input === undefined) child.on('close', done);
    else {
      child.stderr?.destroy();
      child.on('exit', done);
      child.stdin!.end(input);
    }
  });
}

// xclip says "target … not available" when the clipboard is empty or holds no text.
const isEmptySelection = (e: unknown): boolean => /not available|no selection|There is no owner/i.test((e as { stderr?: string }).stderr ?? '');

export function createNodeClipboard(opts: { env?: NodeJS.ProcessEnv; prefer?: 'xclip' | 'clipboardy' } = {}): NodeClipboard {
  const env = opts.env ?? process.env;
  const useXclip = opts.prefer !== 'clipboardy' && process.platform === 'linux' && !!env.DISPLAY && onPath('xclip', env);

  if (useXclip) {
    const sel = ['-selection', 'clipboard'];
    return {
      backend: 'xclip',
      suggestedPollMs: 300,
      async readText() {
        try {
          return await run('xclip', [...sel, '-o', '-t', 'UTF8_STRING'], env);
        } catch (e) {
          if (isEmptySelection(e)) return '';
          throw new Error(`xclip could not read the clipboard (${(e as Error).message}). Check that DISPLAY=${env.DISPLAY} is your X session.`, {
            cause: e,
          });
        }
      },
      async readFormats() {
        try {
          return (await run('xclip', [...sel, '-o', '-t', 'TARGETS'], env)).split('\n').filter(Boolean);
        } catch {
          return [];
        }
      },
      // X11 selections carry one target per xclip process, so the concealed hint cannot be added.
      async writeText(text) {
        await run('xclip', [...sel, '-i'], env, text);
      },
    };
  }

  // clipboardy is an ES module; load it on first use so the CommonJS main bundle stays loadable.
  let lib: Promise<typeof import('clipboardy').default> | undefined;
  const clipboardy = (): Promise<typeof import('clipboardy').default> => (lib ??= import('clipboardy').then((m) => m.default));
  return {
    backend: 'clipboardy',
    suggestedPollMs: process.platform === 'win32' ? 750 : 500,
    readText: async () => (await clipboardy()).read(),
    writeText: async (text) => (await clipboardy()).write(text),
  };
}
