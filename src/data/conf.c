/* conf.c -- the configuration file. The schema is written once, as tables of
 * known settings per group (a check's kind-specific settings are its kind's
 * table, health/check_kind.h); anything not in a table is an error, so a typo
 * never silently falls back to a default. */
#include "config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <libgen.h>
#include <limits.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <libconfig.h>
#include <sodium.h>

#include "dns/wire.h"
#include "data/conf.h"
#include "dns/dname.h"
#include "util/log.h"
#include "util/mem.h"
#include "health/check_kind.h"
#include "health/check_kinds.h"
#include "health/probe.h"
#include "lb/policy.h"
#include "lb/policy_geo.h"
#include "geo/geomap.h"

/* The load in progress; the check kinds' parsers get it opaque (conf.h). */
struct conf_ctx {
	const char *path;
	int errors;
};

/* Names -> their positions in an array (pools, checks, zones): open
 * addressing with linear probing, sized once from the list's length (it is
 * known before the list is parsed) so that it is at most half full. Parsing
 * finds a duplicate name in one probe instead of a scan of every earlier one
 * (quadratic: 100,000 pools took 44 s, 83 % of it in strcmp), and
 * conf_find_pool/conf_find_check, called per pool and per member by
 * cross_check and the snapshot builder, use the same table. It stores
 * positions only; the names stay in the array, which is allocated once and
 * never moves, and @key_at reads them. */
struct conf_index {
	const void *(*key_at)(const void *items, size_t pos, size_t *len);
	const void *items;
	size_t mask;
	uint32_t slot[]; /* position + 1; 0: empty */
};

static uint64_t index_hash(const void *key, size_t len)
{
	const uint8_t *k = key;
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h = (h ^ k[i]) * 0x100000001b3ULL;
	}
	return h ^ (h >> 29);
}

static struct conf_index *index_new(size_t n, const void *items,
				    const void *(*key_at)(const void *, size_t, size_t *))
{
	size_t cap = 8;
	struct conf_index *x;

	while (cap < 2 * n) {
		cap *= 2;
	}
	x = xcalloc(1, sizeof(*x) + cap * sizeof(x->slot[0]));
	x->key_at = key_at;
	x->items = items;
	x->mask = cap - 1;
	return x;
}

/* The slot holding @key, or the empty one where it would go. */
static size_t index_slot(const struct conf_index *x, const void *key, size_t len)
{
	for (size_t i = index_hash(key, len) & x->mask;; i = (i + 1) & x->mask) {
		size_t klen;
		const void *k;
		if (!x->slot[i]) {
			return i;
		}
		k = x->key_at(x->items, x->slot[i] - 1, &klen);
		if (klen == len && memcmp(k, key, len) == 0) {
			return i;
		}
	}
}

/* The position of @key, or -1. */
static long index_find(const struct conf_index *x, const void *key, size_t len)
{
	size_t i = index_slot(x, key, len);

	return x->slot[i] ? (long)x->slot[i] - 1 : -1;
}

/* Record that @key is at @pos, unless it is there already: then the position
 * it was first given, else -1. At most as many keys as index_new was told. */
static long index_add(struct conf_index *x, const void *key, size_t len, size_t pos)
{
	size_t i = index_slot(x, key, len);

	if (x->slot[i]) {
		return (long)x->slot[i] - 1;
	}
	assert(pos < UINT32_MAX);
	x->slot[i] = (uint32_t)pos + 1;
	return -1;
}

static const void *pool_key(const void *items, size_t pos, size_t *len)
{
	const char *name = ((const struct conf_pool *)items)[pos].name;

	*len = strlen(name);
	return name;
}

static const void *check_key(const void *items, size_t pos, size_t *len)
{
	const char *name = ((const struct conf_check *)items)[pos].name;

	*len = strlen(name);
	return name;
}

/* A zone's origin as lower-case wire, the form duplicates are found in. */
struct zone_name {
	uint8_t wire[DNAME_MAXLEN];
	size_t len;
};

static const void *zone_key(const void *items, size_t pos, size_t *len)
{
	const struct zone_name *z = &((const struct zone_name *)items)[pos];

	*len = z->len;
	return z->wire;
}

/* "pools[0].members[1].address" for messages. */
static void setting_path(char *buf, size_t size, const config_setting_t *s)
{
	char tmp[512];
	const config_setting_t *parent = config_setting_parent(s);

	buf[0] = 0;
	if (!parent) {
		return;
	}
	setting_path(tmp, sizeof(tmp), parent);
	int n;
	if (config_setting_name(s)) {
		n = snprintf(buf, size, "%s%s%s", tmp, tmp[0] ? "." : "", config_setting_name(s));
	} else {
		n = snprintf(buf, size, "%s[%d]", tmp, config_setting_index(s));
	}
	if (n < 0 || (size_t)n >= size) {
		buf[size - 1] = 0; /* a very deep path: cut, still useful */
	}
}

static void verr(struct conf_ctx *c, const config_setting_t *s, const char *fmt, va_list ap)
{
	char path[512], msg[1024];
	const char *file = config_setting_source_file(s);

	vsnprintf(msg, sizeof(msg), fmt, ap);
	setting_path(path, sizeof(path), s);
	int line = config_setting_source_line(s);
	log_err("%s:%d: %s: %s", file ? file : c->path, line > 0 ? line : 1,
		path[0] ? path : "(top level)", msg);
	c->errors++;
}

__attribute__((format(printf, 3, 4)))
static void err(struct conf_ctx *c, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(c, s, fmt, ap);
	va_end(ap);
}

int conf_errors(const struct conf_ctx *c)
{
	return c->errors;
}

void conf_error(struct conf_ctx *c, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(c, s, fmt, ap);
	va_end(ap);
}

static const char *type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	case CONFIG_TYPE_GROUP:
		return "a group";
	default:
		return "something else";
	}
}

static bool listed(const char *const *list, const char *name)
{
	for (const char *const *k = list; k && *k; k++) {
		if (strcmp(name, *k) == 0) {
			return true;
		}
	}
	return false;
}

/* Append the names of @list (NULL-terminated, or NULL) to @buf, comma-separated. */
static void append_names(char *buf, size_t size, const char *const *list)
{
	for (const char *const *k = list; k && *k; k++) {
		size_t len = strlen(buf);
		snprintf(buf + len, size - len, "%s%s", len ? ", " : "", *k);
	}
}

/* Reject settings a group does not know: @known, NULL-terminated, and in a
 * pool group (@policy not NULL) the policy's own settings. A setting that only
 * another policy knows gets a message that says so. */
static void check_settings(struct conf_ctx *c, const config_setting_t *group, const char *const *known,
			   const struct policy_ops *policy)
{
	const char *const *own = policy ? policy->settings : NULL;
	int n = config_setting_length(group);

	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		const struct policy_ops *other;
		char list[1024] = "";
		if (name && (listed(known, name) || listed(own, name))) {
			continue;
		}
		if (policy && name && (other = policy_find_setting(name))) {
			err(c, s, "a setting of policy \"%s\", not of this pool's policy \"%s\"",
			    other->name, policy->name);
			continue;
		}
		append_names(list, sizeof(list), known);
		append_names(list, sizeof(list), own);
		err(c, s, "unknown setting (expected one of: %s)", list);
	}
}

/* Reject settings a group does not know. @known is NULL-terminated. */
static void check_known(struct conf_ctx *c, const config_setting_t *group, const char *const *known)
{
	check_settings(c, group, known, NULL);
}

static bool read_int(struct conf_ctx *c, const config_setting_t *s, long long lo, long long hi,
		     long long *out)
{
	long long v;

	if (config_setting_type(s) == CONFIG_TYPE_INT) {
		v = config_setting_get_int(s);
	} else if (config_setting_type(s) == CONFIG_TYPE_INT64) {
		v = config_setting_get_int64(s);
	} else {
		err(c, s, "expected an integer from %lld to %lld, got %s", lo, hi,
		    type_name(config_setting_type(s)));
		return false;
	}
	if (v < lo || v > hi) {
		err(c, s, "expected an integer from %lld to %lld, got %lld", lo, hi, v);
		return false;
	}
	*out = v;
	return true;
}

static bool get_int(struct conf_ctx *c, const config_setting_t *group, const char *name,
		    long long lo, long long hi, long long *out)
{
	const config_setting_t *s = config_setting_get_member(group, name);

	return s && read_int(c, s, lo, hi, out);
}

const char *conf_string(struct conf_ctx *c, const config_setting_t *s)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		err(c, s, "expected a string, got %s", type_name(config_setting_type(s)));
		return NULL;
	}
	return config_setting_get_string(s);
}

static const char *get_str(struct conf_ctx *c, const config_setting_t *group, const char *name)
{
	const config_setting_t *s = config_setting_get_member(group, name);

	return s ? conf_string(c, s) : NULL;
}

static bool get_num(struct conf_ctx *c, const config_setting_t *group, const char *name, double lo,
		    double hi, double *out)
{
	const config_setting_t *s = config_setting_get_member(group, name);
	double v;

	if (!s) {
		return false;
	}
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
		v = config_setting_get_int(s);
		break;
	case CONFIG_TYPE_INT64:
		v = (double)config_setting_get_int64(s);
		break;
	case CONFIG_TYPE_FLOAT:
		v = config_setting_get_float(s);
		break;
	default:
		err(c, s, "expected a number from %g to %g, got %s", lo, hi,
		    type_name(config_setting_type(s)));
		return false;
	}
	if (v < lo || v > hi) {
		err(c, s, "expected a number from %g to %g, got %g", lo, hi, v);
		return false;
	}
	*out = v;
	return true;
}

