#include "fl.h"
#include "field25519.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SAMPLES_FILE "fl-samples.bin"
#define REC_BYTES 72
#define MAX_PAYLOAD (512 * 1024)

typedef struct {
  uint32_t epoch, index;
  uint64_t seq;
  head_sample s;
  uint8_t heldout;
} stored_sample;

typedef struct {
  uint32_t epoch, index;
  uint64_t seq;
  int64_t t_ms;
  float x[HEAD_FEATURES];
  uint8_t used;
} pending_det;

typedef struct {
  char serial[13];
  uint32_t index;
  unsigned char cpk[32], spk[32];
  int nb;        /* in N(u), the ring neighbours this camera shares with */
  int has_share; /* in D(u): its box reached this camera at deliver */
  unsigned char b_share[32], s_share[32];
} peer_t;

/* fl2: SET_UP = deliver done, waiting for go (or setupTtl, or a new announce). */
enum { R_IDLE, R_ADVERTISED, R_SHARED, R_SET_UP, R_MASKED, R_UNMASKED };

typedef struct {
  int phase;
  char id[65];
  float theta[FL_DIM];
  int32_t q[FL_DIM];
  uint32_t threshold, tk, k;
  int epochs, batch;
  double lr, range, scale, d_masked, d_unmask;
  unsigned char c_sk[32], c_pk[32], s_sk[32], s_pk[32], b[32];
  unsigned char own_b_share[32]; /* f_b(own index): sent at unmask with the peers' shares of b */
  peer_t peers[FL_MAX_PEERS];
  size_t n_peers;
  uint32_t my_index;
  int64_t expires_ms;
} round_t;

struct fl_client {
  pthread_mutex_t mu;
  signer *sg;
  fl_publish_fn publish;
  void *ctx;
  char topic_outcomes[96];
  const char *topics[3];
  head_model cur, before; /* the head in use and the one it replaced (for the before/after metric) */
  stored_sample samples[FL_LOCAL_CAP]; /* ring */
  size_t s_head, s_count;
  size_t file_records;
  FILE *file;
  int dirty;
  pending_det pending[FL_PENDING_CAP]; /* ring, in publish order */
  size_t p_head, p_count;
  unsigned long labelled_total, outcomes_unmatched;
  unsigned long rounds_joined, rounds_masked; /* under mu: identity.cgi reads them */
  char round_status[128];
  round_t r; /* MQTT thread only */
  char last_round[65]; /* the last round answered (under mu): a redelivered announce (QoS 1) is not a new round */
};

/* ---- small helpers --------------------------------------------------------------------------- */

static int valid_serial(const char *s) {
  if (!s || strlen(s) != 12) return 0;
  for (const char *p = s; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'F'))) return 0;
  return 1;
}

