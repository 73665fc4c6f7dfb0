// What the parts of the rooms service (messages, votes, files) share: the database and its
// statements, the clock, the bus, and the room lookup with its cache.
import type { EventBus } from '../kernel/bus';
import type { Logger } from '../kernel/logger';
import type { Db } from '../store';
import type { RoomRow, Statements } from './statements';

export interface RoomsContext {
  db: Db;
  bus: EventBus;
  now: () => number;
  log?: Logger;
  q: Statements;
  /** A write transaction (BEGIN IMMEDIATE). */
  tx<T>(fn: () => T): T;
  /** The room, or not_found. */
  roomRow(roomId: string): RoomRow;
  /** Whether the room exists (from the cache when it can). */
  hasRoom(roomId: string): boolean;
  /** room id + "\0" + channel name of channels known to exist. */
  channelCache: Set<string>;
  randomHex(bytes: number): string;
}
