#include "field25519.h"

#include <sodium.h>
#include <string.h>

typedef unsigned __int128 u128;

static const uint64_t P[4] = { 0xffffffffffffffedULL, 0xffffffffffffffffULL, 0xffffffffffffffffULL, 0x7fffffffffffffffULL };

/* a >= p ? (for a < 2^256) */
static int geq_p(const uint64_t a[4]) {
  for (int i = 3; i >= 0; i--) {
    if (a[i] > P[i]) return 1;
    if (a[i] < P[i]) return 0;
  }
  return 1;
}

/* r = a - p (caller knows a >= p) */
static void sub_p(uint64_t a[4]) {
  uint64_t borrow = 0;
  for (int i = 0; i < 4; i++) {
    u128 d = (u128)a[i] - P[i] - borrow;
    a[i] = (uint64_t)d;
    borrow = (uint64_t)(d >> 64) & 1;
  }
}

/* Reduces any value below 2^256 to [0, p): 2^255 = 19 (mod p). */
static void reduce256(uint64_t a[4]) {
  uint64_t top = a[3] >> 63;
  a[3] &= 0x7fffffffffffffffULL;
  u128 c = (u128)a[0] + 19 * top;
  a[0] = (uint64_t)c;
  for (int i = 1; i < 4; i++) {
    c = (c >> 64) + a[i];
    a[i] = (uint64_t)c;
  }
  /* now a < 2^255 + 19 < 2p */
  if (geq_p(a)) sub_p(a);
}

static uint64_t load64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

int fe_from_bytes(fe25519 *r, const unsigned char in[32]) {
  for (int i = 0; i < 4; i++) r->v[i] = load64(in + 8 * i);
  return geq_p(r->v) ? -1 : 0;
}

void fe_to_bytes(unsigned char out[32], const fe25519 *a) {
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 8; j++) out[8 * i + j] = (unsigned char)(a->v[i] >> (8 * j));
}

void fe_from_u64(fe25519 *r, uint64_t x) {
  memset(r, 0, sizeof *r);
  r->v[0] = x; /* x < 2^64 < p */
}

void fe_add(fe25519 *r, const fe25519 *a, const fe25519 *b) {
  /* a, b < p < 2^255, so the sum fits in 256 bits. */
  u128 c = 0;
  for (int i = 0; i < 4; i++) {
    c += (u128)a->v[i] + b->v[i];
    r->v[i] = (uint64_t)c;
    c >>= 64;
  }
  if (geq_p(r->v)) sub_p(r->v);
}

void fe_sub(fe25519 *r, const fe25519 *a, const fe25519 *b) {
  uint64_t borrow = 0, t[4];
  for (int i = 0; i < 4; i++) {
    u128 d = (u128)a->v[i] - b->v[i] - borrow;
    t[i] = (uint64_t)d;
    borrow = (uint64_t)(d >> 64) & 1;
  }
  if (borrow) { /* went below zero: add p back (wraps modulo 2^256 to the right value) */
    u128 c = 0;
    for (int i = 0; i < 4; i++) {
      c += (u128)t[i] + P[i];
      t[i] = (uint64_t)c;
      c >>= 64;
    }
  }
  memcpy(r->v, t, sizeof t);
}

void fe_mul(fe25519 *r, const fe25519 *a, const fe25519 *b) {
  uint64_t t[8] = { 0 };
  for (int i = 0; i < 4; i++) {
    u128 c = 0;
    for (int j = 0; j < 4; j++) {
      c += (u128)a->v[i] * b->v[j] + t[i + j];
      t[i + j] = (uint64_t)c;
      c >>= 64;
    }
    t[i + 4] = (uint64_t)c;
  }
  /* 2^256 = 38 (mod p): fold the high half into the low half, twice. */
  uint64_t s[4];
  u128 c = 0;
  for (int i = 0; i < 4; i++) {
    c += (u128)t[i] + (u128)t[i + 4] * 38;
    s[i] = (uint64_t)c;
    c >>= 64;
  }
  c = (u128)s[0] + (uint64_t)c * (u128)38;
  s[0] = (uint64_t)c;
  for (int i = 1; i < 4; i++) {
    c = (c >> 64) + s[i];
    s[i] = (uint64_t)c;
  }
  if (c >> 64) s[0] += 38; /* wrapped past 2^256 once more; s is tiny now, no further carry */
  reduce256(s);
  memcpy(r->v, s, sizeof s);
}

void fe_random(fe25519 *r) {
  unsigned char b[32];
  do {
    randombytes_buf(b, sizeof b);
    b[31] &= 0x7f;
  } while (fe_from_bytes(r, b) < 0);
  sodium_memzero(b, sizeof b);
}

void fe_poly_eval(fe25519 *r, const fe25519 *coeff, int n, uint64_t x) {
  fe25519 acc, fx;
  fe_from_u64(&fx, x);
  acc = coeff[n - 1];
  for (int k = n - 2; k >= 0; k--) {
    fe_mul(&acc, &acc, &fx);
    fe_add(&acc, &acc, &coeff[k]);
  }
  *r = acc;
  sodium_memzero(&acc, sizeof acc);
}
