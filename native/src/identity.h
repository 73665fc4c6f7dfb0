/* A tiny HTTP/1.1 responder bound to 127.0.0.1, so only the camera's own web server can reach it
 * (through the manifest's reverseProxy entries, which apply the camera's users and roles):
 *   GET  identity.cgi                          (reverse proxy access: viewer)
 *   GET  calibration.cgi                       (viewer)
 *   POST admin/identity.cgi?action=rotate      (admin)
 *   POST admin/calibration.cgi  {"points":…}   (admin)
 * A reverse proxy entry has one access level per path, so what needs an administrator lives
 * under admin/, and the app refuses those actions on the viewer paths. */
#ifndef OMNISIGHT_IDENTITY_H
#define OMNISIGHT_IDENTITY_H

#include <stddef.h>

#include "json.h"

typedef struct identity_server identity_server;

typedef struct {
  const char *method; /* GET, HEAD or POST */
  const char *path;   /* as forwarded, query removed */
  const char *query;  /* after '?', or "" */
  const char *body;
  size_t body_len;
} http_request;

/* Fills out (the body) and returns the HTTP status; *ctype defaults to application/json. */
typedef int (*http_handler)(void *ctx, const http_request *req, jbuf *out, const char **ctype);

/* port 0 picks a free port. Returns NULL with err on failure. */
identity_server *identity_start(int port, http_handler handler, void *ctx, char *err, unsigned long errlen);
int identity_port(const identity_server *s);
void identity_stop(identity_server *s);

#endif
