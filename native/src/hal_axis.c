/* Real-camera HAL: frames from VDO (NV12), colour conversion and scaling with a larod
 * preprocessing model, inference with larod on the DLPU (or CPU), SSD-style outputs decoded into
 * raw detections. Parameters come from axparameter (param.conf). Built only with the ACAP Native
 * SDK (make HAL=axis inside the SDK container); see native/README.md.
 *
 * Model contract (SSD MobileNet v2 TFLite with the detection post-processing op, as in Axis's
 * model zoo): input uint8 RGB interleaved MODEL_W x MODEL_H; outputs float32 boxes [1,N,4]
 * (ymin, xmin, ymax, xmax normalised), classes [1,N], scores [1,N], count [1]. */
#include "hal.h"
#include "log.h"

#include <axsdk/axparameter.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <larod.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <vdo-buffer.h>
#include <vdo-error.h>
#include <vdo-frame.h>
#include <vdo-map.h>
#include <vdo-stream.h>

#define APP_NAME "omnisight"
#define FRAME_W 640
#define FRAME_H 360
#define MODEL_W 300
#define MODEL_H 300
#define FPS 10.0
#define MODEL_PATH "/usr/local/packages/omnisight/model/model.tflite"

struct hal {
  AXParameter *params;
  GHashTable *param_cache; /* name → value (owned), so hal_param can return stable pointers */
  VdoStream *stream;
  int vdo_fd;
  larodConnection *conn;
  larodModel *pp, *model;
  larodTensor **pp_in, **pp_out, **out;
  size_t n_pp_in, n_pp_out, n_out;
  larodJobRequest *pp_req, *req;
  void *pp_in_map;
  size_t pp_in_size;
  float *out_map[4];
  size_t out_size[4];
  char device[40];
  unsigned pitch;   /* bytes per row of the VDO buffer (>= FRAME_W: rows may be padded) */
  size_t frame_bytes; /* NV12 with that pitch: pitch * height * 3 / 2 */
};

static int64_t ns_to_ms(const struct timespec *t) { return (int64_t)t->tv_sec * 1000 + t->tv_nsec / 1000000; }

static void *map_tensor(larodTensor *t, size_t *size, int prot) {
  larodError *e = NULL;
  int fd = larodGetTensorFd(t, &e);
  if (fd == LAROD_INVALID_FD) { larodClearError(&e); return NULL; }
  off_t end = lseek(fd, 0, SEEK_END);
  if (end <= 0) return NULL;
  *size = (size_t)end;
  void *p = mmap(NULL, *size, prot, MAP_SHARED, fd, 0);
  return p == MAP_FAILED ? NULL : p;
}

static int fail(char *err, size_t errlen, const char *what, larodError *le, GError *ge) {
  snprintf(err, errlen, "%s: %s", what, le ? le->msg : ge ? ge->message : "failed");
  larodClearError(&le);
  if (ge) g_error_free(ge);
  return -1;
}

static int open_vdo(hal_t *h, char *err, size_t errlen) {
  GError *ge = NULL;
  VdoMap *s = vdo_map_new();
  vdo_map_set_uint32(s, "format", VDO_FORMAT_YUV);
  vdo_map_set_string(s, "subformat", "NV12");
  vdo_map_set_uint32(s, "width", FRAME_W);
  vdo_map_set_uint32(s, "height", FRAME_H);
  vdo_map_set_double(s, "framerate", FPS);
  vdo_map_set_uint32(s, "buffer.count", 2);
  vdo_map_set_boolean(s, "socket.blocking", FALSE);
  h->stream = vdo_stream_new(s, NULL, &ge);
  g_object_unref(s);
  if (!h->stream) return fail(err, errlen, "vdo_stream_new", NULL, ge);
  if (!vdo_stream_start(h->stream, &ge)) return fail(err, errlen, "vdo_stream_start", NULL, ge);
  h->vdo_fd = vdo_stream_get_fd(h->stream, &ge);
  if (h->vdo_fd < 0) return fail(err, errlen, "vdo_stream_get_fd", NULL, ge);
  /* VDO may pad every row (the "pitch" of the stream's info map): the preprocessing must be told,
   * or every row after the first is read from the wrong offset. */
  VdoMap *info = vdo_stream_get_info(h->stream, &ge);
  if (!info) return fail(err, errlen, "vdo_stream_get_info", NULL, ge);
  h->pitch = vdo_map_get_uint32(info, "pitch", FRAME_W);
  unsigned height = vdo_map_get_uint32(info, "height", FRAME_H);
  g_object_unref(info);
  if (h->pitch < FRAME_W || height != FRAME_H) {
    snprintf(err, errlen, "VDO gave %u rows with a pitch of %u bytes; %dx%d NV12 was asked for", height, h->pitch, FRAME_W, FRAME_H);
    return -1;
  }
  h->frame_bytes = (size_t)h->pitch * FRAME_H * 3 / 2;
  return 0;
}

