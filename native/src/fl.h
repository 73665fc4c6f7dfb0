/* The on-camera side of federated learning, fl2 (FL2-SPEC.md over FL-SPEC.md; docs/protocol.md "Federated learning"):
 *  - the confirmation head in use (loaded from the package's model/ folder or a round's result),
 *    which scores every detection and drops those below dropBelow;
 *  - the camera's own labelled data: detections it published, labelled by the desktop's outcomes,
 *    kept in a bounded file in the app's local data (never sent anywhere), 20 % held out;
 *  - the fl2 client (SecAgg+): advertise, Shamir shares in boxes to the ring neighbours, held set up
 *    until go, then local training + quantised, double-masked
 *    update, unmasking; only masked vectors and shares sealed to peers leave the camera.
 * Thread use: fl_on_message runs on the MQTT thread, fl_score/fl_record/fl_tick on the main thread;
 * one mutex guards the shared state. */
#ifndef OMNISIGHT_FL_H
#define OMNISIGHT_FL_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "head.h"
#include "json.h"

#define FL_LOCAL_CAP 5000      /* labelled samples kept */
#define FL_PENDING_CAP 4096    /* published detections awaiting their outcome */
#define FL_OUTCOME_TTL_MS 30000
#define FL_MAX_PEERS 200

typedef struct fl_client fl_client;
/* Signs body as an envelope v2 of kind "fl" and publishes it on axis/<SERIAL>/omnisight/fl (QoS 1). */
typedef void (*fl_publish_fn)(void *ctx, const char *body, size_t len);

/* model_dir: the package's model/ folder (may not exist). Loads the highest of: the package's
 * head-v<N>, the last adopted round result in local data, the built-in head. */
fl_client *fl_open(signer *sg, const char *model_dir, fl_publish_fn publish, void *ctx, char *err, size_t errlen);
void fl_close(fl_client *c);
/* The topics to subscribe (NULL-terminated, valid for the client's lifetime). */
const char *const *fl_topics(fl_client *c);
void fl_on_message(fl_client *c, const char *topic, const void *payload, size_t len, int64_t now_ms);
/* p(confirmed) of one detection under the head in use; *keep = p >= dropBelow. */
double fl_score(fl_client *c, const float x[HEAD_FEATURES], int *keep);
/* The detections of one published message (features by observation index), awaiting outcomes. */
void fl_record(fl_client *c, uint32_t epoch, uint64_t seq, const float (*x)[HEAD_FEATURES], size_t n, int64_t now_ms);
/* Expires old pending detections and round state, flushes local data. */
void fl_tick(fl_client *c, int64_t now_ms);
/* ,"model":{"name":…,"version":N},"head":{"version","heldOut","logLoss","accuracy"} for the heartbeat body. */
void fl_heartbeat_json(fl_client *c, jbuf *b);
/* The "model" object of identity.cgi (the simulator's agent reports the same shape): the head in use,
 * the local data counts, the built-in head against the one in use on the held-out samples, rounds. */
void fl_model_json(fl_client *c, jbuf *b);

#endif