static int valid_round_id(const char *s) {
  size_t n = s ? strlen(s) : 0;
  return n >= 1 && n <= 64 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static int b64_exact(unsigned char *out, size_t want, const char *b64) {
  size_t got;
  if (!b64 || sodium_base642bin(out, want, b64, strlen(b64), NULL, &got, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) return -1;
  return got == want ? 0 : -1;
}

static void jb_b64(jbuf *b, const unsigned char *bin, size_t n) {
  char tmp[sodium_base64_ENCODED_LEN(FL_BOX_BYTES, sodium_base64_VARIANT_ORIGINAL)];
  if (n > FL_BOX_BYTES) { b->overflow = 1; return; }
  sodium_bin2base64(tmp, sizeof tmp, bin, n, sodium_base64_VARIANT_ORIGINAL);
  jb_raw(b, "\"");
  jb_raw(b, tmp);
  jb_raw(b, "\"");
}

static int is_int_in(const json_value *v, double lo, double hi) {
  return v && v->type == JSON_NUMBER && isfinite(v->u.number) && v->u.number == floor(v->u.number) && v->u.number >= lo && v->u.number <= hi;
}

static void put32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static uint32_t get32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static void put64(unsigned char *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static uint64_t get64(const unsigned char *p) { uint64_t v = 0; for (int i = 7; i >= 0; i--) v = (v << 8) | p[i]; return v; }

/* 20 % held out, decided by SHA-256(u32 epoch ‖ u64 seq ‖ u32 index, little-endian): a sample is in
 * the same set whenever it is seen, and the split does not follow time or class. */
static int is_heldout(uint32_t epoch, uint64_t seq, uint32_t index) {
  unsigned char in[16], h[crypto_hash_sha256_BYTES];
  put32(in, epoch); put64(in + 4, seq); put32(in + 12, index);
  crypto_hash_sha256(h, in, sizeof in);
  return get32(h) % 5 == 0;
}

/* ---- local data (the camera's own labelled detections) ---------------------------------------- */

static void encode_rec(unsigned char r[REC_BYTES], const stored_sample *s) {
  memset(r, 0, REC_BYTES);
  put32(r, s->epoch); put32(r + 4, s->index); put64(r + 8, s->seq); r[16] = s->s.label;
  for (int i = 0; i < HEAD_FEATURES; i++) { uint32_t w; memcpy(&w, &s->s.x[i], 4); put32(r + 20 + 4 * i, w); }
}

static int decode_rec(stored_sample *s, const unsigned char r[REC_BYTES]) {
  s->epoch = get32(r); s->index = get32(r + 4); s->seq = get64(r + 8); s->s.label = r[16];
  if (s->s.label > 1) return -1;
  for (int i = 0; i < HEAD_FEATURES; i++) {
    uint32_t w = get32(r + 20 + 4 * i);
    memcpy(&s->s.x[i], &w, 4);
    if (!isfinite(s->s.x[i]) || fabsf(s->s.x[i]) > 10) return -1;
  }
  s->heldout = (uint8_t)is_heldout(s->epoch, s->seq, s->index);
  return 0;
}

static void ring_push(fl_client *c, const stored_sample *s) {
  size_t at = (c->s_head + c->s_count) % FL_LOCAL_CAP;
  if (c->s_count == FL_LOCAL_CAP) c->s_head = (c->s_head + 1) % FL_LOCAL_CAP;
  else c->s_count++;
  c->samples[at] = *s;
}

static void open_append(fl_client *c) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s", c->sg->dir, SAMPLES_FILE);
  /* Private like the key: the camera's own data never leaves it, not even to other local users. */
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  c->file = fd >= 0 ? fdopen(fd, "ab") : NULL;
  if (!c->file && fd >= 0) close(fd);
  if (!c->file) LOGW("cannot open %s for appending (%s): labelled samples are kept in memory only", path, strerror(errno));
}

/* The file is append-only and bounded: past twice the cap it is rewritten with the newest cap records. */
static void compact(fl_client *c) {
  static unsigned char buf[FL_LOCAL_CAP * REC_BYTES];
  for (size_t k = 0; k < c->s_count; k++) encode_rec(buf + k * REC_BYTES, &c->samples[(c->s_head + k) % FL_LOCAL_CAP]);
  if (c->file) { fclose(c->file); c->file = NULL; }
  char err[256];
  if (durable_write(c->sg->dir, SAMPLES_FILE, buf, c->s_count * REC_BYTES, err, sizeof err) < 0) LOGW("%s", err);
  c->file_records = c->s_count;
  open_append(c);
}

static void load_samples(fl_client *c) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s", c->sg->dir, SAMPLES_FILE);
  FILE *f = fopen(path, "rb");
  size_t bad = 0, got;
  if (f) {
    unsigned char r[REC_BYTES];
    stored_sample s;
    while ((got = fread(r, 1, REC_BYTES, f)) == REC_BYTES) {
      c->file_records++;
      if (decode_rec(&s, r) == 0) ring_push(c, &s);
      else bad++;
    }
    if (got) bad++; /* a torn last record (power cut mid-append): appending after it would misalign the rest */
    fclose(f);
  }
  if (bad || c->file_records > c->s_count) compact(c); /* drop damaged or surplus records (and a torn tail) */
  else open_append(c);
  if (c->s_count) LOGI("local data: %zu labelled detections from %s%s", c->s_count, path, bad ? " (damaged records dropped)" : "");
}

/* Copies the training (heldout = 0) or held-out (1) samples. */
static size_t collect(const fl_client *c, int heldout, head_sample *out) {
  size_t n = 0;
  for (size_t k = 0; k < c->s_count; k++) {
    const stored_sample *s = &c->samples[(c->s_head + k) % FL_LOCAL_CAP];
    if (s->heldout == heldout) out[n++] = s->s;
  }
  return n;
}

/* ---- the head in use ----------------------------------------------------------------------- */

static void log_eval(fl_client *c, const char *why) {
  static head_sample held[FL_LOCAL_CAP];
  size_t n = collect(c, 1, held);
  head_metric b = head_eval(c->before.theta, held, n, c->before.drop_below), a = head_eval(c->cur.theta, held, n, c->cur.drop_below);
  if (n) LOGI("%s: head v%" PRIu32 " → v%" PRIu32 " on %zu held-out local detections: log-loss %.4f → %.4f, accuracy %.3f → %.3f",
              why, c->before.version, c->cur.version, n, b.logloss, a.logloss, b.accuracy, a.accuracy);
  else LOGI("%s: head v%" PRIu32 " → v%" PRIu32 " (no held-out local detections yet to measure it on)", why, c->before.version, c->cur.version);
}

fl_client *fl_open(signer *sg, const char *model_dir, fl_publish_fn publish, void *ctx, char *err, size_t errlen) {
  fl_client *c = calloc(1, sizeof *c);
  if (!c) { snprintf(err, errlen, "out of memory for the federated learning state"); return NULL; }
  pthread_mutex_init(&c->mu, NULL);
  c->sg = sg;
  c->publish = publish;
  c->ctx = ctx;
  snprintf(c->topic_outcomes, sizeof c->topic_outcomes, "omnisight/desktop/outcomes/%s", sg->serial);
  c->topics[0] = "omnisight/desktop/fl/#";
  c->topics[1] = c->topic_outcomes;
  c->topics[2] = NULL;
  head_builtin(&c->cur);
  head_model m;
  char e[1024];
  int r = model_dir ? head_load_dir(&m, model_dir, e, sizeof e) : 0;
  if (model_dir && e[0]) LOGW("package model skipped: %s", e);
  if (r > 0) { c->cur = m; snprintf(c->cur.source, sizeof c->cur.source, "package"); }
  r = head_load_dir(&m, sg->dir, e, sizeof e); /* a round's result adopted earlier */
  if (e[0]) LOGW("adopted model in local data skipped: %s", e);
  if (r > 0 && m.version > c->cur.version) { c->cur = m; snprintf(c->cur.source, sizeof c->cur.source, "round"); }
  head_builtin(&c->before);
  load_samples(c);
  LOGI("confirmation head %s v%" PRIu32 " (%s), dropping detections with p < %.3f", HEAD_NAME, c->cur.version, c->cur.source, c->cur.drop_below);
  if (c->cur.version) log_eval(c, "at start");
  return c;
}

void fl_close(fl_client *c) {
  if (!c) return;
  if (c->file) fclose(c->file);
  sodium_memzero(&c->r, sizeof c->r);
  pthread_mutex_destroy(&c->mu);
  free(c);
}

const char *const *fl_topics(fl_client *c) { return c->topics; }

double fl_score(fl_client *c, const float x[HEAD_FEATURES], int *keep) {
  pthread_mutex_lock(&c->mu);
  double p = head_predict(c->cur.theta, x);
  *keep = p >= c->cur.drop_below;
  pthread_mutex_unlock(&c->mu);
  return p;
}

void fl_record(fl_client *c, uint32_t epoch, uint64_t seq, const float (*x)[HEAD_FEATURES], size_t n, int64_t now_ms) {
  pthread_mutex_lock(&c->mu);
  for (size_t i = 0; i < n; i++) {
    size_t at = (c->p_head + c->p_count) % FL_PENDING_CAP;
    if (c->p_count == FL_PENDING_CAP) c->p_head = (c->p_head + 1) % FL_PENDING_CAP; /* the oldest waits no longer */
    else c->p_count++;
    pending_det *d = &c->pending[at];
    d->epoch = epoch; d->seq = seq; d->index = (uint32_t)i; d->t_ms = now_ms; d->used = 0;
    memcpy(d->x, x[i], sizeof d->x);
  }
  pthread_mutex_unlock(&c->mu);
}

void fl_tick(fl_client *c, int64_t now_ms) {
  pthread_mutex_lock(&c->mu);
  while (c->p_count && now_ms - c->pending[c->p_head].t_ms > FL_OUTCOME_TTL_MS) {
    c->p_head = (c->p_head + 1) % FL_PENDING_CAP;
    c->p_count--;
  }
  if (c->dirty && c->file) { fflush(c->file); c->dirty = 0; }
  pthread_mutex_unlock(&c->mu);
}

void fl_heartbeat_json(fl_client *c, jbuf *b) {
  static head_sample held[FL_LOCAL_CAP];
  pthread_mutex_lock(&c->mu);
  size_t n = collect(c, 1, held);
  head_metric m = head_eval(c->cur.theta, held, n, c->cur.drop_below);
  jb_fmt(b, ",\"model\":{\"name\":\"%s\",\"version\":%" PRIu32 "}", HEAD_NAME, c->cur.version);
  /* docs/protocol.md: only aggregates of the held-out set leave the camera (none before it has any). */
  if (n) jb_fmt(b, ",\"head\":{\"version\":%" PRIu32 ",\"heldOut\":%zu,\"logLoss\":", c->cur.version, n);
  if (n) {
    jb_num(b, m.logloss, 4);
    jb_raw(b, ",\"accuracy\":");
    jb_num(b, m.accuracy, 4);
    jb_raw(b, "}");
  }
  pthread_mutex_unlock(&c->mu);
}

static void jb_metric(jbuf *b, const head_metric *m) {
  jb_fmt(b, "{\"n\":%zu,\"logLoss\":", m->n);
  jb_num(b, m->logloss, 4);
  jb_raw(b, ",\"accuracy\":");
  jb_num(b, m->accuracy, 4);
  jb_raw(b, ",\"falsePublished\":");
  jb_num(b, m->false_published, 4);
  jb_raw(b, ",\"trueKept\":");
  jb_num(b, m->true_kept, 4);
  jb_raw(b, "}");
}

void fl_model_json(fl_client *c, jbuf *b) {
  static head_sample held[FL_LOCAL_CAP];
  head_model v0;
  head_builtin(&v0);
  pthread_mutex_lock(&c->mu);
  size_t n = collect(c, 1, held);
  jb_fmt(b, "{\"name\":\"%s\",\"version\":%" PRIu32 ",\"source\":\"%s\",\"dropBelow\":", HEAD_NAME, c->cur.version, c->cur.source);
  jb_num(b, c->cur.drop_below, 4);
  jb_fmt(b, ",\"samples\":{\"pending\":%zu,\"labelled\":%zu,\"train\":%zu,\"heldOut\":%zu},\"heldOut\":", c->p_count, c->s_count, c->s_count - n, n);
  if (n) {
    head_metric a = head_eval(v0.theta, held, n, v0.drop_below), u = head_eval(c->cur.theta, held, n, c->cur.drop_below);
    jb_raw(b, "{\"builtin\":");
    jb_metric(b, &a);
    jb_raw(b, ",\"inUse\":");
    jb_metric(b, &u);
    jb_raw(b, "}");
  } else {
    jb_raw(b, "null");
  }
  jb_fmt(b, ",\"rounds\":{\"joined\":%lu,\"masked\":%lu", c->rounds_joined, c->rounds_masked);
  if (c->last_round[0]) {
    jb_raw(b, ",\"lastRound\":");
    jb_str(b, c->last_round, strlen(c->last_round));
  }
  if (c->round_status[0]) {
    jb_raw(b, ",\"last\":");
    jb_str(b, c->round_status, strlen(c->round_status));
  }
  jb_raw(b, "}}");
  pthread_mutex_unlock(&c->mu);
}

/* What the last round came to, for identity.cgi (set on the MQTT thread). */
static void set_status(fl_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_status(fl_client *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pthread_mutex_lock(&c->mu);
  vsnprintf(c->round_status, sizeof c->round_status, fmt, ap);
  pthread_mutex_unlock(&c->mu);
  va_end(ap);
}

/* ---- outcomes: the labels ------------------------------------------------------------------ */

static void on_outcomes(fl_client *c, const json_value *root) {
  const json_value *items = json_get(root, "items");
  if (!is_int_in(json_get(root, "v"), 1, 1) || !is_int_in(json_get(root, "epoch"), 1, 4294967295.0) || !items || items->type != JSON_ARRAY || items->u.kids.count > 500) {
    LOGW("outcomes message refused: expected {\"v\":1,\"epoch\":E,\"items\":[≤ 500 items]}");
    return;
  }
  uint32_t epoch = (uint32_t)json_get_number(root, "epoch", 0);
  pthread_mutex_lock(&c->mu);
  size_t added = 0;
  for (const json_value *it = items->u.kids.first; it; it = it->next) {
    const json_value *conf = json_get(it, "confirmed");
    if (!is_int_in(json_get(it, "seq"), 1, 9007199254740991.0) || !is_int_in(json_get(it, "index"), 0, 1e6) || !conf || conf->type != JSON_BOOL) continue;
    uint64_t seq = (uint64_t)json_get_number(it, "seq", 0);
    uint32_t index = (uint32_t)json_get_number(it, "index", 0);
    pending_det *hit = NULL;
    for (size_t k = 0; k < c->p_count && !hit; k++) {
      pending_det *d = &c->pending[(c->p_head + k) % FL_PENDING_CAP];
      if (d->epoch == epoch && d->seq == seq && d->index == index && !d->used) hit = d;
    }
    if (!hit) { c->outcomes_unmatched++; continue; } /* unknown, expired (> 30 s) or already labelled */
    hit->used = 1;
    stored_sample s = { .epoch = epoch, .index = index, .seq = seq };
    memcpy(s.s.x, hit->x, sizeof s.s.x);
    s.s.label = conf->u.boolean ? 1 : 0;
    s.heldout = (uint8_t)is_heldout(epoch, seq, index);
    ring_push(c, &s);
    if (c->file) {
      unsigned char r[REC_BYTES];
      encode_rec(r, &s);
      if (fwrite(r, 1, REC_BYTES, c->file) == REC_BYTES) { c->file_records++; c->dirty = 1; }
    }
    added++;
  }
  c->labelled_total += added;
  if (c->file_records >= 2 * FL_LOCAL_CAP) compact(c);
  pthread_mutex_unlock(&c->mu);
}

/* ---- the fl2 rounds ------------------------------------------------------------------------ */

static void round_wipe(round_t *r) { sodium_memzero(r, sizeof *r); }

static void send_body(fl_client *c, jbuf *b) {
  if (b->overflow) { LOGW("fl2: a %zu-byte message would not fit; not sent", b->len); return; }
  c->publish(c->ctx, b->buf, b->len);
}

/* Bodies this camera sends: 200 boxes of ~170 characters fit, and stay below 64 KiB once the
 * envelope escapes them. */
static char out_mem[48 * 1024];

static void decline(fl_client *c, const char *round, const char *reason) {
  jbuf b;
  jb_init(&b, out_mem, sizeof out_mem);
  jb_fmt(&b, "{\"round\":\"%s\",\"phase\":\"decline\",\"reason\":", round);
  jb_str(&b, reason, strlen(reason));
  jb_raw(&b, "}");
  LOGI("fl2 round %s: declined (%s)", round, reason);
  set_status(c, "declined: %s", reason);
  send_body(c, &b);
}

/* Written on the MQTT thread, read by identity.cgi's thread: under the mutex. */
static void set_last_round(fl_client *c, const char *id) {
  pthread_mutex_lock(&c->mu);
  snprintf(c->last_round, sizeof c->last_round, "%s", id);
  pthread_mutex_unlock(&c->mu);
}

static int only_keys(const json_value *obj, const char *const *keys) {
  if (!obj || obj->type != JSON_OBJECT) return 0;
  for (const json_value *m = obj->u.kids.first; m; m = m->next) {
    int known = 0;
    for (const char *const *k = keys; *k && !known; k++) known = strcmp(m->key, *k) == 0;
    if (!known) return 0;
  }
  return 1;
}

static void on_announce(fl_client *c, const json_value *root, int64_t now_ms) {
  const char *id = json_get_string(root, "round");
  if (!valid_round_id(id)) { LOGW("fl2 announce refused: round id must be 1-64 of [A-Za-z0-9_-]"); return; }
  round_t *r = &c->r;
  if (r->phase != R_IDLE && strcmp(r->id, id) == 0) return; /* QoS 1 may deliver it twice */
  /* A new announce supersedes the round this camera holds (set up or not), selected or not. */
  if (r->phase != R_IDLE) { LOGI("fl2: round %s discarded for the new round %s", r->id, id); set_status(c, "discarded for round %.64s", id); }
  round_wipe(r);
  const json_value *sel = json_get(root, "selected");
  if (!sel || sel->type != JSON_ARRAY) { LOGW("fl2 announce %s refused: no selected list", id); return; }
  int selected = 0;
  for (const json_value *s = sel->u.kids.first; s; s = s->next)
    if (s->type == JSON_STRING && strcmp(s->u.str.s, c->sg->serial) == 0) selected = 1;
  if (!selected) return;
  if (strcmp(c->last_round, id) == 0) return; /* a duplicate: answering again would advertise other keys */
  const json_value *model = json_get(root, "model"), *train = json_get(root, "train"), *quant = json_get(root, "quantizer"), *dl = json_get(root, "deadlines");
  const char *name = json_get_string(model, "name");
  static const char *const announce_keys[] = { "v", "round", "model", "train", "quantizer", "selected", "threshold", "deadlines", "minSamples", "graph", "setupTtl", NULL };
  static const char *const model_keys[] = { "name", "version", "params", NULL }, *const train_keys[] = { "epochs", "lr", "batchSize", NULL };
  static const char *const quant_keys[] = { "range", "scale", NULL }, *const dl_keys[] = { "advertise", "shares", "masked", "unmask", NULL };
  if (is_int_in(json_get(root, "v"), 2, 2) && (!only_keys(root, announce_keys) || !only_keys(model, model_keys) || !only_keys(train, train_keys) || !only_keys(quant, quant_keys) || !only_keys(dl, dl_keys))) {
    decline(c, id, "the announce has unknown fields (or a part that is not an object)");
    return;
  }
  if (!is_int_in(json_get(root, "v"), 2, 2) || !name || strcmp(name, HEAD_NAME) != 0) { decline(c, id, "unsupported message version or model (this camera speaks fl2 and learns " HEAD_NAME ")"); return; }
  unsigned char params[FL_DIM * 4];
  if (b64_exact(params, sizeof params, json_get_string(model, "params")) < 0) { decline(c, id, "model.params is not 14 float32 in base64"); return; }
  float theta[FL_DIM];
  for (int i = 0; i < FL_DIM; i++) {
    uint32_t w = get32(params + 4 * i);
    memcpy(&theta[i], &w, 4);
    if (!isfinite(theta[i])) { decline(c, id, "model.params holds a non-finite number"); return; }
  }
  const json_value *ep = json_get(train, "epochs"), *bs = json_get(train, "batchSize");
  double lr = json_get_number(train, "lr", -1), range = json_get_number(quant, "range", -1), scale = json_get_number(quant, "scale", -1);
  if (!is_int_in(ep, 1, 100) || !is_int_in(bs, 1, 100000) || !(lr > 0 && lr <= 10)) { decline(c, id, "train needs epochs 1-100, batchSize 1-100000, lr in (0, 10]"); return; }
  if (!(range > 0 && range <= 1e6 && scale > 0 && range * scale <= 2147483647.0)) { decline(c, id, "quantizer needs range > 0, scale > 0, range·scale < 2^31"); return; }
  const json_value *th = json_get(root, "threshold"), *ms = json_get(root, "minSamples"), *graph = json_get(root, "graph"), *ttl = json_get(root, "setupTtl");
  if (!is_int_in(th, 1, FL_MAX_PEERS) || !is_int_in(ms, 0, 1e9)) { decline(c, id, "threshold (1-200) and minSamples are required"); return; }
  static const char *const graph_keys[] = { "k", NULL };
  const json_value *gk = json_get(graph, "k");
  if (!only_keys(graph, graph_keys) || !is_int_in(gk, 2, 254) || ((int)gk->u.number & 1)) { decline(c, id, "graph needs exactly {\"k\":K}, K even, 2-254"); return; }
  if (!is_int_in(ttl, 1000, 3600000)) { decline(c, id, "setupTtl needs 1000-3600000 ms"); return; }
  double d[4];
  static const char *const phases[] = { "advertise", "shares", "masked", "unmask" };
  for (int i = 0; i < 4; i++) {
    d[i] = json_get_number(dl, phases[i], -1);
    if (!(d[i] > 0 && d[i] <= 600000)) { decline(c, id, "deadlines needs advertise, shares, masked and unmask in ms (≤ 10 min)"); return; }
  }
  pthread_mutex_lock(&c->mu);
  size_t n = 0;
  for (size_t k = 0; k < c->s_count; k++) n += !c->samples[(c->s_head + k) % FL_LOCAL_CAP].heldout;
  pthread_mutex_unlock(&c->mu);
  if (n < (size_t)ms->u.number) {
    char why[96];
    snprintf(why, sizeof why, "%zu labelled training samples, the round asks for %.0f", n, ms->u.number);
    set_last_round(c, id);
    decline(c, id, why);
    return;
  }
  /* Training waits for go (fl2): the setup does not depend on the update. */
  snprintf(r->id, sizeof r->id, "%s", id);
  memcpy(r->theta, theta, sizeof theta);
  r->threshold = (uint32_t)th->u.number;
  r->k = (uint32_t)gk->u.number;
  r->epochs = (int)ep->u.number;
  r->batch = (int)bs->u.number;
  r->lr = lr;
  r->range = range;
  r->scale = scale;
  r->d_masked = d[2];
  r->d_unmask = d[3];
  fl_keypair(r->c_sk, r->c_pk);
  fl_keypair(r->s_sk, r->s_pk);
  fe25519 bv;
  do {
    randombytes_buf(r->b, 32);
    r->b[31] &= 0x7f;
  } while (fe_from_bytes(&bv, r->b) < 0);
  sodium_memzero(&bv, sizeof bv);
  r->expires_ms = now_ms + (int64_t)ttl->u.number; /* setupTtl counts from the announce */
  r->phase = R_ADVERTISED;
  set_last_round(c, id);
  pthread_mutex_lock(&c->mu);
  c->rounds_joined++;
  pthread_mutex_unlock(&c->mu);
  set_status(c, "advertised");
  jbuf b;
  jb_init(&b, out_mem, sizeof out_mem);
  jb_fmt(&b, "{\"round\":\"%s\",\"phase\":\"advertise\",\"cPk\":", id);
  jb_b64(&b, r->c_pk, 32);
  jb_raw(&b, ",\"sPk\":");
  jb_b64(&b, r->s_pk, 32);
  jb_raw(&b, "}");
  LOGI("fl2 round %s: taking part with %zu local training samples (model v%.0f, K = %" PRIu32 ")", id, n, json_get_number(model, "version", 0), r->k);
  send_body(c, &b);
}

static peer_t *find_peer(round_t *r, const char *serial) {
  for (size_t k = 0; k < r->n_peers; k++)
    if (strcmp(r->peers[k].serial, serial) == 0) return &r->peers[k];
  return NULL;
}

static void abandon(fl_client *c, const char *why) {
  LOGW("fl2 round %s: %s; staying silent for the rest of the round", c->r.id, why);
  set_status(c, "silent: %s", why);
  round_wipe(&c->r);
}

static void on_roster(fl_client *c, const json_value *root) {
  round_t *r = &c->r;
  if (r->phase != R_ADVERTISED) return;
  const json_value *peers = json_get(root, "peers"), *graph = json_get(root, "graph"), *tkv = json_get(root, "shareThreshold");
  if (!is_int_in(json_get(root, "threshold"), r->threshold, r->threshold) || !peers || peers->type != JSON_ARRAY || peers->u.kids.count > FL_MAX_PEERS) { abandon(c, "roster refused (threshold differs from the announce, or no peers list of at most 200)"); return; }
  static const char *const graph_keys[] = { "k", "seed", NULL };
  unsigned char seed[32];
  if (!only_keys(graph, graph_keys) || !is_int_in(json_get(graph, "k"), r->k, r->k) || b64_exact(seed, 32, json_get_string(graph, "seed")) < 0) { abandon(c, "roster refused (graph needs the announced k and a seed of 32 bytes)"); return; }
  if (!is_int_in(tkv, 1, FL_MAX_PEERS)) { abandon(c, "roster refused (no shareThreshold)"); return; }
  static const char *const roster_keys[] = { "round", "threshold", "shareThreshold", "graph", "peers", NULL }, *const peer_keys[] = { "serial", "index", "cPk", "sPk", NULL };
  if (!only_keys(root, roster_keys)) { abandon(c, "roster refused (unknown fields)"); return; }
  for (const json_value *p = peers->u.kids.first; p; p = p->next)
    if (!only_keys(p, peer_keys)) { abandon(c, "roster refused (a peer with unknown fields)"); return; }
  r->n_peers = 0;
  r->my_index = 0;
  for (const json_value *p = peers->u.kids.first; p; p = p->next) {
    const char *serial = json_get_string(p, "serial");
    peer_t *e = &r->peers[r->n_peers];
    if (!valid_serial(serial) || !is_int_in(json_get(p, "index"), 1, 65535) || b64_exact(e->cpk, 32, json_get_string(p, "cPk")) < 0 || b64_exact(e->spk, 32, json_get_string(p, "sPk")) < 0) { abandon(c, "roster refused (a peer needs serial, index 1-65535, cPk and sPk of 32 bytes)"); return; }
    if (find_peer(r, serial)) { abandon(c, "roster refused (a serial appears twice)"); return; }
    snprintf(e->serial, sizeof e->serial, "%s", serial);
    e->index = (uint32_t)json_get_number(p, "index", 0);
    for (size_t k = 0; k < r->n_peers; k++)
      if (r->peers[k].index == e->index) { abandon(c, "roster refused (an index appears twice)"); return; }
    r->n_peers++;
  }
  peer_t *me = find_peer(r, c->sg->serial);
  if (!me) { abandon(c, "not in the roster"); return; }
  if (sodium_memcmp(me->cpk, r->c_pk, 32) != 0 || sodium_memcmp(me->spk, r->s_pk, 32) != 0) { abandon(c, "the roster carries other keys for this camera"); return; }
  if (r->n_peers < r->threshold) { abandon(c, "fewer peers than the threshold"); return; }
  r->my_index = me->index;
  /* N(u): the ring neighbours under the roster's seed (SecAgg+). */
  const char *serials[FL_MAX_PEERS];
  size_t order[FL_MAX_PEERS];
  unsigned char nb[FL_MAX_PEERS];
  for (size_t k = 0; k < r->n_peers; k++) serials[k] = r->peers[k].serial;
  size_t n_nb = fl_ring(seed, serials, r->n_peers, r->k, (size_t)(me - r->peers), order, nb);
  for (size_t k = 0; k < r->n_peers; k++) r->peers[k].nb = nb[k];
  r->tk = (uint32_t)tkv->u.number;
  if (!fl_tk_ok(r->tk, n_nb)) {
    char why[120];
    snprintf(why, sizeof why, "roster refused (shareThreshold %" PRIu32 " with %zu neighbours: needs ⌈2(m+1)/3⌉)", r->tk, n_nb);
    abandon(c, why);
    return;
  }
  /* Shamir over GF(2^255 - 19): f(0) = the secret, tk - 1 uniform coefficients; x = the roster index. */
  fe25519 fb[FL_MAX_PEERS], fs[FL_MAX_PEERS];
  fe_from_bytes(&fb[0], r->b);
  fe_from_bytes(&fs[0], r->s_sk);
  for (uint32_t k = 1; k < r->tk; k++) { fe_random(&fb[k]); fe_random(&fs[k]); }
  fe25519 own;
  fe_poly_eval(&own, fb, (int)r->tk, r->my_index);
  fe_to_bytes(r->own_b_share, &own);
  sodium_memzero(&own, sizeof own);
  jbuf b;
  jb_init(&b, out_mem, sizeof out_mem);
  jb_fmt(&b, "{\"round\":\"%s\",\"phase\":\"shares\",\"boxes\":[", r->id);
  int first = 1, failed = 0;
  for (size_t k = 0; k < r->n_peers; k++) {
    peer_t *v = &r->peers[k];
    if (!v->nb) continue; /* boxes to exactly N(u) */
    unsigned char plain[FL_BOX_PLAIN], key[FL_KEY], box[FL_BOX_BYTES];
    fe25519 sh;
    put32(plain, r->my_index);
    put32(plain + 4, v->index);
    fe_poly_eval(&sh, fb, (int)r->tk, v->index);
    fe_to_bytes(plain + 8, &sh);
    fe_poly_eval(&sh, fs, (int)r->tk, v->index);
    fe_to_bytes(plain + 40, &sh);
    char aad[64 + 2 * 13 + 3];
    snprintf(aad, sizeof aad, "%s\n%s\n%s", r->id, c->sg->serial, v->serial);
    if (fl_derive(key, r->c_sk, v->cpk, r->id, "omnisight.fl1.box") < 0) { failed = 1; break; }
    fl_box_seal(box, key, NULL, plain, aad);
    sodium_memzero(plain, sizeof plain);
    sodium_memzero(key, sizeof key);
    sodium_memzero(&sh, sizeof sh);
    jb_raw(&b, first ? "{\"to\":\"" : ",{\"to\":\"");
    first = 0;
    jb_raw(&b, v->serial);
    jb_raw(&b, "\",\"box\":");
    jb_b64(&b, box, sizeof box);
    jb_raw(&b, "}");
  }
  sodium_memzero(fb, sizeof fb);
  sodium_memzero(fs, sizeof fs);
  if (failed) { abandon(c, "a peer's cPk is a small-order point"); return; }
  jb_raw(&b, "]}");
  r->phase = R_SHARED;
  LOGI("fl2 round %s: shares sent to %zu ring neighbours of %zu peers (tk = %" PRIu32 ")", r->id, n_nb, r->n_peers, r->tk);
  send_body(c, &b);
}

static void on_deliver(fl_client *c, const json_value *root) {
  round_t *r = &c->r;
  if (r->phase != R_SHARED) return;
  const json_value *boxes = json_get(root, "boxes");
  static const char *const deliver_keys[] = { "round", "boxes", NULL }, *const box_keys[] = { "from", "box", NULL };
  if (!boxes || boxes->type != JSON_ARRAY || !only_keys(root, deliver_keys)) { abandon(c, "deliver refused (no boxes list, or unknown fields)"); return; }
  for (const json_value *e = boxes->u.kids.first; e; e = e->next)
    if (!only_keys(e, box_keys)) { abandon(c, "deliver refused (a box with unknown fields)"); return; }
  if (boxes->u.kids.count + 1 < r->tk) { abandon(c, "deliver carries fewer boxes than the share threshold needs"); return; }
  size_t n = 0;
  for (const json_value *e = boxes->u.kids.first; e; e = e->next) {
    const char *from = json_get_string(e, "from"), *b64 = json_get_string(e, "box");
    peer_t *v = from ? find_peer(r, from) : NULL;
    if (!v || v->index == r->my_index || v->has_share || !v->nb) { abandon(c, "deliver refused (a box from an unknown peer, this camera, a non-neighbour, or twice)"); return; }
    unsigned char box[FL_BOX_BYTES], key[FL_KEY], plain[FL_BOX_PLAIN];
    char aad[64 + 2 * 13 + 3];
    snprintf(aad, sizeof aad, "%s\n%s\n%s", r->id, v->serial, c->sg->serial);
    fe25519 chk;
    int ok = b64_exact(box, sizeof box, b64) == 0 && fl_derive(key, r->c_sk, v->cpk, r->id, "omnisight.fl1.box") == 0 &&
             fl_box_open(plain, key, box, sizeof box, aad) == 0 && get32(plain) == v->index && get32(plain + 4) == r->my_index &&
             fe_from_bytes(&chk, plain + 8) == 0 && fe_from_bytes(&chk, plain + 40) == 0;
    sodium_memzero(key, sizeof key);
    if (!ok) {
      /* A box that does not open means this camera and the server disagree about D(u): masking
       * would spoil the sum, so this camera drops out (the server rebuilds its masks). */
      char why[80];
      snprintf(why, sizeof why, "the box from %s does not open or is not for this camera", v->serial);
      sodium_memzero(plain, sizeof plain);
      abandon(c, why);
      return;
    }
    memcpy(v->b_share, plain + 8, 32);
    memcpy(v->s_share, plain + 40, 32);
    v->has_share = 1;
    sodium_memzero(plain, sizeof plain);
    n++;
  }
  r->phase = R_SET_UP;
  set_status(c, "set up, waiting for go");
  LOGI("fl2 round %s: set up (index %" PRIu32 ", %zu neighbours in D(u)); waiting for go", r->id, r->my_index, n);
}

static void on_go(fl_client *c, const json_value *root, int64_t now_ms) {
  round_t *r = &c->r;
  static const char *const go_keys[] = { "round", NULL };
  if (!only_keys(root, go_keys)) { LOGW("fl2 round %s: go refused (unknown fields)", r->id); return; }
  if (r->phase != R_SET_UP) return;
  /* Train now, on a snapshot of the local data, from the announced θ. */
  static head_sample train_set[FL_LOCAL_CAP];
  pthread_mutex_lock(&c->mu);
  size_t n = collect(c, 0, train_set);
  pthread_mutex_unlock(&c->mu);
  double t[FL_DIM], delta[FL_DIM];
  for (int i = 0; i < FL_DIM; i++) t[i] = r->theta[i];
  head_train(t, train_set, n, r->epochs, r->lr, r->batch);
  for (int i = 0; i < FL_DIM; i++) delta[i] = (double)(float)t[i] - (double)r->theta[i]; /* float32 values, as the spec says */
  fl_quantize(r->q, delta, r->range, r->scale);
  fl_mask_peer d[FL_MAX_PEERS];
  size_t nd = 0;
  for (size_t k = 0; k < r->n_peers; k++)
    if (r->peers[k].has_share) { d[nd].index = r->peers[k].index; memcpy(d[nd].spk, r->peers[k].spk, 32); nd++; }
  uint32_t y[FL_DIM];
  if (fl_masked_input(y, r->q, r->b, r->s_sk, r->my_index, d, nd, r->id) < 0) { abandon(c, "a peer's sPk is a small-order point"); return; }
  unsigned char yb[FL_DIM * 4];
  for (int i = 0; i < FL_DIM; i++) put32(yb + 4 * i, y[i]);
  jbuf b;
  jb_init(&b, out_mem, sizeof out_mem);
  jb_fmt(&b, "{\"round\":\"%s\",\"phase\":\"masked\",\"y\":", r->id);
  jb_b64(&b, yb, sizeof yb);
  jb_raw(&b, "}");
  r->phase = R_MASKED;
  /* From go on the round lives by its own deadlines (masked and unmask count from go). */
  r->expires_ms = now_ms + (int64_t)(r->d_masked + r->d_unmask) + 60000;
  pthread_mutex_lock(&c->mu);
  c->rounds_masked++;
  pthread_mutex_unlock(&c->mu);
  set_status(c, "masked update sent");
  LOGI("fl2 round %s: masked update sent (%zu training samples, index %" PRIu32 ", %zu peers in D(u))", r->id, n, r->my_index, nd);
  send_body(c, &b);
}

static void on_unmask(fl_client *c, const json_value *root) {
  round_t *r = &c->r;
  if (r->phase != R_MASKED) return;
  const json_value *surv = json_get(root, "survivors"), *drop = json_get(root, "dropped");
  static const char *const unmask_keys[] = { "round", "survivors", "dropped", NULL };
  if (!surv || surv->type != JSON_ARRAY || !drop || drop->type != JSON_ARRAY || !only_keys(root, unmask_keys)) { abandon(c, "unmask refused (survivors and dropped lists needed, nothing else)"); return; }
  /* Mark each listed peer: 1 = survivor, 2 = dropped. A camera on both lists, one not in the
   * roster, this camera missing from survivors, or too few survivors: silence (the server could
   * otherwise learn both b and s of one camera and unmask its update). */
  unsigned char mark[FL_MAX_PEERS] = { 0 };
  int me_survives = 0;
  size_t n_surv = 0;
  for (int pass = 1; pass <= 2; pass++) {
    for (const json_value *e = (pass == 1 ? surv : drop)->u.kids.first; e; e = e->next) {
      peer_t *v = e->type == JSON_STRING ? find_peer(r, e->u.str.s) : NULL;
      if (!v) { abandon(c, "unmask names a camera that is not a peer of this round"); return; }
      size_t k = (size_t)(v - r->peers);
      if (mark[k]) { abandon(c, "unmask names a camera twice (survivor and dropped?)"); return; }
      mark[k] = (unsigned char)pass;
      if (v->index == r->my_index) {
        if (pass == 2) { abandon(c, "unmask lists this camera as dropped"); return; }
        me_survives = 1;
      }
      if (pass == 1) n_surv++;
    }
  }
  if (!me_survives || n_surv < r->threshold) { abandon(c, "not a survivor, or fewer survivors than the threshold"); return; }
  for (size_t k = 0; k < r->n_peers; k++)
    if (r->peers[k].has_share && !mark[k]) { abandon(c, "unmask leaves out a peer this camera masked with"); return; }
  jbuf b;
  jb_init(&b, out_mem, sizeof out_mem);
  jb_fmt(&b, "{\"round\":\"%s\",\"phase\":\"unmask\",\"selfShares\":[", r->id);
  /* selfShares: the share of b of every survivor in D(u) and this camera's own; keyShares: the
   * share of s of every dropped peer in D(u). Never both for one camera (the lists are disjoint). */
  for (int pass = 1; pass <= 2; pass++) {
    int first = 1;
    if (pass == 2) jb_raw(&b, "],\"keyShares\":[");
    for (size_t k = 0; k < r->n_peers; k++) {
      peer_t *v = &r->peers[k];
      int self = v->index == r->my_index;
      if (mark[k] != pass || !(self || v->has_share)) continue;
      jb_fmt(&b, "%s{\"of\":\"%s\",\"y\":", first ? "" : ",", v->serial);
      jb_b64(&b, pass == 1 ? (self ? r->own_b_share : v->b_share) : v->s_share, 32);
      jb_raw(&b, "}");
      first = 0;
    }
  }
  jb_raw(&b, "]}");
  r->phase = R_UNMASKED;
  set_status(c, "unmasking shares sent");
  send_body(c, &b);
}

static void adopt(fl_client *c, const head_model *m, const unsigned char params[FL_DIM * 4]) {
  char name[40], json[256], err[300];
  snprintf(name, sizeof name, "head-v%" PRIu32 ".bin", m->version);
  int len = snprintf(json, sizeof json, "{\"name\":\"%s\",\"version\":%" PRIu32 ",\"features\":%d,\"round\":%" PRIu32 ",\"dropBelow\":%.4f}\n",
                     HEAD_NAME, m->version, HEAD_FEATURES, m->round, m->drop_below);
  char jname[40];
  snprintf(jname, sizeof jname, "head-v%" PRIu32 ".json", m->version);
  /* The .json lands after the .bin: a pair is complete once its .json exists and matches. */
  if (durable_write(c->sg->dir, name, params, FL_DIM * 4, err, sizeof err) < 0 || durable_write(c->sg->dir, jname, json, (size_t)len, err, sizeof err) < 0)
    LOGW("the adopted head is used but not kept across a restart: %s", err);
  pthread_mutex_lock(&c->mu);
  uint32_t old = c->cur.version;
  c->before = c->cur;
  c->cur = *m;
  log_eval(c, "round result adopted");
  pthread_mutex_unlock(&c->mu);
  if (old) { /* keep only the newest adopted pair in local data */
    char path[600];
    snprintf(path, sizeof path, "%s/head-v%" PRIu32 ".json", c->sg->dir, old); unlink(path);
    snprintf(path, sizeof path, "%s/head-v%" PRIu32 ".bin", c->sg->dir, old); unlink(path);
  }
}

static void on_result(fl_client *c, const json_value *root, const char *round) {
  round_t *r = &c->r;
  const json_value *ok = json_get(root, "ok");
  static const char *const result_keys[] = { "round", "ok", "model", "survivors", "reason", NULL }, *const model_keys[] = { "name", "version", "params", NULL };
  const json_value *rm = json_get(root, "model");
  if (!only_keys(root, result_keys) || (rm && !only_keys(rm, model_keys))) { LOGW("fl2 round %s: result refused (unknown fields)", round); return; }
  int mine = r->phase != R_IDLE && strcmp(r->id, round) == 0;
  if (mine) round_wipe(r);
  if (!ok || ok->type != JSON_BOOL) return;
  if (!ok->u.boolean) {
    if (mine) {
      const char *why = json_get_string(root, "reason") ? json_get_string(root, "reason") : "(no reason)";
      LOGI("fl2 round %s failed: %s", round, why);
      set_status(c, "round failed: %.100s", why);
    }
    return;
  }
  const json_value *model = json_get(root, "model");
  const char *name = json_get_string(model, "name");
  unsigned char params[FL_DIM * 4];
  if (!name || strcmp(name, HEAD_NAME) != 0 || !is_int_in(json_get(model, "version"), 1, 4294967295.0) || b64_exact(params, sizeof params, json_get_string(model, "params")) < 0) {
    LOGW("fl2 round %s: result refused (model needs name %s, version ≥ 1, params of 14 float32)", round, HEAD_NAME);
    return;
  }
  head_model m;
  memset(&m, 0, sizeof m);
  m.version = (uint32_t)json_get_number(model, "version", 0);
  pthread_mutex_lock(&c->mu);
  uint32_t cur = c->cur.version;
  m.drop_below = c->cur.drop_below;
  pthread_mutex_unlock(&c->mu);
  if (m.version <= cur) return;
  for (int i = 0; i < FL_DIM; i++) {
    uint32_t w = get32(params + 4 * i);
    memcpy(&m.theta[i], &w, 4);
    if (!isfinite(m.theta[i]) || fabsf(m.theta[i]) > 1e6f) { LOGW("fl2 round %s: result refused (parameter %d not finite)", round, i); return; }
  }
  const char *digits = round + strcspn(round, "0123456789");
  m.round = (uint32_t)strtoul(digits, NULL, 10);
  snprintf(m.source, sizeof m.source, "round");
  adopt(c, &m, params);
  set_status(c, "result adopted: v%" PRIu32, m.version);
}

void fl_on_message(fl_client *c, const char *topic, const void *payload, size_t len, int64_t now_ms) {
  static char arena_mem[2 * 1024 * 1024];
  /* The round state lives on this (the MQTT) thread only, so it expires here, not in fl_tick. */
  if (c->r.phase != R_IDLE && now_ms > c->r.expires_ms) {
    LOGW("fl2 round %s: %s; forgotten", c->r.id, c->r.phase < R_MASKED ? "no go before setupTtl passed" : "no result before its deadlines passed");
    set_status(c, "%s", c->r.phase < R_MASKED ? "forgotten: setupTtl passed" : "forgotten: no result");
    round_wipe(&c->r);
  }
  if (len > MAX_PAYLOAD) { LOGW("%s: %zu-byte message ignored (limit %d)", topic, len, MAX_PAYLOAD); return; }
  json_arena arena = { arena_mem, sizeof arena_mem, 0 };
  char err[128];
  json_value *root = json_parse(&arena, payload, len, err, sizeof err);
  if (!root || root->type != JSON_OBJECT) { LOGW("%s: not a JSON object (%s)", topic, root ? "other type" : err); return; }
  if (strcmp(topic, c->topic_outcomes) == 0) { on_outcomes(c, root); return; }
  static const char prefix[] = "omnisight/desktop/fl/";
  if (strncmp(topic, prefix, sizeof prefix - 1) != 0) return;
  const char *rest = topic + sizeof prefix - 1;
  if (strcmp(rest, "announce") == 0) { on_announce(c, root, now_ms); return; }
  /* <round>/roster | <round>/deliver/<SERIAL> | <round>/unmask | <round>/result */
  const char *slash = strchr(rest, '/');
  if (!slash || slash - rest > 64) return;
  char round[65];
  memcpy(round, rest, (size_t)(slash - rest));
  round[slash - rest] = '\0';
  const char *body_round = json_get_string(root, "round");
  if (!valid_round_id(round) || !body_round || strcmp(body_round, round) != 0) { LOGW("%s: the body's round differs from the topic's; ignored", topic); return; }
  const char *what = slash + 1;
  if (strcmp(what, "result") == 0) { on_result(c, root, round); return; }
  if (c->r.phase == R_IDLE || strcmp(c->r.id, round) != 0) return; /* a round this camera is not in */
  if (strcmp(what, "roster") == 0) on_roster(c, root);
  else if (strcmp(what, "go") == 0) on_go(c, root, now_ms);
  else if (strncmp(what, "deliver/", 8) == 0) { if (strcmp(what + 8, c->sg->serial) == 0) on_deliver(c, root); }
  else if (strcmp(what, "unmask") == 0) on_unmask(c, root);
}
