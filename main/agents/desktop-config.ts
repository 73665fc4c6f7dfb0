// Hooking OmniSight's MCP server into Claude Code (a command line to copy) and Claude Desktop
// (an entry merged into claude_desktop_config.json, with a backup, only after the user confirmed).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppError } from '../kernel/errors';

export const MCP_SERVER_NAME = 'omnisight';

/** Where Claude Desktop keeps its configuration on this platform. */
export function desktopConfigPath(platform = process.platform, env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'Claude', 'claude_desktop_config.json');
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'Claude', 'claude_desktop_config.json');
  return path.join(env.XDG_CONFIG_HOME ?? path.join(home, '.config'), 'Claude', 'claude_desktop_config.json');
}

/**
 * The executable Claude should start. Inside an AppImage, process.execPath is a path under the
 * temporary /tmp/.mount_* that exists only while this copy runs; APPIMAGE names the file itself.
 */
export function installedExecutable(env: NodeJS.ProcessEnv = process.env, execPath = process.execPath): string {
  return env.APPIMAGE && path.isAbsolute(env.APPIMAGE) ? env.APPIMAGE : execPath;
}

export interface McpLaunch {
  command: string;
  args: string[];
  env?: Record<string, string>;
}

export interface McpEntry extends McpLaunch {
  env: Record<string, string>;
}

const shellQuote = (s: string): string => (/^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** The token goes in the environment, not in argv, so it does not show in process lists. */
export function mcpEntry(launch: McpLaunch, dataDir: string, token?: string): McpEntry {
  return {
    command: launch.command,
    args: [...launch.args, 'mcp', '--data-dir', dataDir],
    env: { ...launch.env, OMNISIGHT_TOKEN: token ?? '<paste an agent token here>' },
  };
}

export function claudeCodeCommand(entry: McpEntry): string {
  const env = Object.entries(entry.env).map(([k, v]) => `-e ${shellQuote(`${k}=${v}`)}`);
  return ['claude', 'mcp', 'add', MCP_SERVER_NAME, ...env, '--', shellQuote(entry.command), ...entry.args.map(shellQuote)].join(' ');
}

/**
 * Merges our entry into the file, keeping every other server and setting. Refuses a file that is
 * not valid JSON instead of overwriting it; keeps a timestamped copy of the previous file.
 */
export function writeDesktopConfig(file: string, entry: McpEntry, now: () => number): { path: string; backupPath: string | null; servers: string[] } {
  let config: Record<string, unknown> = {};
  let backupPath: string | null = null;
  if (fs.existsSync(file)) {
    const text = fs.readFileSync(file, 'utf8');
    if (text.trim()) {
      try {
        const parsed: unknown = JSON.parse(text);
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        config = parsed as Record<string, unknown>;
      } catch (err) {
        throw new AppError(
          'failed',
          `${file} is not valid JSON (${(err as Error).message}), so OmniSight left it untouched. Fix or remove the file in a text editor, then try again.`,
        );
      }
    }
    const stamp = new Date(now()).toISOString().replace(/[:.]/g, '-');
    backupPath = `${file}.${stamp}.bak`;
    fs.copyFileSync(file, backupPath);
  }
  const servers = config.mcpServers && typeof config.mcpServers === 'object' && !Array.isArray(config.mcpServers) ? (config.mcpServers as Record<string, unknown>) : {};
  config.mcpServers = { ...servers, [MCP_SERVER_NAME]: entry };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return { path: file, backupPath, servers: Object.keys(config.mcpServers as object) };
}
