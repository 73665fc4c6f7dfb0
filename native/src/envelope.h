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

typedef struct {
  pthread_mutex_t mu; /* the identity thread rotates while the main thread signs */
  unsigned char sk[crypto_sign_SECRETKEYBYTES]; /* libsodium layout: seed (32) || public key (32) */
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  char key_id[KEY_ID_LEN + 1];
  char serial[13];
  uint32_t epoch;     /* boot epoch: persisted and incremented once per start */
  uint64_t next_seq;  /* 1 at each start (per epoch), shared by both kinds */
  char dir[448];      /* the app's local data folder (absolute) */
} signer;

/* Opens the identity kept in `dir` (the app's persistent local data): creates the key on first start
 * (mode 0600, created exclusively so two starts cannot race), then increments the boot epoch and
 * writes + fsyncs it before anything is signed. Returns 0, or -1 with a message that says what to fix. */
int signer_init(signer *s, const char *dir, const char *serial, char *err, size_t errlen);
/* Explicit rotation: a new key replaces the old one on flash (atomically) and in memory. */
int signer_rotate(signer *s, char *err, size_t errlen);
/* Builds one envelope into out. Returns 0, or -1 when it would exceed 64 KiB. */
int envelope_build(signer *s, const char *kind, int64_t sent_ms, const char *body, size_t body_len, jbuf *out);
/* The same, telling the caller the seq it signed (the detections' outcomes refer to it). */
int envelope_build_seq(signer *s, const char *kind, int64_t sent_ms, const char *body, size_t body_len, jbuf *out, uint64_t *seq_out);
/* {"camera","key","publicKey","version","epoch"} as identity.cgi returns it. */
void signer_identity_json(signer *s, const char *version, jbuf *out);
/* The key id (copied under the lock). */
void signer_key_id(signer *s, char out[KEY_ID_LEN + 1]);
void signer_wipe(signer *s);

/* Small durable-file helpers shared with the calibration store. */
/* Writes data to dir/name through a temporary file, fsync, rename and a directory fsync. */
int durable_write(const char *dir, const char *name, const void *data, size_t len, char *err, size_t errlen);

#endif