bool conf_bool(struct conf_ctx *c, const config_setting_t *s, bool *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		err(c, s, "expected true or false, got %s", type_name(config_setting_type(s)));
		return false;
	}
	*out = config_setting_get_bool(s) != 0;
	return true;
}

static bool get_bool(struct conf_ctx *c, const config_setting_t *group, const char *name,
		     bool *out)
{
	const config_setting_t *s = config_setting_get_member(group, name);

	return s && conf_bool(c, s, out);
}

/* A list or array of strings, or one string; NULL (after an error) if it is
 * something else. */
static const config_setting_t *strlist(struct conf_ctx *c, const config_setting_t *s)
{
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		return s; /* a single string is a list of one */
	}
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST) {
		err(c, s, "expected a list of strings, got %s", type_name(config_setting_type(s)));
		return NULL;
	}
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			err(c, e, "expected a string, got %s", type_name(config_setting_type(e)));
			return NULL;
		}
	}
	return s;
}

static const config_setting_t *get_strlist(struct conf_ctx *c, const config_setting_t *group,
					   const char *name)
{
	const config_setting_t *s = config_setting_get_member(group, name);

	return s ? strlist(c, s) : NULL;
}

static const char *strlist_elem(const config_setting_t *s, int i, const config_setting_t **e)
{
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		*e = s;
		return config_setting_get_string(s);
	}
	*e = config_setting_get_elem(s, (unsigned)i);
	return config_setting_get_string(*e);
}

static int strlist_len(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_STRING ? 1 : config_setting_length(s);
}

char **conf_strv(struct conf_ctx *c, const config_setting_t *s)
{
	char **v;
	int n;

	if (!strlist(c, s)) {
		return NULL;
	}
	n = strlist_len(s);
	v = xcalloc((size_t)n + 1, sizeof(char *));
	for (int i = 0; i < n; i++) {
		const config_setting_t *e;
		v[i] = xstrdup(strlist_elem(s, i, &e));
	}
	return v;
}

static const config_setting_t *get_list(struct conf_ctx *c, const config_setting_t *group,
					const char *name, bool required)
{
	const config_setting_t *s = config_setting_get_member(group, name);

	if (!s) {
		if (required) {
			err(c, group, "missing required setting '%s'", name);
		}
		return NULL;
	}
	if (config_setting_type(s) != CONFIG_TYPE_LIST) {
		err(c, s, "expected a list of groups ( { ... }, ... ), got %s",
		    type_name(config_setting_type(s)));
		return NULL;
	}
	return s;
}

int conf_parse_listen(struct conf_listen *l, const char *text)
{
	char host[256];
	const char *port = NULL;
	long p = 53;
	struct sockaddr_in *sin = (struct sockaddr_in *)&l->addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l->addr;

	memset(l, 0, sizeof(*l));
	if (strlen(text) >= sizeof(host)) {
		return -1;
	}
	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (!end) {
			return -1;
		}
		memcpy(host, text + 1, (size_t)(end - text - 1));
		host[end - text - 1] = 0;
		if (end[1] == ':') {
			port = end + 2;
		} else if (end[1] != 0) {
			return -1;
		}
	} else {
		const char *colon = strchr(text, ':');
		if (colon && strchr(colon + 1, ':')) {
			snprintf(host, sizeof(host), "%s", text); /* bare IPv6, port 53 */
		} else if (colon) {
			memcpy(host, text, (size_t)(colon - text));
			host[colon - text] = 0;
			port = colon + 1;
		} else {
			snprintf(host, sizeof(host), "%s", text);
		}
	}
	if (port) {
		char *end;
		errno = 0;
		p = strtol(port, &end, 10);
		if (*port < '0' || *port > '9' || *end || errno || p < 0 || p > 65535) {
			return -1;
		}
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		l->addrlen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		l->addrlen = sizeof(*sin6);
	} else {
		return -1;
	}
	l->text = xstrdup(text);
	return 0;
}

static char *resolve_path(const char *confpath, const char *file)
{
	char dir[PATH_MAX], buf[PATH_MAX * 2];
	char *tmp;

	if (file[0] == '/') {
		return xstrdup(file);
	}
	tmp = xstrdup(confpath);
	snprintf(dir, sizeof(dir), "%s", dirname(tmp));
	free(tmp);
	snprintf(buf, sizeof(buf), "%s/%s", dir, file);
	return xstrdup(buf);
}

char *conf_resolve(struct conf_ctx *c, const char *file)
{
	return resolve_path(c->path, file);
}

/* `user` and `group`: names looked up now, so that a typo is a config error
 * with its line and `gslbd -t` catches it. Neither may be 0: the point of
 * naming them is to stop being root. */
static void parse_user(struct conf_ctx *c, struct conf *conf, const config_setting_t *root)
{
	const config_setting_t *us = config_setting_get_member(root, "user");
	const config_setting_t *gs = config_setting_get_member(root, "group");
	const char *user = get_str(c, root, "user");
	const char *group = get_str(c, root, "group");
	char buf[16384];
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;

	if (gs && !us) {
		err(c, gs, "needs 'user' as well (group alone would leave gslbd running as root)");
		return;
	}
	if (!user) {
		return;
	}
	conf->user_line = config_setting_source_line(us);
	if (getpwnam_r(user, &pw, buf, sizeof(buf), &pwp) != 0 || !pwp) {
		err(c, us, "no such user \"%s\"", user);
		return;
	}
	if (pw.pw_uid == 0) {
		err(c, us, "\"%s\" has uid 0: gslbd would keep running as root; name an "
			   "unprivileged user (e.g. \"nobody\")", user);
		return;
	}
	conf->user = xstrdup(user);
	conf->uid = pw.pw_uid;
	conf->gid = pw.pw_gid;
	if (group) {
		if (getgrnam_r(group, &gr, buf, sizeof(buf), &grp) != 0 || !grp) {
			err(c, gs, "no such group \"%s\"", group);
			return;
		}
		conf->group = xstrdup(group);
		conf->gid = gr.gr_gid;
	} else if (getgrgid_r(conf->gid, &gr, buf, sizeof(buf), &grp) == 0 && grp) {
		conf->group = xstrdup(gr.gr_name);
	}
	if (conf->gid == 0) {
		err(c, gs ? gs : us, "group %s%s%s is gid 0, which can read and write root's "
				     "files; name another group (e.g. \"nogroup\")",
		    conf->group ? "\"" : "", conf->group ? conf->group : "0",
		    conf->group ? "\"" : "");
	}
}

/* Hex digits to octets at @out (room for @max); returns how many, or -1 for
 * an odd count, a character that is no hex digit, or more than @max. */
static long unhex(uint8_t *out, size_t max, const char *text)
{
	size_t n = strlen(text);

	if (n % 2 || n / 2 > max) {
		return -1;
	}
	for (size_t i = 0; i < n; i += 2) {
		char pair[3] = { text[i], text[i + 1], 0 }, *end;
		if (!isxdigit((unsigned char)pair[0]) || !isxdigit((unsigned char)pair[1])) {
			return -1;
		}
		out[i / 2] = (uint8_t)strtoul(pair, &end, 16);
	}
	return (long)(n / 2);
}

/* A 128-bit secret, as 32 hex digits. The value is never repeated in
 * messages: it is a secret. */
static bool get_secret(struct conf_ctx *c, const config_setting_t *root, const char *name,
		       uint8_t out[CONF_COOKIE_SECRET_LEN])
{
	const char *str = get_str(c, root, name);

	if (!str) {
		return false;
	}
	if (strlen(str) != 2 * CONF_COOKIE_SECRET_LEN ||
	    unhex(out, CONF_COOKIE_SECRET_LEN, str) != CONF_COOKIE_SECRET_LEN) {
		err(c, config_setting_get_member(root, name),
		    "expected %d hex digits (a 128-bit secret, e.g. from `openssl rand -hex 16`), "
		    "got %zu characters%s",
		    2 * CONF_COOKIE_SECRET_LEN, strlen(str),
		    strlen(str) == 2 * CONF_COOKIE_SECRET_LEN ? " with some not hex digits" : "");
		return false;
	}
	return true;
}

/* What the EDNS options we answer need: cookie secrets (RFC 7873, RFC
 * 9018), and the NSID (RFC 5001) as text or as "0x" and hex digits. */
static void parse_edns(struct conf_ctx *c, struct conf *conf, const config_setting_t *root)
{
	const char *str;

	conf->cookie_secret_set = get_secret(c, root, "cookie_secret", conf->cookie_secret);
	conf->cookie_previous_set =
	    get_secret(c, root, "cookie_secret_previous", conf->cookie_secret_previous);
	get_bool(c, root, "cookie_require", &conf->cookie_require);
	if (!conf->cookie_secret_set && getrandom(conf->cookie_secret, sizeof(conf->cookie_secret),
						  0) != (ssize_t)sizeof(conf->cookie_secret)) {
		err(c, root, "cannot draw a random cookie secret: %s", strerror(errno));
	}
	if ((str = get_str(c, root, "nsid"))) {
		const config_setting_t *s = config_setting_get_member(root, "nsid");
		long n;
		conf->nsid = xmalloc(CONF_NSID_MAX);
		if (strncmp(str, "0x", 2) == 0 || strncmp(str, "0X", 2) == 0) {
			n = str[2] ? unhex(conf->nsid, CONF_NSID_MAX, str + 2) : -1;
			if (n < 0) {
				err(c, s,
				    "expected \"0x\" and an even number of hex digits, 1 to %d "
				    "octets",
				    CONF_NSID_MAX);
			}
		} else {
			n = (long)strlen(str);
			if (n == 0 || n > CONF_NSID_MAX) {
				err(c, s, "expected 1 to %d octets of text, got %ld", CONF_NSID_MAX,
				    n);
				n = -1;
			} else {
				memcpy(conf->nsid, str, (size_t)n);
			}
		}
		conf->nsid_len = n > 0 ? (size_t)n : 0;
	}
}

