import { utilityProcess } from 'electron';
import type { HelperChannel, HelperLauncher } from '../kernel/ports';

/** With the runAsNode fuse off, child_process.fork of the app binary no longer works. */
export const utilityHelper: HelperLauncher = (entry) => {
  const child = utilityProcess.fork(entry, [], { serviceName: 'OmniSight helper', stdio: 'inherit' });
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
