/* OmniSight Agent: the on-camera application.
 * Reads processed frames from the HAL, turns raw detections into the scene-metadata shape, and
 * publishes signed detections (QoS 0) and a 1 Hz heartbeat (QoS 1) over MQTT per docs/protocol.md.
 * It also answers GET identity.cgi on a loopback port so the camera can reverse-proxy it. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <mosquitto.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "envelope.h"
#include "fl.h"
#include "hal.h"
#include "identity.h"
#include "json.h"
#include "log.h"
#include "v3.h"

#ifndef OMNISIGHT_VERSION
#define OMNISIGHT_VERSION "0.0.0"
#endif
#define APP_NAME "omnisight"
#define FPS_WINDOW 256

static volatile sig_atomic_t g_stop;
static fl_client *_Atomic g_fl; /* for identity.cgi's "model" (the HTTP thread), set once it exists */
static atomic_int g_connected;
static atomic_int g_announce; /* publish a heartbeat right away (set on every (re)connect) */

static void on_signal(int sig) { (void)sig; g_stop = 1; }

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Environment first (the simulator and tests), then the platform's parameters (a real camera). */
static const char *cfg(hal_t *h, const char *env, const char *param, const char *def) {
  const char *v = getenv(env);
  if (v && *v) return v;
  v = h ? hal_param(h, param) : NULL;
  return v && *v ? v : def;
}

/* Model labels (COCO-style or already scene-metadata) → the scene-metadata classes of the protocol. */
static const char *scene_class(const char *label) {
  static const struct { const char *label, *cls; } map[] = {
    {"human", "Human"}, {"person", "Human"}, {"pedestrian", "Human"}, {"face", "Human"},
    {"car", "Car"}, {"vehicle", "Car"},
    {"truck", "Truck"}, {"bus", "Bus"},
    {"bike", "Bike"}, {"bicycle", "Bike"}, {"motorcycle", "Bike"}, {"motorbike", "Bike"},
    {"animal", "Animal"}, {"dog", "Animal"}, {"cat", "Animal"}, {"bird", "Animal"}, {"horse", "Animal"},
    {"sheep", "Animal"}, {"cow", "Animal"}, {"bear", "Animal"}, {"deer", "Animal"},
  };
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strcasecmp(label, map[i].label) == 0) return map[i].cls;
  return "Other";
}

static double clamp01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

typedef struct {
  int64_t start_ms;
  int64_t done_ms[FPS_WINDOW]; /* monotonic completion times of recent frames (ring) */
  double infer_ms[FPS_WINDOW];
  size_t head, count;
  double fps_camera;
  uint64_t synth_track;
} stats_t;

static void stats_add(stats_t *st, int64_t now, double infer_ms, double fps_camera) {
  st->done_ms[st->head] = now;
  st->infer_ms[st->head] = infer_ms;
  st->head = (st->head + 1) % FPS_WINDOW;
  if (st->count < FPS_WINDOW) st->count++;
  if (fps_camera > 0) st->fps_camera = fps_camera;
}

/* Frames completed in the last second, and their mean inference time. */
static void stats_window(const stats_t *st, int64_t now, int *fps, double *infer) {
  int n = 0;
  double sum = 0;
  for (size_t i = 0; i < st->count; i++) {
    size_t k = (st->head + FPS_WINDOW - 1 - i) % FPS_WINDOW;
    if (now - st->done_ms[k] >= 1000) break;
    n++;
    sum += st->infer_ms[k];
  }
  *fps = n;
  *infer = n ? sum / n : 0;
}

/* Builds the detections body; the observations kept (score >= min_score, p >= the head's dropBelow)
 * have their head features in feats[0..*n_kept), by their index in `observations`. */
