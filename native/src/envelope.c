#include "envelope.h"
#include "v3.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_FILE "signing.key"
#define EPOCH_FILE "epoch"

static int valid_serial(const char *s) {
  if (strlen(s) != 12) return 0;
  for (const char *p = s; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'F'))) return 0;
  return 1;
}

static int fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  int r = fsync(fd);
  close(fd);
  return r;
}

static int write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Writes a complete, fsynced temporary file next to the target; returns its path in tmp. */
static int write_tmp(const char *dir, const char *name, const void *data, size_t len, char *tmp, size_t tmplen) {
  snprintf(tmp, tmplen, "%s/.%s.%d.tmp", dir, name, (int)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return -1;
  if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
    int e = errno;
    close(fd);
    unlink(tmp);
    errno = e;
    return -1;
  }
  return close(fd);
}

int durable_write(const char *dir, const char *name, const void *data, size_t len, char *err, size_t errlen) {
  char tmp[600], path[600];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (write_tmp(dir, name, data, len, tmp, sizeof tmp) < 0 || rename(tmp, path) < 0 || fsync_dir(dir) < 0) {
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    unlink(tmp);
    return -1;
  }
  return 0;
}

static void derive_key_id(const unsigned char pk[crypto_sign_PUBLICKEYBYTES], char out[KEY_ID_LEN + 1]) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, pk, crypto_sign_PUBLICKEYBYTES);
  sodium_bin2hex(out, KEY_ID_LEN + 1, h, KEY_ID_LEN / 2);
}

/* Reads and checks the 64-byte key file: the public half must derive from the seed. */
static int read_key(const char *path, unsigned char sk[crypto_sign_SECRETKEYBYTES], unsigned char pk[crypto_sign_PUBLICKEYBYTES], char *err, size_t errlen) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -1; /* errno tells the caller (ENOENT = first start) */
  unsigned char buf[crypto_sign_SECRETKEYBYTES + 1];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  if (n != crypto_sign_SECRETKEYBYTES) {
    sodium_memzero(buf, sizeof buf);
    snprintf(err, errlen, "key file %s holds %zd bytes, not 64: it is damaged. Rotate the key (POST identity.cgi?action=rotate on the admin path) or remove the file to create a new identity, then enrol the camera again", path, n);
    errno = EINVAL;
    return -2;
  }
  unsigned char derived_sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(pk, derived_sk, buf);
  int mismatch = sodium_memcmp(pk, buf + 32, 32) != 0;
  sodium_memzero(derived_sk, sizeof derived_sk);
  if (mismatch) {
    sodium_memzero(buf, sizeof buf);
    snprintf(err, errlen, "key file %s is inconsistent (its public half does not derive from its seed): remove it to create a new identity and enrol the camera again", path);
    errno = EINVAL;
    return -2;
  }
  memcpy(sk, buf, crypto_sign_SECRETKEYBYTES);
  sodium_memzero(buf, sizeof buf);
  return 0;
}

/* First start: a new key, published under its final name with link(), which fails if the name
 * exists (the same guarantee as O_EXCL) and never exposes a half-written file after a power cut. */
static int create_key(const char *dir, const char *path, unsigned char sk[crypto_sign_SECRETKEYBYTES], unsigned char pk[crypto_sign_PUBLICKEYBYTES], char *err, size_t errlen) {
  crypto_sign_keypair(pk, sk);
  char tmp[600];
  if (write_tmp(dir, KEY_FILE, sk, crypto_sign_SECRETKEYBYTES, tmp, sizeof tmp) < 0) {
    snprintf(err, errlen, "cannot create the key in %s: %s (the app's local data folder must be writable)", dir, strerror(errno));
    return -1;
  }
  int r = link(tmp, path);
  int e = errno;
  unlink(tmp);
  if (r < 0 && e == EEXIST) return read_key(path, sk, pk, err, errlen) == 0 ? 0 : -1; /* another start won the race */
  if (r < 0 || fsync_dir(dir) < 0) {
    snprintf(err, errlen, "cannot create %s: %s", path, strerror(r < 0 ? e : errno));
    return -1;
  }
  LOGI("created a new signing key in %s (first start, or after the key was removed)", path);
  return 0;
}

