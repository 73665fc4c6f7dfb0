/* Envelope v3 session MACs (V3-SPEC.md; docs/protocol.md "Envelope"): the pure parts, on libsodium.
 *   K   = HKDF-SHA256(ikm = X25519(e_sk, D_pk), salt = "<SERIAL>\n<epoch>\n<S>", info = "omnisight.v3.session", 32)
 *   mac = HMAC-SHA256(K, "omnisight.v3\n<camera>\n<epoch>\n<seq>\n<sent>\n<kind>\n<key>\n<session>\n<body>") */
#ifndef OMNISIGHT_V3_H
#define OMNISIGHT_V3_H

#include <stddef.h>
#include <stdint.h>

#define V3_KEY 32
#define V3_MAC 32

/* Returns -1 when X25519 gives the all-zero point (a small-order desktop key): no session. */
int v3_derive(unsigned char k[V3_KEY], const unsigned char e_sk[32], const unsigned char desktop_pk[32], const char *serial,
              uint32_t epoch, uint32_t session);
void v3_mac(unsigned char mac[V3_MAC], const unsigned char k[V3_KEY], const char *camera, uint32_t epoch, uint64_t seq, int64_t sent,
            const char *kind, const char *key_id, uint32_t session, const char *body, size_t body_len);
/* id(D): lower-case hex of the first 8 bytes of SHA-256(D_pk). */
void v3_desktop_id(char out[17], const unsigned char desktop_pk[32]);

#endif