void conf_inherit(struct conf *conf, const struct conf *live)
{
	if (!conf->cookie_secret_set && !live->cookie_secret_set) {
		memcpy(conf->cookie_secret, live->cookie_secret, sizeof(conf->cookie_secret));
	}
}

int conf_parse_net(struct conf_net *n, const char *text)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t hlen = slash ? (size_t)(slash - text) : strlen(text);
	unsigned max;

	memset(n, 0, sizeof(*n));
	if (hlen >= sizeof(host)) {
		return -1;
	}
	memcpy(host, text, hlen);
	host[hlen] = 0;
	if (inet_pton(AF_INET, host, n->addr) == 1) {
		n->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, n->addr) == 1) {
		n->family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	n->bits = max;
	if (slash) {
		char *end;
		long bits;
		errno = 0;
		bits = strtol(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end || errno || bits < 0 || bits > (long)max) {
			return -1;
		}
		n->bits = (unsigned)bits;
	}
	for (unsigned i = n->bits; i < max; i++) {
		if (n->addr[i / 8] & (0x80 >> (i % 8))) {
			return -2;
		}
	}
	return 0;
}

/* rate_limit = { responses_per_second = 20; ... }: present means on. Defaults
 * are BIND's (errors as responses, slip 2, /24 and /56); the table size is
 * Knot's order of magnitude. */
static void parse_rate_limit(struct conf_ctx *c, struct conf *conf, const config_setting_t *root)
{
	static const char *const known[] = { "responses_per_second", "errors_per_second", "slip",
					     "ipv4_prefix", "ipv6_prefix", "exempt", "log_only",
					     "table_size", NULL };
	const config_setting_t *s = config_setting_get_member(root, "rate_limit"), *list;
	struct conf_rate_limit *rl;
	long long v;

	if (!s) {
		return;
	}
	if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
		err(c, s, "expected a group { responses_per_second = 20; ... }, got %s",
		    type_name(config_setting_type(s)));
		return;
	}
	check_known(c, s, known);
	rl = conf->rate_limit = xcalloc(1, sizeof(*rl));
	rl->line = config_setting_source_line(s);
	rl->slip = 2;
	rl->ipv4_prefix = 24;
	rl->ipv6_prefix = 56;
	rl->table_size = (size_t)1 << 19;
	if (get_int(c, s, "responses_per_second", 0, 1000000, &v)) {
		rl->responses_per_second = (unsigned)v;
	} else if (!config_setting_get_member(s, "responses_per_second")) {
		err(c, s, "missing required setting 'responses_per_second' (e.g. "
			  "responses_per_second = 20;)");
	}
	rl->errors_per_second = rl->responses_per_second;
	if (get_int(c, s, "errors_per_second", 0, 1000000, &v)) {
		rl->errors_per_second = (unsigned)v;
	}
	if (get_int(c, s, "slip", 0, 10, &v)) {
		rl->slip = (unsigned)v;
	}
	if (get_int(c, s, "ipv4_prefix", 8, 32, &v)) {
		rl->ipv4_prefix = (unsigned)v;
	}
	if (get_int(c, s, "ipv6_prefix", 16, 128, &v)) {
		rl->ipv6_prefix = (unsigned)v;
	}
	get_bool(c, s, "log_only", &rl->log_only);
	if (get_int(c, s, "table_size", 8, (long long)1 << 26, &v)) {
		size_t size = 8;
		while (size < (size_t)v) {
			size *= 2; /* a power of two: the bucket index is a mask */
		}
		rl->table_size = size;
	}
	list = get_strlist(c, s, "exempt");
	if (list) {
		int n = strlist_len(list);
		rl->exempt = xcalloc(n ? (size_t)n : 1, sizeof(*rl->exempt));
		for (int i = 0; i < n; i++) {
			const config_setting_t *e;
			const char *text = strlist_elem(list, i, &e);
			int rc = conf_parse_net(&rl->exempt[rl->nexempt], text);
			if (rc == -2) {
				err(c, e, "expected a network, got \"%s\": bits are set past the prefix",
				    text);
			} else if (rc != 0) {
				err(c, e, "expected a network such as \"192.0.2.0/24\", "
					  "\"2001:db8::/32\" or an address, got \"%s\"", text);
			} else {
				rl->nexempt++;
			}
		}
	}
}

/* dnstap = { file = "PATH"; } or { socket = "PATH"; }, exactly one; present
 * means on. Both messages of every query by default, as Knot and BIND log
 * them unless told otherwise; sample thins them out. */
static void parse_dnstap(struct conf_ctx *c, struct conf *conf, const config_setting_t *root)
{
	static const char *const known[] = { "socket", "file", "sample", "log_queries",
					     "log_responses", "identity", "version", NULL };
	const config_setting_t *s = config_setting_get_member(root, "dnstap"), *e;
	struct conf_dnstap *dt;
	const char *str;
	long long v;

	if (!s) {
		return;
	}
	if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
		err(c, s, "expected a group { file = \"PATH\"; } or { socket = \"PATH\"; }, got %s",
		    type_name(config_setting_type(s)));
		return;
	}
	check_known(c, s, known);
	dt = conf->dnstap = xcalloc(1, sizeof(*dt));
	dt->line = config_setting_source_line(s);
	dt->sample = 1;
	dt->log_queries = dt->log_responses = true;
	if ((str = get_str(c, s, "socket"))) {
		if (!*str) {
			err(c, config_setting_get_member(s, "socket"), "expected a socket path, got \"\"");
		} else {
			dt->socket = resolve_path(conf->path, str);
			if (strlen(dt->socket) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
				err(c, config_setting_get_member(s, "socket"),
				    "socket path \"%s\" longer than %zu bytes", dt->socket,
				    sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
			}
		}
	}
	if ((str = get_str(c, s, "file"))) {
		if (!*str) {
			err(c, config_setting_get_member(s, "file"), "expected a file path, got \"\"");
		} else {
			dt->file = resolve_path(conf->path, str);
		}
	}
	if (config_setting_get_member(s, "socket") && config_setting_get_member(s, "file")) {
		err(c, config_setting_get_member(s, "file"),
		    "either socket or file, not both: one destination per server");
	} else if (!config_setting_get_member(s, "socket") && !config_setting_get_member(s, "file")) {
		err(c, s, "missing its destination: socket = \"PATH\"; (a reader such as "
			  "fstrm_capture) or file = \"PATH\";");
	}
	if ((e = config_setting_get_member(s, dt->socket ? "socket" : "file"))) {
		char path[512], buf[1024];
		const char *file = config_setting_source_file(e);
		setting_path(path, sizeof(path), e);
		snprintf(buf, sizeof(buf), "%s:%d: %s", file ? file : c->path,
			 config_setting_source_line(e), path);
		dt->where = xstrdup(buf);
	}
	if (get_int(c, s, "sample", 1, 1000000000, &v)) {
		dt->sample = (unsigned)v;
	}
	get_bool(c, s, "log_queries", &dt->log_queries);
	get_bool(c, s, "log_responses", &dt->log_responses);
	if (!dt->log_queries && !dt->log_responses && (e = config_setting_get_member(s, "log_queries"))) {
		err(c, e, "log_queries and log_responses are both false: nothing to log "
			  "(remove the dnstap group to turn it off)");
	}
	if ((e = config_setting_get_member(s, "identity"))) {
		if ((str = conf_string(c, e))) {
			if (strlen(str) > CONF_DNSTAP_TEXT_MAX) {
				err(c, e, "%zu bytes long; at most %d", strlen(str), CONF_DNSTAP_TEXT_MAX);
			} else {
				dt->identity_len = strlen(str);
				dt->identity = (uint8_t *)xstrdup(str);
			}
		}
	} else if (conf->nsid_len) {
		dt->identity = xmalloc(conf->nsid_len);
		memcpy(dt->identity, conf->nsid, conf->nsid_len);
		dt->identity_len = conf->nsid_len;
	} else {
		char host[256] = "";
		if (gethostname(host, sizeof(host) - 1) == 0 && host[0]) {
			dt->identity_len = strlen(host);
			dt->identity = (uint8_t *)xstrdup(host);
		}
	}
	if ((e = config_setting_get_member(s, "version"))) {
		if ((str = conf_string(c, e))) {
			if (strlen(str) > CONF_DNSTAP_TEXT_MAX) {
				err(c, e, "%zu bytes long; at most %d", strlen(str), CONF_DNSTAP_TEXT_MAX);
			} else if (*str) {
				dt->version = xstrdup(str);
			}
		}
	} else {
		dt->version = xstrdup(PACKAGE_NAME " " PACKAGE_VERSION);
	}
}
static void parse_http(struct conf_ctx *c, struct conf *conf, const config_setting_t *root);

