#include "flcrypto.h"
#include "field25519.h"

#include <math.h>
#include <sodium.h>
#include <string.h>

void fl_hkdf_sha256(unsigned char *out, size_t outlen, const unsigned char *ikm, size_t ikmlen,
                    const unsigned char *salt, size_t saltlen, const unsigned char *info, size_t infolen) {
  unsigned char prk[32], t[32];
  crypto_auth_hmacsha256_state st;
  /* Extract: PRK = HMAC(salt, ikm). An empty salt is HMAC's zero-padded key, as RFC 5869 asks. */
  crypto_auth_hmacsha256_init(&st, salt, saltlen);
  crypto_auth_hmacsha256_update(&st, ikm, ikmlen);
  crypto_auth_hmacsha256_final(&st, prk);
  /* Expand: T(i) = HMAC(PRK, T(i-1) ‖ info ‖ i). */
  size_t done = 0;
  for (unsigned char i = 1; done < outlen; i++) {
    crypto_auth_hmacsha256_init(&st, prk, sizeof prk);
    if (i > 1) crypto_auth_hmacsha256_update(&st, t, sizeof t);
    crypto_auth_hmacsha256_update(&st, info, infolen);
    crypto_auth_hmacsha256_update(&st, &i, 1);
    crypto_auth_hmacsha256_final(&st, t);
    size_t n = outlen - done < sizeof t ? outlen - done : sizeof t;
    memcpy(out + done, t, n);
    done += n;
  }
  sodium_memzero(prk, sizeof prk);
  sodium_memzero(t, sizeof t);
  sodium_memzero(&st, sizeof st);
}

int fl_derive(unsigned char out[FL_KEY], const unsigned char sk[32], const unsigned char pk[32], const char *round, const char *info) {
  unsigned char shared[32];
  if (crypto_scalarmult(shared, sk, pk) != 0) return -1;
  fl_hkdf_sha256(out, FL_KEY, shared, sizeof shared, (const unsigned char *)round, strlen(round), (const unsigned char *)info, strlen(info));
  sodium_memzero(shared, sizeof shared);
  return 0;
}

void fl_box_seal(unsigned char out[FL_BOX_BYTES], const unsigned char key[FL_KEY], const unsigned char *nonce_or_null,
                 const unsigned char plain[FL_BOX_PLAIN], const char *aad) {
  if (nonce_or_null) memcpy(out, nonce_or_null, 12);
  else randombytes_buf(out, 12);
  unsigned long long clen;
  crypto_aead_chacha20poly1305_ietf_encrypt(out + 12, &clen, plain, FL_BOX_PLAIN, (const unsigned char *)aad, strlen(aad), NULL, out, key);
}

int fl_box_open(unsigned char plain[FL_BOX_PLAIN], const unsigned char key[FL_KEY], const unsigned char *box, size_t len, const char *aad) {
  if (len != FL_BOX_BYTES) return -1;
  unsigned long long mlen;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(plain, &mlen, NULL, box + 12, len - 12, (const unsigned char *)aad, strlen(aad), box, key) != 0) return -1;
  return mlen == FL_BOX_PLAIN ? 0 : -1;
}

void fl_prg(uint32_t out[FL_DIM], const unsigned char key[FL_KEY]) {
  static const unsigned char zero_nonce[crypto_stream_chacha20_ietf_NONCEBYTES];
  unsigned char ks[FL_DIM * 4];
  crypto_stream_chacha20_ietf(ks, sizeof ks, zero_nonce, key);
  for (int i = 0; i < FL_DIM; i++)
    out[i] = (uint32_t)ks[4 * i] | (uint32_t)ks[4 * i + 1] << 8 | (uint32_t)ks[4 * i + 2] << 16 | (uint32_t)ks[4 * i + 3] << 24;
  sodium_memzero(ks, sizeof ks);
}

void fl_keypair(unsigned char sk[32], unsigned char pk[32]) {
  fe25519 v;
  do {
    randombytes_buf(sk, 32);
    sk[0] &= 248;
    sk[31] &= 127;
    sk[31] |= 64;
  } while (fe_from_bytes(&v, sk) < 0);
  sodium_memzero(&v, sizeof v);
  crypto_scalarmult_base(pk, sk);
}

void fl_quantize(int32_t q[FL_DIM], const double delta[FL_DIM], double range, double scale) {
  for (int i = 0; i < FL_DIM; i++) {
    double d = isfinite(delta[i]) ? delta[i] : 0;
    d = d < -range ? -range : d > range ? range : d;
    q[i] = (int32_t)round(d * scale); /* to nearest, ties away from zero (docs/protocol.md) */
  }
}

int fl_masked_input(uint32_t y[FL_DIM], const int32_t q[FL_DIM], const unsigned char b[32], const unsigned char s_sk[32],
                    uint32_t my_index, const fl_mask_peer *peers, size_t n, const char *round) {
  uint32_t m[FL_DIM];
  fl_prg(m, b);
  for (int i = 0; i < FL_DIM; i++) y[i] = (uint32_t)q[i] + m[i];
  for (size_t k = 0; k < n; k++) {
    if (peers[k].index == my_index) continue;
    unsigned char key[FL_KEY];
    if (fl_derive(key, s_sk, peers[k].spk, round, "omnisight.fl1.mask") < 0) return -1;
    fl_prg(m, key);
    sodium_memzero(key, sizeof key);
    for (int i = 0; i < FL_DIM; i++) y[i] = peers[k].index > my_index ? y[i] + m[i] : y[i] - m[i];
  }
  sodium_memzero(m, sizeof m);
  return 0;
}

/* Written here rather than with qsort: qsort's comparator has no context argument in C11, and the
 * hashes must travel with the indices. An insertion sort of at most FL_RING_MAX items is cheap. */
size_t fl_ring(const unsigned char seed[32], const char *const *serials, size_t n, unsigned k, size_t me,
               size_t *order, unsigned char *nb) {
  static unsigned char h[FL_RING_MAX][crypto_hash_sha256_BYTES];
  if (n > FL_RING_MAX) n = FL_RING_MAX;
  for (size_t i = 0; i < n; i++) {
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, seed, 32);
    crypto_hash_sha256_update(&st, (const unsigned char *)serials[i], strlen(serials[i]));
    crypto_hash_sha256_final(&st, h[i]);
    size_t j = i;
    while (j > 0 && memcmp(h[order[j - 1]], h[i], crypto_hash_sha256_BYTES) > 0) { order[j] = order[j - 1]; j--; }
    order[j] = i;
  }
  memset(nb, 0, n);
  size_t count = 0, pos = 0;
  for (size_t i = 0; i < n; i++)
    if (order[i] == me) pos = i;
  if (n - 1 <= k) {
    for (size_t j = 0; j < n; j++)
      if (j != me) { nb[j] = 1; count++; }
    return count;
  }
  for (size_t d = 1; d <= k / 2; d++) {
    size_t a = order[(pos + d) % n], b = order[(pos + n - d) % n];
    if (!nb[a]) { nb[a] = 1; count++; }
    if (!nb[b]) { nb[b] = 1; count++; }
  }
  return count;
}

unsigned fl_tk(size_t m) { return (unsigned)((2 * (m + 1) + 2) / 3); }

int fl_tk_ok(unsigned tk, size_t m) { return tk == fl_tk(m) && 2 * (size_t)tk > m + 1 && (size_t)tk <= m + 1; }
