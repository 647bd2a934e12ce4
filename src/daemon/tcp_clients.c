/* tcp_clients.c -- per-client TCP connection counts of one worker: an open
 * addressing table (linear probing, backward-shift deletion, so no
 * tombstones pile up under churn) sized at load time for twice the worker's
 * connection limit, so it is never more than half full and accept() never
 * allocates. */
#include "config.h"

#include <netinet/in.h>
#include <string.h>

#include "daemon/tcp_clients.h"
#include "util/mem.h"

struct slot {
	uint8_t key[16]; /* IPv4 as ::ffff:a.b.c.d, IPv6 as its /64 */
	uint32_t count;	 /* 0: empty */
};

struct tcp_clients {
	struct slot *slots;
	size_t mask;
	size_t used;
	size_t max_used;
	unsigned per_client;
	uint64_t seed;
};

static void client_key(uint8_t key[16], const struct sockaddr_storage *peer)
{
	memset(key, 0, 16);
	if (peer->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)peer)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(key, a->s6_addr, 16);
		} else {
			memcpy(key, a->s6_addr, 8);
		}
	} else if (peer->ss_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)peer)->sin_addr, 4);
	}
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static size_t home(const struct tcp_clients *t, const uint8_t key[16])
{
	uint64_t a, b;

	memcpy(&a, key, 8);
	memcpy(&b, key + 8, 8);
	return (size_t)(mix(a ^ t->seed) ^ mix(b + (t->seed | 1) * 0x9E3779B97F4A7C15ULL)) &
	       t->mask;
}

/* The slot holding @key, or the empty slot where it would go. */
static size_t find(const struct tcp_clients *t, const uint8_t key[16])
{
	size_t i = home(t, key);

	while (t->slots[i].count && memcmp(t->slots[i].key, key, 16) != 0) {
		i = (i + 1) & t->mask;
	}
	return i;
}

struct tcp_clients *tcp_clients_new(unsigned max_conns, unsigned per_client, uint64_t seed)
{
	struct tcp_clients *t = xcalloc(1, sizeof(*t));
	size_t size = 16;

	while (size < 2 * (size_t)max_conns) {
		size *= 2;
	}
	t->slots = xcalloc(size, sizeof(*t->slots));
	t->mask = size - 1;
	t->max_used = size / 2;
	t->per_client = per_client ? per_client : 1;
	t->seed = seed;
	return t;
}

void tcp_clients_free(struct tcp_clients *t)
{
	if (!t) {
		return;
	}
	free(t->slots);
	free(t);
}

bool tcp_clients_add(struct tcp_clients *t, const struct sockaddr_storage *peer)
{
	uint8_t key[16];
	size_t i;

	client_key(key, peer);
	i = find(t, key);
	if (t->slots[i].count) {
		if (t->slots[i].count >= t->per_client) {
			return false;
		}
		t->slots[i].count++;
		return true;
	}
	if (t->used >= t->max_used) {
		return false; /* more connections than the table was made for */
	}
	memcpy(t->slots[i].key, key, 16);
	t->slots[i].count = 1;
	t->used++;
	return true;
}

void tcp_clients_remove(struct tcp_clients *t, const struct sockaddr_storage *peer)
{
	uint8_t key[16];
	size_t i, j;

	client_key(key, peer);
	i = find(t, key);
	if (!t->slots[i].count || --t->slots[i].count) {
		return;
	}
	t->used--;
	/* Backward shift: pull later members of the probe run into the hole,
	 * unless their home lies cyclically in (hole, their slot]. */
	j = i;
	for (;;) {
		size_t h;
		j = (j + 1) & t->mask;
		if (!t->slots[j].count) {
			break;
		}
		h = home(t, t->slots[j].key);
		if (((j - h) & t->mask) >= ((j - i) & t->mask)) {
			t->slots[i] = t->slots[j];
			t->slots[j].count = 0;
			i = j;
		}
	}
}

unsigned tcp_clients_count(const struct tcp_clients *t, const struct sockaddr_storage *peer)
{
	uint8_t key[16];

	client_key(key, peer);
	return t->slots[find(t, key)].count;
}
