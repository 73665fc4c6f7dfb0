// The messages between the embedded broker's thread (broker-worker.ts) and its owner (broker.ts).
// Both sides parse what they receive: the thread its options (workerData), the owner every message
// the thread posts. The drop counter is not a message: the thread adds to a shared Int32 with
// Atomics, so dropped() costs the owner no round trip and counts while the owner's loop is busy.
import { z } from 'zod';

/** Topics only the desktop publishes (fl2 server messages, outcomes): docs/protocol.md. */
export const DESKTOP_TOPIC_PREFIX = 'omnisight/desktop/';
export const DESKTOP_USERNAME = 'omnisight-desktop';

/** What the thread is started with (workerData). */
export const brokerOptionsSchema = z
  .object({
    /** 0 = any free port on 127.0.0.1. */
    port: z.number().int().min(0).max(65_535),
    maxQueued: z.number().int().positive(),
    /** The desktop client's password (DESKTOP_USERNAME); absent = nobody may publish under omnisight/desktop/. */
    desktopPassword: z.string().min(1).max(1024).optional(),
    /** One Int32 slot (index 0): publishes dropped because the queue was full. */
    dropped: z.instanceof(SharedArrayBuffer).refine((b) => b.byteLength >= 4, 'needs room for one Int32'),
  })
  .strict();
export type BrokerOptions = z.infer<typeof brokerOptionsSchema>;

/** From the thread: listening (the port it got), or why it could not start. */
export const fromBrokerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), port: z.number().int().min(1).max(65_535) }).strict(),
  z.object({ type: z.literal('error'), message: z.string().max(2_000) }).strict(),
]);
export type FromBroker = z.infer<typeof fromBrokerSchema>;

/** To the thread: disconnect every client, stop listening and end the thread (exit code 0). */
export const toBrokerSchema = z.discriminatedUnion('type', [z.object({ type: z.literal('close') }).strict()]);
export type ToBroker = z.infer<typeof toBrokerSchema>;