static void parse_top(struct conf_ctx *c, struct conf *conf, const config_setting_t *root)
{
	static const char *const known[] = { "listen", "listen_host_addresses", "threads",
					     "udp_size", "tcp_idle_timeout", "tcp_max_clients",
					     "tcp_max_per_client", "chaos", "zones", "pools",
					     "checks", "state_file", "control", "user", "group",
					     "nsid", "cookie_secret",
					     "cookie_secret_previous", "cookie_require", "rate_limit",
					     "dnstap", "geo_maps", "edns_client_subnet", "http", NULL };
	const config_setting_t *s;
	long long v;

	check_known(c, root, known);
	s = get_strlist(c, root, "listen");
	if (!config_setting_get_member(root, "listen")) {
		err(c, root, "missing required setting 'listen' (e.g. listen = [ \"127.0.0.1:5353\" ];)");
	} else if (s) {
		int n = strlist_len(s);
		if (n == 0) {
			err(c, s, "expected at least one address");
		}
		conf->listens = xcalloc((size_t)n, sizeof(*conf->listens));
		for (int i = 0; i < n; i++) {
			const config_setting_t *e;
			const char *text = strlist_elem(s, i, &e);
			if (conf_parse_listen(&conf->listens[conf->nlistens], text) != 0) {
				err(c, e, "expected \"ADDRESS\", \"ADDRESS:PORT\" or \"[IPV6]:PORT\", got \"%s\"",
				    text);
				continue;
			}
			conf->nlistens++;
		}
	}
	if (get_int(c, root, "threads", 0, 256, &v)) {
		conf->threads = (unsigned)v;
	}
	if (get_int(c, root, "udp_size", 512, 4096, &v)) {
		conf->udp_size = (unsigned)v;
	}
	if (get_int(c, root, "tcp_idle_timeout", 1, 3600, &v)) {
		conf->tcp_idle_timeout = (unsigned)v;
	}
	if (get_int(c, root, "tcp_max_clients", 1, 1000000, &v)) {
		conf->tcp_max_clients = (unsigned)v;
	}
	if (get_int(c, root, "tcp_max_per_client", 1, 1000000, &v)) {
		conf->tcp_max_per_client = (unsigned)v;
	}
	get_bool(c, root, "listen_host_addresses", &conf->listen_host_addresses);
	parse_user(c, conf, root);
	{
		const char *str = get_str(c, root, "state_file");
		if (str) {
			conf->state_file = resolve_path(conf->path, str);
		}
	}
	s = config_setting_get_member(root, "control");
	if (s) {
		static const char *const kcontrol[] = { "socket", "mode", NULL };
		if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
			err(c, s, "expected a group { socket = \"PATH\"; mode = \"0600\"; }");
		} else {
			const char *str;
			check_known(c, s, kcontrol);
			if ((str = get_str(c, s, "socket"))) {
				conf->control_socket = resolve_path(conf->path, str);
			}
			if ((str = get_str(c, s, "mode"))) {
				char *end;
				long m = strtol(str, &end, 8);
				if (!*str || *end || m < 0 || m > 0777) {
					err(c, config_setting_get_member(s, "mode"),
					    "expected octal permissions such as \"0600\", got \"%s\"", str);
				} else {
					conf->control_mode = (unsigned)m;
				}
			}
		}
	}
	parse_edns(c, conf, root);
	s = config_setting_get_member(root, "chaos");
	if (s) {
		static const char *const kchaos[] = { "version", "id", NULL };
		if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
			err(c, s, "expected a group { version = \"...\"; id = \"...\"; }");
		} else {
			char **dst[] = { &conf->chaos_version, &conf->chaos_id };
			check_known(c, s, kchaos);
			for (size_t i = 0; i < 2; i++) {
				const char *str = get_str(c, s, kchaos[i]);
				size_t n = str ? strlen(str) : 0;
				if (n > CONF_CHAOS_TEXT_MAX) {
					err(c, config_setting_get_member(s, kchaos[i]),
					    "%zu bytes long; at most %d (one TXT character-string)",
					    n, CONF_CHAOS_TEXT_MAX);
				} else if (str) {
					*dst[i] = xstrdup(str);
				}
			}
		}
	}
	parse_rate_limit(c, conf, root);
	parse_dnstap(c, conf, root);
	conf->edns_client_subnet = true;
	if (config_setting_get_member(root, "edns_client_subnet")) {
		conf_bool(c, config_setting_get_member(root, "edns_client_subnet"),
			  &conf->edns_client_subnet);
	}
	geo_conf_parse(c, conf, root);
	parse_http(c, conf, root);
}

/* zones[i].dnssec = { keys = [...]; publish = [...]; validity = ...; ... } */
static struct conf_dnssec *parse_dnssec(struct conf_ctx *c, struct conf *conf,
					const config_setting_t *z)
{
	static const char *const known[] = { "keys", "publish", "validity", "inception",
					     "refresh", "dnskey_ttl", "cds", NULL };
	const config_setting_t *s = config_setting_get_member(z, "dnssec"), *l;
	struct conf_dnssec *d;
	long long v;
	bool b;

	if (!s) {
		return NULL;
	}
	if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
		err(c, s, "expected a group { keys = [ \"Kzone.+013+12345\" ]; }");
		return NULL;
	}
	check_known(c, s, known);
	d = xcalloc(1, sizeof(*d));
	d->validity = 14 * 86400;
	d->inception = 3600;
	d->dnskey_ttl = 3600;
	d->cds = true;
	d->line = config_setting_source_line(s);
	if ((l = get_strlist(c, s, "keys"))) {
		d->nkeys = (size_t)strlist_len(l);
		d->keys = xcalloc(d->nkeys + 1, sizeof(char *));
		for (size_t i = 0; i < d->nkeys; i++) {
			const config_setting_t *e;
			d->keys[i] = resolve_path(conf->path, strlist_elem(l, (int)i, &e));
		}
	}
	if (d->nkeys == 0) {
		err(c, s, "missing required setting 'keys' (at least one key file, e.g. "
			  "keys = [ \"Kzone.+013+12345\" ];)");
	}
	if ((l = get_strlist(c, s, "publish"))) {
		d->npublish = (size_t)strlist_len(l);
		d->publish = xcalloc(d->npublish + 1, sizeof(char *));
		for (size_t i = 0; i < d->npublish; i++) {
			const config_setting_t *e;
			d->publish[i] = resolve_path(conf->path, strlist_elem(l, (int)i, &e));
		}
	}
	/* Short validities are for tests; a real zone keeps days. */
	if (get_int(c, s, "validity", 4, 366 * 86400, &v)) {
		d->validity = (uint32_t)v;
	}
	if (get_int(c, s, "inception", 0, 86400, &v)) {
		d->inception = (uint32_t)v;
	}
	d->refresh = d->validity / 2 < 7 * 86400 ? d->validity / 2 : 7 * 86400;
	if (get_int(c, s, "refresh", 1, 366 * 86400, &v)) {
		if (v >= d->validity) {
			err(c, config_setting_get_member(s, "refresh"),
			    "expected less than the validity (%u s), got %lld", d->validity, v);
		} else {
			d->refresh = (uint32_t)v;
		}
	}
	if (get_int(c, s, "dnskey_ttl", 0, 2147483647, &v)) {
		d->dnskey_ttl = (uint32_t)v;
	}
	if (get_bool(c, s, "cds", &b)) {
		d->cds = b;
	}
	return d;
}

static void conf_dnssec_free(struct conf_dnssec *d)
{
	if (!d) {
		return;
	}
	for (size_t i = 0; i < d->nkeys; i++) {
		free(d->keys[i]);
	}
	for (size_t i = 0; i < d->npublish; i++) {
		free(d->publish[i]);
	}
	free(d->keys);
	free(d->publish);
	free(d);
}

static void parse_zones(struct conf_ctx *c, struct conf *conf, const config_setting_t *root)
{
	static const char *const known[] = { "origin", "file", "dnssec", NULL };
	const config_setting_t *list = get_list(c, root, "zones", true);
	struct zone_name *names;
	struct conf_index *index;
	int n;

	if (!list) {
		return;
	}
	n = config_setting_length(list);
	if (n == 0) {
		err(c, list, "expected at least one zone");
	}
	conf->zones = xcalloc((size_t)n, sizeof(*conf->zones));
	names = xcalloc(n ? (size_t)n : 1, sizeof(*names));
	index = index_new((size_t)n, names, zone_key);
	for (int i = 0; i < n; i++) {
		const config_setting_t *z = config_setting_get_elem(list, (unsigned)i);
		const char *origin, *file;
		struct zone_name *zn = &names[conf->nzones];
		int len;
		long first;

		if (config_setting_type(z) != CONFIG_TYPE_GROUP) {
			err(c, z, "expected a group { origin = \"...\"; file = \"...\"; }");
			continue;
		}
		check_known(c, z, known);
		origin = get_str(c, z, "origin");
		file = get_str(c, z, "file");
		if (!config_setting_get_member(z, "origin")) {
			err(c, z, "missing required setting 'origin'");
		}
		if (!config_setting_get_member(z, "file")) {
			err(c, z, "missing required setting 'file'");
		}
		if (!origin || !file) {
			/* Its dnssec group's own errors too, all in one pass. */
			conf_dnssec_free(parse_dnssec(c, conf, z));
			continue;
		}
		if ((len = dname_from_str(zn->wire, origin)) < 0) {
			err(c, config_setting_get_member(z, "origin"),
			    "expected a domain name, got \"%s\"", origin);
			continue;
		}
		zn->len = (size_t)len;
		if ((first = index_add(index, zn->wire, zn->len, conf->nzones)) >= 0) {
			/* Reported, and kept out of the table (so it is not counted). */
			err(c, config_setting_get_member(z, "origin"),
			    "zone \"%s\" is already declared at line %d", origin,
			    conf->zones[first].line);
			continue;
		}
		conf->zones[conf->nzones].origin = xstrdup(origin);
		conf->zones[conf->nzones].file = resolve_path(conf->path, file);
		conf->zones[conf->nzones].line = config_setting_source_line(z);
		conf->zones[conf->nzones].dnssec = parse_dnssec(c, conf, z);
		conf->nzones++;
	}
	free(index);
	free(names);
}

