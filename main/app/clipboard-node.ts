// Browser-mode Clipboard adapter (no Electron). On Linux it runs the session's own clipboard tool
// directly: wl-paste/wl-copy on Wayland, xclip or xsel on X11 (XWayland counts as X11 when
// wl-clipboard is absent). One short process per read (≈ 3–5 ms CPU); xclip and wl-paste can also
// list the targets, which is how a password manager marks its copies (x-kde-passwordManagerHint).
// Elsewhere it uses clipboardy, which spawns a helper per call too (pbpaste, PowerShell on
// Windows: far slower, ~100+ ms), so the suggested poll period is longer there.
// clipboardy is not used on Linux: it only knows xsel and answers "install xsel" even when xclip
// is installed or when there is no display at all; the detection below names what is really missing.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { RelayClipboard } from '../agents';

export type ClipboardBackend = 'wl-clipboard' | 'xclip' | 'xsel' | 'clipboardy' | 'none';

export interface NodeClipboard extends RelayClipboard {
  readonly backend: ClipboardBackend;
  /** Why no clipboard is usable and what to install or set (backend 'none' only). */
  readonly problem?: string;
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

// wl-paste says "Nothing is copied" (or "No selection") when the clipboard is empty.
const isEmptyWayland = (e: unknown): boolean => /nothing is copied|no selection|no suitable type/i.test((e as { stderr?: string }).stderr ?? '');

export interface ClipboardDetection {
  backend: ClipboardBackend;
  /** Set when backend is 'none': what is missing, in words a user can act on. */
  problem?: string;
}

/**
 * Which clipboard tool this session can use. Pure apart from PATH lookups (the env, platform and
 * lookup are parameters so tests give a fake PATH).
 */
export function detectClipboard(
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
  has: (bin: string) => boolean = (bin) => onPath(bin, env),
): ClipboardDetection {
  if (platform !== 'linux') return { backend: 'clipboardy' };
  const wayland = !!env.WAYLAND_DISPLAY;
  const x11 = !!env.DISPLAY;
  if (wayland && has('wl-paste') && has('wl-copy')) return { backend: 'wl-clipboard' };
  if (x11 && has('xclip')) return { backend: 'xclip' };
  if (x11 && has('xsel')) return { backend: 'xsel' };
  if (!wayland && !x11)
    return {
      backend: 'none',
      problem: 'no display session: DISPLAY (X11) and WAYLAND_DISPLAY are both unset, so there is no clipboard to read. Start the app from your desktop session.',
    };
  const want = [wayland ? 'wl-clipboard (wl-paste, wl-copy)' : null, x11 ? 'xclip or xsel' : null].filter(Boolean).join(', or ');
  const pkg = wayland ? 'wl-clipboard' : 'xclip';
  return { backend: 'none', problem: `no clipboard tool found on PATH: install ${want} (e.g. sudo apt install ${pkg}).` };
}

export function createNodeClipboard(
  opts: { env?: NodeJS.ProcessEnv; prefer?: 'native' | 'clipboardy'; platform?: NodeJS.Platform } = {},
): NodeClipboard {
  const env = opts.env ?? process.env;
  const found: ClipboardDetection = opts.prefer === 'clipboardy' ? { backend: 'clipboardy' } : detectClipboard(env, opts.platform);

  if (found.backend === 'xclip') {
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

  if (found.backend === 'xsel') {
    // xsel prints nothing (exit 0) for an empty clipboard and cannot list targets.
    return {
      backend: 'xsel',
      suggestedPollMs: 300,
      async readText() {
        try {
          return await run('xsel', ['--clipboard', '--output'], env);
        } catch (e) {
          throw new Error(`xsel could not read the clipboard (${(e as Error).message}). Check that DISPLAY=${env.DISPLAY} is your X session.`, { cause: e });
        }
      },
      async writeText(text) {
        await run('xsel', ['--clipboard', '--input'], env, text);
      },
    };
  }

  if (found.backend === 'wl-clipboard') {
    return {
      backend: 'wl-clipboard',
      suggestedPollMs: 300,
      async readText() {
        try {
          return await run('wl-paste', ['--no-newline', '--type', 'text'], env);
        } catch (e) {
          if (isEmptyWayland(e)) return '';
          throw new Error(`wl-paste could not read the clipboard (${(e as Error).message}). Check that WAYLAND_DISPLAY=${env.WAYLAND_DISPLAY} is your session.`, {
            cause: e,
          });
        }
      },
      async readFormats() {
        try {
          return (await run('wl-paste', ['--list-types'], env)).split('\n').filter(Boolean);
        } catch {
          return [];
        }
      },
      async writeText(text) {
        await run('wl-copy', ['--type', 'text/plain;charset=utf-8'], env, text);
      },
    };
  }

  if (found.backend === 'none') {
    const problem = found.problem ?? 'no clipboard is available';
    const fail = (): Promise<never> => Promise.reject(new Error(problem));
    return { backend: 'none', problem, suggestedPollMs: 2000, readText: fail, writeText: fail };
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