static void build_detections(jbuf *b, const hal_frame *f, stats_t *st, double min_score, int64_t now, fl_client *fl,
                             float (*feats)[HEAD_FEATURES], size_t *n_kept) {
  int fps;
  double infer;
  stats_window(st, now, &fps, &infer);
  jb_fmt(b, "{\"frame\":{\"timestamp\":%" PRId64 ",\"observations\":[", f->timestamp_ms);
  int first = 1;
  for (size_t i = 0; i < f->n; i++) {
    const hal_detection *d = &f->det[i];
    if (!isfinite(d->x1) || !isfinite(d->y1) || !isfinite(d->x2) || !isfinite(d->y2) || !isfinite(d->score)) continue;
    if (d->score < min_score) continue;
    /* Normalise to 0..1 of the processed frame; accept corners in either order. */
    double l = clamp01(fmin(d->x1, d->x2) / f->width), r = clamp01(fmax(d->x1, d->x2) / f->width);
    double t = clamp01(fmin(d->y1, d->y2) / f->height), btm = clamp01(fmax(d->y1, d->y2) / f->height);
    l = round(l * 1e4) / 1e4; r = round(r * 1e4) / 1e4; t = round(t * 1e4) / 1e4; btm = round(btm * 1e4) / 1e4;
    if (!(l < r) || !(t < btm)) continue; /* degenerate after clamping: nothing visible */
    /* The confirmation head sees what the desktop will see: the rounded box, class and score. */
    const char *cls = scene_class(d->cls);
    double score = round(clamp01(d->score) * 1e3) / 1e3;
    float *x = feats[*n_kept];
    head_features(x, l, t, r, btm, cls, score);
    int keep;
    fl_score(fl, x, &keep);
    if (!keep) continue;
    (*n_kept)++;
    if (!first) jb_raw(b, ",");
    first = 0;
    jb_raw(b, "{\"bounding_box\":{\"left\":");
    jb_num(b, l, 4); jb_raw(b, ",\"top\":"); jb_num(b, t, 4);
    jb_raw(b, ",\"right\":"); jb_num(b, r, 4); jb_raw(b, ",\"bottom\":"); jb_num(b, btm, 4);
    jb_fmt(b, "},\"class\":{\"type\":\"%s\",\"score\":", cls);
    jb_num(b, score, 3);
    jb_raw(b, "},\"track_id\":");
    char synth[HAL_TRACK_LEN];
    const char *tid = d->track_id;
    if (!tid[0]) { snprintf(synth, sizeof synth, "u%" PRIu64, ++st->synth_track); tid = synth; }
    jb_str(b, tid, strlen(tid));
    jb_fmt(b, ",\"timestamp\":%" PRId64 "}", f->timestamp_ms);
  }
  jb_raw(b, "],\"operations\":[");
  for (size_t i = 0; i < f->n_deleted; i++) {
    if (i) jb_raw(b, ",");
    jb_raw(b, "{\"id\":");
    jb_str(b, f->deleted[i], strlen(f->deleted[i]));
    jb_raw(b, ",\"type\":\"DeleteOperation\"}");
  }
  int fps_cam = (int)lround(st->fps_camera);
  int skipped = fps_cam > fps ? fps_cam - fps : 0;
  jb_raw(b, "]},\"stats\":{\"inference_ms\":");
  jb_num(b, f->inference_ms, 1);
  jb_fmt(b, ",\"fps_camera\":%d,\"fps_processed\":%d,\"fps_skipped\":%d,\"width\":%d,\"height\":%d}}",
         fps_cam, fps, skipped, f->width, f->height);
}

static long resident_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0, rss = 0;
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
    fclose(f);
  }
  return rss * sysconf(_SC_PAGESIZE);
}

static void build_heartbeat(jbuf *b, stats_t *st, fl_client *fl, int64_t now) {
  int fps;
  double infer;
  stats_window(st, now, &fps, &infer);
  int fps_cam = (int)lround(st->fps_camera);
  jb_fmt(b, "{\"app\":\"%s\",\"version\":\"%s\",\"uptime_s\":%" PRId64 ",\"fps_camera\":%d,\"fps_processed\":%d,\"fps_skipped\":%d,\"inference_ms\":",
         APP_NAME, OMNISIGHT_VERSION, (now - st->start_ms) / 1000, fps_cam, fps, fps_cam > fps ? fps_cam - fps : 0);
  jb_num(b, infer, 1);
  jb_fmt(b, ",\"mem_bytes\":%ld", resident_bytes());
  fl_heartbeat_json(fl, b); /* "model": the confirmation head in use (docs/protocol.md, fl1) */
  jb_raw(b, "}");
}

typedef struct {
  struct mosquitto *mq;
  signer *sg;
  fl_client *fl;
  char topic_det[96], topic_hb[96], topic_fl[96], topic_session[96], topic_notice[96];
  /* Held while a report is built and handed to libmosquitto, and while a session is opened or reset
   * and announced (MQTT thread): a report MACed under the old session never goes out after the
   * announcement of the new one (the desktop would have replaced its K: "unknown session"). */
  pthread_mutex_t send_mu;
  unsigned long dropped;
  int64_t session_repeat_ms;
  /* Session announcements awaiting their PUBACK (mid → S), and the mids acknowledged most recently:
   * a PUBACK can be handled on the MQTT thread before mosquitto_publish has returned the mid to the
   * main thread, so whichever side comes second matches them. Under ack_mu. */
  pthread_mutex_t ack_mu;
  struct { int mid; uint32_t s; } awaiting[4];
  int acked[32];
  unsigned acked_next;
} publisher;

#define SESSION_KEY_TOPIC "omnisight/desktop/session-key"

/* The broker acknowledged message `mid` (on_publish: PUBACK for QoS 1, sent for QoS 0). MQTT thread. */
static void on_publish(struct mosquitto *m, void *ud, int mid) {
  (void)m;
  publisher *p = ud;
  uint32_t S = 0;
  pthread_mutex_lock(&p->ack_mu);
  for (size_t i = 0; i < sizeof p->awaiting / sizeof p->awaiting[0]; i++)
    if (p->awaiting[i].s && p->awaiting[i].mid == mid) { S = p->awaiting[i].s; p->awaiting[i].s = 0; }
  if (!S) p->acked[p->acked_next++ % (sizeof p->acked / sizeof p->acked[0])] = mid;
  pthread_mutex_unlock(&p->ack_mu);
  if (S) session_acked(p->sg, S);
}