/* Settings of a member that tune its probe; each is taken by the check kinds
 * that list it in their member_settings. */
static const char *const member_probe_settings[] = { "port", "probe_address", "host", "url",
						     NULL };

static bool in_list(const char *const *list, const char *name)
{
	for (; *list; list++) {
		if (strcmp(*list, name) == 0) {
			return true;
		}
	}
	return false;
}

/* Append @name to the comma-separated list in @buf (cut when full). */
static void list_add(char *buf, size_t size, const char *name)
{
	size_t l = strlen(buf);

	snprintf(buf + l, size - l, "%s%s", l ? ", " : "", name);
}

/* The probe settings of member @s must suit its check: the member's, else
 * that of its pool (the group @pool). A check that is no string, missing, or
 * without a valid type is reported elsewhere. */
static void check_member_settings(struct conf_ctx *c, const struct conf *conf,
				  const config_setting_t *pool, const config_setting_t *s)
{
	static const char *const common[] = { "address", "weight", "check", "group", NULL };
	const config_setting_t *cs = config_setting_get_member(s, "check");
	const struct conf_check *k = NULL;

	if (!cs) {
		cs = config_setting_get_member(pool, "check");
	}
	if (cs) {
		if (config_setting_type(cs) != CONFIG_TYPE_STRING) {
			return;
		}
		k = conf_find_check(conf, config_setting_get_string(cs));
		if (!k || !k->kind) {
			return;
		}
	}
	for (const char *const *x = member_probe_settings; *x; x++) {
		const config_setting_t *v = config_setting_get_member(s, *x);
		char list[256] = "";
		if (!v || (k && in_list(k->kind->member_settings, *x))) {
			continue;
		}
		if (!k) {
			err(c, v,
			    "setting \"%s\" does not apply to a member without a check "
			    "(name one with 'check' in the pool or the member)",
			    *x);
			continue;
		}
		for (const char *const *y = k->kind->member_settings; *y; y++) {
			list_add(list, sizeof(list), *y);
		}
		for (const char *const *y = common; *y; y++) {
			list_add(list, sizeof(list), *y);
		}
		err(c, v,
		    "setting \"%s\" does not apply to check type \"%s\" "
		    "(check \"%s\"; %s members accept: %s)",
		    *x, k->kind->name, k->name, k->kind->name, list);
	}
}

static void parse_member(struct conf_ctx *c, const struct conf *conf, const config_setting_t *pool,
			 struct conf_member *m, const config_setting_t *s)
{
	static const char *const known[] = { "address", "weight", "check", "port", "probe_address",
					     "host", "url", "group", NULL };
	const char *addr, *str;
	long long v;

