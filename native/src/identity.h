/* A tiny HTTP/1.1 responder for GET identity.cgi, bound to 127.0.0.1 so only the camera's own web
 * server (through the manifest's reverseProxy entry) can reach it. */
#ifndef OMNISIGHT_IDENTITY_H
#define OMNISIGHT_IDENTITY_H

typedef struct identity_server identity_server;

/* port 0 picks a free port. body is the JSON reply (copied). Returns NULL with err on failure. */
identity_server *identity_start(int port, const char *body, char *err, unsigned long errlen);
int identity_port(const identity_server *s);
void identity_stop(identity_server *s);

#endif
