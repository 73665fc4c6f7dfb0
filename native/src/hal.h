/* Hardware abstraction layer: where frames and raw detections come from.
 * Two implementations: hal_axis.c (VDO frames + larod inference on a real ARTPEC camera, built
 * with the ACAP Native SDK) and hal_sim.c (raw detections fed by the OmniSight camera simulator). */
#ifndef OMNISIGHT_HAL_H
#define OMNISIGHT_HAL_H

#include <stddef.h>
#include <stdint.h>

#define HAL_MAX_OBS 64
#define HAL_MAX_DELETED 32
#define HAL_CLASS_LEN 16
#define HAL_TRACK_LEN 24

/* One raw detection as the model reports it: a box in pixels of the processed frame. */
typedef struct {
  float x1, y1, x2, y2;
  char cls[HAL_CLASS_LEN];  /* model label, mapped to a scene-metadata class by the app */
  float score;              /* 0..1 */
  char track_id[HAL_TRACK_LEN]; /* empty when the source does not track */
} hal_detection;

typedef struct {
  int64_t timestamp_ms;     /* capture time of the frame the boxes belong to */
  int width, height;        /* pixel size of the processed frame */
  double inference_ms;
  double fps_camera;        /* frame rate the sensor delivers */
  size_t n;
  hal_detection det[HAL_MAX_OBS];
  size_t n_deleted;         /* tracks that ended with this frame */
  char deleted[HAL_MAX_DELETED][HAL_TRACK_LEN];
} hal_frame;

typedef struct hal hal_t;

/* Opens the source. Returns NULL with a message in err (saying what to fix) on failure. */
hal_t *hal_open(char *err, size_t errlen);
/* Waits up to timeout_ms for the next processed frame.
 * Returns 1 with *out filled, 0 on timeout (or a recoverable source hiccup), -1 on a fatal error. */
int hal_next(hal_t *h, hal_frame *out, int timeout_ms);
/* Model name reported in the heartbeat. */
const char *hal_model(const hal_t *h);
/* A configuration value the platform holds (AXIS: an application parameter from param.conf),
 * used when the matching environment variable is unset. NULL when unknown. */
const char *hal_param(hal_t *h, const char *name);
void hal_close(hal_t *h);

#endif
