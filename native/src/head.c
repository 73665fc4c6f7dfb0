#include "head.h"
#include "json.h"

#include <dirent.h>
#include <sodium.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const CLASSES[7] = { "Human", "Car", "Truck", "Bus", "Bike", "Animal", "Other" };

void head_builtin(head_model *m) {
  memset(m, 0, sizeof *m);
  m->theta[0] = 4.0f;
  m->theta[FL_DIM - 1] = -2.0f;
  m->drop_below = HEAD_DROP_BELOW_DEFAULT;
  snprintf(m->source, sizeof m->source, "built-in");
}

void head_features(float x[HEAD_FEATURES], double left, double top, double right, double bottom, const char *cls, double score) {
  double w = right - left, h = bottom - top;
  double a = (w > 0 && h > 0) ? log(w / h) : 0;
  a = a < -3 ? -3 : a > 3 ? 3 : a;
  x[0] = (float)score;
  x[1] = (float)((left + right) / 2);
  x[2] = (float)((top + bottom) / 2);
  x[3] = (float)w;
  x[4] = (float)h;
  x[5] = (float)(a / 3);
  int k = 6;
  for (int i = 0; i < 7; i++) x[6 + i] = 0;
  for (int i = 0; i < 7; i++)
    if (strcmp(cls, CLASSES[i]) == 0) k = i;
  x[6 + k] = 1; /* an unknown class counts as Other */
}

static double sigmoid(double z) { return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z)); }

double head_predict(const float theta[FL_DIM], const float x[HEAD_FEATURES]) {
  double z = theta[FL_DIM - 1];
  for (int i = 0; i < HEAD_FEATURES; i++) z += (double)theta[i] * x[i];
  return sigmoid(z);
}

void head_train(double theta[FL_DIM], const head_sample *s, size_t n, int epochs, double lr, int batch) {
  if (n == 0 || batch < 1) return;
  double g[FL_DIM];
  for (int e = 0; e < epochs; e++) {
    for (size_t start = 0; start < n; start += (size_t)batch) {
      size_t end = start + (size_t)batch < n ? start + (size_t)batch : n;
      memset(g, 0, sizeof g);
      for (size_t k = start; k < end; k++) {
        double z = theta[FL_DIM - 1];
        for (int i = 0; i < HEAD_FEATURES; i++) z += theta[i] * s[k].x[i];
        double err = sigmoid(z) - s[k].label; /* d(log-loss)/dz */
        for (int i = 0; i < HEAD_FEATURES; i++) g[i] += err * s[k].x[i];
        g[FL_DIM - 1] += err;
      }
      double m = (double)(end - start);
      for (int i = 0; i < FL_DIM; i++) theta[i] -= lr * g[i] / m;
    }
  }
}

head_metric head_eval(const float theta[FL_DIM], const head_sample *s, size_t n, double drop_below) {
  head_metric r = { n, 0, 0, 0, 0 };
  if (!n) return r;
  double loss = 0;
  size_t right = 0, pos = 0, kept = 0, neg = 0, published = 0;
  for (size_t k = 0; k < n; k++) {
    double p = head_predict(theta, s[k].x);
    double pc = p < 1e-7 ? 1e-7 : p > 1 - 1e-7 ? 1 - 1e-7 : p;
    loss += s[k].label ? -log(pc) : -log(1 - pc);
    if ((p >= 0.5) == (s[k].label == 1)) right++;
    if (s[k].label) { pos++; kept += p >= drop_below; }
    else { neg++; published += p >= drop_below; }
  }
  r.logloss = loss / (double)n;
  r.accuracy = (double)right / (double)n;
  r.false_published = neg ? (double)published / (double)neg : 0;
  r.true_kept = pos ? (double)kept / (double)pos : 0;
  return r;
}

static long read_small(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  size_t n = fread(buf, 1, cap, f);
  int more = fgetc(f) != EOF;
  fclose(f);
  return more ? -2 : (long)n;
}

