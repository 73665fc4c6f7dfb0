import crypto from 'node:crypto';
import {
  DEFAULT_BURST,
  DEFAULT_RATE_PER_MINUTE,
  type AgentScope,
  type CreateTokenInput,
  type TokenInfo,
} from '../../preload/contract';
import { notFound } from '../kernel/errors';
import type { Db } from '../store';
import { nonceStatements, tokenStatements, type TokenRow } from './statements';

/** omni_<12 hex id>_<32 random bytes, base64url>. The id is for lookup; only the hash is stored. */
const TOKEN_RE = /^omni_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export interface TokenRecord {
  id: string;
  name: string;
  scopes: AgentScope[];
  roles: string[];
  ratePerMinute: number;
  burst: number;
  publicKey: string | null;
  expiresAt: number | null;
}

export type TokenCheck =
  | { ok: true; token: TokenRecord }
  | { ok: false; reason: 'missing' | 'malformed' | 'unknown' | 'wrong' | 'expired' | 'revoked'; tokenId?: string };

const sha256 = (s: string): Buffer => crypto.createHash('sha256').update(s).digest();

export const refusalText: Record<Exclude<TokenCheck, { ok: true }>['reason'], string> = {
  missing: 'No token was given. Pass an agent token (create one in the Agents view or with "npx omnisight token create").',
  malformed: 'That is not an OmniSight agent token (they look like omni_<12 hex>_<secret>). Copy the whole token.',
  unknown: 'This token is not known to this OmniSight data folder. Create a new one in the Agents view.',
  wrong: 'This token is not valid. Copy it again in full, or create a new one in the Agents view.',
  expired: 'This token has expired. Create a new one in the Agents view.',
  revoked: 'This token was revoked. Ask the user for a new one.',
};

export interface TokenStore {
  create(input: CreateTokenInput): { token: string; info: TokenInfo };
  list(): TokenInfo[];
  revoke(id: string): TokenInfo;
  check(token: string | undefined): TokenCheck;
  setPublicKey(id: string, publicKey: string): void;
  touch(id: string): void;
}

/** Works on the database alone, so the CLI can issue tokens while the app is not running. */
export function createTokenStore(deps: { db: Db; now: () => number; randomBytes?: (n: number) => Buffer }): TokenStore {
  const { db, now } = deps;
  const rand = deps.randomBytes ?? crypto.randomBytes;
  const st = tokenStatements(db);
  const toInfo = (r: TokenRow): TokenInfo => ({
    id: r.id,
    name: r.name,
    scopes: r.scopes,
    roles: r.roles,
    ratePerMinute: r.rate_per_minute,
    burst: r.burst,
    hasPublicKey: r.public_key !== null,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    lastUsedAt: r.last_used_at,
    status: r.revoked_at !== null ? 'revoked' : r.expires_at !== null && r.expires_at <= now() ? 'expired' : 'active',
  });
  const lastTouched = new Map<string, number>();

  return {
    create(input) {
      const id = rand(6).toString('hex');
      const token = `omni_${id}_${rand(32).toString('base64url')}`;
      const t = now();
      const scopes = [...new Set(input.scopes)];
      // Writers join rooms ready to vote; read-only agents only watch.
      const roles = input.roles ?? (scopes.includes('rooms:write') ? ['coder'] : ['observer']);
      db.transaction(() =>
        st.insert.run(
            id,
            input.name,
            sha256(token),
            JSON.stringify(scopes),
            JSON.stringify(roles),
            input.ratePerMinute ?? DEFAULT_RATE_PER_MINUTE,
            input.burst ?? DEFAULT_BURST,
            input.publicKey ?? null,
            t,
            input.expiresInDays ? t + input.expiresInDays * 86_400_000 : null,
          ),
      ).immediate();
      return { token, info: toInfo(st.byId.one(id)) };
    },
    list: () => st.list.all().map(toInfo),
    revoke(id) {
      const r = st.byId.get(id);
      if (!r) throw notFound(`Token ${id}`);
      if (r.revoked_at === null) st.revoke.run(now(), id);
      return toInfo(st.byId.one(id));
    },
    check(token) {
      if (!token) return { ok: false, reason: 'missing' };
      const m = TOKEN_RE.exec(token);
      if (!m) return { ok: false, reason: 'malformed' };
      const id = m[1]!;
      const r = st.byId.get(id);
      if (!r) return { ok: false, reason: 'unknown', tokenId: id };
      if (!crypto.timingSafeEqual(sha256(token), r.hash)) return { ok: false, reason: 'wrong', tokenId: id };
      if (r.revoked_at !== null) return { ok: false, reason: 'revoked', tokenId: id };
      if (r.expires_at !== null && r.expires_at <= now()) return { ok: false, reason: 'expired', tokenId: id };
      return {
        ok: true,
        token: {
          id,
          name: r.name,
          scopes: r.scopes,
          roles: r.roles,
          ratePerMinute: r.rate_per_minute,
          burst: r.burst,
          publicKey: r.public_key,
          expiresAt: r.expires_at,
        },
      };
    },
    setPublicKey(id, publicKey) {
      st.setPublicKey.run(publicKey, id);
    },
    touch(id) {
      // At most once a minute per token: a busy agent should not turn every call into a write.
      const t = now();
      if ((lastTouched.get(id) ?? 0) + 60_000 > t) return;
      lastTouched.set(id, t);
      st.touch.run(t, id);
    },
  };
}