/* The announcement of S went out as `mid`: v3 once its PUBACK is in (maybe already). */
static void await_ack(publisher *p, int mid, uint32_t S) {
  int done = 0;
  pthread_mutex_lock(&p->ack_mu);
  for (size_t i = 0; i < sizeof p->acked / sizeof p->acked[0]; i++)
    if (p->acked[i] == mid) { done = 1; p->acked[i] = 0; }
  if (!done) {
    size_t slot = 0; /* a free slot, else the oldest session's (a newer one replaces it anyway) */
    for (size_t i = 0; i < sizeof p->awaiting / sizeof p->awaiting[0]; i++)
      if (!p->awaiting[i].s || p->awaiting[i].s < p->awaiting[slot].s) slot = i;
    p->awaiting[slot].mid = mid;
    p->awaiting[slot].s = S;
  }
  pthread_mutex_unlock(&p->ack_mu);
  if (done) session_acked(p->sg, S);
}

/* Publishes the signed v2 announcement of the current session (QoS 1); detections and heartbeats
 * are v3 once the broker acknowledged it (docs/protocol.md: MQTT does not order a QoS 0 report on
 * another topic behind it; the PUBACK says the broker has it, ahead of what we send next). Called
 * from the MQTT thread (a new desktop key) and the main thread (the repetition), hence the buffer on
 * the stack. */
static void publish_session(publisher *p) { /* under send_mu */
  char env[1024];
  jbuf out;
  jb_init(&out, env, sizeof env);
  uint32_t S;
  if (session_announcement(p->sg, wall_ms(), &out, &S) < 0) return;
  int mid = 0;
  int rc = mosquitto_publish(p->mq, &mid, p->topic_session, (int)out.len, out.buf, 1, false);
  if (rc != MOSQ_ERR_SUCCESS) { LOGW("session announcement not sent (%s); reports stay v2 until it is", mosquitto_strerror(rc)); return; }
  session_announced(p->sg, S, mono_ms() + p->session_repeat_ms);
  await_ack(p, mid, S);
}

/* {"v":1,"key":"<b64 raw 32>","id":"<16 hex>"} (retained): every valid receipt opens a new session,
 * also a re-publication of the same key (the desktop restarted and lost its sessions). */
static void on_session_key(publisher *p, const char *payload, size_t len) {
  char arena_mem[4096], err[96];
  json_arena arena = { arena_mem, sizeof arena_mem, 0 };
  json_value *root = len <= 1024 ? json_parse(&arena, payload, len, err, sizeof err) : NULL;
  const json_value *v = json_get(root, "v");
  const char *key = json_get_string(root, "key"), *id = json_get_string(root, "id");
  int fields = 0, known = 0;
  if (root && root->type == JSON_OBJECT)
    for (const json_value *m = root->u.kids.first; m; m = m->next) {
      fields++;
      known += strcmp(m->key, "v") == 0 || strcmp(m->key, "key") == 0 || strcmp(m->key, "id") == 0;
    }
  unsigned char pk[32];
  size_t got = 0;
  char want[17];
  int ok = root && fields == 3 && known == 3 && v && v->type == JSON_NUMBER && v->u.number == 1 && key && id &&
           sodium_base642bin(pk, sizeof pk, key, strlen(key), NULL, &got, NULL, sodium_base64_VARIANT_ORIGINAL) == 0 && got == 32;
  if (ok) v3_desktop_id(want, pk);
  if (!ok || strcmp(id, want) != 0) {
    LOGW("desktop session key refused: expected exactly {\"v\":1,\"key\":<32 bytes b64>,\"id\":<hex of SHA-256(key)[0..8]>}; reports stay as they are");
    return;
  }
  pthread_mutex_lock(&p->send_mu);
  uint32_t S = session_open(p->sg, pk);
  if (S) publish_session(p);
  pthread_mutex_unlock(&p->send_mu);
  if (!S) { LOGW("desktop session key %s refused: a small-order point", id); return; }
  LOGI("session %" PRIu32 " opened with desktop key %s", S, id);
}

/* {"v":1,"key":"<our key id>","epoch":E,"session":S,"desktopKey":"<id(D)>"}: the desktop refused a
 * report of session S as unknown. If S is the session in use: a new one for the same desktop key
 * (v2 until its PUBACK), or none when that desktop's key is not ours (v2 until its key arrives). */
