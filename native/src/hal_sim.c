/* Simulator HAL: the OmniSight camera simulator does the "inference" and feeds this program one
 * line of raw detections per processed frame (the line format is in native/README.md).
 * OMNISIGHT_SIM_DETECTIONS selects the source:
 *   tcp:127.0.0.1:<port>  the simulator listens, the app connects (and reconnects),
 *   <path of a FIFO>      reopened whenever the writer goes away,
 *   <path of a file>      read once, for replays and tests. */
#include "hal.h"
#include "json.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES (64 * 1024)
#define ARENA_BYTES (512 * 1024)
#define RECONNECT_MS 500

typedef enum { SRC_TCP, SRC_FIFO, SRC_FILE } src_kind;

struct hal {
  src_kind kind;
  char path[512];
  struct sockaddr_in addr;
  int fd;
  int finished;            /* a regular file was read to its end */
  int64_t next_attempt_ms; /* earliest time for the next (re)connect */
  char buf[LINE_MAX_BYTES + 1];
  size_t len;
  int discarding;          /* inside an over-long line: drop bytes up to the next newline */
  char model[48];
  unsigned long bad_lines;
  char *arena_mem;
};

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int parse_tcp(const char *spec, struct sockaddr_in *sa) {
  const char *hp = spec + 4; /* after "tcp:" */
  const char *colon = strrchr(hp, ':');
  if (!colon || colon == hp) return -1;
  char host[64];
  size_t hl = (size_t)(colon - hp);
  if (hl >= sizeof host) return -1;
  memcpy(host, hp, hl);
  host[hl] = '\0';
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end || port <= 0 || port > 65535) return -1;
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons((uint16_t)port);
  return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