static int next_epoch(const char *dir, uint32_t *out, char *err, size_t errlen) {
  char path[600], text[32];
  snprintf(path, sizeof path, "%s/%s", dir, EPOCH_FILE);
  uint64_t prev = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd >= 0) {
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    text[n > 0 ? n : 0] = '\0';
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (n <= 0 || end == text || (*end && *end != '\n') || errno || v > UINT32_MAX) {
      /* Guessing would risk reusing an (epoch, seq) pair the coordinator has seen. */
      snprintf(err, errlen, "%s is damaged (\"%.20s\"): rotate the key to start a fresh epoch series, or write the last epoch the coordinator saw into it", path, text);
      return -1;
    }
    prev = v;
  } else if (errno != ENOENT) {
    snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
    return -1;
  }
  if (prev >= UINT32_MAX) {
    snprintf(err, errlen, "the boot epoch in %s is exhausted (2^32-1 starts): rotate the key", path);
    return -1;
  }
  uint32_t epoch = (uint32_t)prev + 1;
  int len = snprintf(text, sizeof text, "%" PRIu32 "\n", epoch);
  if (durable_write(dir, EPOCH_FILE, text, (size_t)len, err, errlen) < 0) return -1;
  *out = epoch;
  return 0;
}

int signer_init(signer *s, const char *dir, const char *serial, char *err, size_t errlen) {
  memset(s, 0, sizeof *s);
  pthread_mutex_init(&s->mu, NULL);
  if (!serial || !valid_serial(serial)) {
    snprintf(err, errlen, "camera serial '%s' is not 12 upper-case hex digits: set OMNISIGHT_CAMERA_SERIAL as basicdeviceinfo.cgi reports it", serial ? serial : "");
    return -1;
  }
  if (!dir || dir[0] != '/' || strlen(dir) >= sizeof s->dir) {
    snprintf(err, errlen, "the local data folder '%s' must be an absolute path: fix OMNISIGHT_LOCALDATA", dir ? dir : "");
    return -1;
  }
  snprintf(s->dir, sizeof s->dir, "%s", dir);
  snprintf(s->serial, sizeof s->serial, "%s", serial);
  if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
    snprintf(err, errlen, "cannot create the local data folder %s: %s", dir, strerror(errno));
    return -1;
  }
  char path[600];
  snprintf(path, sizeof path, "%s/%s", dir, KEY_FILE);
  int r = read_key(path, s->sk, s->pk, err, errlen);
  if (r == -1 && errno == ENOENT) r = create_key(dir, path, s->sk, s->pk, err, errlen);
  else if (r == -1) snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
  if (r != 0) return -1;
  derive_key_id(s->pk, s->key_id);
  /* The epoch is on flash before the first message is signed: a crash can never reuse it. */
  if (next_epoch(dir, &s->epoch, err, errlen) < 0) return -1;
  s->next_seq = 1;
  return 0;
}

int signer_rotate(signer *s, char *err, size_t errlen) {
  unsigned char sk[crypto_sign_SECRETKEYBYTES], pk[crypto_sign_PUBLICKEYBYTES];
  crypto_sign_keypair(pk, sk);
  int r = durable_write(s->dir, KEY_FILE, sk, sizeof sk, err, errlen);
  if (r == 0) {
    pthread_mutex_lock(&s->mu);
    memcpy(s->sk, sk, sizeof sk);
    memcpy(s->pk, pk, sizeof pk);
    derive_key_id(pk, s->key_id);
    pthread_mutex_unlock(&s->mu);
    LOGI("signing key rotated: new key %s", s->key_id);
  }
  sodium_memzero(sk, sizeof sk);
  return r;
}

int envelope_build(signer *s, const char *kind, int64_t sent_ms, const char *body, size_t body_len, jbuf *out) {
  return envelope_build_seq(s, kind, sent_ms, body, body_len, out, NULL);
}

