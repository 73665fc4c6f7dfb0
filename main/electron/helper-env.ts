// The helper parses hostile camera input (HTTP, Digest challenges, MJPEG, .eap archives) and runs
// the camera-app build (make, the aarch64 cross compiler). It is a Node utilityProcess and is NOT
// sandboxed: Chromium's sandbox takes away the file system, the network sockets it opens to every
// camera, and process spawning for the build, which is all it does. What limits it instead: it gets
// no database, no keychain and no renderer; main validates every message it sends (zod, see
// main/fleet/supervisor); its parsers are bounded; it is restarted when it dies; and it starts with
// only the environment below, so API keys and tokens in main's environment never reach it.
const KEEP = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'TMPDIR',
  'TEMP',
  'TMP',
  'SOURCE_DATE_EPOCH',
  // Windows: processes need these to start at all.
  'SystemRoot',
  'SYSTEMROOT',
  'windir',
  'ComSpec',
  'PATHEXT',
  'USERPROFILE',
  'APPDATA',
  'LOCALAPPDATA',
]);
const SECRET = /TOKEN|KEY|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH/i;

export function helperEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    if (KEEP.has(k) || k.startsWith('LC_') || (k.startsWith('OMNISIGHT_') && !SECRET.test(k))) out[k] = v;
  }
  return out;
}