	m->weight = 1;
	m->line = config_setting_source_line(s);
	check_known(c, s, known);
	addr = get_str(c, s, "address");
	if (!config_setting_get_member(s, "address")) {
		err(c, s, "missing required setting 'address'");
		return;
	}
	if (!addr) {
		return;
	}
	if (inet_pton(AF_INET, addr, m->addr) == 1) {
		m->family = AF_INET;
	} else if (inet_pton(AF_INET6, addr, m->addr) == 1) {
		m->family = AF_INET6;
	} else {
		err(c, config_setting_get_member(s, "address"),
		    "expected an IPv4 or IPv6 address, got \"%s\"", addr);
	}
	if (get_int(c, s, "weight", 1, 1000000, &v)) {
		m->weight = (uint32_t)v;
	}
	if ((str = get_str(c, s, "check"))) {
		m->check = xstrdup(str);
	}
	if (get_int(c, s, "port", 1, 65535, &v)) {
		m->port = (unsigned)v;
	}
	if ((str = get_str(c, s, "probe_address"))) {
		if (inet_pton(AF_INET, str, m->probe_addr) == 1) {
			m->probe_family = AF_INET;
		} else if (inet_pton(AF_INET6, str, m->probe_addr) == 1) {
			m->probe_family = AF_INET6;
		} else {
			err(c, config_setting_get_member(s, "probe_address"),
			    "expected an IPv4 or IPv6 address, got \"%s\"", str);
		}
		m->probe_address = xstrdup(str);
	}
	if ((str = get_str(c, s, "host"))) {
		m->host = xstrdup(str);
	}
	if ((str = get_str(c, s, "url"))) {
		if (strncmp(str, "http://", 7) != 0 && strncmp(str, "https://", 8) != 0) {
			err(c, config_setting_get_member(s, "url"),
			    "expected an http:// or https:// URL, got \"%s\"", str);
		}
		m->url = xstrdup(str);
	}
	if ((str = get_str(c, s, "group"))) {
		if (!str[0] || strlen(str) > 63 || strspn(str, "abcdefghijklmnopqrstuvwxyz"
						   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != strlen(str)) {
			err(c, config_setting_get_member(s, "group"),
			    "expected a group name of 1 to 63 letters, digits, '-', '_' or '.', got "
			    "\"%s\"", str);
		}
		m->group = xstrdup(str);
	}
	check_member_settings(c, conf, pool, s);
}

/* "\"round-robin\" or \"weighted\"": the registered policies, for messages. */
static const char *policy_names(char *buf, size_t size)
{
	buf[0] = 0;
	for (const struct policy_ops *const *o = policy_list; *o; o++) {
		size_t len = strlen(buf);
		snprintf(buf + len, size - len, "%s\"%s\"",
			 o == policy_list ? "" : o[1] ? ", " : " or ", (*o)->name);
	}
	return buf;
}

static void parse_pool(struct conf_ctx *c, struct conf *conf, struct conf_pool *p,
		       const config_setting_t *s)
{
	/* The settings of every pool; its policy may accept more (policy.h). */
	static const char *const known[] = { "name", "owners", "policy", "answers", "ttl",
					     "members", "check", "min_healthy", "backup",
					     "last_resort", "ttl_degraded", "slow_start", NULL };
	const config_setting_t *owners, *members;
	const char *str;
	long long v;

	p->line = config_setting_source_line(s);
	p->ttl = 30;
	/* The policy first: it decides which settings the group may hold. */
	p->policy = policy_default();
	str = get_str(c, s, "policy");
	if (str) {
		p->policy = policy_find(str);
	}
	if (!p->policy) {
		char names[256];
		err(c, config_setting_get_member(s, "policy"), "expected %s, got \"%s\"",
		    policy_names(names, sizeof(names)), str);
	}
	check_settings(c, s, known, p->policy);
	str = get_str(c, s, "name");
	if (!config_setting_get_member(s, "name")) {
		err(c, s, "missing required setting 'name'");
	}
	p->name = xstrdup(str ? str : "");
	if (str) {
		long first =
		    index_add(conf->pool_index, str, strlen(str), (size_t)(p - conf->pools));
		if (first >= 0) {
			err(c, config_setting_get_member(s, "name"),
			    "pool \"%s\" is already declared at line %d", str,
			    conf->pools[first].line);
		}
	}
	owners = get_strlist(c, s, "owners");
	if (owners) {
		int n = strlist_len(owners);
		p->owners = xcalloc((size_t)n, sizeof(char *));
		p->owner_lines = xcalloc((size_t)n, sizeof(int));
		for (int i = 0; i < n; i++) {
			const config_setting_t *e;
			uint8_t wire[DNAME_MAXLEN];
			const char *o = strlist_elem(owners, i, &e);
			if (dname_from_str(wire, o) < 0) {
				err(c, e, "expected a domain name, got \"%s\"", o);
				continue;
			}
			p->owner_lines[p->nowners] = config_setting_source_line(e);
			p->owners[p->nowners++] = xstrdup(o);
		}
	}
	if (get_int(c, s, "answers", 1, 64, &v)) {
		p->answers = (unsigned)v;
	}
	if (get_int(c, s, "ttl", 0, 2147483647, &v)) {
		p->ttl = (uint32_t)v;
	}
	p->ttl_degraded = p->ttl / 3;
	if (get_int(c, s, "ttl_degraded", 0, 2147483647, &v)) {
		p->ttl_degraded = (uint32_t)v;
	}
	p->slow_start = -1;
	get_num(c, s, "slow_start", 0, 86400, &p->slow_start);
	p->min_healthy = 1;
	if (get_int(c, s, "min_healthy", 1, 512, &v)) {
		p->min_healthy = (unsigned)v;
	}
	if ((str = get_str(c, s, "check"))) {
		p->check = xstrdup(str);
	}
	if ((str = get_str(c, s, "backup"))) {
		p->backup = xstrdup(str);
		p->backup_line = config_setting_source_line(config_setting_get_member(s, "backup"));
	}
	if ((str = get_str(c, s, "last_resort"))) {
		if (strcmp(str, "fail-open") == 0) {
			p->last_resort = LAST_RESORT_FAIL_OPEN;
		} else if (strcmp(str, "nodata") == 0) {
			p->last_resort = LAST_RESORT_NODATA;
		} else if (strcmp(str, "servfail") == 0) {
			p->last_resort = LAST_RESORT_SERVFAIL;
		} else {
			err(c, config_setting_get_member(s, "last_resort"),
			    "expected \"fail-open\", \"nodata\" or \"servfail\", got \"%s\"", str);
		}
	}
	members = get_list(c, s, "members", true);
	if (members) {
		int n = config_setting_length(members);
		if (n == 0) {
			err(c, members, "expected at least one member");
		}
		if (n > 512) {
			err(c, members, "expected at most 512 members, got %d", n);
			n = 512;
		}
		p->members = xcalloc((size_t)n, sizeof(*p->members));
		for (int i = 0; i < n; i++) {
			const config_setting_t *m = config_setting_get_elem(members, (unsigned)i);
			if (config_setting_type(m) != CONFIG_TYPE_GROUP) {
				err(c, m, "expected a group { address = \"...\"; weight = N; }");
				continue;
			}
			parse_member(c, conf, s, &p->members[p->nmembers], m);
			for (size_t j = 0; j < p->nmembers; j++) {
				struct conf_member *a = &p->members[j], *b = &p->members[p->nmembers];
				if (b->family && a->family == b->family &&
				    memcmp(a->addr, b->addr, 16) == 0) {
					err(c, m, "duplicate member address (also at line %d)", a->line);
				}
			}
			p->nmembers++;
		}
	}
	if (p->policy && p->policy->parse) {
		const config_setting_t *at = s;
		char msg[256] = "";
		if (p->policy->parse(p, s, &at, msg, sizeof(msg)) < 0) {
			err(c, at, "%s", msg[0] ? msg : "invalid");
		}
	}
}

/* Settings every check takes, whatever its type. */
static const char *const check_common[] = { "name", "type", "interval", "timeout", "rise", "fall",
					    "initial", "slow_start", NULL };

static bool kind_takes(const struct check_kind *kind, const char *name)
{
	for (const struct check_setting *t = kind->settings; t->name; t++) {
		if (strcmp(t->name, name) == 0) {
			return true;
		}
	}
	return false;
}

/* What a check of @kind takes, its own settings first; with no kind, what
 * any check takes. */
static void check_settings_text(char *buf, size_t size, const struct check_kind *kind)
{
	buf[0] = 0;
	for (size_t i = 0; check_kinds[i]; i++) {
		if (kind && check_kinds[i] != kind) {
			continue;
		}
		for (const struct check_setting *t = check_kinds[i]->settings; t->name; t++) {
			bool seen = false;
			for (size_t j = 0; !kind && j < i && !seen; j++) {
				seen = kind_takes(check_kinds[j], t->name);
			}
			if (!seen) {
				list_add(buf, size, t->name);
			}
		}
	}
	for (const char *const *x = check_common; *x; x++) {
		list_add(buf, size, *x);
	}
}

/* Every setting of check @s must be common or taken by its @kind. One that
 * another kind takes "does not apply"; any other is unknown. Without a kind
 * (a bad or missing type, reported already) only unknown ones are errors. */
static void check_check_settings(struct conf_ctx *c, const config_setting_t *s,
				 const struct check_kind *kind)
{
	int n = config_setting_length(s);

	for (int i = 0; i < n; i++) {
		const config_setting_t *x = config_setting_get_elem(s, (unsigned)i);
		const char *name = config_setting_name(x);
		bool elsewhere = false;
		char list[1024];
		if (name && (in_list(check_common, name) || (kind && kind_takes(kind, name)))) {
			continue;
		}
		for (size_t j = 0; name && check_kinds[j] && !elsewhere; j++) {
			elsewhere = kind_takes(check_kinds[j], name);
		}
		if (elsewhere && !kind) {
			continue;
		}
		check_settings_text(list, sizeof(list), kind);
		if (elsewhere) {
			err(c, x,
			    "setting \"%s\" does not apply to check type \"%s\" (%s accepts: %s)",
			    name, kind->name, kind->name, list);
		} else {
			err(c, x, "unknown setting (expected one of: %s)", list);
		}
	}
}

/* "tcp, http, ..., file" and @last and "none": the kinds for messages. */
static void kind_names(char *buf, size_t size, const char *last)
{
	buf[0] = 0;
	for (size_t i = 0; check_kinds[i]; i++) {
		size_t l = strlen(buf);
		snprintf(buf + l, size - l, "%s%s", i == 0 ? "" : check_kinds[i + 1] ? ", " : last,
			 check_kinds[i]->name);
	}
}

static void parse_check(struct conf_ctx *c, struct conf *conf, struct conf_check *k,
			const config_setting_t *s)
{
	char names[256];
	const char *str;
	long long v;

	k->line = config_setting_source_line(s);
	k->interval = 0.3;
	k->timeout = 0.25;
	k->rise = k->fall = 2;
	k->initial_up = true;
	str = get_str(c, s, "name");
	if (!config_setting_get_member(s, "name")) {
		err(c, s, "missing required setting 'name'");
	}
	k->name = xstrdup(str ? str : "");
	if (str) {
		long first =
		    index_add(conf->check_index, str, strlen(str), (size_t)(k - conf->checks));
		if (first >= 0) {
			err(c, config_setting_get_member(s, "name"),
			    "check \"%s\" is already declared at line %d", str,
			    conf->checks[first].line);
		}
	}
	str = get_str(c, s, "type");
	if (!config_setting_get_member(s, "type")) {
		kind_names(names, sizeof(names), ", ");
		err(c, s, "missing required setting 'type' (%s)", names);
	} else if (str) {
		k->kind = check_kinds_find(str);
		if (!k->kind) {
			kind_names(names, sizeof(names), " or ");
			err(c, config_setting_get_member(s, "type"), "expected %s, got \"%s\"",
			    names, str);
		}
	}
	check_check_settings(c, s, k->kind);
	get_num(c, s, "interval", 0.1, 86400, &k->interval);
	get_num(c, s, "timeout", 0.001, 3600, &k->timeout);
	get_num(c, s, "slow_start", 0, 86400, &k->slow_start);
	if (get_int(c, s, "rise", 1, 100, &v)) {
		k->rise = (unsigned)v;
	}
	if (get_int(c, s, "fall", 1, 100, &v)) {
		k->fall = (unsigned)v;
	}
	if ((str = get_str(c, s, "initial"))) {
		if (strcmp(str, "up") == 0 || strcmp(str, "down") == 0) {
			k->initial_up = str[0] == 'u';
		} else {
			err(c, config_setting_get_member(s, "initial"), "expected \"up\" or \"down\", got \"%s\"",
			    str);
		}
	}
	if (!k->kind) {
		return;
	}
	/* The kind's own settings, then what it cannot do without. */
	k->port = k->kind->default_port;
	k->opts = k->kind->opts_new ? k->kind->opts_new() : NULL;
	for (const struct check_setting *t = k->kind->settings; t->name; t++) {
		const config_setting_t *x = config_setting_get_member(s, t->name);
		if (x) {
			t->parse(c, k, x);
		}
	}
	if (k->kind->validate) {
		k->kind->validate(c, k, s);
	}
}

void conf_check_port(struct conf_ctx *c, struct conf_check *k, const config_setting_t *s)
{
	long long v;

	if (read_int(c, s, 1, 65535, &v)) {
		k->port = (unsigned)v;
	}
}

static void parse_checks(struct conf_ctx *c, struct conf *conf, const config_setting_t *root)
{
	const config_setting_t *list = get_list(c, root, "checks", false);
	int n;

	if (!list) {
		return;
	}
	n = config_setting_length(list);
	conf->checks = xcalloc((size_t)n, sizeof(*conf->checks));
	conf->check_index = index_new((size_t)n, conf->checks, check_key);
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(list, (unsigned)i);
		if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
			err(c, s, "expected a group { name = \"...\"; type = \"...\"; }");
			continue;
		}
		parse_check(c, conf, &conf->checks[conf->nchecks], s);
		conf->nchecks++;
	}
}

const struct conf_check *conf_find_check(const struct conf *conf, const char *name)
{
	long i;

	if (!name || !conf->check_index) {
		return NULL;
	}
	i = index_find(conf->check_index, name, strlen(name));
	return i >= 0 ? &conf->checks[i] : NULL;
}

const struct conf_pool *conf_find_pool(const struct conf *conf, const char *name)
{
	long i;

	if (!name || !conf->pool_index) {
		return NULL;
	}
	i = index_find(conf->pool_index, name, strlen(name));
	return i >= 0 ? &conf->pools[i] : NULL;
}

/* Which pools are on a backup cycle (their chain leads back to them). Each
 * walk starts at a pool no walk has passed and follows backups, marking the
 * pools it passes with its number, until a pool without a backup, one an
 * earlier walk passed (whatever lies beyond was seen then), or one this walk
 * passed: the pools from that one on are a cycle. Every pool is passed once,
 * where following each pool's whole chain was quadratic in a long chain.
 * The caller frees the result. */
