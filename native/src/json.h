/* Minimal JSON reader (a DOM in a caller-owned arena) and writer helpers.
 * Written for the one job the app has: parse a bounded line of raw detections and emit
 * envelopes. Depth and size are bounded; nothing is allocated outside the arena. */
#ifndef OMNISIGHT_JSON_H
#define OMNISIGHT_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef enum { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json_value json_value;
struct json_value {
  json_type type;
  const char *key;      /* member name when this value sits in an object, else NULL */
  json_value *next;     /* next sibling in the parent array/object */
  union {
    int boolean;
    double number;
    struct { const char *s; size_t len; } str; /* NUL-terminated, len excludes the NUL */
    struct { json_value *first; size_t count; } kids;
  } u;
};

typedef struct {
  char *mem;
  size_t cap, used;
} json_arena;

/* Parses text[0..len). Returns the root or NULL; on failure err holds a short reason. */
json_value *json_parse(json_arena *arena, const char *text, size_t len, char *err, size_t errlen);

const json_value *json_get(const json_value *obj, const char *key);
/* Typed lookups: return def when the member is missing or of another type. */
double json_get_number(const json_value *obj, const char *key, double def);
const char *json_get_string(const json_value *obj, const char *key);

/* Output buffer that never overflows: once full, `overflow` is set and writes are dropped. */
typedef struct {
  char *buf;
  size_t cap, len;
  int overflow;
} jbuf;

void jb_init(jbuf *b, char *mem, size_t cap);
void jb_raw(jbuf *b, const char *s);
void jb_rawn(jbuf *b, const char *s, size_t n);
void jb_fmt(jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes s as a JSON string literal (quotes included), escaping per RFC 8259. */
void jb_str(jbuf *b, const char *s, size_t n);
/* Writes a finite double with up to `decimals` fraction digits, trailing zeros trimmed. */
void jb_num(jbuf *b, double v, int decimals);

#endif
