#include "identity.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define REQ_MAX 8192

struct identity_server {
  int fd, port;
  char *body;
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

static void reply(int fd, const char *status, const char *ctype, const char *body, int head_only) {
  char hdr[256];
  size_t blen = strlen(body);
  int n = snprintf(hdr, sizeof hdr,
                   "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
                   status, ctype, blen);
  send_all(fd, hdr, (size_t)n);
  if (!head_only) send_all(fd, body, blen);
}

static void serve_one(identity_server *s, int c) {
  /* Bounded read with a timeout, so one stuck client cannot hold the responder. */
  struct timeval tv = { 2, 0 };
  setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  char req[REQ_MAX + 1];
  size_t len = 0;
  while (len < REQ_MAX) {
    ssize_t r = recv(c, req + len, REQ_MAX - len, 0);
    if (r <= 0) break;
    len += (size_t)r;
    req[len] = '\0';
    if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n")) break;
  }
  req[len] = '\0';
  if (len == 0) return;
  char method[8], target[256];
  if (sscanf(req, "%7s %255s", method, target) != 2) {
    reply(c, "400 Bad Request", "text/plain", "bad request\n", 0);
    return;
  }
  int head = strcmp(method, "HEAD") == 0;
  if (!head && strcmp(method, "GET") != 0) {
    reply(c, "405 Method Not Allowed", "text/plain", "only GET\n", 0);
    return;
  }
  char *q = strchr(target, '?');
  if (q) *q = '\0';
  /* The camera's proxy may forward the full /local/omnisight/identity.cgi path or just the tail. */
  size_t tl = strlen(target);
  static const char tail[] = "/identity.cgi";
  int ok = strcmp(target, "/") == 0 || (tl >= sizeof tail - 1 && strcmp(target + tl - (sizeof tail - 1), tail) == 0);
  if (ok) reply(c, "200 OK", "application/json", s->body, head);
  else reply(c, "404 Not Found", "text/plain", "not found: try /local/omnisight/identity.cgi\n", head);
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

identity_server *identity_start(int port, const char *body, char *err, unsigned long errlen) {
  identity_server *s = calloc(1, sizeof *s);
  if (!s || !(s->body = strdup(body))) { free(s); snprintf(err, errlen, "out of memory"); return NULL; }
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
    free(s->body);
    free(s);
    return NULL;
  }
  s->port = ntohs(a.sin_port);
  if (pthread_create(&s->thread, NULL, run, s) != 0) {
    snprintf(err, errlen, "cannot start the identity thread");
    close(s->fd);
    free(s->body);
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
  free(s->body);
  free(s);
}