static bool *backup_cycles(const struct conf *conf)
{
	size_t n = conf->npools;
	size_t *walk = xcalloc(n ? n : 1, sizeof(*walk)); /* 0: not passed yet */
	bool *on_cycle = xcalloc(n ? n : 1, sizeof(*on_cycle));

	for (size_t i = 0; i < n; i++) {
		size_t at = i;
		const struct conf_pool *b;
		if (walk[i]) {
			continue;
		}
		for (;;) {
			walk[at] = i + 1;
			b = conf_find_pool(conf, conf->pools[at].backup);
			if (!b) {
				break;
			}
			at = (size_t)(b - conf->pools);
			if (walk[at] == i + 1) {
				size_t x = at;
				do {
					on_cycle[x] = true;
					x = (size_t)(conf_find_pool(conf, conf->pools[x].backup) -
						     conf->pools);
				} while (x != at);
				break;
			}
			if (walk[at]) {
				break;
			}
		}
	}
	free(walk);
	return on_cycle;
}

/* References between settings: checks named by pools and members exist,
 * backups exist and form no cycle, checks that need a port (tcp) have one. */
static void cross_check(struct conf_ctx *c, struct conf *conf)
{
	bool *on_cycle = backup_cycles(conf);

	for (size_t i = 0; i < conf->npools; i++) {
		const struct conf_pool *p = &conf->pools[i];
		const struct conf_check *pc = conf_find_check(conf, p->check);
		if (p->check && !pc) {
			log_err("%s:%d: pools[%zu].check: no check named \"%s\" (declare it in 'checks')",
				conf->path, p->line, i, p->check);
			c->errors++;
		}
		for (size_t j = 0; j < p->nmembers; j++) {
			const struct conf_member *m = &p->members[j];
			const struct conf_check *k = m->check ? conf_find_check(conf, m->check) : pc;
			if (m->check && !k) {
				log_err("%s:%d: pools[%zu].members[%zu].check: no check named \"%s\"",
					conf->path, m->line, i, j, m->check);
				c->errors++;
			}
			if (k && k->kind && k->kind->port_required && !k->port && !m->port) {
				log_err("%s:%d: pools[%zu].members[%zu].port: check \"%s\" is %s without a port; set 'port' in the check or the member",
					conf->path, m->line, i, j, k->name, k->kind->name);
				c->errors++;
			}
		}
		if (p->backup && !conf_find_pool(conf, p->backup)) {
			log_err("%s:%d: pools[%zu].backup: no pool named \"%s\"", conf->path,
				p->backup_line, i, p->backup);
			c->errors++;
		} else if (p->backup && on_cycle[i]) {
			log_err(
			    "%s:%d: pools[%zu].backup: the backup chain of \"%s\" leads back to it",
			    conf->path, p->backup_line, i, p->name);
			c->errors++;
		}
	}
	free(on_cycle);
}

static void parse_pools(struct conf_ctx *c, struct conf *conf, const config_setting_t *root)
{
	const config_setting_t *list = get_list(c, root, "pools", false);
	int n;

	if (!list) {
		return;
	}
	n = config_setting_length(list);
	conf->pools = xcalloc((size_t)n, sizeof(*conf->pools));
	conf->pool_index = index_new((size_t)n, conf->pools, pool_key);
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(list, (unsigned)i);
		if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
			err(c, s, "expected a group { name = \"...\"; members = ( ... ); }");
			continue;
		}
		parse_pool(c, conf, &conf->pools[conf->npools], s);
		conf->npools++;
	}
}

/* The files a configuration is read from, for conf->files. */
struct file_list {
	char **names;
	size_t n;
};

static void file_list_add(struct file_list *l, const char *name)
{
	l->names = xrealloc(l->names, (l->n + 1) * sizeof(*l->names));
	l->names[l->n++] = xstrdup(name);
}

/* libconfig 1.5 exits the process when an @include names something that
 * is not a readable regular file: check every @include first (recursively),
 * listing the good ones in @files. */
static int check_includes(const char *path, const char *dir, int depth, struct file_list *files)
{
	FILE *f = fopen(path, "re");
	char line[4096];
	int lineno = 0, errors = 0;

	if (!f) {
		return 0; /* reported by whoever opens it */
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line, name[PATH_MAX], full[PATH_MAX * 2];
		struct stat st;
		lineno++;
		while (*p == ' ' || *p == '\t') {
			p++;
		}
		if (strncmp(p, "@include", 8) != 0) {
			continue;
		}
		p += 8;
		while (*p && *p != '"') {
			p++;
		}
		if (*p != '"' || sscanf(p + 1, "%4095[^\"]", name) != 1) {
			name[0] = 0;
		}
		snprintf(full, sizeof(full), "%s%s%s", name[0] == '/' ? "" : dir,
			 name[0] == '/' ? "" : "/", name);
		if (!name[0] || stat(full, &st) != 0 || !S_ISREG(st.st_mode) || access(full, R_OK) != 0) {
			log_err("%s:%d: @include \"%s\": not a readable regular file", path, lineno, name);
			errors++;
		} else if (depth >= 10) {
			log_err("%s:%d: @include nested deeper than 10", path, lineno);
			errors++;
		} else {
			file_list_add(files, full);
			errors += check_includes(full, dir, depth + 1, files);
		}
	}
	fclose(f);
	return errors;
}

/* libconfig 1.5's scanner (flex) takes time quadratic in the length of one
 * token: a 4 MB string, comment line or run of blanks takes it 6 to 9 s,
 * one four times as long about 16 times as long (README, "Configuration",
 * has the command), and a long number or name does the same. Block comments and many short tokens,
 * however long the line, cost nothing of the kind. So before libconfig sees a file, the tokens that
 * can be long are measured here, as its scanner would cut them: strings (adjacent literals, which
 * make one value, together), line comments, runs of blanks, and runs of other characters up to
 * punctuation. What counts as punctuation is libconfig's: ; , = : { } [ ] ( ). Each file is read
 * once, at most up to what is left of @budget, so that a device or a growing file cannot keep us
 * reading. Returns the number of errors (logged), and takes the bytes read from @budget. */
static int scan_file(const char *path, size_t *budget)
{
	static const bool punctuation[256] = {
	    [';'] = true, [','] = true, ['='] = true, [':'] = true, ['{'] = true,
	    ['}'] = true, ['['] = true, [']'] = true, ['('] = true, [')'] = true};
	enum { NORMAL, STRING, LINE_COMMENT, BLOCK_COMMENT } state = NORMAL;
	enum { NONE, BLANKS, WORD } run = NONE;
	size_t len = 0, run_len = 0, read = 0;
	bool after_string = false, escaped = false;
	int line = 1, start = 1, ch, prev = 0;
	const char *what = NULL;
	FILE *f = fopen(path, "re");

	if (!f) {
		return 0; /* reported by whoever opens it */
	}
	while ((ch = getc_unlocked(f)) != EOF) {
		if (++read > *budget) {
			log_err(
			    "%s:%d: the config files are larger than %u MiB together (a larger "
			    "one is more likely a wrong @include than a configuration, and "
			    "libconfig holds about 16 times the text in memory while it reads it)",
			    path, line, CONF_FILES_MAX >> 20);
			fclose(f);
			return 1;
		}
		switch (state) {
		case STRING:
			if (!escaped && ch == '"') {
				state = NORMAL;
				after_string = true;
			} else if (++len > CONF_TOKEN_MAX) {
				what = "a string";
			} else {
				escaped = !escaped && ch == '\\';
			}
			break;
		case LINE_COMMENT:
			if (ch == '\n') {
				state = NORMAL;
			} else if (++len > CONF_TOKEN_MAX) {
				what = "a comment line";
			}
			break;
		case BLOCK_COMMENT:
			if (prev == '*' && ch == '/') {
				state = NORMAL;
				ch = 0; /* this '/' opens nothing */
			}
			break;
		case NORMAL:
			if (prev == '/' && (ch == '/' || ch == '*')) {
				state = ch == '/' ? LINE_COMMENT : BLOCK_COMMENT;
				len = 0;
				run = NONE;
				ch = 0; /* so that the comment's own opening cannot close it */
				break;
			}
			if (ch == '"') {
				if (!after_string) {
					len = 0;
					start = line;
				}
				state = STRING;
				run = NONE;
			} else if (ch == '#') {
				state = LINE_COMMENT;
				len = 0;
				run = NONE;
			} else if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' ||
				   ch == '\v') {
				run_len = run == BLANKS ? run_len + 1 : 1;
				run = BLANKS;
			} else if (ch == '\n') {
				run = NONE;
			} else if (punctuation[ch]) {
				run = NONE;
				after_string = false;
			} else {
				run_len = run == WORD ? run_len + 1 : 1;
				run = WORD;
				after_string = ch == '/' && after_string; /* maybe a comment */
			}
			if (run != NONE && run_len > CONF_TOKEN_MAX) {
				what = run == BLANKS ? "a run of blanks" : "a token";
				start = line;
			}
			break;
		}
		if (what) {
			log_err("%s:%d: %s of more than %u bytes (libconfig's scanner takes time "
				"quadratic in the length of one token)",
				path, state == LINE_COMMENT ? line : start, what, CONF_TOKEN_MAX);
			fclose(f);
			*budget -= read;
			return 1;
		}
		if (ch == '\n') {
			line++;
		}
		prev = ch;
	}
	fclose(f);
	*budget -= read;
	return 0;
}

static void hash_files(struct conf *conf);

