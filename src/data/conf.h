/* conf.h -- the configuration file: parse and validate with libconfig. */
#ifndef GSLBD_CONF_H
#define GSLBD_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

struct policy_ops;
struct geo_map;
struct geo_pool_conf;

#define CONF_COOKIE_SECRET_LEN 16 /* SipHash-2-4's key (RFC 9018) */
#define CONF_NSID_MAX 128	  /* octets of `nsid` */
/* Bounds checked before libconfig reads a config (conf.c scan_file says
 * why): the config file and its @includes together, each counted as often
 * as it is read, and one string (adjacent literals together), comment line,
 * run of blanks or other token. */
#define CONF_FILES_MAX (64u << 20)
#define CONF_TOKEN_MAX 65536u

enum last_resort { LAST_RESORT_FAIL_OPEN = 0, LAST_RESORT_NODATA = 1, LAST_RESORT_SERVFAIL = 2 };

struct check_kind;
struct config_setting_t;
struct conf_index;

/* A named health check: what every check has, and its kind's own options. */
struct conf_check {
	char *name;
	const struct check_kind *kind; /* its type (health/check_kind.h); NULL after an error */
	unsigned port;       /* 0: none (member port required when kind->port_required) */
	double interval, timeout;
	unsigned rise, fall;
	bool initial_up;
	double slow_start;   /* seconds a member that comes up ramps to full weight; 0: none */
	void *opts;          /* the kind's options (kind->opts_new), owned, or NULL */
	int line;
};

struct conf_listen {
	struct sockaddr_storage addr; /* port 0: the kernel picks one */
	socklen_t addrlen;
	char *text;
};

/* A zone's DNSSEC settings (dnssec/dnssec.h signs with them). */
struct conf_dnssec {
	char **keys;          /* key file bases (Kname.+alg+tag), resolved; they sign */
	size_t nkeys;
	char **publish;       /* keys only published in the DNSKEY RRset (rollovers) */
	size_t npublish;
	uint32_t validity;    /* seconds from the signing time to the expiration */
	uint32_t inception;   /* seconds the inception lies before the signing time */
	uint32_t refresh;     /* re-sign when this many seconds of validity are left */
	uint32_t dnskey_ttl;
	bool cds;             /* CDS and CDNSKEY of the KSKs at the apex */
	int line;
};

