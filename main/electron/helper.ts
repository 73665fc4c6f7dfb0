import { utilityProcess } from 'electron';
import type { HelperChannel, HelperLauncher } from '../kernel/ports';
import { helperEnv } from './helper-env';

/**
 * With the runAsNode fuse off, child_process.fork of the app binary no longer works. Why the helper
 * is not sandboxed, and what limits it instead: helper-env.ts.
 */
/** child-process-gone reports it under this name. */
export const HELPER_SERVICE_NAME = 'OmniSight helper';

export const utilityHelper: HelperLauncher = (entry) => {
  const child = utilityProcess.fork(entry, [], { serviceName: HELPER_SERVICE_NAME, stdio: 'inherit', env: helperEnv(process.env) });
  const channel: HelperChannel = {
    send: (m) => child.postMessage(m),
    onMessage: (l) => child.on('message', l),
    onExit: (l) => child.on('exit', (code) => l(code)),
    kill: () => child.kill(),
    get pid() {
      return child.pid;
    },
  };
  return channel;
};
