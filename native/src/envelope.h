/* The signed message envelope of docs/protocol.md ("OmniSight on the wire"). */
#ifndef OMNISIGHT_ENVELOPE_H
#define OMNISIGHT_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>
#include <sodium.h>

#include "json.h"

#define ENVELOPE_MAX_BYTES (64 * 1024)
#define KEY_ID_MAX 32

typedef struct {
  unsigned char sk[crypto_sign_SECRETKEYBYTES]; /* libsodium layout: seed (32) || public key (32) */
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  char key_id[KEY_ID_MAX + 1];
  char serial[13];
  uint64_t next_seq;
  uint64_t reserved_upto;  /* highest seq written to the state file (0 = no state file) */
  char state_path[512];
} signer;

/* Loads the 64-byte Ed25519 secret key and checks it is consistent (the public half must derive
 * from the seed). Returns 0, or -1 with a message that says what to fix. */
int signer_init(signer *s, const char *key_file, const char *key_id, const char *serial,
                const char *state_dir, char *err, size_t errlen);
/* Builds one envelope into out. Returns 0, or -1 when it would exceed 64 KiB. */
int envelope_build(signer *s, const char *kind, int64_t sent_ms, const char *body, size_t body_len, jbuf *out);
/* The public key in standard base64 (for identity.cgi). */
void signer_public_b64(const signer *s, char *out, size_t cap);
void signer_wipe(signer *s);

#endif