hal_t *hal_open(char *err, size_t errlen) {
  const char *spec = getenv("OMNISIGHT_SIM_DETECTIONS");
  if (!spec || !*spec) {
    snprintf(err, errlen, "OMNISIGHT_SIM_DETECTIONS is not set: give tcp:127.0.0.1:<port>, or the path of a FIFO or file of raw detection lines");
    return NULL;
  }
  hal_t *h = calloc(1, sizeof *h);
  if (!h || !(h->arena_mem = malloc(ARENA_BYTES))) {
    free(h);
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  h->fd = -1;
  snprintf(h->model, sizeof h->model, "ssd_mobilenet_v2");
  if (strncmp(spec, "tcp:", 4) == 0) {
    if (parse_tcp(spec, &h->addr) < 0) {
      snprintf(err, errlen, "OMNISIGHT_SIM_DETECTIONS=%s: write it as tcp:<IPv4 address>:<port>, e.g. tcp:127.0.0.1:7001", spec);
      hal_close(h);
      return NULL;
    }
    h->kind = SRC_TCP;
  } else {
    struct stat st;
    if (stat(spec, &st) < 0) {
      snprintf(err, errlen, "OMNISIGHT_SIM_DETECTIONS=%s: %s; create the FIFO (mkfifo) or file first", spec, strerror(errno));
      hal_close(h);
      return NULL;
    }
    h->kind = S_ISFIFO(st.st_mode) ? SRC_FIFO : SRC_FILE;
    snprintf(h->path, sizeof h->path, "%s", spec);
  }
  return h;
}

static void close_src(hal_t *h) {
  if (h->fd >= 0) close(h->fd);
  h->fd = -1;
  h->len = 0;
  h->discarding = 0;
}

static void try_open(hal_t *h) {
  int64_t now = mono_ms();
  if (h->finished || now < h->next_attempt_ms) return;
  h->next_attempt_ms = now + RECONNECT_MS;
  if (h->kind == SRC_TCP) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    /* Loopback connect either succeeds or is refused at once: a blocking connect is fine here. */
    if (connect(fd, (struct sockaddr *)&h->addr, sizeof h->addr) < 0) { close(fd); return; }
    h->fd = fd;
    LOGI("detection source connected");
  } else {
    /* O_NONBLOCK so opening a FIFO does not wait for a writer (that would block heartbeats). */
    h->fd = open(h->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (h->fd < 0) LOGW("cannot open %s: %s", h->path, strerror(errno));
  }
}

static int copy_str(char *dst, size_t cap, const json_value *v) {
  if (!v) { dst[0] = '\0'; return 0; }
  if (v->type == JSON_STRING) {
    if (v->u.str.len >= cap) return -1;
    memcpy(dst, v->u.str.s, v->u.str.len + 1);
    return 0;
  }
  if (v->type == JSON_NUMBER && v->u.number >= 0 && v->u.number < 1e15) {
    snprintf(dst, cap, "%.0f", v->u.number);
    return 0;
  }
  return -1;
}

/* Turns one line into a frame. Returns 0, or -1 with a reason. */
static int parse_line(hal_t *h, const char *line, size_t len, hal_frame *f, char *why, size_t whylen) {
  json_arena arena = { h->arena_mem, ARENA_BYTES, 0 };
  json_value *root = json_parse(&arena, line, len, why, whylen);
  if (!root) return -1;
  if (root->type != JSON_OBJECT) { snprintf(why, whylen, "a line must be a JSON object"); return -1; }
  memset(f, 0, sizeof *f);
  double ts = json_get_number(root, "timestamp", -1);
  f->width = (int)json_get_number(root, "width", 0);
  f->height = (int)json_get_number(root, "height", 0);
  if (ts < 0 || ts > 9e15) { snprintf(why, whylen, "timestamp (ms since epoch) is missing"); return -1; }
  if (f->width <= 0 || f->height <= 0 || f->width > 16384 || f->height > 16384) {
    snprintf(why, whylen, "width and height must be positive pixel sizes"); return -1;
  }
  f->timestamp_ms = (int64_t)ts;
  f->inference_ms = json_get_number(root, "inference_ms", 0);
  f->fps_camera = json_get_number(root, "fps_camera", 0);
  const char *model = json_get_string(root, "model");
  if (model && strlen(model) < sizeof h->model) snprintf(h->model, sizeof h->model, "%s", model);

  const json_value *dets = json_get(root, "detections");
  if (dets && dets->type != JSON_ARRAY) { snprintf(why, whylen, "detections must be an array"); return -1; }
  for (const json_value *d = dets ? dets->u.kids.first : NULL; d; d = d->next) {
    if (f->n >= HAL_MAX_OBS) break; /* more than the envelope can carry: keep the first ones */
    const json_value *box = json_get(d, "box");
    if (!box || box->type != JSON_ARRAY || box->u.kids.count != 4) {
      snprintf(why, whylen, "detection.box must be [x1,y1,x2,y2] in pixels"); return -1;
    }
    float c[4];
    int i = 0;
    for (const json_value *k = box->u.kids.first; k; k = k->next, i++) {
      if (k->type != JSON_NUMBER) { snprintf(why, whylen, "detection.box values must be numbers"); return -1; }
      c[i] = (float)k->u.number;
    }
    hal_detection *o = &f->det[f->n];
    o->x1 = c[0]; o->y1 = c[1]; o->x2 = c[2]; o->y2 = c[3];
    o->score = (float)json_get_number(d, "score", 0);
    if (copy_str(o->cls, sizeof o->cls, json_get(d, "label")) < 0 ||
        copy_str(o->track_id, sizeof o->track_id, json_get(d, "track")) < 0) {
      snprintf(why, whylen, "detection.label/track must be short strings"); return -1;
    }
    f->n++;
  }
  const json_value *del = json_get(root, "deleted");
  for (const json_value *d = del && del->type == JSON_ARRAY ? del->u.kids.first : NULL; d; d = d->next) {
    if (f->n_deleted >= HAL_MAX_DELETED) break;
    if (copy_str(f->deleted[f->n_deleted], HAL_TRACK_LEN, d) == 0 && f->deleted[f->n_deleted][0]) f->n_deleted++;
  }
  return 0;
}

/* Takes one complete line out of the buffer. Returns 1 (frame), 0 (no complete line). */
static int take_line(hal_t *h, hal_frame *out) {
  for (;;) {
    char *nl = memchr(h->buf, '\n', h->len);
    if (!nl) return 0;
    size_t ll = (size_t)(nl - h->buf);
    int ok = 0;
    if (h->discarding) {
      h->discarding = 0;
    } else if (ll > 0 && !(ll == 1 && h->buf[0] == '\r')) {
      char why[160];
      if (parse_line(h, h->buf, ll, out, why, sizeof why) == 0) ok = 1;
      else if (h->bad_lines++ < 20) LOGW("skipped a detection line: %s", why);
    }
    memmove(h->buf, nl + 1, h->len - ll - 1);
    h->len -= ll + 1;
    if (ok) return 1;
  }
}

int hal_next(hal_t *h, hal_frame *out, int timeout_ms) {
  int64_t deadline = mono_ms() + timeout_ms;
  for (;;) {
    if (take_line(h, out)) return 1;
    int64_t left = deadline - mono_ms();
    if (left <= 0) return 0;
    if (h->fd < 0) try_open(h);
    if (h->fd < 0) {
      int64_t wait = h->finished ? left : (h->next_attempt_ms - mono_ms());
      if (wait > left) wait = left;
      if (wait > 0 && poll(NULL, 0, (int)wait) < 0 && errno == EINTR) return 0; /* a stop signal */
      continue;
    }
    struct pollfd p = { h->fd, POLLIN, 0 };
    int r = poll(&p, 1, (int)left);
    if (r < 0) { if (errno == EINTR) return 0; return -1; }
    if (r == 0) return 0;
    if (h->len == LINE_MAX_BYTES) {
      /* A line longer than the limit: drop what we have and skip to its end. */
      if (h->bad_lines++ < 20) LOGW("skipped a detection line longer than %d bytes", LINE_MAX_BYTES);
      h->len = 0;
      h->discarding = 1;
    }
    ssize_t n = read(h->fd, h->buf + h->len, LINE_MAX_BYTES - h->len);
    if (n > 0) { h->len += (size_t)n; continue; }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    /* End of stream: a file is done; a FIFO writer or TCP peer went away, so reopen later. */
    if (h->kind == SRC_FILE) {
      /* Keep the buffered lines: they are handed out by take_line() on the next turns. */
      if (h->len > 0 && h->len < LINE_MAX_BYTES && h->buf[h->len - 1] != '\n') h->buf[h->len++] = '\n';
      close(h->fd);
      h->fd = -1;
      h->finished = 1;
      LOGI("detection file read to its end");
    } else {
      LOGW("detection source closed; reconnecting");
      close_src(h);
      h->next_attempt_ms = mono_ms() + (h->kind == SRC_FIFO ? 50 : RECONNECT_MS);
    }
  }
}

const char *hal_model(const hal_t *h) { return h->model; }

const char *hal_param(hal_t *h, const char *name) {
  (void)h; (void)name;
  return NULL; /* the simulator passes everything through the environment */
}

void hal_close(hal_t *h) {
  if (!h) return;
  close_src(h);
  free(h->arena_mem);
  free(h);
}
