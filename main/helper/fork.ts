// How main starts the helper as a Node child (browser mode, tests); app mode uses utilityProcess.
import { fork } from 'node:child_process';
import type { HelperChannel, HelperLauncher } from '../kernel/ports';

/** A launcher that forks the helper as a plain Node child with the given Node flags. */
export const forkHelperWith =
  (execArgv: string[]): HelperLauncher =>
  (entry) => {
    const child = fork(entry, [], { execArgv, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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

/** Browser mode starts the built helper as a plain Node child; app mode uses utilityProcess instead. */
export const forkHelper: HelperLauncher = forkHelperWith([]);

/** Forks the TypeScript entry through tsx (tests, and `npm run serve` from sources). */
export const forkHelperFromSource: HelperLauncher = forkHelperWith(['--import', 'tsx']);
