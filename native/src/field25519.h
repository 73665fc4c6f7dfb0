/* Arithmetic in GF(p), p = 2^255 - 19, for Shamir secret sharing of fl1 (FL-SPEC / docs/protocol.md).
 *
 * Written here rather than taken from a library: libsodium works in this field only inside its
 * X25519/Ed25519 code and exposes no arithmetic on arbitrary field elements (its crypto_core_ed25519
 * scalar functions are modulo the group order L, not p), and a general bignum library (GMP, OpenSSL
 * BN) would be a new bundled dependency for three operations on fixed 256-bit numbers. So: four
 * 64-bit limbs, unsigned __int128 products, no allocation. Tested against Node's BigInt
 * (native/fl.test.ts). */
#ifndef OMNISIGHT_FIELD25519_H
#define OMNISIGHT_FIELD25519_H

#include <stdint.h>

typedef struct { uint64_t v[4]; } fe25519; /* little-endian limbs, always reduced: 0 <= value < p */

/* Reads 32 little-endian bytes. Returns 0, or -1 when the value is not below p (nothing reduced). */
int fe_from_bytes(fe25519 *r, const unsigned char in[32]);
void fe_to_bytes(unsigned char out[32], const fe25519 *a);
void fe_from_u64(fe25519 *r, uint64_t x);
void fe_add(fe25519 *r, const fe25519 *a, const fe25519 *b);
void fe_sub(fe25519 *r, const fe25519 *a, const fe25519 *b);
void fe_mul(fe25519 *r, const fe25519 *a, const fe25519 *b);
/* A uniform element of [0, p) from randombytes_buf (rejection sampling: 32 bytes, top bit cleared, redraw when >= p). */
void fe_random(fe25519 *r);
/* Shamir: f(x) = coeff[0] + coeff[1] x + … + coeff[n-1] x^(n-1) mod p (Horner). */
void fe_poly_eval(fe25519 *r, const fe25519 *coeff, int n, uint64_t x);

#endif
