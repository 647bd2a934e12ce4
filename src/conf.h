/* conf.h -- the configuration file: parse and validate with libconfig. */
#ifndef GSLBD_CONF_H
#define GSLBD_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum pool_policy { POLICY_ROUND_ROBIN = 0, POLICY_WEIGHTED = 1 };

struct conf_listen {
	struct sockaddr_storage addr; /* port 0: the kernel picks one */
	socklen_t addrlen;
	char *text;
};

struct conf_zone {
	char *origin;   /* as written */
	char *file;     /* resolved against the config file's directory */
	int line;       /* where the zone is declared */
};

struct conf_member {
	int family;     /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint32_t weight;
	int line;
};

struct conf_pool {
	char *name;
	char **owners;
	int *owner_lines;
	size_t nowners;
	enum pool_policy policy;
	unsigned answers; /* 0: the policy's default */
	uint32_t ttl;
	struct conf_member *members;
	size_t nmembers;
	int line;
};

struct conf {
	char *path;       /* the config file */
	struct conf_listen *listens;
	size_t nlistens;
	unsigned threads; /* 0: one per core */
	unsigned udp_size;
	unsigned tcp_idle_timeout;
	unsigned tcp_max_clients;
	char *chaos_version; /* NULL: REFUSED */
	char *chaos_id;
	struct conf_zone *zones;
	size_t nzones;
	struct conf_pool *pools;
	size_t npools;
};

/* Read and validate @path. On error, logs "FILE:LINE: SETTING: message" lines
 * and returns NULL. The caller owns the result (conf_free). Main thread. */
struct conf *conf_load(const char *path);

void conf_free(struct conf *conf);

/* Parse "ADDR", "ADDR:PORT" or "[V6]:PORT" into @l; 0 on success. */
int conf_parse_listen(struct conf_listen *l, const char *text);

#endif