static void on_session_notice(publisher *p, const char *payload, size_t len) {
  char arena_mem[2048], err[96];
  json_arena arena = { arena_mem, sizeof arena_mem, 0 };
  json_value *root = len <= 512 ? json_parse(&arena, payload, len, err, sizeof err) : NULL;
  const json_value *v = json_get(root, "v"), *e = json_get(root, "epoch"), *sn = json_get(root, "session");
  const char *key = json_get_string(root, "key"), *dk = json_get_string(root, "desktopKey");
  int fields = 0;
  if (root && root->type == JSON_OBJECT)
    for (const json_value *m = root->u.kids.first; m; m = m->next) fields++;
  int hex16 = key && dk && strlen(key) == 16 && strlen(dk) == 16 && strspn(key, "0123456789abcdef") == 16 && strspn(dk, "0123456789abcdef") == 16;
  int ok = root && fields == 5 && hex16 && v && v->type == JSON_NUMBER && v->u.number == 1 && e && e->type == JSON_NUMBER && sn && sn->type == JSON_NUMBER &&
           e->u.number >= 1 && e->u.number <= 4294967295.0 && e->u.number == (double)(uint32_t)e->u.number &&
           sn->u.number >= 1 && sn->u.number <= 4294967295.0 && sn->u.number == (double)(uint32_t)sn->u.number;
  if (!ok) { LOGW("session notice refused: expected exactly {\"v\":1,\"key\",\"epoch\",\"session\",\"desktopKey\"}"); return; }
  unsigned char dpk[32];
  pthread_mutex_lock(&p->send_mu);
  int r = session_notice(p->sg, key, (uint32_t)e->u.number, (uint32_t)sn->u.number, dk, dpk);
  uint32_t S = r == 1 ? session_open(p->sg, dpk) : 0;
  if (S) publish_session(p);
  pthread_mutex_unlock(&p->send_mu);
  if (S) LOGI("the desktop does not know session %" PRIu32 ": session %" PRIu32 " opened", (uint32_t)sn->u.number, S);
  else if (r == -1) LOGI("desktop %s does not know our session nor hold our desktop key: v2 until its key arrives", dk);
}

static void on_connect(struct mosquitto *m, void *ud, int rc) {
  publisher *p = ud;
  if (rc == 0) {
    /* A session is bound to the connection its announcement was acknowledged on and to the desktop
     * key it was announced to: the broker may be another one (another desktop), or its desktop gone.
     * The retained key on this connection's subscription says which desktop is there. Reset before
     * the main thread may publish on this connection. */
    pthread_mutex_lock(&p->send_mu);
    session_reset(p->sg);
    pthread_mutex_unlock(&p->send_mu);
    atomic_store(&g_connected, 1);
    atomic_store(&g_announce, 1);
    LOGI("connected to the MQTT broker");
    /* A clean session: subscribe again on every (re)connect. */
    for (const char *const *t = fl_topics(p->fl); *t; t++) {
      int r = mosquitto_subscribe(m, NULL, *t, 1);
      if (r != MOSQ_ERR_SUCCESS) LOGW("cannot subscribe to %s: %s", *t, mosquitto_strerror(r));
    }
    int r = mosquitto_subscribe(m, NULL, SESSION_KEY_TOPIC, 1);
    if (r != MOSQ_ERR_SUCCESS) LOGW("cannot subscribe to %s: %s", SESSION_KEY_TOPIC, mosquitto_strerror(r));
    r = mosquitto_subscribe(m, NULL, p->topic_notice, 1);
    if (r != MOSQ_ERR_SUCCESS) LOGW("cannot subscribe to %s: %s", p->topic_notice, mosquitto_strerror(r));
  } else {
    LOGW("MQTT broker refused the connection: %s", mosquitto_connack_string(rc));
  }
}

static void on_disconnect(struct mosquitto *m, void *ud, int rc) {
  (void)m; (void)ud;
  atomic_store(&g_connected, 0);
  if (rc != 0) LOGW("lost the MQTT connection; reconnecting");
}

/* The desktop's messages (session key, fl rounds, outcomes): handled on the MQTT thread. */
static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg) {
  (void)m;
  publisher *p = ud;
  if (msg->payloadlen == 0 && strcmp(msg->topic, SESSION_KEY_TOPIC) == 0) {
    /* The retained key cleared: the desktop left (its will, or its close). v2 until one is back. */
    pthread_mutex_lock(&p->send_mu);
    session_reset(p->sg);
    pthread_mutex_unlock(&p->send_mu);
    LOGI("the desktop's session key was withdrawn: v2 until a desktop publishes one");
  } else if (msg->payloadlen > 0 && strcmp(msg->topic, SESSION_KEY_TOPIC) == 0) on_session_key(p, msg->payload, (size_t)msg->payloadlen);
  else if (msg->payloadlen > 0 && strcmp(msg->topic, p->topic_notice) == 0) on_session_notice(p, msg->payload, (size_t)msg->payloadlen);
  else if (msg->payloadlen > 0) fl_on_message(p->fl, msg->topic, msg->payload, (size_t)msg->payloadlen, mono_ms());
}

/* Main thread only (detections and heartbeats). */
static void publish(publisher *p, const char *kind, const char *body, size_t len, uint64_t *seq) {
  static char env[ENVELOPE_MAX_BYTES + 1];
  jbuf out;
  jb_init(&out, env, sizeof env);
  pthread_mutex_lock(&p->send_mu);
  if (envelope_build_seq(p->sg, kind, wall_ms(), body, len, &out, seq) < 0) {
    pthread_mutex_unlock(&p->send_mu);
    if (seq) *seq = 0;
    LOGW("a %s message would exceed 64 KiB; dropped", kind);
    return;
  }
  int hb = strcmp(kind, "heartbeat") == 0;
  int rc = mosquitto_publish(p->mq, NULL, hb ? p->topic_hb : p->topic_det, (int)out.len, out.buf, hb ? 1 : 0, false);
  pthread_mutex_unlock(&p->send_mu);
  if (rc != MOSQ_ERR_SUCCESS && p->dropped++ % 100 == 0)
    LOGW("publish failed (%s); %lu messages dropped so far", mosquitto_strerror(rc), p->dropped);
}

