// The Node clipboard adapter picks the session's own tool; each case runs with a fake PATH that
// holds only stand-in scripts (they keep the "clipboard" in a file), so detection and the exact
// command lines are exercised without a display server.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeClipboard, detectClipboard } from './clipboard-node';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

// Each stand-in accepts only the arguments the real tool is given and fails on anything else.
const scripts: Record<string, string> = {
  xclip: `case "$*" in
  "-selection clipboard -o -t UTF8_STRING") [ -s "$CLIP" ] && exec /bin/cat "$CLIP"; echo "Error: target UTF8_STRING not available" >&2; exit 1;;
  "-selection clipboard -o -t TARGETS") echo TARGETS; echo UTF8_STRING;;
  "-selection clipboard -i") /bin/cat > "$CLIP";;
  *) echo "unexpected: $*" >&2; exit 2;;
esac`,
  xsel: `case "$*" in
  "--clipboard --output") [ -f "$CLIP" ] && exec /bin/cat "$CLIP"; exit 0;;
  "--clipboard --input") /bin/cat > "$CLIP";;
  *) echo "unexpected: $*" >&2; exit 2;;
esac`,
  'wl-paste': `case "$*" in
  "--no-newline --type text") [ -s "$CLIP" ] && exec /bin/cat "$CLIP"; echo "Nothing is copied" >&2; exit 1;;
  "--list-types") echo "text/plain;charset=utf-8";;
  *) echo "unexpected: $*" >&2; exit 2;;
esac`,
  'wl-copy': `case "$*" in
  "--type text/plain;charset=utf-8") /bin/cat > "$CLIP";;
  *) echo "unexpected: $*" >&2; exit 2;;
esac`,
};

function fakePath(tools: string[]): { PATH: string; CLIP: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clip-path-'));
  dirs.push(dir);
  for (const t of tools) fs.writeFileSync(path.join(dir, t), `#!/bin/sh\n${scripts[t]}\n`, { mode: 0o755 });
  return { PATH: dir, CLIP: path.join(dir, 'clipboard.txt') };
}

describe('clipboard tool detection', () => {
  it('uses xclip on X11 when xclip is installed and xsel is not (the "install xsel" report)', async () => {
    const env = { ...fakePath(['xclip']), DISPLAY: ':7' };
    const clip = createNodeClipboard({ env, platform: 'linux' });
    expect(clip.backend).toBe('xclip');
    expect(await clip.readText()).toBe('');
    await clip.writeText('from a room');
    expect(await clip.readText()).toBe('from a room');
    expect(await clip.readFormats!()).toContain('UTF8_STRING');
  });

  it('uses xsel when it is the only X11 tool', async () => {
    const env = { ...fakePath(['xsel']), DISPLAY: ':7' };
    const clip = createNodeClipboard({ env, platform: 'linux' });
    expect(clip.backend).toBe('xsel');
    expect(await clip.readText()).toBe('');
    await clip.writeText('über xsel');
    expect(await clip.readText()).toBe('über xsel');
  });

  it('prefers wl-clipboard on Wayland, and falls back to xclip through XWayland without it', async () => {
    const env = { ...fakePath(['wl-paste', 'wl-copy', 'xclip']), WAYLAND_DISPLAY: 'wayland-0', DISPLAY: ':0' };
    const clip = createNodeClipboard({ env, platform: 'linux' });
    expect(clip.backend).toBe('wl-clipboard');
    expect(await clip.readText()).toBe('');
    await clip.writeText('wayland text');
    expect(await clip.readText()).toBe('wayland text');
    expect(await clip.readFormats!()).toEqual(['text/plain;charset=utf-8']);

    expect(detectClipboard({ ...fakePath(['xclip']), WAYLAND_DISPLAY: 'wayland-0', DISPLAY: ':0' }, 'linux').backend).toBe('xclip');
    // wl-paste alone cannot write: not usable.
    expect(detectClipboard({ ...fakePath(['wl-paste']), WAYLAND_DISPLAY: 'wayland-0' }, 'linux').backend).toBe('none');
  });

  it('names what is missing only when nothing usable exists', async () => {
    const x = createNodeClipboard({ env: { ...fakePath([]), DISPLAY: ':7' }, platform: 'linux' });
    expect(x.backend).toBe('none');
    expect(x.problem).toMatch(/install xclip or xsel/);
    expect(x.problem).not.toMatch(/wl-clipboard/);
    await expect(x.readText()).rejects.toThrow(/install xclip or xsel/);

    const w = detectClipboard({ ...fakePath([]), WAYLAND_DISPLAY: 'wayland-0' }, 'linux');
    expect(w.problem).toMatch(/install wl-clipboard/);
    expect(w.problem).not.toMatch(/xsel/);

    // xclip installed but no display at all: the display is what is missing, not a tool.
    const headless = createNodeClipboard({ env: fakePath(['xclip', 'xsel']), platform: 'linux' });
    expect(headless.backend).toBe('none');
    expect(headless.problem).toMatch(/DISPLAY/);
    expect(headless.problem).not.toMatch(/install/);
  });

  it('leaves macOS and Windows to clipboardy', () => {
    expect(detectClipboard({ PATH: '' }, 'darwin').backend).toBe('clipboardy');
    expect(detectClipboard({ PATH: '' }, 'win32').backend).toBe('clipboardy');
  });
});
