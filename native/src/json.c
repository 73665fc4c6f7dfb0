#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 32

typedef struct {
  const char *p, *end;
  json_arena *arena;
  const char *err;
  int depth;
} parser;

static void *arena_alloc(json_arena *a, size_t n) {
  size_t align = (a->used + 7u) & ~(size_t)7u;
  if (align > a->cap || a->cap - align < n) return NULL;
  a->used = align + n;
  return a->mem + align;
}

static void skip_ws(parser *ps) {
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')) ps->p++;
}

static json_value *new_value(parser *ps, json_type t) {
  json_value *v = arena_alloc(ps->arena, sizeof *v);
  if (!v) { ps->err = "input too large for the parse arena"; return NULL; }
  memset(v, 0, sizeof *v);
  v->type = t;
  return v;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int read_hex4(parser *ps, unsigned *out) {
  if (ps->end - ps->p < 4) return -1;
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval(ps->p[i]);
    if (h < 0) return -1;
    v = (v << 4) | (unsigned)h;
  }
  ps->p += 4;
  *out = v;
  return 0;
}

/* Decodes a string literal (ps->p at the opening quote) into the arena. The decoded form is never
 * longer than the source, so the source length bounds the allocation. */
static const char *parse_string(parser *ps, size_t *len_out) {
  ps->p++; /* opening quote */
  const char *start = ps->p;
  const char *q = start;
  while (q < ps->end && *q != '"') q += (*q == '\\' && q + 1 < ps->end) ? 2 : 1;
  if (q >= ps->end) { ps->err = "unterminated string"; return NULL; }
  char *out = arena_alloc(ps->arena, (size_t)(q - start) + 1);
  if (!out) { ps->err = "input too large for the parse arena"; return NULL; }
  size_t n = 0;
  while (ps->p < ps->end && *ps->p != '"') {
    unsigned char c = (unsigned char)*ps->p++;
    if (c < 0x20) { ps->err = "control character in string"; return NULL; }
    if (c != '\\') { out[n++] = (char)c; continue; }
    if (ps->p >= ps->end) { ps->err = "bad escape"; return NULL; }
    char e = *ps->p++;
    switch (e) {
      case '"': out[n++] = '"'; break;
      case '\\': out[n++] = '\\'; break;
      case '/': out[n++] = '/'; break;
      case 'b': out[n++] = '\b'; break;
      case 'f': out[n++] = '\f'; break;
      case 'n': out[n++] = '\n'; break;
      case 'r': out[n++] = '\r'; break;
      case 't': out[n++] = '\t'; break;
      case 'u': {
        unsigned cp;
        if (read_hex4(ps, &cp) < 0) { ps->err = "bad \\u escape"; return NULL; }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          unsigned lo;
          if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u') { ps->err = "lone surrogate"; return NULL; }
          ps->p += 2;
          if (read_hex4(ps, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF) { ps->err = "lone surrogate"; return NULL; }
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          ps->err = "lone surrogate"; return NULL;
        }
        /* \uXXXX (6 source bytes) encodes to at most 3 bytes; a pair (12 bytes) to 4: fits. */
        if (cp < 0x80) out[n++] = (char)cp;
        else if (cp < 0x800) { out[n++] = (char)(0xC0 | (cp >> 6)); out[n++] = (char)(0x80 | (cp & 0x3F)); }
        else if (cp < 0x10000) {
          out[n++] = (char)(0xE0 | (cp >> 12)); out[n++] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[n++] = (char)(0x80 | (cp & 0x3F));
        } else {
          out[n++] = (char)(0xF0 | (cp >> 18)); out[n++] = (char)(0x80 | ((cp >> 12) & 0x3F));
          out[n++] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[n++] = (char)(0x80 | (cp & 0x3F));
        }
        break;
      }
      default: ps->err = "bad escape"; return NULL;
    }
  }
  ps->p++; /* closing quote */
  out[n] = '\0';
  *len_out = n;
  return out;
}

static json_value *parse_value(parser *ps);

static json_value *parse_container(parser *ps, int is_object) {
  if (++ps->depth > JSON_MAX_DEPTH) { ps->err = "nesting too deep"; return NULL; }
  json_value *v = new_value(ps, is_object ? JSON_OBJECT : JSON_ARRAY);
  if (!v) return NULL;
  char close = is_object ? '}' : ']';
  ps->p++;
  skip_ws(ps);
  json_value **tail = &v->u.kids.first;
  if (ps->p < ps->end && *ps->p == close) { ps->p++; ps->depth--; return v; }
  for (;;) {
    const char *key = NULL;
    skip_ws(ps);
    if (is_object) {
      size_t klen;
      if (ps->p >= ps->end || *ps->p != '"') { ps->err = "expected a member name"; return NULL; }
      if (!(key = parse_string(ps, &klen))) return NULL;
      skip_ws(ps);
      if (ps->p >= ps->end || *ps->p != ':') { ps->err = "expected ':'"; return NULL; }
      ps->p++;
    }
    json_value *kid = parse_value(ps);
    if (!kid) return NULL;
    kid->key = key;
    *tail = kid;
    tail = &kid->next;
    v->u.kids.count++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
    if (ps->p < ps->end && *ps->p == close) { ps->p++; break; }
    ps->err = is_object ? "expected ',' or '}'" : "expected ',' or ']'";
    return NULL;
  }
  ps->depth--;
  return v;
}

