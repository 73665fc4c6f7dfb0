/* fltool: the fl1 primitives and the confirmation head behind a line protocol, for the tests
 * (native/fl.test.ts runs it once under qemu and feeds it many lines). One command per line,
 * binary arguments in hex, one answer line per command: "OK <result>" or "ERR <reason>".
 * Not part of the package. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "field25519.h"
#include "flcrypto.h"
#include "head.h"
#include "v3.h"

#define MAX_TOK 256

static int hex(unsigned char *out, size_t want, const char *h) {
  size_t got;
  if (strcmp(h, "-") == 0) return want == 0 ? 0 : -1;
  if (sodium_hex2bin(out, want, h, strlen(h), NULL, &got, NULL) != 0) return -1;
  return got == want ? 0 : -1;
}

static size_t hexlen(const char *h) { return strcmp(h, "-") == 0 ? 0 : strlen(h) / 2; }

static void put_hex(const unsigned char *b, size_t n) {
  for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
}

/* "-" is the empty string; "%0a" is a newline (for aad/round texts given on one line). */
static void unescape(char *s) {
  if (strcmp(s, "-") == 0) { s[0] = '\0'; return; }
  char *w = s;
  for (char *r = s; *r; r++) {
    if (r[0] == '%' && r[1] == '0' && r[2] == 'a') { *w++ = '\n'; r += 2; }
    else *w++ = *r;
  }
  *w = '\0';
}

static int fe_arg(fe25519 *f, const char *h) {
  unsigned char b[32];
  return hex(b, 32, h) < 0 ? -1 : fe_from_bytes(f, b);
}