int envelope_build_seq(signer *s, const char *kind, int64_t sent_ms, const char *body, size_t body_len, jbuf *out, uint64_t *seq_out) {
  static char input[ENVELOPE_MAX_BYTES + 256];
  pthread_mutex_lock(&s->mu);
  uint64_t seq = s->next_seq;
  if (seq_out) *seq_out = seq;
  /* fl and session are always v2; detections and heartbeats are v3 once a session of this key is announced. */
  int v3 = (strcmp(kind, "detections") == 0 || strcmp(kind, "heartbeat") == 0) && s->v3.active && strcmp(s->v3.key_id, s->key_id) == 0;
  if (v3) {
    unsigned char mac[V3_MAC];
    v3_mac(mac, s->v3.k, s->serial, s->epoch, seq, sent_ms, kind, s->key_id, s->v3.s, body, body_len);
    char mac_b64[sodium_base64_ENCODED_LEN(V3_MAC, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(mac_b64, sizeof mac_b64, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
    jb_fmt(out, "{\"v\":3,\"camera\":\"%s\",\"epoch\":%" PRIu32 ",\"seq\":%" PRIu64 ",\"sent\":%" PRId64 ",\"kind\":\"%s\",\"key\":\"%s\",\"session\":%" PRIu32 ",\"body\":",
           s->serial, s->epoch, seq, sent_ms, kind, s->key_id, s->v3.s);
    jb_str(out, body, body_len);
    jb_fmt(out, ",\"mac\":\"%s\"}", mac_b64);
    s->next_seq++;
    pthread_mutex_unlock(&s->mu);
    return out->overflow ? -1 : 0;
  }
  /* Signing input: omnisight.v2\n<camera>\n<epoch>\n<seq>\n<sent>\n<kind>\n<key>\n<body> (no trailing newline). */
  int head = snprintf(input, sizeof input, "omnisight.v2\n%s\n%" PRIu32 "\n%" PRIu64 "\n%" PRId64 "\n%s\n%s\n",
                      s->serial, s->epoch, seq, sent_ms, kind, s->key_id);
  if (head < 0 || (size_t)head + body_len > sizeof input) {
    pthread_mutex_unlock(&s->mu);
    return -1;
  }
  memcpy(input + head, body, body_len);
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, NULL, (const unsigned char *)input, (unsigned long long)head + body_len, s->sk);
  char sig_b64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(sig_b64, sizeof sig_b64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
  jb_fmt(out, "{\"v\":2,\"camera\":\"%s\",\"epoch\":%" PRIu32 ",\"seq\":%" PRIu64 ",\"sent\":%" PRId64 ",\"kind\":\"%s\",\"key\":\"%s\",\"body\":",
         s->serial, s->epoch, seq, sent_ms, kind, s->key_id);
  jb_str(out, body, body_len);
  jb_fmt(out, ",\"sig\":\"%s\"}", sig_b64);
  /* A seq is spent once signed, even when the message is then dropped: never sign it twice. */
  s->next_seq++;
  pthread_mutex_unlock(&s->mu);
  return out->overflow ? -1 : 0;
}

uint32_t session_open(signer *s, const unsigned char desktop_pk[32]) {
  unsigned char e_sk[32], e_pk[32], k[V3_KEY];
  randombytes_buf(e_sk, sizeof e_sk);
  crypto_scalarmult_base(e_pk, e_sk);
  pthread_mutex_lock(&s->mu);
  uint32_t next = s->v3.s + 1;
  int r = v3_derive(k, e_sk, desktop_pk, s->serial, s->epoch, next);
  sodium_memzero(e_sk, sizeof e_sk); /* K is all the session needs */
  if (r == 0) {
    s->v3.s = next;
    s->v3.active = 0;
    memcpy(s->v3.k, k, sizeof k);
    memcpy(s->v3.e_pk, e_pk, sizeof e_pk);
    memcpy(s->v3.key_id, s->key_id, sizeof s->v3.key_id);
    memcpy(s->v3.desktop_pk, desktop_pk, 32);
    v3_desktop_id(s->v3.desktop_id, desktop_pk);
    s->v3.have_desktop = 1;
    s->v3.live = 1;
    s->v3.next_announce_ms = 0;
  }
  pthread_mutex_unlock(&s->mu);
  sodium_memzero(k, sizeof k);
  return r == 0 ? next : 0;
}

int session_announcement(signer *s, int64_t sent_ms, jbuf *out, uint32_t *s_out) {
  char body[160];
  pthread_mutex_lock(&s->mu);
  uint32_t S = s->v3.live ? s->v3.s : 0;
  char e_b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(e_b64, sizeof e_b64, s->v3.e_pk, 32, sodium_base64_VARIANT_ORIGINAL);
  int n = snprintf(body, sizeof body, "{\"session\":%" PRIu32 ",\"desktopKey\":\"%s\",\"ephemeral\":\"%s\"}", S, s->v3.desktop_id, e_b64);
  pthread_mutex_unlock(&s->mu);
  if (!S) return -1;
  *s_out = S;
  return envelope_build_seq(s, "session", sent_ms, body, (size_t)n, out, NULL);
}

void session_announced(signer *s, uint32_t session, int64_t next_ms) {
  pthread_mutex_lock(&s->mu);
  if (s->v3.s == session) s->v3.next_announce_ms = next_ms;
  pthread_mutex_unlock(&s->mu);
}

void session_acked(signer *s, uint32_t session) {
  pthread_mutex_lock(&s->mu);
  if (s->v3.live && s->v3.s == session) s->v3.active = 1;
  pthread_mutex_unlock(&s->mu);
}

int session_due(signer *s, int64_t now_ms) {
  pthread_mutex_lock(&s->mu);
  int due = s->v3.live && s->v3.s && strcmp(s->v3.key_id, s->key_id) == 0 && now_ms >= s->v3.next_announce_ms;
  pthread_mutex_unlock(&s->mu);
  return due;
}

void session_reset(signer *s) {
  pthread_mutex_lock(&s->mu);
  s->v3.active = 0;
  s->v3.live = 0;
  s->v3.have_desktop = 0;
  sodium_memzero(s->v3.k, sizeof s->v3.k);
  pthread_mutex_unlock(&s->mu);
}

int session_notice(signer *s, const char *key_id, uint32_t epoch, uint32_t session, const char *desktop_id, unsigned char desktop_pk[32]) {
  int r = 0;
  pthread_mutex_lock(&s->mu);
  if (s->v3.live && s->v3.s == session && s->epoch == epoch && strcmp(s->v3.key_id, key_id) == 0 && strcmp(s->key_id, key_id) == 0) {
    if (s->v3.have_desktop && strcmp(s->v3.desktop_id, desktop_id) == 0) {
      memcpy(desktop_pk, s->v3.desktop_pk, 32);
      r = 1;
    } else {
      s->v3.active = 0;
      s->v3.live = 0;
      s->v3.have_desktop = 0;
      sodium_memzero(s->v3.k, sizeof s->v3.k);
      r = -1;
    }
  }
  pthread_mutex_unlock(&s->mu);
  return r;
}

int session_stale(signer *s, unsigned char desktop_pk[32]) {
  pthread_mutex_lock(&s->mu);
  int stale = s->v3.have_desktop && strcmp(s->v3.key_id, s->key_id) != 0;
  if (stale) memcpy(desktop_pk, s->v3.desktop_pk, 32);
  pthread_mutex_unlock(&s->mu);
  return stale;
}

void signer_identity_json(signer *s, const char *version, jbuf *out) {
  char pkb64[sodium_base64_ENCODED_LEN(crypto_sign_PUBLICKEYBYTES, sodium_base64_VARIANT_ORIGINAL)];
  pthread_mutex_lock(&s->mu);
  sodium_bin2base64(pkb64, sizeof pkb64, s->pk, sizeof s->pk, sodium_base64_VARIANT_ORIGINAL);
  jb_fmt(out, "{\"camera\":\"%s\",\"key\":\"%s\",\"publicKey\":\"%s\",\"version\":", s->serial, s->key_id, pkb64);
  jb_str(out, version, strlen(version));
  jb_fmt(out, ",\"epoch\":%" PRIu32 "}", s->epoch);
  pthread_mutex_unlock(&s->mu);
}

void signer_key_id(signer *s, char out[KEY_ID_LEN + 1]) {
  pthread_mutex_lock(&s->mu);
  memcpy(out, s->key_id, KEY_ID_LEN + 1);
  pthread_mutex_unlock(&s->mu);
}

void signer_wipe(signer *s) {
  pthread_mutex_destroy(&s->mu);
  sodium_memzero(s, sizeof *s);
}
