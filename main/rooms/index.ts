// Public surface of rooms. Other capabilities (the agent bridge, the clipboard relay, summaries,
// the orchestrator) use only what is exported here.
export type * from './types';
export { createRoomsService, normaliseSubject, sanitiseFileName, type RoomsDeps } from './service';
