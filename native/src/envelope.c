#include "envelope.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A respawned process must never reuse a seq under the same key (the coordinator would take it
 * for a replay), so seq numbers are reserved in blocks in a small state file. */
#define SEQ_BLOCK 1000

static int valid_serial(const char *s) {
  if (strlen(s) != 12) return 0;
  for (const char *p = s; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'F'))) return 0;
  return 1;
}

static int valid_key_id(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > KEY_ID_MAX) return 0;
  for (const char *p = s; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '-' || *p == '_' || *p == '.')) return 0;
  return 1;
}

static void pk_hex(const signer *s, char out[65]) { sodium_bin2hex(out, 65, s->pk, sizeof s->pk); }

static int write_state(signer *s, uint64_t upto) {
  char tmp[600], hex[65];
  snprintf(tmp, sizeof tmp, "%s.tmp", s->state_path);
  FILE *f = fopen(tmp, "w");
  if (!f) return -1;
  pk_hex(s, hex);
  int ok = fprintf(f, "%s %" PRIu64 "\n", hex, upto) > 0;
  ok = (fflush(f) == 0) && ok;
  ok = (fsync(fileno(f)) == 0) && ok;
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp, s->state_path) != 0) { unlink(tmp); return -1; }
  s->reserved_upto = upto;
  return 0;
}

int signer_init(signer *s, const char *key_file, const char *key_id, const char *serial,
                const char *state_dir, char *err, size_t errlen) {
  memset(s, 0, sizeof *s);
  if (!serial || !valid_serial(serial)) {
    snprintf(err, errlen, "camera serial '%s' is not 12 upper-case hex digits: set OMNISIGHT_CAMERA_SERIAL as basicdeviceinfo.cgi reports it", serial ? serial : "");
    return -1;
  }
  if (!valid_key_id(key_id)) {
    snprintf(err, errlen, "key id '%s' must be 1-%d characters of A-Z a-z 0-9 . _ -: fix OMNISIGHT_KEY_ID", key_id, KEY_ID_MAX);
    return -1;
  }
  if (!key_file || !*key_file) {
    snprintf(err, errlen, "no signing key: set OMNISIGHT_KEY_FILE to the 64-byte Ed25519 secret key provisioned at deploy");
    return -1;
  }
  int fd = open(key_file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { snprintf(err, errlen, "cannot read the key file %s: %s", key_file, strerror(errno)); return -1; }
  unsigned char buf[crypto_sign_SECRETKEYBYTES + 1];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  if (n != crypto_sign_SECRETKEYBYTES) {
    sodium_memzero(buf, sizeof buf);
    snprintf(err, errlen, "key file %s holds %zd bytes; it must be exactly 64 (Ed25519 seed followed by the public key)", key_file, n);
    return -1;
  }
  unsigned char derived_pk[crypto_sign_PUBLICKEYBYTES], derived_sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(derived_pk, derived_sk, buf);
  int mismatch = sodium_memcmp(derived_pk, buf + 32, 32) != 0;
  sodium_memzero(derived_sk, sizeof derived_sk);
  if (mismatch) {
    sodium_memzero(buf, sizeof buf);
    snprintf(err, errlen, "key file %s is inconsistent: its last 32 bytes are not the public key of its first 32; provision the key again", key_file);
    return -1;
  }
  memcpy(s->sk, buf, sizeof s->sk);
  memcpy(s->pk, derived_pk, sizeof s->pk);
  sodium_memzero(buf, sizeof buf);
  snprintf(s->key_id, sizeof s->key_id, "%s", key_id);
  snprintf(s->serial, sizeof s->serial, "%s", serial);
  s->next_seq = 1;

  if (state_dir && *state_dir) {
    snprintf(s->state_path, sizeof s->state_path, "%s/seq.state", state_dir);
    FILE *f = fopen(s->state_path, "r");
    if (f) {
      char hex[65], want[65];
      uint64_t upto = 0;
      pk_hex(s, want);
      if (fscanf(f, "%64s %" SCNu64, hex, &upto) == 2 && strcmp(hex, want) == 0) s->next_seq = upto + 1;
      fclose(f);
    }
    if (write_state(s, s->next_seq - 1 + SEQ_BLOCK) != 0) {
      LOGW("cannot write %s (%s); seq numbers restart at 1 after a respawn", s->state_path, strerror(errno));
      s->state_path[0] = '\0';
    }
  }
  return 0;
}

static uint64_t take_seq(signer *s) {
  uint64_t seq = s->next_seq++;
  if (s->state_path[0] && seq > s->reserved_upto && write_state(s, seq - 1 + SEQ_BLOCK) != 0)
    LOGW("cannot extend the seq reservation in %s", s->state_path);
  return seq;
}

int envelope_build(signer *s, const char *kind, int64_t sent_ms, const char *body, size_t body_len, jbuf *out) {
  static char input[ENVELOPE_MAX_BYTES + 256];
  uint64_t seq = take_seq(s);
  /* Signing input: omnisight.v1\n<camera>\n<seq>\n<sent>\n<kind>\n<key>\n<body> (no trailing newline). */
  int head = snprintf(input, sizeof input, "omnisight.v1\n%s\n%" PRIu64 "\n%" PRId64 "\n%s\n%s\n",
                      s->serial, seq, sent_ms, kind, s->key_id);
  if (head < 0 || (size_t)head + body_len > sizeof input) return -1;
  memcpy(input + head, body, body_len);
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, NULL, (const unsigned char *)input, (unsigned long long)head + body_len, s->sk);
  char sig_b64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(sig_b64, sizeof sig_b64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);

  jb_fmt(out, "{\"v\":1,\"camera\":\"%s\",\"seq\":%" PRIu64 ",\"sent\":%" PRId64 ",\"kind\":\"%s\",\"key\":",
         s->serial, seq, sent_ms, kind);
  jb_str(out, s->key_id, strlen(s->key_id));
  jb_raw(out, ",\"body\":");
  jb_str(out, body, body_len);
  jb_fmt(out, ",\"sig\":\"%s\"}", sig_b64);
  return out->overflow ? -1 : 0;
}

void signer_public_b64(const signer *s, char *out, size_t cap) {
  sodium_bin2base64(out, cap, s->pk, sizeof s->pk, sodium_base64_VARIANT_ORIGINAL);
}

void signer_wipe(signer *s) { sodium_memzero(s, sizeof *s); }