static json_value *parse_number(parser *ps) {
  /* Validate the RFC 8259 grammar first; strtod alone would accept hex, inf and nan. */
  const char *s = ps->p;
  if (s < ps->end && *s == '-') s++;
  if (s >= ps->end) { ps->err = "bad number"; return NULL; }
  if (*s == '0') s++;
  else if (*s >= '1' && *s <= '9') while (s < ps->end && *s >= '0' && *s <= '9') s++;
  else { ps->err = "bad number"; return NULL; }
  if (s < ps->end && *s == '.') {
    s++;
    if (s >= ps->end || *s < '0' || *s > '9') { ps->err = "bad number"; return NULL; }
    while (s < ps->end && *s >= '0' && *s <= '9') s++;
  }
  if (s < ps->end && (*s == 'e' || *s == 'E')) {
    s++;
    if (s < ps->end && (*s == '+' || *s == '-')) s++;
    if (s >= ps->end || *s < '0' || *s > '9') { ps->err = "bad number"; return NULL; }
    while (s < ps->end && *s >= '0' && *s <= '9') s++;
  }
  char tmp[64];
  size_t n = (size_t)(s - ps->p);
  if (n >= sizeof tmp) { ps->err = "number too long"; return NULL; }
  memcpy(tmp, ps->p, n);
  tmp[n] = '\0';
  json_value *v = new_value(ps, JSON_NUMBER);
  if (!v) return NULL;
  v->u.number = strtod(tmp, NULL);
  ps->p = s;
  return v;
}

static int match_word(parser *ps, const char *w) {
  size_t n = strlen(w);
  if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0) return 0;
  ps->p += n;
  return 1;
}

static json_value *parse_value(parser *ps) {
  skip_ws(ps);
  if (ps->p >= ps->end) { ps->err = "unexpected end of input"; return NULL; }
  switch (*ps->p) {
    case '{': return parse_container(ps, 1);
    case '[': return parse_container(ps, 0);
    case '"': {
      json_value *v = new_value(ps, JSON_STRING);
      if (!v) return NULL;
      if (!(v->u.str.s = parse_string(ps, &v->u.str.len))) return NULL;
      return v;
    }
    case 't': case 'f': {
      json_value *v = new_value(ps, JSON_BOOL);
      if (!v) return NULL;
      if (match_word(ps, "true")) v->u.boolean = 1;
      else if (match_word(ps, "false")) v->u.boolean = 0;
      else { ps->err = "unexpected word"; return NULL; }
      return v;
    }
    case 'n':
      if (!match_word(ps, "null")) { ps->err = "unexpected word"; return NULL; }
      return new_value(ps, JSON_NULL);
    default:
      return parse_number(ps);
  }
}

json_value *json_parse(json_arena *arena, const char *text, size_t len, char *err, size_t errlen) {
  parser ps = { text, text + len, arena, NULL, 0 };
  json_value *root = parse_value(&ps);
  if (root) {
    skip_ws(&ps);
    if (ps.p != ps.end) { ps.err = "trailing characters after the value"; root = NULL; }
  }
  if (!root && err && errlen) snprintf(err, errlen, "%s at offset %ld", ps.err ? ps.err : "parse error", (long)(ps.p - text));
  return root;
}

const json_value *json_get(const json_value *obj, const char *key) {
  if (!obj || obj->type != JSON_OBJECT) return NULL;
  for (const json_value *k = obj->u.kids.first; k; k = k->next)
    if (k->key && strcmp(k->key, key) == 0) return k;
  return NULL;
}

double json_get_number(const json_value *obj, const char *key, double def) {
  const json_value *v = json_get(obj, key);
  return v && v->type == JSON_NUMBER ? v->u.number : def;
}

const char *json_get_string(const json_value *obj, const char *key) {
  const json_value *v = json_get(obj, key);
  return v && v->type == JSON_STRING ? v->u.str.s : NULL;
}

void jb_init(jbuf *b, char *mem, size_t cap) {
  b->buf = mem; b->cap = cap; b->len = 0; b->overflow = 0;
  if (cap) mem[0] = '\0';
}

void jb_rawn(jbuf *b, const char *s, size_t n) {
  if (b->overflow) return;
  if (b->cap - b->len <= n) { b->overflow = 1; return; }
  memcpy(b->buf + b->len, s, n);
  b->len += n;
  b->buf[b->len] = '\0';
}

void jb_raw(jbuf *b, const char *s) { jb_rawn(b, s, strlen(s)); }

void jb_fmt(jbuf *b, const char *fmt, ...) {
  if (b->overflow) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= b->cap - b->len) { b->overflow = 1; b->buf[b->len] = '\0'; return; }
  b->len += (size_t)n;
}

void jb_str(jbuf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  jb_raw(b, "\"");
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    switch (c) {
      case '"': jb_raw(b, "\\\""); break;
      case '\\': jb_raw(b, "\\\\"); break;
      case '\n': jb_raw(b, "\\n"); break;
      case '\r': jb_raw(b, "\\r"); break;
      case '\t': jb_raw(b, "\\t"); break;
      case '\b': jb_raw(b, "\\b"); break;
      case '\f': jb_raw(b, "\\f"); break;
      default:
        if (c < 0x20) {
          char u[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };
          jb_raw(b, u);
        } else {
          jb_rawn(b, (const char *)&s[i], 1);
        }
    }
  }
  jb_raw(b, "\"");
}

void jb_num(jbuf *b, double v, int decimals) {
  if (!isfinite(v)) { jb_raw(b, "0"); return; }
  char tmp[64];
  int n = snprintf(tmp, sizeof tmp, "%.*f", decimals, v);
  if (n <= 0 || (size_t)n >= sizeof tmp) { jb_raw(b, "0"); return; }
  if (strchr(tmp, '.')) {
    while (n > 0 && tmp[n - 1] == '0') tmp[--n] = '\0';
    if (n > 0 && tmp[n - 1] == '.') tmp[--n] = '\0';
  }
  if (strcmp(tmp, "-0") == 0) strcpy(tmp, "0");
  jb_raw(b, tmp);
}
