// The helper's public surface for main: the message protocol, the in-process core (tests, and the
// supervisor's in-process mode) and the Node launchers. The process entry itself is main.ts.
export * from './protocol';
export { createHelperCore, parseFromHelper, type HelperCore, type HelperCoreOptions } from './core';
export { forkHelper, forkHelperWith, forkHelperFromSource } from './fork';
