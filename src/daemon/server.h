/* server.h -- sockets and worker threads: moves bytes, knows no DNS. */
#ifndef GSLBD_SERVER_H
#define GSLBD_SERVER_H

#include <stdbool.h>

#include "data/conf.h"
#include "health/health.h"
#include "data/snapshot.h"

struct server;

/* Bind every listener of @conf (UDP and TCP, one SO_REUSEPORT socket pair
 * per worker) and log the addresses. @snap becomes the live snapshot; the
 * server owns it from now on. Returns NULL after logging on failure. Main
 * thread, before server_run. */
struct server *server_new(struct snapshot *snap, struct health_table *health);

/* Start the workers and run the main loop (signals: HUP reloads from
 * @conf_path, INT/TERM stop). Returns 0 after a clean stop. */
int server_run(struct server *srv, const char *conf_path);

/* Publish @snap as the live snapshot and free the old one once no worker can
 * hold it. Main thread. */
void server_swap(struct server *srv, struct snapshot *snap);

void server_free(struct server *srv);

#endif