struct conf_zone {
	char *origin;   /* as written */
	char *file;     /* resolved against the config file's directory */
	int line;       /* where the zone is declared */
	struct conf_dnssec *dnssec; /* NULL: the zone is served unsigned */
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
	char *group;          /* `group`: the set `gslbctl shift` moves traffic to, or NULL */
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
	struct geo_pool_conf *geo; /* policy "geo": its settings (lb/policy_geo.h), or NULL */
	double slow_start;    /* seconds; < 0: not set (the members' checks' applies) */
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

/* dnstap query logging (dnstap/dnstap.h): present means on. */
#define CONF_DNSTAP_TEXT_MAX 255 /* octets of identity and version */
struct conf_dnstap {
	char *socket;          /* a reader's unix socket, or NULL; */
	char *file;            /* or a file; both resolved against the config's directory */
	unsigned sample;       /* log one query in @sample (1: every one) */
	bool log_queries;      /* AUTH_QUERY messages */
	bool log_responses;    /* AUTH_RESPONSE messages */
	uint8_t *identity;     /* default: the NSID, or the host name; length 0: none */
	size_t identity_len;
	char *version;         /* default "gslbd VERSION"; NULL: none */
	int line;
	char *where;           /* "FILE:LINE: dnstap.file" (or .socket), for later messages */
};

/* The operators' HTTP listener (daemon/http.h): metrics, status page. */
struct conf_http {
	struct conf_listen *listens; /* "ADDR:PORT" or "[V6]:PORT"; port 0: the kernel's */
	size_t nlistens;
	struct conf_net *allow; /* clients let in; default 127.0.0.0/8 and ::1/128 */
	size_t nallow;
	unsigned timeout;     /* seconds a connection may idle or dawdle; default 10 */
	unsigned max_clients; /* connections at once; default 64 */
	int line;
};

/* The longest chaos version or id: one TXT character-string (RFC 1035 3.3:
 * a length octet, then up to 255). The answer then always fits in 512 bytes:
 * 12 of header, at most 20 of question (version.server), 16 + 10 + 256 of
 * record, even with an OPT carrying NSID (132) and a cookie (28) besides. A
 * config that asks for more is an error, not a silent cut. */
#define CONF_CHAOS_TEXT_MAX 255

struct conf {
	char *path;       /* the config file */
	struct conf_listen *listens;
	size_t nlistens;
	/* An any-address listener also binds UDP to each address the host has
	 * at start-up (server.c): those queries skip IP_PKTINFO. */
	bool listen_host_addresses;
	unsigned threads; /* 0: one per core */
	unsigned udp_size;
	unsigned tcp_idle_timeout;
	unsigned tcp_max_clients;
	unsigned tcp_max_per_client; /* per worker, per IPv4 address or IPv6 /64 */
	char *chaos_version; /* NULL: REFUSED; at most CONF_CHAOS_TEXT_MAX bytes */
	char *chaos_id;
	/* DNS cookies (RFC 7873, RFC 9018): without cookie_secret, a random
	 * one is drawn at load, and conf_inherit keeps it over reloads. */
	uint8_t cookie_secret[CONF_COOKIE_SECRET_LEN];
	bool cookie_secret_set; /* configured */
	uint8_t cookie_secret_previous[CONF_COOKIE_SECRET_LEN];
	bool cookie_previous_set;
	bool cookie_require; /* over UDP, BADCOOKIE without a valid server cookie */
	uint8_t *nsid;	     /* RFC 5001; NULL: none */
	size_t nsid_len;
	struct conf_zone *zones;
	size_t nzones;
	struct conf_pool *pools;
	size_t npools;
	struct conf_check *checks;
	size_t nchecks;
	char *state_file;
	char *control_socket;
	unsigned control_mode;
	/* Who the daemon becomes after opening its sockets (daemon/privs.h):
	 * names as written, ids looked up at load time. */
	char *user;       /* NULL: stay who we were started as */
	char *group;      /* NULL: the user's primary group */
	uid_t uid;
	gid_t gid;
	int user_line;
	char **files;     /* the config file and every @include, in reading order */
	size_t nfiles;
	struct conf_rate_limit *rate_limit; /* NULL: no rate limiting */
	struct conf_dnstap *dnstap;         /* NULL: no dnstap logging */
	/* Location (geo/geomap.h): the compiled geo maps, and whether an EDNS
	 * Client Subnet option decides the client's location (else the
	 * packet's source address does, and the option is echoed with scope 0). */
	struct geo_map *geo_maps;
	size_t ngeo_maps;
	bool edns_client_subnet;
	struct conf_http *http; /* NULL: no HTTP listener */
	char hash[33];          /* BLAKE2b-128 of the files read, in hex (metrics) */
	/* Pool and check names -> positions, for conf_find_* (conf.c). */
	struct conf_index *pool_index;
	struct conf_index *check_index;
};

/* The check called @name, or NULL. One hash probe: call it as often as needed. */
const struct conf_check *conf_find_check(const struct conf *conf, const char *name);

/* The pool called @name, or NULL. One hash probe. */
const struct conf_pool *conf_find_pool(const struct conf *conf, const char *name);

/* Read and validate @path. On error, logs "FILE:LINE: SETTING: message" lines
 * and returns NULL. The caller owns the result (conf_free). The loading
 * thread: main at start-up, a reload's build thread later; one at a time. */
struct conf *conf_load(const char *path);

void conf_free(struct conf *conf);
void conf_http_free(struct conf_http *h); /* NULL: no-op */

/* A reload keeps what the process drew rather than configured: when neither
 * @conf (just loaded) nor @live (serving) configures a cookie secret, @conf
 * takes @live's random one, so clients' cookies stay valid. Main thread. */
void conf_inherit(struct conf *conf, const struct conf *live);

/* Parse "ADDR", "ADDR:PORT" or "[V6]:PORT" into @l; 0 on success. */
int conf_parse_listen(struct conf_listen *l, const char *text);

/* --- for the check kinds' setting parsers (health/check_kind.h) ----------------
 * @c is the load in progress, @s one setting. Errors are logged as
 * "FILE:LINE: PATH: message" and make conf_load fail. Main thread, inside
 * conf_load only. */
struct conf_ctx;

__attribute__((format(printf, 3, 4)))
void conf_error(struct conf_ctx *c, const struct config_setting_t *s, const char *fmt, ...);

/* Errors reported so far in the load @c. */
int conf_errors(const struct conf_ctx *c);

/* @s as a string (owned by the config being read: copy it), or NULL after
 * an error if it is something else. */
const char *conf_string(struct conf_ctx *c, const struct config_setting_t *s);

/* @s as a boolean into @out; false (after an error) if it is something else. */
bool conf_bool(struct conf_ctx *c, const struct config_setting_t *s, bool *out);

/* @s, a string or a list of strings, as a newly allocated NULL-terminated
 * array (the caller frees each string and the array), or NULL after an error. */
char **conf_strv(struct conf_ctx *c, const struct config_setting_t *s);

/* @file resolved against the directory of the config file; newly allocated. */
char *conf_resolve(struct conf_ctx *c, const char *file);

/* The parser of a check's "port" (1..65535) into k->port, for the kinds that
 * probe a port. */
void conf_check_port(struct conf_ctx *c, struct conf_check *k, const struct config_setting_t *s);
/* Parse "ADDR/BITS" or "ADDR" (all bits) into @n. Returns 0, -1 if @text is
 * no network, -2 if bits past the prefix are set ("192.0.2.1/24"). */
int conf_parse_net(struct conf_net *n, const char *text);

#endif
