#include "v3.h"
#include "flcrypto.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

int v3_derive(unsigned char k[V3_KEY], const unsigned char e_sk[32], const unsigned char desktop_pk[32], const char *serial,
              uint32_t epoch, uint32_t session) {
  unsigned char shared[32];
  if (crypto_scalarmult(shared, e_sk, desktop_pk) != 0) return -1;
  char salt[64];
  int n = snprintf(salt, sizeof salt, "%s\n%" PRIu32 "\n%" PRIu32, serial, epoch, session);
  static const char info[] = "omnisight.v3.session";
  fl_hkdf_sha256(k, V3_KEY, shared, sizeof shared, (const unsigned char *)salt, (size_t)n, (const unsigned char *)info, sizeof info - 1);
  sodium_memzero(shared, sizeof shared);
  return 0;
}

void v3_mac(unsigned char mac[V3_MAC], const unsigned char k[V3_KEY], const char *camera, uint32_t epoch, uint64_t seq, int64_t sent,
            const char *kind, const char *key_id, uint32_t session, const char *body, size_t body_len) {
  char head[256];
  int n = snprintf(head, sizeof head, "omnisight.v3\n%s\n%" PRIu32 "\n%" PRIu64 "\n%" PRId64 "\n%s\n%s\n%" PRIu32 "\n", camera, epoch, seq, sent, kind,
                   key_id, session);
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, k, V3_KEY);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)head, (size_t)n);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, body_len);
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_memzero(&st, sizeof st);
}

void v3_desktop_id(char out[17], const unsigned char desktop_pk[32]) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, desktop_pk, 32);
  sodium_bin2hex(out, 17, h, 8);
}
