/* The camera's identity (Ed25519 key and boot epoch in the app's local data) and the signed
 * message envelope v2 of docs/protocol.md / SHARED-SPECS.md. */
#ifndef OMNISIGHT_ENVELOPE_H
#define OMNISIGHT_ENVELOPE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sodium.h>

#include "json.h"

#define ENVELOPE_MAX_BYTES (64 * 1024)
#define KEY_ID_LEN 16 /* lowercase hex of the first 8 bytes of SHA-256(public key) */

/* The v3 session with the desktop (V3-SPEC.md), under the signer's lock: the MAC key K lives only
 * here, in memory; the ephemeral secret is erased as soon as K is derived. */
typedef struct {
  uint32_t s;                  /* the current session S (0: none yet); counts from 1 in each boot epoch */
  int active;                  /* announcement acknowledged by the broker: detections and heartbeats go out as v3 */
  unsigned char k[32], e_pk[32];
  char desktop_id[17];
  char key_id[KEY_ID_LEN + 1]; /* the identity the session belongs to (a rotation leaves it behind) */
  int have_desktop;
  int live;                    /* a session is open on this MQTT connection (announced, repeated, maybe active) */
  unsigned char desktop_pk[32];
  int64_t next_announce_ms;    /* monotonic */
} v3_state;

typedef struct {
  pthread_mutex_t mu; /* the identity thread rotates while the main thread signs */
  unsigned char sk[crypto_sign_SECRETKEYBYTES]; /* libsodium layout: seed (32) || public key (32) */
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  char key_id[KEY_ID_LEN + 1];
  char serial[13];
  uint32_t epoch;     /* boot epoch: persisted and incremented once per start */
  uint64_t next_seq;  /* 1 at each start (per epoch), shared by both kinds */
  char dir[448];      /* the app's local data folder (absolute) */
  v3_state v3;
} signer;

/* Opens the identity kept in `dir` (the app's persistent local data): creates the key on first start
 * (mode 0600, created exclusively so two starts cannot race), then increments the boot epoch and
 * writes + fsyncs it before anything is signed. Returns 0, or -1 with a message that says what to fix. */
int signer_init(signer *s, const char *dir, const char *serial, char *err, size_t errlen);
/* Explicit rotation: a new key replaces the old one on flash (atomically) and in memory. */
int signer_rotate(signer *s, char *err, size_t errlen);
/* Builds one envelope into out: v3 (HMAC under the session key) for detections and heartbeats once a
 * session of the current key has been announced, else v2 (Ed25519). Returns 0, or -1 when it would
 * exceed 64 KiB. */
int envelope_build(signer *s, const char *kind, int64_t sent_ms, const char *body, size_t body_len, jbuf *out);
/* The same, telling the caller the seq it signed (the detections' outcomes refer to it). */
int envelope_build_seq(signer *s, const char *kind, int64_t sent_ms, const char *body, size_t body_len, jbuf *out, uint64_t *seq_out);
/* Opens a new session with the desktop key D_pk (S = previous S + 1, ephemeral X25519, K derived,
 * e_sk erased). It is used for v3 only once announced. Returns S, or 0 for a small-order D_pk. */
uint32_t session_open(signer *s, const unsigned char desktop_pk[32]);
/* The signed v2 "session" envelope of the current session (same S and e_pk, a new seq); *s_out = S.
 * Returns -1 when there is no session or it would not fit. */
int session_announcement(signer *s, int64_t sent_ms, jbuf *out, uint32_t *s_out);
/* The announcement of session S went out: the next one is due at next_ms. v3 waits for the broker's
 * acknowledgement (session_acked): MQTT does not order a QoS 0 report on another topic behind it. */
void session_announced(signer *s, uint32_t session, int64_t next_ms);
/* The broker acknowledged (PUBACK) an announcement of session S: v3 from now on, if S is still current. */
void session_acked(signer *s, uint32_t session);
/* No session and no desktop key (v2 from the next message): a new MQTT connection (the broker may be
 * another one, its desktop another one), the retained key cleared (the desktop left), or a notice
 * from a desktop whose key is not the one held. S keeps counting in this epoch. */
void session_reset(signer *s);
/* The desktop's notice that session `session` of (key_id, epoch) is unknown there, from the desktop
 * whose key id is desktop_id. Returns 1 when it names the session in use and that desktop's key is
 * the one held (copied to desktop_pk: open a new session with it), -1 when it names the session in
 * use but another desktop key (the session was reset: v2 until that desktop's key arrives), 0 when
 * it is about another session (ignored). */
int session_notice(signer *s, const char *key_id, uint32_t epoch, uint32_t session, const char *desktop_id, unsigned char desktop_pk[32]);
/* 1 when the current session's announcement is due (now_ms ≥ its time). */
int session_due(signer *s, int64_t now_ms);
/* 1 when a desktop key is known but the session belongs to a key rotated away (or there is none):
 * copies the desktop key so the caller can open a new session. */
int session_stale(signer *s, unsigned char desktop_pk[32]);
/* {"camera","key","publicKey","version","epoch"} as identity.cgi returns it. */
void signer_identity_json(signer *s, const char *version, jbuf *out);
/* The key id (copied under the lock). */
void signer_key_id(signer *s, char out[KEY_ID_LEN + 1]);
void signer_wipe(signer *s);

/* Small durable-file helpers shared with the calibration store. */
/* Writes data to dir/name through a temporary file, fsync, rename and a directory fsync. */
int durable_write(const char *dir, const char *name, const void *data, size_t len, char *err, size_t errlen);

#endif