/* fl1 messages: signed envelopes of kind "fl" (same key, epoch and seq counter), QoS 1. Called on
 * the MQTT thread only, hence a buffer of its own. */
static void publish_fl(void *ctx, const char *body, size_t len) {
  publisher *p = ctx;
  static char env[ENVELOPE_MAX_BYTES + 1];
  jbuf out;
  jb_init(&out, env, sizeof env);
  if (envelope_build(p->sg, "fl", wall_ms(), body, len, &out) < 0) {
    LOGW("an fl message would exceed 64 KiB; dropped");
    return;
  }
  int rc = mosquitto_publish(p->mq, NULL, p->topic_fl, (int)out.len, out.buf, 1, false);
  if (rc != MOSQ_ERR_SUCCESS) LOGW("fl publish failed (%s)", mosquitto_strerror(rc));
}

/* The package's model/ folder: next to the executable (AXIS OS runs the app from its package
 * folder; the simulator runs the installed executable), unless OMNISIGHT_MODEL_DIR says otherwise. */
static void model_dir(char *out, size_t cap) {
  const char *env = getenv("OMNISIGHT_MODEL_DIR");
  if (env && *env) { snprintf(out, cap, "%s", env); return; }
  char exe[512];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) { snprintf(out, cap, "/usr/local/packages/" APP_NAME "/model"); return; }
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (slash) *slash = '\0';
  snprintf(out, cap, "%s/model", exe);
}

/* ---- HTTP routes behind the camera's reverse proxy (see identity.h) ------------------------ */
#define CALIBRATION_FILE "calibration.json"
#define CALIBRATION_MAX (16 * 1024)

static int json_error(jbuf *out, int status, const char *msg) {
  jb_raw(out, "{\"error\":");
  jb_str(out, msg, strlen(msg));
  jb_raw(out, "}");
  return status;
}

static int is_finite_num(const json_value *v, double lo, double hi) {
  return v && v->type == JSON_NUMBER && isfinite(v->u.number) && v->u.number >= lo && v->u.number <= hi;
}

#define INCLUDE_AREA_MIN 3
#define INCLUDE_AREA_MAX 32

/* The optional include area: where in its image the camera reports objects, so the desktop does
 * not count a far zone that the homography still projects into the frame as covered. A polygon of
 * 3..32 vertices {"u","v"} (numbers in 0..1, the detection boxes' frame); simplicity is the
 * sender's job. Returns NULL when it is valid, else the reason for the 400. */
static const char *include_area_error(const json_value *area) {
  if (area->type != JSON_ARRAY || area->u.kids.count < INCLUDE_AREA_MIN || area->u.kids.count > INCLUDE_AREA_MAX)
    return "includeArea must be an array of 3 to 32 vertices {\"u\":…,\"v\":…} (omit it for the whole frame)";
  for (const json_value *p = area->u.kids.first; p; p = p->next)
    if (p->type != JSON_OBJECT || !is_finite_num(json_get(p, "u"), 0, 1) || !is_finite_num(json_get(p, "v"), 0, 1))
      return "every includeArea vertex needs u and v, numbers in 0..1 (the normalised image, v down)";
  return NULL;
}

/* Validates {"points":[{"image":{"u","v"},"ground":{"x","y"}}, …4..32], "source"?, "includeArea"?}
 * and writes the canonical form to localdata, so the camera answers calibration.cgi as the
 * simulator does. Other top-level members are ignored (not stored), as they always were. */