/** Token bucket per token id: `burst` calls at once, refilled at ratePerMinute. */
const TAKEN = { ok: true } as const;
export function createRateLimiter(now: () => number) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    // On the path of every call: one map lookup, no allocation once the bucket exists.
    take(key: string, ratePerMinute: number, burst: number): { ok: true } | { ok: false; retryAfterMs: number } {
      const t = now();
      let b = buckets.get(key);
      if (!b) buckets.set(key, (b = { tokens: burst, at: t }));
      else if (t !== b.at) {
        b.tokens = Math.min(burst, b.tokens + ((t - b.at) * ratePerMinute) / 60_000);
        b.at = t;
      }
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return TAKEN;
      }
      return { ok: false, retryAfterMs: Math.ceil(((1 - b.tokens) * 60_000) / ratePerMinute) };
    },
  };
}

/**
 * The bytes an agent signs (UTF-8, joined by "\n"). `ts` (the signer's clock, ms since the epoch)
 * and `nonce` (fresh per message) make each signature usable once: see createReplayGuard.
 */
export function signingInput(m: { tokenId: string; roomId: string; act: string; replyTo?: number; ts: number; nonce: string; text: string }): Buffer {
  return Buffer.from(['omnisight.room.v2', m.tokenId, m.roomId, m.act, m.replyTo ?? '', String(m.ts), m.nonce, m.text].join('\n'), 'utf8');
}

export const REPLAY_WINDOW_MS = 120_000;
/** The signer runs on this machine (the bridge is loopback only), so its clock may run only a little ahead. */
const MAX_AHEAD_MS = 5_000;
const MAX_NONCES_PER_KEY = 200_000;

export type ReplayCheck = { ok: true } | { ok: false; reason: 'stale' | 'future' | 'replayed' | 'full' };

/** Where accepted nonces outlive the process: a replay after a restart is refused too. */
export interface NonceStore {
  /** Records the nonce; false when it was recorded before. */
  add(key: string, nonce: string, ts: number): boolean;
  /** Forgets nonces whose ts is before this time. */
  prune(before: number): void;
}

export function createNonceStore(db: Db): NonceStore {
  const st = nonceStatements(db);
  return {
    add: (key, nonce, ts) => st.insert.run(key, nonce, ts).changes === 1,
    prune: (before) => void st.prune.run(before),
  };
}

/**
 * Refuses a signed message seen before. A signature is accepted only while its `ts` is within the
 * window and its nonce is new for that key; a nonce is remembered for as long as its `ts` can still
 * pass, so the memory is bounded by the window. With a store the nonces are also kept on disk
 * (committed before the message is accepted), so a replay after a restart is refused as well.
 */
export function createReplayGuard(now: () => number, windowMs = REPLAY_WINDOW_MS, store?: NonceStore) {
  const startedAt = now();
  const seen = new Map<string, Map<string, number>>();
  const prune = (nonces: Map<string, number>, t: number): void => {
    // Insertion order is roughly ts order; stop at the first one still inside the window.
    for (const [n, ts] of nonces) {
      if (ts >= t - windowMs) break;
      nonces.delete(n);
    }
  };
  return {
    check(key: string, nonce: string, ts: number): ReplayCheck {
      const t = now();
      if (ts < t - windowMs || ts < startedAt - MAX_AHEAD_MS) return { ok: false, reason: 'stale' };
      if (ts > t + MAX_AHEAD_MS) return { ok: false, reason: 'future' };
      let nonces = seen.get(key);
      if (!nonces) seen.set(key, (nonces = new Map()));
      if (nonces.has(nonce)) return { ok: false, reason: 'replayed' };
      if (nonces.size >= MAX_NONCES_PER_KEY) prune(nonces, t);
      if (nonces.size >= MAX_NONCES_PER_KEY) return { ok: false, reason: 'full' };
      if (store && !store.add(key, nonce, ts)) return { ok: false, reason: 'replayed' };
      nonces.set(nonce, ts);
      return { ok: true };
    },
    /** Drops nonces whose ts can no longer pass (the bridge calls it from its idle timer). */
    sweep(): void {
      const t = now();
      for (const [k, nonces] of seen) {
        for (const [n, ts] of nonces) if (ts < t - windowMs) nonces.delete(n);
        if (!nonces.size) seen.delete(k);
      }
      store?.prune(t - windowMs);
    },
  };
}

const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
export function verifyEd25519(publicKeyB64: string, data: Buffer, sigB64: string): boolean {
  try {
    const key = crypto.createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, Buffer.from(publicKeyB64, 'base64')]), format: 'der', type: 'spki' });
    const sig = Buffer.from(sigB64, 'base64');
    return sig.length === 64 && crypto.verify(null, data, key, sig);
  } catch {
    return false;
  }
}

export type ReplayGuard = ReturnType<typeof createReplayGuard>;
