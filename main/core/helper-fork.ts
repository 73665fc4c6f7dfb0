import { fork } from 'node:child_process';
import type { HelperChannel, HelperLauncher } from './ports';

/** Browser mode starts the helper as a plain Node child; app mode uses utilityProcess instead. */
export const forkHelper: HelperLauncher = (entry) => {
  const child = fork(entry, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const channel: HelperChannel = {
    send: (m) => {
      if (child.connected) child.send(m as never);
    },
    onMessage: (l) => child.on('message', l),
    onExit: (l) => child.on('exit', (code) => l(code)),
    kill: () => child.kill(),
    get pid() {
      return child.pid;
    },
  };
  return channel;
};
