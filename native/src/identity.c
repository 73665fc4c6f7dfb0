#include "identity.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define HEAD_MAX 8192
#define BODY_MAX (16 * 1024)
#define REPLY_MAX (32 * 1024)

struct identity_server {
  int fd, port;
  http_handler handler;
  void *ctx;
  pthread_t thread;
  atomic_int stop;
};

static void send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) { if (w < 0 && errno == EINTR) continue; return; }
    p += w;
    n -= (size_t)w;
  }
}

static const char *reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    default: return "Internal Server Error";
  }
}

static void reply(int fd, int status, const char *ctype, const char *body, size_t blen, int head_only) {
  char hdr[256];
  int n = snprintf(hdr, sizeof hdr,
                   "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
                   status, reason(status), ctype, blen);
  send_all(fd, hdr, (size_t)n);
  if (!head_only) send_all(fd, body, blen);
}

static void serve_one(identity_server *s, int c) {
  /* Bounded reads with a timeout, so one stuck client cannot hold the responder. */
  struct timeval tv = { 2, 0 };
  setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  static char req[HEAD_MAX + BODY_MAX + 1];
  size_t len = 0;
  char *body = NULL;
  while (len < HEAD_MAX) {
    ssize_t r = recv(c, req + len, HEAD_MAX - len, 0);
    if (r <= 0) break;
    len += (size_t)r;
    req[len] = '\0';
    if ((body = strstr(req, "\r\n\r\n"))) { body += 4; break; }
  }
  req[len] = '\0';
  if (len == 0) return;
  if (!body) { reply(c, 400, "text/plain", "bad request\n", 12, 0); return; }
  char method[8], target[512];
  if (sscanf(req, "%7s %511s", method, target) != 2) { reply(c, 400, "text/plain", "bad request\n", 12, 0); return; }
  /* Content-Length (case-insensitive header name); no chunked bodies. */
  size_t clen = 0;
  for (char *h = strstr(req, "\r\n"); h && h + 2 < body; h = strstr(h + 2, "\r\n")) {
    if (strncasecmp(h + 2, "Content-Length:", 15) == 0) clen = strtoul(h + 17, NULL, 10);
    if (strncasecmp(h + 2, "Transfer-Encoding:", 18) == 0) { reply(c, 400, "text/plain", "send a Content-Length body\n", 27, 0); return; }
  }
  if (clen > BODY_MAX) { reply(c, 413, "text/plain", "body too large (16 KiB at most)\n", 32, 0); return; }
  size_t have = len - (size_t)(body - req);
  while (have < clen) {
    ssize_t r = recv(c, body + have, clen - have, 0);
    if (r <= 0) break;
    have += (size_t)r;
  }
  if (have < clen) { reply(c, 400, "text/plain", "body shorter than Content-Length\n", 33, 0); return; }
  body[clen] = '\0';
  char *q = strchr(target, '?');
  const char *query = "";
  if (q) { *q = '\0'; query = q + 1; }
  http_request hr = { method, target, query, body, clen };
  static char out_mem[REPLY_MAX];
  jbuf out;
  jb_init(&out, out_mem, sizeof out_mem);
  const char *ctype = "application/json";
  int status = s->handler(s->ctx, &hr, &out, &ctype);
  if (out.overflow) { status = 500; out.len = 0; }
  reply(c, status, ctype, out.buf, out.len, strcmp(method, "HEAD") == 0);
}

static void *run(void *arg) {
  identity_server *s = arg;
  while (!atomic_load(&s->stop)) {
    struct pollfd p = { s->fd, POLLIN, 0 };
    int r = poll(&p, 1, 200); /* wake up regularly to see the stop flag */
    if (r <= 0) continue;
    int c = accept(s->fd, NULL, NULL);
    if (c < 0) continue;
    serve_one(s, c);
    close(c);
  }
  return NULL;
}

identity_server *identity_start(int port, http_handler handler, void *ctx, char *err, unsigned long errlen) {
  identity_server *s = calloc(1, sizeof *s);
  if (!s) { snprintf(err, errlen, "out of memory"); return NULL; }
  s->handler = handler;
  s->ctx = ctx;
  s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(s->fd, 8) < 0 ||
      getsockname(s->fd, (struct sockaddr *)&a, &al) < 0) {
    snprintf(err, errlen, "cannot listen on 127.0.0.1:%d for identity.cgi: %s; set OMNISIGHT_HTTP_PORT to a free port (0 = any)", port, strerror(errno));
    if (s->fd >= 0) close(s->fd);
    free(s);
    return NULL;
  }
  s->port = ntohs(a.sin_port);
  if (pthread_create(&s->thread, NULL, run, s) != 0) {
    snprintf(err, errlen, "cannot start the identity thread");
    close(s->fd);
    free(s);
    return NULL;
  }
  return s;
}

int identity_port(const identity_server *s) { return s->port; }

void identity_stop(identity_server *s) {
  if (!s) return;
  atomic_store(&s->stop, 1);
  pthread_join(s->thread, NULL);
  close(s->fd);
  free(s);
}