static int set_calibration(signer *sg, const http_request *req, jbuf *out) {
  static char arena_mem[64 * 1024];
  json_arena arena = { arena_mem, sizeof arena_mem, 0 };
  char err[128];
  json_value *root = json_parse(&arena, req->body, req->body_len, err, sizeof err);
  if (!root || root->type != JSON_OBJECT) return json_error(out, 400, "the body must be a JSON object {\"points\":[{\"image\":{\"u\":…,\"v\":…},\"ground\":{\"x\":…,\"y\":…}}, …]}");
  const json_value *pts = json_get(root, "points");
  if (!pts || pts->type != JSON_ARRAY || pts->u.kids.count < 4 || pts->u.kids.count > 32) return json_error(out, 400, "points must be an array of 4 to 32 image/ground pairs");
  const char *source = json_get_string(root, "source");
  if (source && (strlen(source) == 0 || strlen(source) > 32 || strspn(source, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != strlen(source)))
    return json_error(out, 400, "source must be 1-32 letters, digits, _ or -");
  /* Checked before anything is written: a refused include area leaves the old calibration served. */
  const json_value *area = json_get(root, "includeArea");
  const char *area_err = area ? include_area_error(area) : NULL;
  if (area_err) return json_error(out, 400, area_err);
  static char text[CALIBRATION_MAX];
  jbuf f;
  jb_init(&f, text, sizeof text);
  jb_fmt(&f, "{\"camera\":\"%s\",\"source\":", sg->serial);
  jb_str(&f, source ? source : "camera", strlen(source ? source : "camera"));
  jb_raw(&f, ",\"points\":[");
  int i = 0;
  for (const json_value *p = pts->u.kids.first; p; p = p->next, i++) {
    const json_value *im = p->type == JSON_OBJECT ? json_get(p, "image") : NULL;
    const json_value *gr = p->type == JSON_OBJECT ? json_get(p, "ground") : NULL;
    if (!im || !gr || im->type != JSON_OBJECT || gr->type != JSON_OBJECT || !is_finite_num(json_get(im, "u"), 0, 1) || !is_finite_num(json_get(im, "v"), 0, 1) ||
        !is_finite_num(json_get(gr, "x"), -1e6, 1e6) || !is_finite_num(json_get(gr, "y"), -1e6, 1e6))
      return json_error(out, 400, "every point needs image.u and image.v in 0..1 and ground.x and ground.y in metres");
    if (i) jb_raw(&f, ",");
    jb_raw(&f, "{\"image\":{\"u\":"); jb_num(&f, json_get(im, "u")->u.number, 6);
    jb_raw(&f, ",\"v\":"); jb_num(&f, json_get(im, "v")->u.number, 6);
    jb_raw(&f, "},\"ground\":{\"x\":"); jb_num(&f, json_get(gr, "x")->u.number, 6);
    jb_raw(&f, ",\"y\":"); jb_num(&f, json_get(gr, "y")->u.number, 6);
    jb_raw(&f, "}}");
  }
  jb_raw(&f, "]");
  if (area) {
    jb_raw(&f, ",\"includeArea\":[");
    for (const json_value *p = area->u.kids.first; p; p = p->next) {
      jb_raw(&f, p == area->u.kids.first ? "{\"u\":" : ",{\"u\":"); jb_num(&f, json_get(p, "u")->u.number, 6);
      jb_raw(&f, ",\"v\":"); jb_num(&f, json_get(p, "v")->u.number, 6);
      jb_raw(&f, "}");
    }
    jb_raw(&f, "]");
  }
  jb_raw(&f, "}\n");
  if (f.overflow) return json_error(out, 400, "calibration too large");
  if (durable_write(sg->dir, CALIBRATION_FILE, f.buf, f.len, err, sizeof err) < 0) { LOGW("%s", err); return json_error(out, 500, err); }
  LOGI("ground calibration stored (%d points, include area: %s)", i, area ? "set" : "whole frame");
  jb_rawn(out, f.buf, f.len);
  return 200;
}

static int get_calibration(signer *sg, jbuf *out) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s", sg->dir, CALIBRATION_FILE);
  FILE *f = fopen(path, "r");
  if (!f) return json_error(out, 404, "no ground calibration on this camera: set it with POST /local/omnisight/admin/calibration.cgi, or set four reference points in the Timeline view");
  static char text[CALIBRATION_MAX];
  size_t n = fread(text, 1, sizeof text, f);
  fclose(f);
  jb_rawn(out, text, n);
  return 200;
}

