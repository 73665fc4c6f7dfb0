// Replay protection for envelope v2 (docs/protocol.md): per (camera, key) the coordinator keeps the
// camera's boot epoch, the highest sequence number accepted in it and a 64-entry window behind it
// (the IPsec/DTLS anti-replay bitmap). A higher epoch opens a new window (the camera restarted and
// persisted a new epoch before signing); a lower one is a replay of an earlier boot.
//
// The state lives in memory for the per-message check and is persisted by the caller through
// `takeDirty()` (see verify.ts `flush` and the service's group commit): the entries changed since
// the last flush are written in one transaction before any of the messages that changed them has
// an effect, so a message accepted before a desktop restart or crash is refused after it.

export const REPLAY_WINDOW = 64;
const MASK = (1n << BigInt(REPLAY_WINDOW)) - 1n;

export interface ReplayEntry {
  camera: string;
  key: string;
  epoch: number;
  /** Highest seq accepted in this epoch. */
  highest: number;
  /** Bit d set: seq `highest − d` was accepted (d < 64). Unsigned 64-bit. */
  window: bigint;
}

export type ReplayVerdict = 'fresh' | 'duplicate' | 'behind' | 'old_epoch';

/** What the coordinator says when it refuses a replayed message, by verdict. */
export const replayText: Record<Exclude<ReplayVerdict, 'fresh'>, string> = {
  duplicate: 'replay (duplicate)',
  behind: 'replay (older than the window)',
  old_epoch: 'replay (old epoch)',
};

const id = (camera: string, key: string): string => `${camera}|${key}`;

export class ReplayState {
  private readonly entries = new Map<string, ReplayEntry>();
  private readonly dirty = new Set<string>();

  constructor(initial: Iterable<ReplayEntry> = []) {
    for (const e of initial) this.entries.set(id(e.camera, e.key), { ...e, window: e.window & MASK });
  }

  /** Would (epoch, seq) be new for this camera and key? Does not record it. */
  check(camera: string, key: string, epoch: number, seq: number): ReplayVerdict {
    const e = this.entries.get(id(camera, key));
    if (!e || epoch > e.epoch) return 'fresh';
    if (epoch < e.epoch) return 'old_epoch';
    if (seq > e.highest) return 'fresh';
    const d = e.highest - seq;
    if (d >= REPLAY_WINDOW) return 'behind';
    return (e.window >> BigInt(d)) & 1n ? 'duplicate' : 'fresh';
  }

  /** Records (epoch, seq) as seen: call only once the message proved authentic and fresh. */
  accept(camera: string, key: string, epoch: number, seq: number): void {
    const k = id(camera, key);
    const e = this.entries.get(k);
    if (!e || epoch > e.epoch) {
      this.entries.set(k, { camera, key, epoch, highest: seq, window: 1n });
    } else if (epoch === e.epoch) {
      if (seq > e.highest) {
        const shift = seq - e.highest;
        e.window = shift >= REPLAY_WINDOW ? 1n : ((e.window << BigInt(shift)) | 1n) & MASK;
        e.highest = seq;
      } else {
        e.window |= 1n << BigInt(e.highest - seq);
      }
    } else return; // an older epoch is never accepted (check refuses it)
    this.dirty.add(k);
  }

  get(camera: string, key: string): Readonly<ReplayEntry> | undefined {
    return this.entries.get(id(camera, key));
  }

  /** Entries changed since the last call, for the caller to persist. */
  takeDirty(): ReplayEntry[] {
    if (!this.dirty.size) return [];
    const out: ReplayEntry[] = [];
    for (const k of this.dirty) {
      const e = this.entries.get(k);
      if (e) out.push({ ...e });
    }
    this.dirty.clear();
    return out;
  }

  /** Puts entries back on the dirty list (their write failed; the next flush retries them). */
  markDirty(entries: readonly ReplayEntry[]): void {
    for (const e of entries) this.dirty.add(id(e.camera, e.key));
  }

  get size(): number {
    return this.entries.size;
  }
}
