import os from 'node:os';
import path from 'node:path';

export const PRODUCT_NAME = 'OmniSight Control Center';

/**
 * The folder Electron calls userData, computed without Electron so both modes share one data
 * folder: ~/.config/<product> on Linux, ~/Library/Application Support/<product> on macOS,
 * %APPDATA%\<product> on Windows.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  const home = os.homedir();
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), PRODUCT_NAME);
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', PRODUCT_NAME);
  return path.join(env.XDG_CONFIG_HOME ?? path.join(home, '.config'), PRODUCT_NAME);
}