static int open_larod(hal_t *h, char *err, size_t errlen) {
  larodError *e = NULL;
  if (!larodConnect(&h->conn, &e)) return fail(err, errlen, "larodConnect", e, NULL);
  /* Prefer the DLPU of the chip we run on; fall back to the CPU so the app still runs. */
  static const char *const devices[] = {"axis-a8-dlpu-tflite", "a9-dlpu-tflite", "cpu-tflite"};
  const larodDevice *dev = NULL;
  for (size_t i = 0; i < sizeof devices / sizeof devices[0] && !dev; i++) {
    dev = larodGetDevice(h->conn, devices[i], 0, &e);
    larodClearError(&e);
    if (dev) snprintf(h->device, sizeof h->device, "%s", devices[i]);
  }
  if (!dev) return fail(err, errlen, "no larod inference device (tried DLPU and CPU)", NULL, NULL);
  int fd = open(MODEL_PATH, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { snprintf(err, errlen, "cannot open the model %s: %s", MODEL_PATH, strerror(errno)); return -1; }
  h->model = larodLoadModel(h->conn, fd, dev, LAROD_ACCESS_PRIVATE, APP_NAME, NULL, &e);
  close(fd);
  if (!h->model) return fail(err, errlen, "larodLoadModel", e, NULL);

  /* NV12 FRAME_WxFRAME_H → RGB MODEL_WxMODEL_H with larod's CPU image preprocessing. */
  larodMap *pm = larodCreateMap(&e);
  if (!pm) return fail(err, errlen, "larodCreateMap", e, NULL);
  larodMapSetStr(pm, "image.input.format", "nv12", &e);
  larodMapSetIntArr2(pm, "image.input.size", FRAME_W, FRAME_H, &e);
  larodMapSetInt(pm, "image.input.row-pitch", h->pitch, &e);
  larodMapSetStr(pm, "image.output.format", "rgb-interleaved", &e);
  larodMapSetIntArr2(pm, "image.output.size", MODEL_W, MODEL_H, &e);
  larodClearError(&e);
  const larodDevice *ppdev = larodGetDevice(h->conn, "cpu-proc", 0, &e);
  if (!ppdev) { larodDestroyMap(&pm); return fail(err, errlen, "larod cpu-proc device", e, NULL); }
  h->pp = larodLoadModel(h->conn, -1, ppdev, LAROD_ACCESS_PRIVATE, "", pm, &e);
  larodDestroyMap(&pm);
  if (!h->pp) return fail(err, errlen, "larod preprocessing model", e, NULL);

  if (!(h->pp_in = larodAllocModelInputs(h->conn, h->pp, 0, &h->n_pp_in, NULL, &e)) ||
      !(h->pp_out = larodAllocModelOutputs(h->conn, h->pp, 0, &h->n_pp_out, NULL, &e)) ||
      !(h->out = larodAllocModelOutputs(h->conn, h->model, 0, &h->n_out, NULL, &e)))
    return fail(err, errlen, "larod tensor allocation", e, NULL);
  if (h->n_out < 4) { snprintf(err, errlen, "the model has %zu outputs; an SSD model with 4 (boxes, classes, scores, count) is expected", h->n_out); return -1; }
  if (!(h->pp_in_map = map_tensor(h->pp_in[0], &h->pp_in_size, PROT_READ | PROT_WRITE))) { snprintf(err, errlen, "cannot map the preprocessing input"); return -1; }
  if (h->pp_in_size < h->frame_bytes) { snprintf(err, errlen, "the preprocessing input holds %zu bytes, a padded NV12 frame needs %zu", h->pp_in_size, h->frame_bytes); return -1; }
  for (int i = 0; i < 4; i++)
    if (!(h->out_map[i] = map_tensor(h->out[i], &h->out_size[i], PROT_READ))) { snprintf(err, errlen, "cannot map model output %d", i); return -1; }
  /* The preprocessing output tensors are the inference inputs: no copy between the two jobs. */
  h->pp_req = larodCreateJobRequest(h->pp, h->pp_in, h->n_pp_in, h->pp_out, h->n_pp_out, NULL, &e);
  if (!h->pp_req) return fail(err, errlen, "larodCreateJobRequest (preprocessing)", e, NULL);
  h->req = larodCreateJobRequest(h->model, h->pp_out, h->n_pp_out, h->out, h->n_out, NULL, &e);
  if (!h->req) return fail(err, errlen, "larodCreateJobRequest (inference)", e, NULL);
  return 0;
}

hal_t *hal_open(char *err, size_t errlen) {
  hal_t *h = calloc(1, sizeof *h);
  if (!h) { snprintf(err, errlen, "out of memory"); return NULL; }
  h->vdo_fd = -1;
  h->param_cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  GError *ge = NULL;
  h->params = ax_parameter_new(APP_NAME, &ge);
  if (!h->params) { LOGW("axparameter unavailable: %s", ge ? ge->message : "?"); if (ge) g_error_free(ge); }
  if (open_vdo(h, err, errlen) < 0 || open_larod(h, err, errlen) < 0) { hal_close(h); return NULL; }
  LOGI("VDO %dx%d NV12 at %.0f fps, larod device %s", FRAME_W, FRAME_H, FPS, h->device);
  return h;
}

/* COCO ids as the SSD model zoo numbers them (0 = person). */
static const char *coco_label(int id) {
  switch (id) {
    case 0: return "person";
    case 1: return "bicycle";
    case 2: return "car";
    case 3: return "motorcycle";
    case 5: return "bus";
    case 7: return "truck";
    case 14: return "bird";
    case 15: return "cat";
    case 16: return "dog";
    case 17: return "horse";
    default: return "other";
  }
}

int hal_next(hal_t *h, hal_frame *f, int timeout_ms) {
  struct pollfd p = { h->vdo_fd, POLLIN, 0 };
  int r = poll(&p, 1, timeout_ms);
  if (r < 0) return errno == EINTR ? 0 : -1;
  if (r == 0) return 0;
  GError *ge = NULL;
  VdoBuffer *buf = vdo_stream_get_buffer(h->stream, &ge);
  if (!buf) {
    int again = ge && g_error_matches(ge, VDO_ERROR, VDO_ERROR_NO_DATA);
    if (!again) LOGW("vdo_stream_get_buffer: %s", ge ? ge->message : "?");
    if (ge) g_error_free(ge);
    return again ? 0 : -1;
  }
  VdoFrame *frame = vdo_buffer_get_frame(buf);
  /* VDO stamps frames on the monotonic clock (µs); the protocol wants wall-clock ms. */
  struct timespec mono, wall;
  clock_gettime(CLOCK_MONOTONIC, &mono);
  clock_gettime(CLOCK_REALTIME, &wall);
  int64_t age_ms = ns_to_ms(&mono) - (int64_t)(vdo_frame_get_timestamp(frame) / 1000);
  size_t n = vdo_frame_get_size(frame);
  if (n < h->frame_bytes) {
    /* A short frame would leave stale rows in the input: skip it rather than infer on garbage. */
    LOGW("VDO frame of %zu bytes, %zu expected (pitch %u); skipped", n, h->frame_bytes, h->pitch);
    vdo_stream_buffer_unref(h->stream, &buf, NULL);
    return 0;
  }
  /* The whole padded frame, rows at the stream's pitch, as the preprocessing was configured. */
  memcpy(h->pp_in_map, vdo_buffer_get_data(buf), h->frame_bytes);
  vdo_stream_buffer_unref(h->stream, &buf, NULL);

  larodError *e = NULL;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (!larodRunJob(h->conn, h->pp_req, &e) || !larodRunJob(h->conn, h->req, &e)) {
    LOGW("larod job failed: %s", e ? e->msg : "?");
    larodClearError(&e);
    return 0;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);

  memset(f, 0, sizeof *f);
  f->timestamp_ms = ns_to_ms(&wall) - (age_ms > 0 ? age_ms : 0);
  f->width = FRAME_W;
  f->height = FRAME_H;
  f->fps_camera = FPS;
  f->inference_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
  const float *boxes = h->out_map[0], *classes = h->out_map[1], *scores = h->out_map[2];
  size_t cap = h->out_size[2] / sizeof(float);
  size_t count = (size_t)h->out_map[3][0];
  if (count > cap) count = cap;
  for (size_t i = 0; i < count && f->n < HAL_MAX_OBS; i++) {
    hal_detection *d = &f->det[f->n++];
    d->y1 = boxes[i * 4 + 0] * FRAME_H;
    d->x1 = boxes[i * 4 + 1] * FRAME_W;
    d->y2 = boxes[i * 4 + 2] * FRAME_H;
    d->x2 = boxes[i * 4 + 3] * FRAME_W;
    d->score = scores[i];
    snprintf(d->cls, sizeof d->cls, "%s", coco_label((int)classes[i]));
    d->track_id[0] = '\0'; /* no tracker on this path yet: the app assigns ids */
  }
  return 1;
}

const char *hal_model(const hal_t *h) { (void)h; return "ssd_mobilenet_v2"; }

const char *hal_param(hal_t *h, const char *name) {
  if (!h->params) return NULL;
  const char *cached = g_hash_table_lookup(h->param_cache, name);
  if (cached) return cached;
  gchar *value = NULL;
  GError *ge = NULL;
  if (!ax_parameter_get(h->params, name, &value, &ge)) { if (ge) g_error_free(ge); return NULL; }
  /* An empty CameraSerial means "ask the device" (unverified: needs read access to system params). */
  if (strcmp(name, "CameraSerial") == 0 && (!value || !*value)) {
    g_free(value);
    value = NULL;
    if (!ax_parameter_get(h->params, "root.Properties.System.SerialNumber", &value, &ge)) { if (ge) g_error_free(ge); return NULL; }
  }
  g_hash_table_insert(h->param_cache, g_strdup(name), value);
  return value;
}

void hal_close(hal_t *h) {
  if (!h) return;
  larodError *e = NULL;
  for (int i = 0; i < 4; i++) if (h->out_map[i]) munmap(h->out_map[i], h->out_size[i]);
  if (h->pp_in_map) munmap(h->pp_in_map, h->pp_in_size);
  larodDestroyJobRequest(&h->req);
  larodDestroyJobRequest(&h->pp_req);
  if (h->out) larodDestroyTensors(h->conn, &h->out, h->n_out, &e);
  if (h->pp_out) larodDestroyTensors(h->conn, &h->pp_out, h->n_pp_out, &e);
  if (h->pp_in) larodDestroyTensors(h->conn, &h->pp_in, h->n_pp_in, &e);
  larodDestroyModel(&h->model);
  larodDestroyModel(&h->pp);
  if (h->conn) larodDisconnect(&h->conn, &e);
  larodClearError(&e);
  if (h->stream) { vdo_stream_stop(h->stream); g_object_unref(h->stream); }
  if (h->params) ax_parameter_free(h->params);
  g_hash_table_destroy(h->param_cache);
  free(h);
}
