// The desktop's fl2 messages as the camera accepts them (FL-SPEC "Rounds", "Outcomes"): every
// field checked, unknown fields refused, sizes bounded. Anything else is dropped unread.
import { z } from 'zod';

export const MAX_SERVER_MESSAGE = 512 * 1024;
const SERIAL = /^[0-9A-F]{12}$/;
const ROUND = /^[A-Za-z0-9_-]{1,64}$/;
const B64_32 = /^[A-Za-z0-9+/]{43}=$/;
const B64_56 = /^[A-Za-z0-9+/]{75}=$/; // 14 × 4 bytes
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

const serial = z.string().regex(SERIAL);
const round = z.string().regex(ROUND);
const ms = z.number().int().min(1).max(600_000);
const MAX_PEERS = 1000;

export const announceSchema = z
  .object({
    v: z.literal(2),
    round,
    model: z.object({ name: z.string().max(128), version: z.number().int().min(0), params: z.string().regex(B64_56) }).strict(),
    train: z.object({ epochs: z.number().int().min(1).max(100), lr: z.number().positive().max(100), batchSize: z.number().int().min(1).max(100_000) }).strict(),
    quantizer: z.object({ range: z.number().positive().max(1e6), scale: z.number().positive().max(1e9) }).strict(),
    selected: z.array(serial).min(1).max(MAX_PEERS),
    threshold: z.number().int().min(1).max(MAX_PEERS),
    deadlines: z.object({ advertise: ms, shares: ms, masked: ms, unmask: ms }).strict(),
    minSamples: z.number().int().min(0).max(1_000_000),
    graph: z.object({ k: z.number().int().min(2).max(254).multipleOf(2) }).strict(),
    setupTtl: z.number().int().min(1_000).max(3_600_000),
  })
  .strict();
export type Announce = z.infer<typeof announceSchema>;

export const rosterSchema = z
  .object({
    round,
    threshold: z.number().int().min(1).max(MAX_PEERS),
    shareThreshold: z.number().int().min(1).max(MAX_PEERS),
    graph: z.object({ k: z.number().int().min(2).max(254), seed: z.string().regex(B64_32) }).strict(),
    peers: z
      .array(z.object({ serial, index: z.number().int().min(1).max(1_000_000), cPk: z.string().regex(B64_32), sPk: z.string().regex(B64_32) }).strict())
      .min(1)
      .max(MAX_PEERS),
  })
  .strict();
export type Roster = z.infer<typeof rosterSchema>;

export const deliverSchema = z
  .object({
    round,
    boxes: z.array(z.object({ from: serial, box: z.string().regex(B64).max(1024) }).strict()).max(MAX_PEERS),
  })
  .strict();

export const goSchema = z.object({ round }).strict();

/**
 * A list of at most MAX_PEERS serials, checked in one pass and not copied: the unmask request names
 * every survivor, and z.array(serial) ran one zod string check per item for every camera on the
 * round's critical path.
 */
export const serialList = z.custom<string[]>((v) => Array.isArray(v) && v.length <= MAX_PEERS && v.every((x: unknown) => typeof x === 'string' && SERIAL.test(x)), {
  message: `must be at most ${MAX_PEERS} serials (12 characters 0-9A-F)`,
});

export const unmaskSchema = z.object({ round, survivors: serialList, dropped: serialList }).strict();

export const resultSchema = z.discriminatedUnion('ok', [
  z.object({ round, ok: z.literal(true), model: z.object({ name: z.string().max(128), version: z.number().int().min(0), params: z.string().regex(B64_56) }).strict(), survivors: z.number().int().min(0) }).strict(),
  z.object({ round, ok: z.literal(false), reason: z.string().max(1024) }).strict(),
]);

export const outcomesSchema = z
  .object({
    v: z.literal(1),
    epoch: z.number().int().min(1).max(0xffff_ffff),
    items: z
      .array(z.object({ seq: z.number().int().min(1), index: z.number().int().min(0).max(255), confirmed: z.boolean() }).strict())
      .max(500),
  })
  .strict();

/** JSON text → value, or undefined (too large or not JSON). */
export function parseJson(payload: Buffer | string): unknown {
  if (payload.length > MAX_SERVER_MESSAGE) return undefined;
  try {
    return JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch {
    return undefined;
  }
}