static int handle_http(void *ctx, const http_request *req, jbuf *out, const char **ctype) {
  signer *sg = ctx;
  (void)ctype;
  int get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
  int post = strcmp(req->method, "POST") == 0;
  /* Exact paths only: the proxy maps /local/omnisight/<apiPath>/rest to <target>/rest, so a suffix
   * match would let a viewer path reach an admin action. */
  if (strcmp(req->path, "/identity.cgi") == 0) {
    if (get) {
      signer_identity_json(sg, OMNISIGHT_VERSION, out);
      fl_client *fl = atomic_load(&g_fl);
      if (fl && !out->overflow && out->len && out->buf[out->len - 1] == '}') {
        out->buf[--out->len] = '\0'; /* reopen the object: the head in use and its held-out effect */
        jb_raw(out, ",\"model\":");
        fl_model_json(fl, out);
        jb_raw(out, "}");
      }
      return 200;
    }
    if (post) return json_error(out, 403, "rotation needs an administrator: POST /local/omnisight/admin/identity.cgi?action=rotate");
    return json_error(out, 405, "GET identity.cgi");
  }
  if (strcmp(req->path, "/calibration.cgi") == 0) {
    if (get) return get_calibration(sg, out);
    if (post) return json_error(out, 403, "setting the calibration needs an administrator: POST /local/omnisight/admin/calibration.cgi");
    return json_error(out, 405, "GET calibration.cgi");
  }
  if (strcmp(req->path, "/admin/identity.cgi") == 0) {
    if (get) { signer_identity_json(sg, OMNISIGHT_VERSION, out); return 200; }
    if (!post) return json_error(out, 405, "POST admin/identity.cgi?action=rotate");
    if (strcmp(req->query, "action=rotate") != 0) return json_error(out, 400, "the only action is rotate: POST admin/identity.cgi?action=rotate");
    char err[256];
    if (signer_rotate(sg, err, sizeof err) < 0) { LOGE("%s", err); return json_error(out, 500, err); }
    signer_identity_json(sg, OMNISIGHT_VERSION, out);
    return 200;
  }
  if (strcmp(req->path, "/admin/calibration.cgi") == 0) {
    if (post) return set_calibration(sg, req, out);
    if (get) return get_calibration(sg, out);
    return json_error(out, 405, "POST admin/calibration.cgi");
  }
  return json_error(out, 404, "not found: try /local/omnisight/identity.cgi");
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  LOGI("OmniSight Agent %s starting (pid %d)", OMNISIGHT_VERSION, (int)getpid());
#ifdef OMNISIGHT_CRASH_AT_START
  /* The deliberately broken build for the deploy fault tests: it must fail right after start. */
  LOGE("this is the deliberately broken build (CRASH_AT_START=1); exiting with status 70");
  return 70;
#endif
  char err[512];
  const char *expected = getenv("OMNISIGHT_APP_VERSION");
  if (expected && *expected && strcmp(expected, OMNISIGHT_VERSION) != 0) {
    /* The installer says one version, this binary is another: refuse rather than mislead a verifier. */
    LOGE("OMNISIGHT_APP_VERSION=%s but this binary is %s: reinstall the package or fix the launcher", expected, OMNISIGHT_VERSION);
    return 78;
  }
  if (sodium_init() < 0) { LOGE("libsodium failed to initialise"); return 1; }

  /* Block the stop signals in every thread we create; main unblocks them and handles them. */
  sigset_t stopset, old;
  sigemptyset(&stopset);
  sigaddset(&stopset, SIGTERM);
  sigaddset(&stopset, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stopset, &old);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: a pending poll() returns EINTR at once */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  hal_t *hal = hal_open(err, sizeof err);
  if (!hal) { LOGE("%s", err); return 1; }

  const char *serial = cfg(hal, "OMNISIGHT_CAMERA_SERIAL", "CameraSerial", NULL);
  const char *host = cfg(hal, "OMNISIGHT_MQTT_HOST", "MqttHost", "127.0.0.1");
  const char *port_s = cfg(hal, "OMNISIGHT_MQTT_PORT", "MqttPort", "1883");
  /* The app's persistent local data (kept across restarts and upgrades): key, epoch, calibration.
   * An absolute path: the working directory is not guaranteed to be the package folder. */
  const char *data_dir = cfg(NULL, "OMNISIGHT_LOCALDATA", NULL, "/usr/local/packages/" APP_NAME "/localdata");
  const char *http_s = cfg(hal, "OMNISIGHT_HTTP_PORT", "HttpPort", "2001");
  const char *score_s = cfg(hal, "OMNISIGHT_MIN_SCORE", "MinScore", "0.25");
  char *end;
  long port = strtol(port_s, &end, 10);
  if (*end || port <= 0 || port > 65535) { LOGE("MQTT port '%s' is not 1-65535: fix OMNISIGHT_MQTT_PORT", port_s); hal_close(hal); return 1; }
  const char *repeat_s = getenv("OMNISIGHT_SESSION_REPEAT_S");
  long session_repeat = repeat_s && *repeat_s ? strtol(repeat_s, &end, 10) : 30;
  if ((repeat_s && *repeat_s && *end) || session_repeat < 1 || session_repeat > 3600) { LOGE("session repeat '%s' must be 1-3600 s: fix OMNISIGHT_SESSION_REPEAT_S", repeat_s); hal_close(hal); return 1; }
  double min_score = strtod(score_s, &end);
  if (*end || !(min_score >= 0 && min_score <= 1)) { LOGE("minimum score '%s' must be 0..1: fix OMNISIGHT_MIN_SCORE", score_s); hal_close(hal); return 1; }

  static signer sg;
  if (signer_init(&sg, data_dir, serial, err, sizeof err) < 0) { LOGE("%s", err); hal_close(hal); return 1; }

  identity_server *ids = NULL;
  if (strcmp(http_s, "off") != 0) {
    long hp = strtol(http_s, &end, 10);
    if (*end || hp < 0 || hp > 65535) { LOGE("HTTP port '%s' is not 0-65535 or off: fix OMNISIGHT_HTTP_PORT", http_s); hal_close(hal); return 1; }
    if (!(ids = identity_start((int)hp, handle_http, &sg, err, sizeof err))) { LOGE("%s", err); hal_close(hal); return 1; }
    /* On stdout so a launcher that asked for port 0 can learn the port. */
    printf("omnisight: identity endpoint http://127.0.0.1:%d/identity.cgi\n", identity_port(ids));
  }

  mosquitto_lib_init();
  char client_id[64];
  snprintf(client_id, sizeof client_id, "omnisight-%s", sg.serial);
  char mdir[600];
  model_dir(mdir, sizeof mdir);
  publisher pub = { .sg = &sg, .ack_mu = PTHREAD_MUTEX_INITIALIZER, .send_mu = PTHREAD_MUTEX_INITIALIZER };
  fl_client *fl = fl_open(&sg, mdir, publish_fl, &pub, err, sizeof err);
  if (!fl) { LOGE("%s", err); return 1; }
  pub.fl = fl;
  atomic_store(&g_fl, fl);
  snprintf(pub.topic_det, sizeof pub.topic_det, "axis/%s/omnisight/detections", sg.serial);
  snprintf(pub.topic_hb, sizeof pub.topic_hb, "axis/%s/omnisight/heartbeat", sg.serial);
  snprintf(pub.topic_fl, sizeof pub.topic_fl, "axis/%s/omnisight/fl", sg.serial);
  snprintf(pub.topic_session, sizeof pub.topic_session, "axis/%s/omnisight/session", sg.serial);
  snprintf(pub.topic_notice, sizeof pub.topic_notice, "omnisight/desktop/session/%s", sg.serial);
  pub.session_repeat_ms = session_repeat * 1000;
  pub.mq = mosquitto_new(client_id, true, &pub);
  if (!pub.mq) { LOGE("cannot create the MQTT client"); return 1; }
  mosquitto_int_option(pub.mq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  /* No Nagle: every QoS 1 exchange (a session announcement and its PUBACK, a heartbeat, an fl
   * answer) would otherwise wait for the broker's delayed ACK of the previous segment (40 ms on Linux). */
  if (mosquitto_int_option(pub.mq, MOSQ_OPT_TCP_NODELAY, 1) != MOSQ_ERR_SUCCESS) LOGW("cannot disable Nagle on the MQTT socket; QoS 1 exchanges may wait for delayed ACKs");
  mosquitto_connect_callback_set(pub.mq, on_connect);
  mosquitto_disconnect_callback_set(pub.mq, on_disconnect);
  mosquitto_message_callback_set(pub.mq, on_message);
  mosquitto_publish_callback_set(pub.mq, on_publish);
  mosquitto_reconnect_delay_set(pub.mq, 1, 10, true);
  int rc = mosquitto_connect_async(pub.mq, host, (int)port, 30);
  if (rc != MOSQ_ERR_SUCCESS) LOGW("MQTT broker %s:%ld not reachable yet (%s); retrying", host, port, mosquitto_strerror(rc));
  if (mosquitto_loop_start(pub.mq) != MOSQ_ERR_SUCCESS) { LOGE("cannot start the MQTT network thread"); return 1; }
  pthread_sigmask(SIG_SETMASK, &old, NULL);

  static stats_t st;
  st.start_ms = mono_ms();
  static hal_frame frame;
  static char body[ENVELOPE_MAX_BYTES / 2];
  int64_t next_hb = st.start_ms;
  int64_t last_reconnect = st.start_ms;
  int exit_code = 0;
  LOGI("running as camera %s, key %s, boot epoch %" PRIu32 ", broker %s:%ld", sg.serial, sg.key_id, sg.epoch, host, port);

  while (!g_stop) {
    int64_t now = mono_ms();
    if (!atomic_load(&g_connected) && rc != MOSQ_ERR_SUCCESS && now - last_reconnect >= 1000) {
      /* The first connect failed before the network thread owned the socket: retry it here. */
      last_reconnect = now;
      rc = mosquitto_reconnect_async(pub.mq);
    }
    if (atomic_exchange(&g_announce, 0) || now >= next_hb) {
      if (atomic_load(&g_connected)) {
        jbuf b;
        jb_init(&b, body, sizeof body);
        build_heartbeat(&b, &st, fl, now);
        publish(&pub, "heartbeat", b.buf, b.len, NULL);
      }
      next_hb = now + 1000;
      fl_tick(fl, now);
      if (atomic_load(&g_connected)) {
        /* A rotated key leaves its session behind: open one for the new key with the same desktop. */
        unsigned char dpk[32];
        pthread_mutex_lock(&pub.send_mu);
        uint32_t S = session_stale(&sg, dpk) ? session_open(&sg, dpk) : 0;
        if (session_due(&sg, now)) publish_session(&pub); /* every 30 s, so a desktop that missed it recovers */
        pthread_mutex_unlock(&pub.send_mu);
        if (S) LOGI("session %" PRIu32 " opened for the rotated key", S);
      }
    }
    int wait = (int)(next_hb - mono_ms());
    int r = hal_next(hal, &frame, wait < 0 ? 0 : wait);
    if (r < 0) { LOGE("the frame source failed; exiting so the system restarts the app"); exit_code = 1; break; }
    if (r == 0) continue;
    now = mono_ms();
    stats_add(&st, now, frame.inference_ms, frame.fps_camera);
    jbuf b;
    jb_init(&b, body, sizeof body);
    static float feats[HAL_MAX_OBS][HEAD_FEATURES];
    size_t kept = 0;
    build_detections(&b, &frame, &st, min_score, now, fl, feats, &kept);
    if (b.overflow) { LOGW("a detections body would exceed the limit; frame dropped"); continue; }
    if (atomic_load(&g_connected)) {
      uint64_t seq = 0;
      publish(&pub, "detections", b.buf, b.len, &seq);
      /* Awaiting the desktop's outcomes, which become this camera's labels (never sent anywhere). */
      if (seq && kept) fl_record(fl, sg.epoch, seq, (const float (*)[HEAD_FEATURES])feats, kept, now);
    }
  }

  LOGI("stopping");
  mosquitto_disconnect(pub.mq);
  mosquitto_loop_stop(pub.mq, false);
  mosquitto_destroy(pub.mq);
  mosquitto_lib_cleanup();
  identity_stop(ids);
  atomic_store(&g_fl, NULL);
  fl_close(fl);
  hal_close(hal);
  signer_wipe(&sg);
  LOGI("stopped");
  return exit_code;
}