int head_load_files(head_model *m, const char *bin_path, const char *json_path, uint32_t version, char *err, size_t errlen) {
  unsigned char bin[FL_DIM * 4];
  long n = read_small(bin_path, (char *)bin, sizeof bin);
  if (n != (long)sizeof bin) {
    snprintf(err, errlen, "%s: %s (a head is %d float32 little-endian, %zu bytes)", bin_path, n == -1 ? strerror(errno) : "wrong size", FL_DIM, sizeof bin);
    return -1;
  }
  char text[2048];
  n = read_small(json_path, text, sizeof text);
  if (n < 0) { snprintf(err, errlen, "%s: %s", json_path, n == -1 ? strerror(errno) : "larger than 2 KiB"); return -1; }
  char mem[8192];
  json_arena arena = { mem, sizeof mem, 0 };
  char perr[96];
  json_value *root = json_parse(&arena, text, (size_t)n, perr, sizeof perr);
  if (!root || root->type != JSON_OBJECT) { snprintf(err, errlen, "%s is not a JSON object (%s)", json_path, root ? "wrong type" : perr); return -1; }
  const char *name = json_get_string(root, "name");
  if (!name || strcmp(name, HEAD_NAME) != 0) { snprintf(err, errlen, "%s: name is not %s", json_path, HEAD_NAME); return -1; }
  double v = json_get_number(root, "version", -1);
  if (v != (double)version) { snprintf(err, errlen, "%s: version %g does not match its file name (v%u)", json_path, v, version); return -1; }
  double feats = json_get_number(root, "features", -1);
  if (feats != HEAD_FEATURES) { snprintf(err, errlen, "%s: features must be %d", json_path, HEAD_FEATURES); return -1; }
  double drop = json_get_number(root, "dropBelow", HEAD_DROP_BELOW_DEFAULT);
  if (!(drop >= 0 && drop < 1)) { snprintf(err, errlen, "%s: dropBelow must be in [0, 1)", json_path); return -1; }
  double round = json_get_number(root, "round", 0);
  const char *sha = json_get_string(root, "sha256");
  if (sha) { /* optional: the deploy's record of the .bin it shipped */
    unsigned char h[crypto_hash_sha256_BYTES];
    char hexd[2 * crypto_hash_sha256_BYTES + 1];
    crypto_hash_sha256(h, bin, sizeof bin);
    sodium_bin2hex(hexd, sizeof hexd, h, sizeof h);
    if (strcmp(sha, hexd) != 0) { snprintf(err, errlen, "%s: sha256 does not match %s", json_path, bin_path); return -1; }
  }
  head_model out;
  memset(&out, 0, sizeof out);
  for (int i = 0; i < FL_DIM; i++) {
    uint32_t w = (uint32_t)bin[4 * i] | (uint32_t)bin[4 * i + 1] << 8 | (uint32_t)bin[4 * i + 2] << 16 | (uint32_t)bin[4 * i + 3] << 24;
    memcpy(&out.theta[i], &w, 4);
    if (!isfinite(out.theta[i]) || fabsf(out.theta[i]) > 1e6f) { snprintf(err, errlen, "%s: parameter %d is not a finite number below 1e6", bin_path, i); return -1; }
  }
  out.version = version;
  out.round = round >= 0 && round < 4294967296.0 ? (uint32_t)round : 0;
  out.drop_below = drop;
  *m = out;
  return 0;
}

int head_load_dir(head_model *m, const char *dir, char *err, size_t errlen) {
  if (errlen) err[0] = '\0';
  DIR *d = opendir(dir);
  if (!d) return 0;
  uint32_t versions[64];
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < sizeof versions / sizeof versions[0]) {
    unsigned v;
    int used = 0;
    if (sscanf(e->d_name, "head-v%9u.bin%n", &v, &used) == 1 && e->d_name[used] == '\0' && e->d_name[6] >= '0' && e->d_name[6] <= '9') versions[n++] = v;
  }
  closedir(d);
  /* The highest valid version wins; a damaged newer pair is reported and skipped, not fatal. */
  for (;;) {
    size_t best = n;
    for (size_t i = 0; i < n; i++)
      if (best == n || versions[i] > versions[best]) best = i;
    if (best == n) return 0;
    char bin[600], json[600], why[300];
    snprintf(bin, sizeof bin, "%s/head-v%u.bin", dir, versions[best]);
    snprintf(json, sizeof json, "%s/head-v%u.json", dir, versions[best]);
    if (head_load_files(m, bin, json, versions[best], why, sizeof why) == 0) return 1;
    size_t used = strlen(err);
    if (used + 1 < errlen) snprintf(err + used, errlen - used, "%s%s", used ? "; " : "", why);
    versions[best] = versions[--n];
  }
}