static void run(int argc, char **argv) {
  const char *cmd = argv[0];
  if (strcmp(cmd, "pk") == 0 && argc == 2) {
    unsigned char sk[32], pk[32];
    if (hex(sk, 32, argv[1]) < 0) { puts("ERR bad sk"); return; }
    crypto_scalarmult_base(pk, sk);
    printf("OK "); put_hex(pk, 32); puts("");
  } else if (strcmp(cmd, "keypair") == 0 && argc == 1) {
    unsigned char sk[32], pk[32];
    fl_keypair(sk, pk);
    printf("OK "); put_hex(sk, 32); printf(" "); put_hex(pk, 32); puts("");
  } else if (strcmp(cmd, "x25519") == 0 && argc == 3) {
    unsigned char sk[32], pk[32], out[32];
    if (hex(sk, 32, argv[1]) < 0 || hex(pk, 32, argv[2]) < 0) { puts("ERR bad key"); return; }
    if (crypto_scalarmult(out, sk, pk) != 0) { puts("ERR small-order point"); return; }
    printf("OK "); put_hex(out, 32); puts("");
  } else if (strcmp(cmd, "hkdf") == 0 && argc == 5) {
    size_t n = (size_t)atoi(argv[4]);
    unsigned char ikm[MAX_TOK], salt[MAX_TOK], info[MAX_TOK], out[255 * 32];
    size_t li = hexlen(argv[1]), ls = hexlen(argv[2]), lf = hexlen(argv[3]);
    if (n > sizeof out || li > MAX_TOK || ls > MAX_TOK || lf > MAX_TOK || hex(ikm, li, argv[1]) < 0 || hex(salt, ls, argv[2]) < 0 || hex(info, lf, argv[3]) < 0) { puts("ERR bad args"); return; }
    fl_hkdf_sha256(out, n, ikm, li, salt, ls, info, lf);
    printf("OK "); put_hex(out, n); puts("");
  } else if (strcmp(cmd, "derive") == 0 && argc == 5) {
    unsigned char sk[32], pk[32], out[32];
    unescape(argv[3]); unescape(argv[4]);
    if (hex(sk, 32, argv[1]) < 0 || hex(pk, 32, argv[2]) < 0) { puts("ERR bad key"); return; }
    if (fl_derive(out, sk, pk, argv[3], argv[4]) < 0) { puts("ERR small-order point"); return; }
    printf("OK "); put_hex(out, 32); puts("");
  } else if (strcmp(cmd, "seal") == 0 && argc == 5) {
    unsigned char key[32], nonce[12], plain[FL_BOX_PLAIN], box[FL_BOX_BYTES];
    unescape(argv[4]);
    if (hex(key, 32, argv[1]) < 0 || hex(nonce, 12, argv[2]) < 0 || hex(plain, sizeof plain, argv[3]) < 0) { puts("ERR bad args"); return; }
    fl_box_seal(box, key, nonce, plain, argv[4]);
    printf("OK "); put_hex(box, sizeof box); puts("");
  } else if (strcmp(cmd, "open") == 0 && argc == 4) {
    unsigned char key[32], box[FL_BOX_BYTES + 64], plain[FL_BOX_PLAIN];
    size_t n = hexlen(argv[2]);
    unescape(argv[3]);
    if (hex(key, 32, argv[1]) < 0 || n > sizeof box || hex(box, n, argv[2]) < 0) { puts("ERR bad args"); return; }
    if (fl_box_open(plain, key, box, n, argv[3]) < 0) { puts("ERR box does not open"); return; }
    printf("OK "); put_hex(plain, sizeof plain); puts("");
  } else if (strcmp(cmd, "prg") == 0 && argc == 2) {
    unsigned char key[32];
    uint32_t w[FL_DIM];
    if (hex(key, 32, argv[1]) < 0) { puts("ERR bad key"); return; }
    fl_prg(w, key);
    printf("OK");
    for (int i = 0; i < FL_DIM; i++) printf(" %u", w[i]);
    puts("");
  } else if ((strcmp(cmd, "fadd") == 0 || strcmp(cmd, "fsub") == 0 || strcmp(cmd, "fmul") == 0) && argc == 3) {
    fe25519 a, b, r;
    unsigned char out[32];
    if (fe_arg(&a, argv[1]) < 0 || fe_arg(&b, argv[2]) < 0) { puts("ERR not a field element below p"); return; }
    if (cmd[1] == 'a') fe_add(&r, &a, &b);
    else if (cmd[1] == 's') fe_sub(&r, &a, &b);
    else fe_mul(&r, &a, &b);
    fe_to_bytes(out, &r);
    printf("OK "); put_hex(out, 32); puts("");
  } else if (strcmp(cmd, "frandom") == 0 && argc == 1) {
    fe25519 r;
    unsigned char out[32];
    fe_random(&r);
    fe_to_bytes(out, &r);
    printf("OK "); put_hex(out, 32); puts("");
  } else if (strcmp(cmd, "shamir") == 0 && argc >= 3 && argc - 2 <= 64) {
    fe25519 c[64], r;
    unsigned char out[32];
    for (int i = 2; i < argc; i++)
      if (fe_arg(&c[i - 2], argv[i]) < 0) { puts("ERR coefficient not below p"); return; }
    fe_poly_eval(&r, c, argc - 2, strtoull(argv[1], NULL, 10));
    fe_to_bytes(out, &r);
    printf("OK "); put_hex(out, 32); puts("");
  } else if (strcmp(cmd, "quant") == 0 && argc == 3 + FL_DIM) {
    double d[FL_DIM];
    int32_t q[FL_DIM];
    for (int i = 0; i < FL_DIM; i++) d[i] = strtod(argv[3 + i], NULL);
    fl_quantize(q, d, strtod(argv[1], NULL), strtod(argv[2], NULL));
    printf("OK");
    for (int i = 0; i < FL_DIM; i++) printf(" %d", q[i]);
    puts("");
  } else if (strcmp(cmd, "masked") == 0 && argc >= 5 + FL_DIM) {
    /* masked <round> <my index> <b> <s secret> <q0 … q13> [<index>:<sPk hex>]… */
    unsigned char b[32], s[32];
    int32_t q[FL_DIM];
    uint32_t y[FL_DIM];
    fl_mask_peer peers[64];
    size_t n = 0;
    unescape(argv[1]);
    if (hex(b, 32, argv[3]) < 0 || hex(s, 32, argv[4]) < 0) { puts("ERR bad b or s"); return; }
    for (int i = 0; i < FL_DIM; i++) q[i] = (int32_t)strtol(argv[5 + i], NULL, 10);
    for (int i = 5 + FL_DIM; i < argc && n < 64; i++, n++) {
      char *colon = strchr(argv[i], ':');
      if (!colon || hex(peers[n].spk, 32, colon + 1) < 0) { puts("ERR bad peer"); return; }
      peers[n].index = (uint32_t)strtoul(argv[i], NULL, 10);
    }
    if (fl_masked_input(y, q, b, s, (uint32_t)strtoul(argv[2], NULL, 10), peers, n, argv[1]) < 0) { puts("ERR small-order point"); return; }
    printf("OK");
    for (int i = 0; i < FL_DIM; i++) printf(" %u", y[i]);
    puts("");
  } else if (strcmp(cmd, "features") == 0 && argc == 7) {
    float x[HEAD_FEATURES];
    head_features(x, strtod(argv[1], NULL), strtod(argv[2], NULL), strtod(argv[3], NULL), strtod(argv[4], NULL), argv[5], strtod(argv[6], NULL));
    printf("OK");
    for (int i = 0; i < HEAD_FEATURES; i++) printf(" %.9g", x[i]);
    puts("");
  } else if (strcmp(cmd, "train") == 0 && argc >= 4 + FL_DIM) {
    /* train <epochs> <lr> <batch> <θ0 … θ13> [<label>:<x0>,…,<x12>]… → θ after SGD, then held-in metric */
    static head_sample s[8192];
    double t[FL_DIM];
    float tf[FL_DIM];
    size_t n = 0;
    for (int i = 0; i < FL_DIM; i++) t[i] = strtod(argv[4 + i], NULL);
    for (int i = 4 + FL_DIM; i < argc && n < 8192; i++, n++) {
      char *p = argv[i];
      s[n].label = (uint8_t)(p[0] == '1');
      p += 2;
      for (int k = 0; k < HEAD_FEATURES; k++) { s[n].x[k] = strtof(p, &p); if (*p == ',') p++; }
    }
    head_train(t, s, n, atoi(argv[1]), strtod(argv[2], NULL), atoi(argv[3]));
    for (int i = 0; i < FL_DIM; i++) tf[i] = (float)t[i];
    head_metric m = head_eval(tf, s, n, 0.05);
    printf("OK");
    for (int i = 0; i < FL_DIM; i++) printf(" %.17g", t[i]);
    printf(" %.9g %.9g\n", m.logloss, m.accuracy);
  } else if (strcmp(cmd, "load") == 0 && argc == 2) {
    head_model m;
    char err[2048];
    head_builtin(&m);
    int r = head_load_dir(&m, argv[1], err, sizeof err);
    printf("OK %d %u %.6g", r, m.version, m.drop_below);
    for (int i = 0; i < FL_DIM; i++) printf(" %.9g", m.theta[i]);
    printf(" # %s\n", err); /* the pairs skipped, if any */
  } else if (strcmp(cmd, "ring") == 0 && argc >= 5 && argc - 4 <= FL_RING_MAX) {
    /* ring <seed hex> <k> <me> <serial…>: "OK <serials in ring order, comma-joined> <neighbours of me, input order, comma-joined or ->" */
    unsigned char seed[32];
    size_t n = (size_t)argc - 4, me = n, order[FL_RING_MAX];
    unsigned char nb[FL_RING_MAX];
    if (hex(seed, 32, argv[1]) < 0) { puts("ERR bad seed"); return; }
    for (size_t i = 0; i < n; i++)
      if (strcmp(argv[4 + i], argv[3]) == 0) me = i;
    if (me == n) { puts("ERR me is not in the list"); return; }
    fl_ring(seed, (const char *const *)(argv + 4), n, (unsigned)atoi(argv[2]), me, order, nb);
    printf("OK ");
    for (size_t i = 0; i < n; i++) printf("%s%s", i ? "," : "", argv[4 + order[i]]);
    int first = 1;
    printf(" ");
    for (size_t i = 0; i < n; i++)
      if (nb[i]) { printf("%s%s", first ? "" : ",", argv[4 + i]); first = 0; }
    puts(first ? "-" : "");
  } else if (strcmp(cmd, "tk") == 0 && argc == 2) {
    printf("OK %u\n", fl_tk((size_t)atoi(argv[1])));
  } else if (strcmp(cmd, "tkok") == 0 && argc == 3) {
    printf("OK %d\n", fl_tk_ok((unsigned)atoi(argv[1]), (size_t)atoi(argv[2])));
  } else if (strcmp(cmd, "v3derive") == 0 && argc == 6) {
    /* v3derive <e_sk> <desktop pk> <serial> <epoch> <S> → K */
    unsigned char esk[32], dpk[32], k[V3_KEY];
    if (hex(esk, 32, argv[1]) < 0 || hex(dpk, 32, argv[2]) < 0) { puts("ERR bad key"); return; }
    if (v3_derive(k, esk, dpk, argv[3], (uint32_t)strtoul(argv[4], NULL, 10), (uint32_t)strtoul(argv[5], NULL, 10)) < 0) { puts("ERR small-order point"); return; }
    printf("OK "); put_hex(k, sizeof k); puts("");
  } else if (strcmp(cmd, "v3mac") == 0 && argc == 10) {
    /* v3mac <K> <camera> <epoch> <seq> <sent> <kind> <key id> <session> <body hex> → mac */
    static unsigned char body[1 << 19];
    unsigned char k[V3_KEY], mac[V3_MAC];
    size_t bl = hexlen(argv[9]);
    if (hex(k, sizeof k, argv[1]) < 0 || bl > sizeof body || hex(body, bl, argv[9]) < 0) { puts("ERR bad args"); return; }
    v3_mac(mac, k, argv[2], (uint32_t)strtoul(argv[3], NULL, 10), strtoull(argv[4], NULL, 10), strtoll(argv[5], NULL, 10), argv[6], argv[7],
           (uint32_t)strtoul(argv[8], NULL, 10), (const char *)body, bl);
    printf("OK "); put_hex(mac, sizeof mac); puts("");
  } else if (strcmp(cmd, "v3id") == 0 && argc == 2) {
    unsigned char dpk[32];
    char id[17];
    if (hex(dpk, 32, argv[1]) < 0) { puts("ERR bad key"); return; }
    v3_desktop_id(id, dpk);
    printf("OK %s\n", id);
  } else {
    printf("ERR unknown command or wrong argument count: %s (%d args)\n", cmd, argc - 1);
  }
}

int main(void) {
  if (sodium_init() < 0) { puts("ERR libsodium"); return 1; }
  static char line[1 << 20];
  static char *argv[8300];
  while (fgets(line, sizeof line, stdin)) {
    int argc = 0;
    for (char *tok = strtok(line, " \t\r\n"); tok && argc < (int)(sizeof argv / sizeof argv[0]); tok = strtok(NULL, " \t\r\n")) argv[argc++] = tok;
    if (argc) run(argc, argv);
    fflush(stdout);
  }
  return 0;
}
