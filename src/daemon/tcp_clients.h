/* tcp_clients.h -- how many TCP connections each client holds on one worker,
 * so that one address cannot take every slot (tcp_max_per_client). */
#ifndef GSLBD_TCP_CLIENTS_H
#define GSLBD_TCP_CLIENTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct tcp_clients;

/* A table for at most @max_conns connections at once (the worker's
 * tcp_max_clients), each client allowed @per_client of them. A client is an
 * IPv4 address or an IPv6 /64 (one host gets a whole /64, so per /128 an
 * attacker would have no cap at all); IPv4-mapped IPv6 counts as IPv4. @seed
 * keys the hash so that nobody can pick addresses that collide. Load time;
 * the caller owns the result (tcp_clients_free). */
struct tcp_clients *tcp_clients_new(unsigned max_conns, unsigned per_client, uint64_t seed);

/* NULL is a no-op. */
void tcp_clients_free(struct tcp_clients *t);

/* Count one more connection from @peer: true if it is within the cap (and
 * is now counted), false if the client already holds @per_client (or the
 * table is full: more adds than @max_conns) and the connection must go.
 * No allocation. The worker thread that owns @t only. */
bool tcp_clients_add(struct tcp_clients *t, const struct sockaddr_storage *peer);

/* Forget one connection of @peer counted by tcp_clients_add. */
void tcp_clients_remove(struct tcp_clients *t, const struct sockaddr_storage *peer);

/* Connections counted for @peer's client now (tests, diagnostics). */
unsigned tcp_clients_count(const struct tcp_clients *t, const struct sockaddr_storage *peer);

#endif
