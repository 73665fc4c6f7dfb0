import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { claudeCodeCommand, desktopConfigPath, installedExecutable, mcpEntry } from './desktop-config';
import { startRig, type Rig } from './testkit';

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});
const ctx = { transport: 'internal' as const, peer: 'test' };

describe('Claude setup', () => {
  it('knows where Claude Desktop keeps its configuration on each platform', () => {
    expect(desktopConfigPath('darwin', {}, '/Users/a')).toBe('/Users/a/Library/Application Support/Claude/claude_desktop_config.json');
    expect(desktopConfigPath('win32', { APPDATA: 'C:\\Users\\a\\AppData\\Roaming' }, 'C:\\Users\\a')).toContain('Claude');
    expect(desktopConfigPath('linux', {}, '/home/a')).toBe('/home/a/.config/Claude/claude_desktop_config.json');
  });

  it('builds the claude mcp add line with the token in the environment, quoted for the shell', () => {
    const entry = mcpEntry({ command: '/usr/bin/node', args: ['/opt/omni sight/scripts/omnisight.mjs'] }, '/data dir', 'omni_abc');
    expect(entry).toEqual({ command: '/usr/bin/node', args: ['/opt/omni sight/scripts/omnisight.mjs', 'mcp', '--data-dir', '/data dir'], env: { OMNISIGHT_TOKEN: 'omni_abc' } });
    expect(claudeCodeCommand(entry)).toBe("claude mcp add omnisight -e OMNISIGHT_TOKEN=omni_abc -- /usr/bin/node '/opt/omni sight/scripts/omnisight.mjs' mcp --data-dir '/data dir'");
  });

  it('merges the entry into an existing config with a timestamped backup, and refuses invalid JSON untouched', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'claude-'));
    const file = path.join(home, 'Claude', 'claude_desktop_config.json');
    rig = await startRig({ desktopConfigFile: file });
    const h = rig.bridge.handlers;
    const { token } = h['agents.tokens.create']!({ name: 'desktop', scopes: ['rooms:read', 'rooms:write'] }, ctx) as { token: string };

    const setup = h['agents.mcpSetup']!({ token }, ctx) as { claudeCode: string; desktopConfigPath: string; port: number | null };
    expect(setup.desktopConfigPath).toBe(file);
    expect(setup.claudeCode).toContain(`OMNISIGHT_TOKEN=${token}`);
    expect(setup.port).toBeGreaterThan(0);

    // No file yet: created, no backup.
    expect(h['agents.writeDesktopConfig']!({ token, confirm: true }, ctx)).toMatchObject({ path: file, backupPath: null, servers: ['omnisight'] });

    fs.writeFileSync(file, JSON.stringify({ theme: 'dark', mcpServers: { other: { command: 'x', args: [] } } }));
    const r = h['agents.writeDesktopConfig']!({ token, confirm: true }, ctx) as { backupPath: string; servers: string[] };
    expect(r.servers.sort()).toEqual(['omnisight', 'other']);
    expect(JSON.parse(fs.readFileSync(r.backupPath, 'utf8'))).toEqual({ theme: 'dark', mcpServers: { other: { command: 'x', args: [] } } });
    const written = JSON.parse(fs.readFileSync(file, 'utf8')) as { theme: string; mcpServers: Record<string, { env: Record<string, string>; args: string[] }> };
    expect(written.theme).toBe('dark');
    expect(written.mcpServers.omnisight!.env.OMNISIGHT_TOKEN).toBe(token);
    expect(written.mcpServers.omnisight!.args).toContain('mcp');

    fs.writeFileSync(file, '{ "mcpServers": { broken');
    expect(() => h['agents.writeDesktopConfig']!({ token, confirm: true }, ctx)).toThrow(/not valid JSON.*left it untouched/);
    expect(fs.readFileSync(file, 'utf8')).toBe('{ "mcpServers": { broken');
    expect(() => h['agents.writeDesktopConfig']!({ token: 'omni_nope_nope', confirm: true }, ctx)).toThrow(/not a valid, active agent token/);
    fs.rmSync(home, { recursive: true, force: true });
  });
});

describe('the executable written into Claude configs', () => {
  it('is the AppImage file itself, not its temporary mount, when running from an AppImage', () => {
    const mounted = '/tmp/.mount_OmniSiXyZ/omnisight-control-center';
    expect(installedExecutable({ APPIMAGE: '/home/u/Apps/OmniSight.AppImage' }, mounted)).toBe('/home/u/Apps/OmniSight.AppImage');
    expect(installedExecutable({}, mounted)).toBe(mounted);
    expect(installedExecutable({ APPIMAGE: 'relative/x.AppImage' }, '/opt/OmniSight/omnisight')).toBe('/opt/OmniSight/omnisight');
  });
});
