/* The cryptographic building blocks of fl1 (FL-SPEC.md, docs/protocol.md "Federated learning (fl1)"),
 * all on libsodium: X25519 (crypto_scalarmult), HKDF-SHA256 (built from crypto_auth_hmacsha256:
 * libsodium 1.0.18, Debian 12's and the version the camera bundles, has no crypto_kdf_hkdf_sha256),
 * ChaCha20-Poly1305-IETF boxes, the ChaCha20-IETF keystream as the mask PRG. */
#ifndef OMNISIGHT_FLCRYPTO_H
#define OMNISIGHT_FLCRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define FL_DIM 14             /* θ = [w_0 … w_12, b] */
#define FL_KEY 32
#define FL_BOX_PLAIN 72       /* u32 from-index ‖ u32 to-index ‖ share of b (32) ‖ share of s (32) */
#define FL_BOX_BYTES (12 + FL_BOX_PLAIN + 16)

/* RFC 5869 with SHA-256; outlen <= 32 * 255. */
void fl_hkdf_sha256(unsigned char *out, size_t outlen, const unsigned char *ikm, size_t ikmlen,
                    const unsigned char *salt, size_t saltlen, const unsigned char *info, size_t infolen);
/* X25519(sk, pk) then HKDF(salt = round id, info). Returns -1 when the shared point is all zero
 * (a small-order public key): the peer is refused. */
int fl_derive(unsigned char out[FL_KEY], const unsigned char sk[32], const unsigned char pk[32], const char *round, const char *info);
/* nonce (12, random unless given) ‖ ciphertext ‖ tag; aad = "<round>\n<from>\n<to>". */
void fl_box_seal(unsigned char out[FL_BOX_BYTES], const unsigned char key[FL_KEY], const unsigned char *nonce_or_null,
                 const unsigned char plain[FL_BOX_PLAIN], const char *aad);
int fl_box_open(unsigned char plain[FL_BOX_PLAIN], const unsigned char key[FL_KEY], const unsigned char *box, size_t len, const char *aad);
/* PRG(key): the first FL_DIM little-endian u32 words of the ChaCha20-IETF keystream, zero nonce, counter 0. */
void fl_prg(uint32_t out[FL_DIM], const unsigned char key[FL_KEY]);
/* Clamped X25519 secret whose value is below p (FL-SPEC: redraw otherwise), and its public key. */
void fl_keypair(unsigned char sk[32], unsigned char pk[32]);
/* q_i = round(clamp(delta_i, -r, r) * s) as int32, ties away from zero. */
void fl_quantize(int32_t q[FL_DIM], const double delta[FL_DIM], double range, double scale);

/* y = q + PRG(b) + Σ_{x_v > x_u} PRG(k_uv) − Σ_{x_v < x_u} PRG(k_uv) (mod 2^32). */
typedef struct {
  uint32_t index;
  unsigned char spk[32];
} fl_mask_peer;
int fl_masked_input(uint32_t y[FL_DIM], const int32_t q[FL_DIM], const unsigned char b[32], const unsigned char s_sk[32],
                    uint32_t my_index, const fl_mask_peer *peers, size_t n, const char *round);

/* fl2 (SecAgg+ ring): peers sorted ascending by the bytes of SHA-256(seed ‖ UTF-8 serial); with
 * n − 1 ≤ k every other peer is a neighbour, else the k/2 ring positions on either side (mod n).
 * order[i] = the input index of the peer at ring position i; nb[j] = 1 when input j is a neighbour
 * of input `me` (nb[me] = 0). Returns the number of neighbours. k is even, n ≤ FL_RING_MAX. */
#define FL_RING_MAX 256
size_t fl_ring(const unsigned char seed[32], const char *const *serials, size_t n, unsigned k, size_t me,
               size_t *order, unsigned char *nb);
/* The share threshold for |N(u)| = m neighbours: tk = ⌈2(m+1)/3⌉ (docs/protocol.md). */
unsigned fl_tk(size_t m);
/* The roster's tk is accepted when it is fl_tk(m), and 2·tk > m + 1 and tk ≤ m + 1 (FL2-SPEC.md). */
int fl_tk_ok(unsigned tk, size_t m);

#endif
