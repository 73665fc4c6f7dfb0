/* The confirmation head "omnisight.head.confirm.v1" (FL-SPEC.md): logistic regression over 13
 * features of one detection, p(confirmed) = σ(w·x + b). Pure functions, no I/O except the loader. */
#ifndef OMNISIGHT_HEAD_H
#define OMNISIGHT_HEAD_H

#include <stddef.h>
#include <stdint.h>

#include "flcrypto.h"

#define HEAD_NAME "omnisight.head.confirm.v1"
#define HEAD_FEATURES 13
#define HEAD_DROP_BELOW_DEFAULT 0.05

typedef struct {
  float theta[FL_DIM];  /* w_0 … w_12, b */
  uint32_t version;     /* 0 = the built-in head */
  uint32_t round;
  double drop_below;
  char source[32];      /* "built-in", "package", "round" */
} head_model;

typedef struct {
  float x[HEAD_FEATURES];
  uint8_t label;
} head_sample;

/* Version 0: w_0 = 4, b = -2, the rest 0 ("the detector's score, squashed"). */
void head_builtin(head_model *m);
/* [score, cx, cy, w, h, a, Human, Car, Truck, Bus, Bike, Animal, Other] from a normalised box. */
void head_features(float x[HEAD_FEATURES], double left, double top, double right, double bottom, const char *cls, double score);
double head_predict(const float theta[FL_DIM], const float x[HEAD_FEATURES]);
/* Mini-batch SGD on the mean log-loss, starting from theta (updated in place, in double). */
void head_train(double theta[FL_DIM], const head_sample *s, size_t n, int epochs, double lr, int batch);
/* log-loss (natural log, p clipped to [1e-7, 1 − 1e-7]), accuracy at 0.5, and at dropBelow: the share
 * of negatives still published and of positives kept. */
typedef struct { size_t n; double logloss, accuracy, false_published, true_kept; } head_metric;
head_metric head_eval(const float theta[FL_DIM], const head_sample *s, size_t n, double drop_below);
/* Loads the highest valid head-v<N>.bin + .json in dir (checked: 14 finite float32 LE, name,
 * version = N, features 13, dropBelow in [0, 1), sha256 when given). Returns 1 when one was loaded,
 * 0 when none; err names every newer pair skipped as invalid ("" when none was). */
int head_load_dir(head_model *m, const char *dir, char *err, size_t errlen);
/* Reads one .bin/.json pair (expected version N). */
int head_load_files(head_model *m, const char *bin_path, const char *json_path, uint32_t version, char *err, size_t errlen);

#endif
