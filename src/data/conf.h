/* conf.h -- the configuration file: parse and validate with libconfig. */
#ifndef GSLBD_CONF_H
#define GSLBD_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct policy_ops;

enum last_resort { LAST_RESORT_FAIL_OPEN = 0, LAST_RESORT_NODATA = 1, LAST_RESORT_SERVFAIL = 2 };

/* A named health check (kind names as in probe.h's enum probe_kind). */
struct conf_check {
	char *name;
	int kind;            /* enum probe_kind */
	char *kind_name;     /* "tcp", "https", ... */
	unsigned port;       /* 0: none (member port required for tcp) */
	double interval, timeout;
	unsigned rise, fall;
	bool initial_up;
	char *path;          /* http path, or the file of a file check */
	char *host;
	bool head;
	uint32_t status_ok[20];
	char *expect_body;
	bool tls_verify;
	char *query;
	uint16_t qtype;
	int expect_rcode;
	char *expect_answer;
	char **argv;         /* NULL-terminated */
	int line;
};

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
	char *check;          /* overrides the pool's check, or NULL */
	unsigned port;        /* probe port override, 0 = the check's */
	int probe_family;     /* 0: probe the answered address */
	uint8_t probe_addr[16];
	char *probe_address;  /* text, or NULL */
	char *host;
	char *url;
};

struct conf_pool {
	char *name;
	char **owners;
	int *owner_lines;
	size_t nowners;
	const struct policy_ops *policy; /* lb/policy.h; set by conf_load */
	unsigned answers; /* 0: every member (a policy's parse hook may set its default) */
	uint32_t ttl;
	struct conf_member *members;
	size_t nmembers;
	int line;
	char *check;          /* or NULL: members always up */
	unsigned min_healthy;
	char *backup;         /* pool name, or NULL */
	int backup_line;
	enum last_resort last_resort;
	uint32_t ttl_degraded;
};

/* An address prefix: "192.0.2.0/24", "2001:db8::/32", or one address. */
struct conf_net {
	int family;       /* AF_INET or AF_INET6 */
	unsigned bits;    /* prefix length */
	uint8_t addr[16]; /* network byte order; every bit past the prefix is zero */
};

/* Response rate limiting (dns/rrl.h); README "Rate limiting" says why the
 * defaults are what they are. */
struct conf_rate_limit {
	unsigned responses_per_second; /* answers, NODATA, NXDOMAIN, referrals; 0: unlimited */
	unsigned errors_per_second;    /* REFUSED, FORMERR, SERVFAIL...; default: the above */
	unsigned slip;                 /* every slip-th limited response goes out TC; 0: none */
	unsigned ipv4_prefix;          /* clients in one such network share buckets */
	unsigned ipv6_prefix;
	struct conf_net *exempt;       /* never limited */
	size_t nexempt;
	bool log_only;                 /* count and log, send everything */
	size_t table_size;             /* buckets, a power of two */
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
	struct conf_check *checks;
	size_t nchecks;
	char *state_file;
	char *control_socket;
	unsigned control_mode;
	struct conf_rate_limit *rate_limit; /* NULL: no rate limiting */
};

/* The check called @name, or NULL. */
const struct conf_check *conf_find_check(const struct conf *conf, const char *name);

/* The pool called @name, or NULL. */
const struct conf_pool *conf_find_pool(const struct conf *conf, const char *name);

/* Read and validate @path. On error, logs "FILE:LINE: SETTING: message" lines
 * and returns NULL. The caller owns the result (conf_free). Main thread. */
struct conf *conf_load(const char *path);

void conf_free(struct conf *conf);

/* Parse "ADDR", "ADDR:PORT" or "[V6]:PORT" into @l; 0 on success. */
int conf_parse_listen(struct conf_listen *l, const char *text);

/* Parse "ADDR/BITS" or "ADDR" (all bits) into @n. Returns 0, -1 if @text is
 * no network, -2 if bits past the prefix are set ("192.0.2.1/24"). */
int conf_parse_net(struct conf_net *n, const char *text);

#endif