struct conf *conf_load(const char *path)
{
	config_t cfg;
	struct conf *conf;
	struct conf_ctx c = { path, 0 };
	struct file_list files = { NULL, 0 };
	struct stat st;
	FILE *f;
	int fd;

	/* A device or a FIFO would keep the scans below (and libconfig) reading,
	 * and opening a FIFO blocks: O_NONBLOCK until it is known to be a file. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		log_err("%s: cannot open config file: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		log_err("%s: cannot use config file: not a regular file", path);
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "r");
	if (!f) {
		log_err("%s: cannot open config file: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	config_init(&cfg);
	{
		char *tmp = xstrdup(path);
		const char *dir = dirname(tmp);
		int errors;
		size_t budget = CONF_FILES_MAX;
		config_set_include_dir(&cfg, dir);
		file_list_add(&files, path);
		errors = check_includes(path, dir, 0, &files);
		/* Every file as often as libconfig will read it. */
		for (size_t i = 0; !errors && i < files.n; i++) {
			errors += scan_file(files.names[i], &budget);
		}
		free(tmp);
		if (errors) {
			config_destroy(&cfg);
			fclose(f);
			goto fail_files;
		}
	}
	fclose(f);
	if (config_read_file(&cfg, path) != CONFIG_TRUE) {
		const char *ef = config_error_file(&cfg);
		log_err("%s:%d: syntax error: %s", ef ? ef : path, config_error_line(&cfg),
			config_error_text(&cfg));
		config_destroy(&cfg);
		goto fail_files;
	}
	conf = xcalloc(1, sizeof(*conf));
	conf->path = xstrdup(path);
	conf->files = files.names;
	conf->nfiles = files.n;
	hash_files(conf);
	conf->udp_size = 1232;
	conf->tcp_idle_timeout = 10;
	conf->tcp_max_clients = 1024;
	conf->tcp_max_per_client = 32;
	conf->listen_host_addresses = true;
	conf->control_mode = 0600;
	parse_top(&c, conf, config_root_setting(&cfg));
	parse_zones(&c, conf, config_root_setting(&cfg));
	parse_checks(&c, conf, config_root_setting(&cfg));
	parse_pools(&c, conf, config_root_setting(&cfg));
	c.errors += geo_conf_check(conf);
	if (c.errors == 0) {
		cross_check(&c, conf);
	}
	config_destroy(&cfg);
	if (c.errors) {
		conf_free(conf);
		return NULL;
	}
	return conf;

fail_files:
	for (size_t i = 0; i < files.n; i++) {
		free(files.names[i]);
	}
	free(files.names);
	return NULL;
}

void conf_free(struct conf *conf)
{
	if (!conf) {
		return;
	}
	for (size_t i = 0; i < conf->nlistens; i++) {
		free(conf->listens[i].text);
	}
	free(conf->listens);
	for (size_t i = 0; i < conf->nzones; i++) {
		free(conf->zones[i].origin);
		free(conf->zones[i].file);
		conf_dnssec_free(conf->zones[i].dnssec);
	}
	free(conf->zones);
	for (size_t i = 0; i < conf->npools; i++) {
		struct conf_pool *p = &conf->pools[i];
		for (size_t j = 0; j < p->nowners; j++) {
			free(p->owners[j]);
		}
		free(p->owners);
		free(p->owner_lines);
		for (size_t j = 0; j < p->nmembers; j++) {
			free(p->members[j].check);
			free(p->members[j].probe_address);
			free(p->members[j].host);
			free(p->members[j].url);
			free(p->members[j].group);
		}
		free(p->members);
		free(p->name);
		free(p->check);
		free(p->backup);
		geo_pool_conf_free(p->geo);
	}
	free(conf->pools);
	geo_maps_free(conf->geo_maps, conf->ngeo_maps);
	for (size_t i = 0; i < conf->nchecks; i++) {
		struct conf_check *k = &conf->checks[i];
		free(k->name);
		if (k->opts) {
			k->kind->opts_free(k->opts);
		}
	}
	free(conf->checks);
	free(conf->pool_index);
	free(conf->check_index);
	free(conf->state_file);
	free(conf->control_socket);
	free(conf->chaos_version);
	free(conf->chaos_id);
	free(conf->user);
	free(conf->group);
	for (size_t i = 0; i < conf->nfiles; i++) {
		free(conf->files[i]);
	}
	free(conf->files);
	free(conf->nsid);
	explicit_bzero(conf->cookie_secret, sizeof(conf->cookie_secret));
	explicit_bzero(conf->cookie_secret_previous, sizeof(conf->cookie_secret_previous));
	if (conf->rate_limit) {
		free(conf->rate_limit->exempt);
		free(conf->rate_limit);
	}
	if (conf->dnstap) {
		free(conf->dnstap->socket);
		free(conf->dnstap->file);
		free(conf->dnstap->identity);
		free(conf->dnstap->version);
		free(conf->dnstap->where);
		free(conf->dnstap);
	}
	conf_http_free(conf->http);
	free(conf->path);
	free(conf);
}

/* --- the HTTP listener ------------------------------------------------------- */

void conf_http_free(struct conf_http *h)
{
	if (!h) {
		return;
	}
	for (size_t i = 0; i < h->nlistens; i++) {
		free(h->listens[i].text);
	}
	free(h->listens);
	free(h->allow);
	free(h);
}

/* A listener address with its port written out: port 53 is no default here. */
static bool has_port(const char *text)
{
	const char *colon = strrchr(text, ':');

	if (text[0] == '[') {
		return strstr(text, "]:") != NULL;
	}
	return colon && colon == strchr(text, ':');
}

/* http = { listen = [ "127.0.0.1:8053" ]; allow = [ ... ]; ... }: present
 * means on. Only loopback is let in unless `allow` says otherwise. */
static void parse_http(struct conf_ctx *c, struct conf *conf, const config_setting_t *root)
{
	static const char *const known[] = { "listen", "allow", "timeout", "max_clients", NULL };
	const config_setting_t *s = config_setting_get_member(root, "http"), *list;
	struct conf_http *h;
	long long v;

	if (!s) {
		return;
	}
	if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
		err(c, s, "expected a group { listen = [ \"127.0.0.1:8053\" ]; ... }, got %s",
		    type_name(config_setting_type(s)));
		return;
	}
	check_known(c, s, known);
	h = conf->http = xcalloc(1, sizeof(*h));
	h->line = config_setting_source_line(s);
	h->timeout = 10;
	h->max_clients = 64;
	list = get_strlist(c, s, "listen");
	if (!config_setting_get_member(s, "listen")) {
		err(c, s, "missing required setting 'listen' (e.g. listen = [ \"127.0.0.1:8053\" ];)");
	} else if (list) {
		int n = strlist_len(list);
		if (n == 0) {
			err(c, list, "expected at least one address");
		}
		h->listens = xcalloc(n ? (size_t)n : 1, sizeof(*h->listens));
		for (int i = 0; i < n; i++) {
			const config_setting_t *e;
			const char *text = strlist_elem(list, i, &e);
			if (!has_port(text) || conf_parse_listen(&h->listens[h->nlistens], text) != 0) {
				err(c, e, "expected \"ADDRESS:PORT\" or \"[IPV6]:PORT\", got \"%s\"", text);
				continue;
			}
			h->nlistens++;
		}
	}
	list = get_strlist(c, s, "allow");
	if (list) {
		int n = strlist_len(list);
		h->allow = xcalloc(n ? (size_t)n : 1, sizeof(*h->allow));
		for (int i = 0; i < n; i++) {
			const config_setting_t *e;
			const char *text = strlist_elem(list, i, &e);
			int rc = conf_parse_net(&h->allow[h->nallow], text);
			if (rc == -2) {
				err(c, e, "expected a network, got \"%s\": bits are set past the prefix",
				    text);
			} else if (rc != 0) {
				err(c, e, "expected a network such as \"127.0.0.0/8\", \"::1/128\" "
					  "or an address, got \"%s\"", text);
			} else {
				h->nallow++;
			}
		}
	} else if (!config_setting_get_member(s, "allow")) {
		h->allow = xcalloc(2, sizeof(*h->allow));
		conf_parse_net(&h->allow[0], "127.0.0.0/8");
		conf_parse_net(&h->allow[1], "::1/128");
		h->nallow = 2;
	}
	if (get_int(c, s, "timeout", 1, 3600, &v)) {
		h->timeout = (unsigned)v;
	}
	if (get_int(c, s, "max_clients", 1, 100000, &v)) {
		h->max_clients = (unsigned)v;
	}
}

/* What was read, as a short fingerprint: two servers with the same hash were
 * given the same files. A file that cannot be read now is left out (the load
 * reports it). */
static void hash_files(struct conf *conf)
{
	crypto_generichash_state st;
	uint8_t out[16], buf[8192];

	if (sodium_init() < 0) {
		return; /* no hash: the metric says "" */
	}
	crypto_generichash_init(&st, NULL, 0, sizeof(out));
	for (size_t i = 0; i < conf->nfiles; i++) {
		FILE *f = fopen(conf->files[i], "re");
		size_t n;
		if (!f) {
			continue;
		}
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
			crypto_generichash_update(&st, buf, n);
		}
		fclose(f);
	}
	crypto_generichash_final(&st, out, sizeof(out));
	for (size_t i = 0; i < sizeof(out); i++) {
		snprintf(conf->hash + 2 * i, 3, "%02x", out[i]);
	}
}
