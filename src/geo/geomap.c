/* geomap.c -- geo maps: the config's `geo_maps`, the nets file parser, and compiling a
 * nets file and a MaxMind database into one prefix tree of datacenter orders. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <libconfig.h>
#include <maxminddb.h>

#include "data/conf.h"
#include "geo/geomap.h"
#include "lb/policy_geo.h"
#include "util/log.h"
#include "util/mem.h"

/* --- the nets file ---------------------------------------------------------------- */

#define NETS_LINE_MAX 1024

static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || n > GEO_NAME_MAX) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' ||
		      ch == '/')) {
			return false;
		}
	}
	return true;
}

int geo_nets_parse(const char *text, size_t len, geo_nets_add_fn add, geo_nets_err_fn err,
		   void *arg)
{
	int errors = 0;
	unsigned line = 0;
	size_t p = 0;

	while (p < len) {
		char buf[NETS_LINE_MAX + 1], *tok[3], *save = NULL, *hash;
		size_t e = p, n;
		int ntok = 0;
		struct conf_net net;
		uint8_t addr[16];
		unsigned bits;

		line++;
		while (e < len && text[e] != '\n') {
			e++;
		}
		n = e - p;
		if (n > NETS_LINE_MAX) {
			err(arg, line, "line longer than 1024 bytes");
			errors++;
			p = e + 1;
			continue;
		}
		memcpy(buf, text + p, n);
		buf[n] = 0;
		p = e + 1;
		if (memchr(buf, 0, n)) {
			err(arg, line, "NUL byte in the line");
			errors++;
			continue;
		}
		if ((hash = strchr(buf, '#'))) {
			*hash = 0;
		}
		for (char *t = strtok_r(buf, " \t\r\f\v", &save); t && ntok < 3;
		     t = strtok_r(NULL, " \t\r\f\v", &save)) {
			tok[ntok++] = t;
		}
		if (ntok == 0) {
			continue;
		}
		if (ntok != 2) {
			err(arg, line,
			    "expected \"NETWORK NAME\", such as \"192.0.2.0/24 office\"");
			errors++;
			continue;
		}
		switch (conf_parse_net(&net, tok[0])) {
		case 0:
			break;
		case -2:
			err(arg, line, "bits are set past the prefix length");
			errors++;
			continue;
		default:
			err(arg, line,
			    "expected a network such as \"192.0.2.0/24\" or \"2001:db8::/32\"");
			errors++;
			continue;
		}
		if (!name_ok(tok[1], strlen(tok[1]))) {
			err(arg, line,
			    "expected a name of 1 to 63 letters, digits, '-', '_', '.' or '/'");
			errors++;
			continue;
		}
		memset(addr, 0, sizeof(addr));
		if (net.family == AF_INET) {
			addr[10] = addr[11] = 0xff;
			memcpy(addr + 12, net.addr, 4);
			bits = 96 + net.bits;
		} else {
			memcpy(addr, net.addr, 16);
			bits = net.bits;
		}
		if (add(arg, addr, bits, tok[1], line) != 0) {
			errors++;
		}
	}
	return errors;
}

/* --- results ------------------------------------------------------------------------ */

struct results {
	struct geo_map *m;
	size_t cap;
	uint32_t *slots; /* hash of results: index + 1, 0 empty */
	size_t mask;
};

static uint64_t result_hash(const struct geo_result *r)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)r->source;

	h = (h ^ (uint64_t)(uintptr_t)r->key) * 1099511628211ULL;
	for (unsigned i = 0; i < r->n; i++) {
		h = (h ^ r->dc[i]) * 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

static bool result_same(const struct geo_result *a, const struct geo_result *b)
{
	return a->source == b->source && a->key == b->key && a->n == b->n &&
	       memcmp(a->dc, b->dc, a->n) == 0;
}

/* The number of result @r in the map's table, added if new. */
static int32_t result_add(struct results *rs, const struct geo_result *r)
{
	struct geo_map *m = rs->m;
	size_t i;

	if ((m->nresults + 1) * 2 > rs->mask + 1) {
		size_t nmask = rs->mask ? rs->mask * 2 + 1 : 255;
		uint32_t *ns = xcalloc(nmask + 1, sizeof(*ns));
		for (size_t k = 0; k < m->nresults; k++) {
			for (i = result_hash(&m->results[k]) & nmask; ns[i]; i = (i + 1) & nmask) {
			}
			ns[i] = (uint32_t)k + 1;
		}
		free(rs->slots);
		rs->slots = ns;
		rs->mask = nmask;
	}
	for (i = result_hash(r) & rs->mask; rs->slots[i]; i = (i + 1) & rs->mask) {
		if (result_same(&m->results[rs->slots[i] - 1], r)) {
			return (int32_t)rs->slots[i] - 1;
		}
	}
	if (m->nresults == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 16;
		m->results = xrealloc(m->results, rs->cap * sizeof(*m->results));
	}
	m->results[m->nresults] = *r;
	rs->slots[i] = (uint32_t)m->nresults + 1;
	return (int32_t)m->nresults++;
}

static const struct geo_region *region_find(const struct geo_map *m, const char *key)
{
	for (size_t i = 0; i < m->nregions; i++) {
		if (strcmp(m->regions[i].key, key) == 0) {
			return &m->regions[i];
		}
	}
	return NULL;
}

static int32_t region_result(struct results *rs, const struct geo_region *g, enum geo_source src)
{
	struct geo_result r;

	memset(&r, 0, sizeof(r));
	r.source = src;
	r.key = g->key;
	r.n = g->n;
	memcpy(r.dc, g->dc, g->n);
	return result_add(rs, &r);
}

double geo_distance(double lat1, double lon1, double lat2, double lon2)
{
	const double rad = M_PI / 180.0;
	double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
	double a = sin(dlat / 2) * sin(dlat / 2) +
		   cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);

	return 2 * 6371.0 * atan2(sqrt(a), sqrt(1 - a));
}

/* Nearest mode: the datacenters by distance from (@lat, @lon); ties keep
 * the declared order. */
static int32_t nearest_result(struct results *rs, double lat, double lon)
{
	const struct geo_map *m = rs->m;
	struct geo_result r;
	double dist[GEO_MAX_DC];

	memset(&r, 0, sizeof(r));
	r.source = GEO_FROM_COORDINATES;
	for (size_t i = 0; i < m->ndcs; i++) {
		size_t j = r.n;
		double d = geo_distance(lat, lon, m->dcs[i].lat, m->dcs[i].lon);
		while (j > 0 && dist[j - 1] > d) {
			dist[j] = dist[j - 1];
			r.dc[j] = r.dc[j - 1];
			j--;
		}
		dist[j] = d;
		r.dc[j] = (uint8_t)i;
		r.n++;
	}
	return result_add(rs, &r);
}

/* --- the nets file into the build trie ------------------------------------------------ */

struct nets_load {
	struct geo_map *m;
	struct results *rs;
	struct nettree_build *b;
	const char *path;
	unsigned *lines; /* per result inserted at a prefix: not needed; line of each prefix */
	int errors;
};

/* The first errors of a file are worth reading; a wrong file gives thousands. */
#define NETS_ERRORS_LOGGED 20

static void nets_log(struct nets_load *l, unsigned line, const char *msg)
{
	if (++l->errors <= NETS_ERRORS_LOGGED) {
		log_err("%s:%u: %s", l->path, line, msg);
	} else if (l->errors == NETS_ERRORS_LOGGED + 1) {
		log_err("%s: more errors follow; only the first %d are shown", l->path,
			NETS_ERRORS_LOGGED);
	}
}

static void nets_err(void *arg, unsigned line, const char *msg)
{
	nets_log(arg, line, msg);
}

static int nets_add(void *arg, const uint8_t addr[16], unsigned bits, const char *name,
		    unsigned line)
{
	struct nets_load *l = arg;
	const struct geo_region *g = region_find(l->m, name);

	char msg[160];

	if (!g) {
		snprintf(msg, sizeof(msg),
			 "\"%s\" is no region of geo map \"%s\" (regions list it "
			 "with its datacenters)",
			 name, l->m->name);
		nets_log(l, line, msg);
		return -1;
	}
	if (nettree_build_insert(l->b, addr, bits, region_result(l->rs, g, GEO_FROM_NETS)) !=
	    NETTREE_NONE) {
		nets_log(l, line, "this network is listed twice");
		return -1;
	}
	l->m->nets_networks++;
	return 0;
}

/* Read all of @path (a regular file, at most 256 MiB). */
static char *read_all(const char *path, size_t *len, char *err, size_t size)
{
	FILE *f = fopen(path, "re");
	struct stat st;
	char *buf;

	if (!f) {
		snprintf(err, size, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (256 << 20)) {
		snprintf(err, size, "%s: not a regular file of at most 256 MiB", path);
		fclose(f);
		return NULL;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	*len = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	return buf;
}

/* --- the MaxMind database as nettree_compile walks it ------------------------------------ */

struct db_walk {
	MMDB_s mmdb;
	struct results *rs;
	struct geo_map *m;
	uint32_t cached_number;
	MMDB_search_node_s node;
	bool have_node;
	/* record offset -> result + 1 */
	uint32_t *keys, *vals;
	size_t mask, used;
	bool bad_data;
};

static bool get_str(MMDB_entry_s *e, char *out, size_t size, const char *const *path)
{
	MMDB_entry_data_s d;

	if (MMDB_aget_value(e, &d, path) != MMDB_SUCCESS || !d.has_data ||
	    d.type != MMDB_DATA_TYPE_UTF8_STRING || d.data_size == 0 || d.data_size >= size) {
		return false;
	}
	memcpy(out, d.utf8_string, d.data_size);
	out[d.data_size] = 0;
	return true;
}

static bool get_double(MMDB_entry_s *e, double *out, const char *const *path)
{
	MMDB_entry_data_s d;

	if (MMDB_aget_value(e, &d, path) != MMDB_SUCCESS || !d.has_data) {
		return false;
	}
	if (d.type == MMDB_DATA_TYPE_DOUBLE) {
		*out = d.double_value;
	} else if (d.type == MMDB_DATA_TYPE_FLOAT) {
		*out = d.float_value;
	} else {
		return false;
	}
	return isfinite(*out) && fabs(*out) <= 180;
}

/* A database record's region, most specific first: country/subdivision,
 * country, (nearest mode: coordinates,) continent, the default. */
static int32_t record_result(struct db_walk *w, MMDB_entry_s *e)
{
	static const char *const country[] = {"country", "iso_code", NULL};
	static const char *const registered[] = {"registered_country", "iso_code", NULL};
	static const char *const continent[] = {"continent", "code", NULL};
	static const char *const subdivision[] = {"subdivisions", "0", "iso_code", NULL};
	static const char *const latitude[] = {"location", "latitude", NULL};
	static const char *const longitude[] = {"location", "longitude", NULL};
	/* The flat layout of the ip-location-db databases (country_code,
	 * state1 a name, latitude, longitude; no continent). */
	static const char *const flat_country[] = {"country_code", NULL};
	static const char *const flat_state[] = {"state1", NULL};
	static const char *const flat_latitude[] = {"latitude", NULL};
	static const char *const flat_longitude[] = {"longitude", NULL};
	bool flat = false;
	char cc[8] = "", sub[16] = "", key[32];
	const struct geo_region *g;
	double lat, lon;

	if (!get_str(e, cc, sizeof(cc), country) && !get_str(e, cc, sizeof(cc), registered)) {
		flat = get_str(e, cc, sizeof(cc), flat_country);
	}
	if (cc[0] && get_str(e, sub, sizeof(sub), flat ? flat_state : subdivision)) {
		snprintf(key, sizeof(key), "%s/%s", cc, sub);
		if ((g = region_find(w->m, key))) {
			return region_result(w->rs, g, GEO_FROM_SUBDIVISION);
		}
	}
	if (cc[0] && (g = region_find(w->m, cc))) {
		return region_result(w->rs, g, GEO_FROM_COUNTRY);
	}
	if (w->m->mode == GEO_MODE_NEAREST &&
	    get_double(e, &lat, flat ? flat_latitude : latitude) &&
	    get_double(e, &lon, flat ? flat_longitude : longitude)) {
		return nearest_result(w->rs, lat, lon);
	}
	if (get_str(e, key, sizeof(key), continent) && (g = region_find(w->m, key))) {
		return region_result(w->rs, g, GEO_FROM_CONTINENT);
	}
	return region_result(w->rs, &w->m->deflt, GEO_FROM_DEFAULT);
}

static int32_t cached_result(struct db_walk *w, MMDB_entry_s *e)
{
	size_t i;
	int32_t r;

	if ((w->used + 1) * 2 > w->mask + 1) {
		size_t nmask = w->mask ? w->mask * 2 + 1 : 4095;
		uint32_t *nk = xcalloc(nmask + 1, sizeof(*nk)),
			 *nv = xcalloc(nmask + 1, sizeof(*nv));
		for (size_t k = 0; k <= w->mask && w->vals; k++) {
			if (w->vals[k]) {
				for (i = (w->keys[k] * 2654435761u) & nmask; nv[i];
				     i = (i + 1) & nmask) {
				}
				nk[i] = w->keys[k];
				nv[i] = w->vals[k];
			}
		}
		free(w->keys);
		free(w->vals);
		w->keys = nk;
		w->vals = nv;
		w->mask = nmask;
	}
	for (i = (e->offset * 2654435761u) & w->mask; w->vals[i]; i = (i + 1) & w->mask) {
		if (w->keys[i] == e->offset) {
			return (int32_t)w->vals[i] - 1;
		}
	}
	r = record_result(w, e);
	w->keys[i] = e->offset;
	w->vals[i] = (uint32_t)r + 1;
	w->used++;
	w->m->db_records++;
	return r;
}

static int db_node(void *db, uint32_t number, unsigned bit, int *kind, uint32_t *out)
{
	struct db_walk *w = db;
	uint8_t type;

	if (!w->have_node || w->cached_number != number) {
		if (number >= w->mmdb.metadata.node_count ||
		    MMDB_read_node(&w->mmdb, number, &w->node) != MMDB_SUCCESS) {
			return -1;
		}
		w->cached_number = number;
		w->have_node = true;
	}
	type = bit ? w->node.right_record_type : w->node.left_record_type;
	switch (type) {
	case MMDB_RECORD_TYPE_SEARCH_NODE:
		*kind = 0;
		*out = (uint32_t)(bit ? w->node.right_record : w->node.left_record);
		return 0;
	case MMDB_RECORD_TYPE_EMPTY:
		*kind = 1;
		return 0;
	case MMDB_RECORD_TYPE_DATA: {
		MMDB_entry_s e = bit ? w->node.right_record_entry : w->node.left_record_entry;
		*kind = 2;
		*out = (uint32_t)cached_result(w, &e);
		return 0;
	}
	default:
		return -1;
	}
}

/* --- compiling a map ---------------------------------------------------------------------- */

int geo_map_compile(struct geo_map *m, char *err, size_t size)
{
	struct results rs = {m, 0, NULL, 0};
	struct nettree_build b, *bp = NULL;
	struct db_walk *w = NULL;
	struct nettree_db db, *dbp = NULL;
	struct timespec t0, t1;
	int32_t deflt;
	int rc = -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	m->nresults = 0;
	m->nets_networks = m->db_records = 0;
	deflt = region_result(&rs, &m->deflt, GEO_FROM_DEFAULT);
	if (m->nets) {
		size_t len = 0;
		char *text = read_all(m->nets, &len, err, size);
		struct nets_load l = {m, &rs, &b, m->nets, NULL, 0};
		int errors;
		if (!text) {
			goto out;
		}
		nettree_build_init(&b);
		bp = &b;
		errors = geo_nets_parse(text, len, nets_add, nets_err, &l);
		free(text);
		if (errors) {
			snprintf(err, size, "%s: %d error%s (logged above)", m->nets, errors,
				 errors == 1 ? "" : "s");
			goto out;
		}
	}
	if (m->geoip2) {
		int e;
		w = xcalloc(1, sizeof(*w));
		w->rs = &rs;
		w->m = m;
		e = MMDB_open(m->geoip2, MMDB_MODE_MMAP, &w->mmdb);
		if (e != MMDB_SUCCESS) {
			snprintf(err, size, "%s: %s", m->geoip2,
				 e == MMDB_IO_ERROR ? strerror(errno) : MMDB_strerror(e));
			free(w);
			w = NULL;
			goto out;
		}
		memset(&db, 0, sizeof(db));
		db.db = w;
		db.root = 0;
		db.nodes = w->mmdb.metadata.node_count;
		db.ipv4_only = w->mmdb.metadata.ip_version == 4;
		db.ipv4_kind = 1;
		if (db.ipv4_only) {
			db.ipv4_kind = 0;
			db.ipv4 = 0;
		} else {
			/* The IPv4 subtree: 96 zero bits down from the root. */
			uint32_t at = 0;
			int kind = 0;
			for (unsigned d = 0; d < 96 && kind == 0; d++) {
				if (db_node(w, at, 0, &kind, &at) != 0) {
					snprintf(err, size, "%s: corrupt search tree", m->geoip2);
					goto out;
				}
			}
			db.ipv4_kind = kind;
			db.ipv4 = at;
		}
		db.node = db_node;
		dbp = &db;
	}
	if (nettree_compile(&m->tree, bp, dbp, deflt) != 0) {
		snprintf(err, size, "%s: corrupt search tree", m->geoip2 ? m->geoip2 : m->name);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	m->compile_seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	log_info("geo map %s: %zu networks of the nets file, %zu database records, %zu "
		 "datacenter orders, %zu tree nodes (%.1f MiB) in %.2f s",
		 m->name, m->nets_networks, m->db_records, m->nresults, m->tree.n,
		 nettree_memory(&m->tree) / 1048576.0, m->compile_seconds);
	rc = 0;
out:
	if (bp) {
		nettree_build_clear(bp);
	}
	if (w) {
		MMDB_close(&w->mmdb);
		free(w->keys);
		free(w->vals);
		free(w);
	}
	free(rs.slots);
	if (rc != 0) {
		free(m->results);
		m->results = NULL;
		m->nresults = 0;
	}
	return rc;
}

/* --- the config: geo_maps = ( { ... }, ... ) ------------------------------------------------ */

static int dc_index(const struct geo_map *m, const char *name)
{
	for (size_t i = 0; i < m->ndcs; i++) {
		if (strcmp(m->dcs[i].name, name) == 0) {
			return (int)i;
		}
	}
	return -1;
}

/* A list of datacenter names into @g. */
static bool parse_dc_list(struct conf_ctx *c, const struct geo_map *m, struct geo_region *g,
			  const config_setting_t *s)
{
	int n = config_setting_length(s);

	if (!config_setting_is_aggregate(s) || n == 0 || n > GEO_MAX_DC) {
		conf_error(
		    c, s,
		    "expected a list of 1 to %d datacenter names such as [ \"ams\", \"iad\" ]",
		    GEO_MAX_DC);
		return false;
	}
	g->n = 0;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *name = conf_string(c, e);
		int k;
		if (!name) {
			return false;
		}
		k = dc_index(m, name);
		if (k < 0) {
			conf_error(c, e, "\"%s\" is not a datacenter of this geo map", name);
			return false;
		}
		for (unsigned j = 0; j < g->n; j++) {
			if (g->dc[j] == k) {
				conf_error(c, e, "datacenter \"%s\" is listed twice", name);
				return false;
			}
		}
		g->dc[g->n++] = (uint8_t)k;
	}
	return true;
}

static void parse_map(struct conf_ctx *c, struct geo_map *m, const config_setting_t *s)
{
	static const char *const known[] = {"name",	   "nets",    "geoip2",	 "mode",
					    "datacenters", "regions", "default", NULL};
	const config_setting_t *v, *dcs, *regions;
	const char *str;
	char err[512];

	int errors = conf_errors(c);

	m->line = config_setting_source_line(s);
	for (int i = 0; (v = config_setting_get_elem(s, (unsigned)i)); i++) {
		const char *name = config_setting_name(v);
		bool ok = false;
		for (const char *const *k = known; *k; k++) {
			ok = ok || (name && strcmp(name, *k) == 0);
		}
		if (!ok) {
			conf_error(c, v,
				   "unknown setting (expected one of: name, nets, geoip2, mode, "
				   "datacenters, regions, default)");
		}
	}
	v = config_setting_get_member(s, "name");
	str = v ? conf_string(c, v) : NULL;
	if (!v) {
		conf_error(c, s, "missing required setting 'name'");
	}
	m->name = xstrdup(str ? str : "");
	if ((v = config_setting_get_member(s, "nets")) && (str = conf_string(c, v))) {
		m->nets = conf_resolve(c, str);
	}
	if ((v = config_setting_get_member(s, "geoip2")) && (str = conf_string(c, v))) {
		m->geoip2 = conf_resolve(c, str);
	}
	if ((v = config_setting_get_member(s, "mode")) && (str = conf_string(c, v))) {
		if (strcmp(str, "order") == 0) {
			m->mode = GEO_MODE_ORDER;
		} else if (strcmp(str, "nearest") == 0) {
			m->mode = GEO_MODE_NEAREST;
		} else {
			conf_error(c, v, "expected \"order\" or \"nearest\", got \"%s\"", str);
		}
	}
	if (!m->nets && !m->geoip2 && !config_setting_get_member(s, "nets") &&
	    !config_setting_get_member(s, "geoip2")) {
		conf_error(c, s,
			   "a geo map needs 'nets' (a file of networks), 'geoip2' (a MaxMind "
			   "database) or both");
	}
	dcs = config_setting_get_member(s, "datacenters");
	if (!dcs || !config_setting_is_aggregate(dcs) || config_setting_length(dcs) == 0 ||
	    config_setting_length(dcs) > GEO_MAX_DC) {
		conf_error(c, dcs ? dcs : s,
			   "expected 'datacenters', a list of 1 to %d names or "
			   "groups { name = \"ams\"; coordinates = [ 52.37, 4.89 ]; }",
			   GEO_MAX_DC);
		return;
	}
	m->dcs = xcalloc((size_t)config_setting_length(dcs), sizeof(*m->dcs));
	for (int i = 0; i < config_setting_length(dcs); i++) {
		const config_setting_t *e = config_setting_get_elem(dcs, (unsigned)i), *co = NULL;
		struct geo_dc *d = &m->dcs[m->ndcs];
		const char *name;
		if (config_setting_type(e) == CONFIG_TYPE_GROUP) {
			const config_setting_t *n = config_setting_get_member(e, "name");
			name = n ? conf_string(c, n) : NULL;
			if (!n) {
				conf_error(c, e, "missing required setting 'name'");
			}
			co = config_setting_get_member(e, "coordinates");
		} else {
			name = conf_string(c, e);
		}
		if (!name) {
			continue;
		}
		if (!name_ok(name, strlen(name))) {
			conf_error(c, e,
				   "expected a datacenter name of 1 to 63 letters, digits, '-', "
				   "'_' or '.', got \"%s\"",
				   name);
			continue;
		}
		if (dc_index(m, name) >= 0) {
			conf_error(c, e, "datacenter \"%s\" is declared twice", name);
			continue;
		}
		if (co) {
			double ll[2];
			bool ok = config_setting_is_aggregate(co) && config_setting_length(co) == 2;
			for (int k = 0; ok && k < 2; k++) {
				const config_setting_t *x =
				    config_setting_get_elem(co, (unsigned)k);
				int t = config_setting_type(x);
				ll[k] = t == CONFIG_TYPE_FLOAT ? config_setting_get_float(x)
					: t == CONFIG_TYPE_INT ? config_setting_get_int(x)
							       : 1000;
				ok = fabs(ll[k]) <= (k == 0 ? 90 : 180);
			}
			if (!ok) {
				conf_error(c, co,
					   "expected [ LATITUDE, LONGITUDE ] in degrees, such as "
					   "[ 52.37, 4.89 ]");
				continue;
			}
			d->has_coordinates = true;
			d->lat = ll[0];
			d->lon = ll[1];
		} else if (m->mode == GEO_MODE_NEAREST) {
			conf_error(c, e,
				   "mode \"nearest\" needs the coordinates of every datacenter");
		}
		d->name = xstrdup(name);
		m->ndcs++;
	}
	regions = config_setting_get_member(s, "regions");
	if (regions) {
		int n = config_setting_length(regions);
		if (config_setting_type(regions) != CONFIG_TYPE_LIST) {
			conf_error(c, regions,
				   "expected a list of groups { region = \"EU\"; "
				   "datacenters = [ \"ams\" ]; }");
			n = 0;
		}
		m->regions = xcalloc(n ? (size_t)n : 1, sizeof(*m->regions));
		for (int i = 0; i < n; i++) {
			const config_setting_t *e = config_setting_get_elem(regions, (unsigned)i);
			const config_setting_t *r = config_setting_get_member(e, "region");
			const config_setting_t *l = config_setting_get_member(e, "datacenters");
			struct geo_region *g = &m->regions[m->nregions];
			const char *key;
			if (config_setting_type(e) != CONFIG_TYPE_GROUP || !r || !l) {
				conf_error(c, e,
					   "expected a group { region = \"EU\"; datacenters = "
					   "[ \"ams\" ]; }");
				continue;
			}
			if (config_setting_length(e) != 2) {
				conf_error(c, e, "a region takes only 'region' and 'datacenters'");
				continue;
			}
			if (!(key = conf_string(c, r))) {
				continue;
			}
			if (!name_ok(key, strlen(key)) || strcmp(key, "default") == 0) {
				conf_error(
				    c, r,
				    "expected a region: a name of the nets file, a continent "
				    "(\"EU\"), a country (\"US\") or \"COUNTRY/SUBDIVISION\" "
				    "(\"US/CA\"), got \"%s\"",
				    key);
				continue;
			}
			if (region_find(m, key)) {
				conf_error(c, r, "region \"%s\" is listed twice", key);
				continue;
			}
			if (!parse_dc_list(c, m, g, l)) {
				continue;
			}
			g->key = xstrdup(key);
			g->line = config_setting_source_line(e);
			m->nregions++;
		}
	}
	m->deflt.key = xstrdup("default");
	if ((v = config_setting_get_member(s, "default"))) {
		parse_dc_list(c, m, &m->deflt, v);
	} else {
		/* No default: every datacenter, in the declared order. */
		for (size_t i = 0; i < m->ndcs; i++) {
			m->deflt.dc[m->deflt.n++] = (uint8_t)i;
		}
	}
	if (conf_errors(c) != errors || m->deflt.n == 0) {
		return; /* an error was reported: nothing to compile */
	}
	if (geo_map_compile(m, err, sizeof(err)) != 0) {
		conf_error(c,
			   config_setting_get_member(s, m->geoip2 && strstr(err, m->geoip2) == err
							    ? "geoip2"
							: m->nets ? "nets"
								  : "geoip2"),
			   "%s", err);
	}
}

void geo_conf_parse(struct conf_ctx *c, struct conf *conf, const config_setting_t *root)
{
	const config_setting_t *list = config_setting_get_member(root, "geo_maps");
	int n;

	if (!list) {
		return;
	}
	if (config_setting_type(list) != CONFIG_TYPE_LIST) {
		conf_error(c, list, "expected a list of groups ( { name = \"world\"; ... } )");
		return;
	}
	n = config_setting_length(list);
	conf->geo_maps = xcalloc(n ? (size_t)n : 1, sizeof(*conf->geo_maps));
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
		struct geo_map *m = &conf->geo_maps[conf->ngeo_maps++];
		if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
			conf_error(c, e, "expected a group { name = \"world\"; ... }");
			m->name = xstrdup("");
			continue;
		}
		parse_map(c, m, e);
		for (int j = 0; j < i; j++) {
			if (strcmp(conf->geo_maps[j].name, m->name) == 0 && m->name[0]) {
				conf_error(c, e, "geo map \"%s\" is already declared at line %d",
					   m->name, conf->geo_maps[j].line);
			}
		}
	}
}

const struct geo_map *geo_map_find(const struct conf *conf, const char *name)
{
	for (size_t i = 0; i < conf->ngeo_maps; i++) {
		if (strcmp(conf->geo_maps[i].name, name) == 0) {
			return &conf->geo_maps[i];
		}
	}
	return NULL;
}

int geo_conf_check(struct conf *conf)
{
	int errors = 0;

	for (size_t i = 0; i < conf->npools; i++) {
		const struct conf_pool *cp = &conf->pools[i];
		struct geo_pool_conf *g = cp->geo;
		const struct geo_map *m;
		if (!g) {
			continue;
		}
		m = geo_map_find(conf, g->map);
		if (!m) {
			log_err("%s:%d: pools[%zu].geo_map: no geo map \"%s\" in geo_maps",
				conf->path, g->map_line, i, g->map);
			errors++;
			continue;
		}
		for (size_t j = 0; j < g->ndcs; j++) {
			if (dc_index(m, g->dcs[j].name) < 0) {
				log_err("%s:%d: pools[%zu].datacenters[%zu].name: \"%s\" is not a "
					"datacenter of geo map \"%s\"",
					conf->path, g->dcs[j].line, i, j, g->dcs[j].name, m->name);
				errors++;
			}
		}
		g->geo = m;
	}
	return errors;
}

void geo_maps_free(struct geo_map *maps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct geo_map *m = &maps[i];
		free(m->name);
		free(m->nets);
		free(m->geoip2);
		for (size_t j = 0; j < m->ndcs; j++) {
			free(m->dcs[j].name);
		}
		free(m->dcs);
		for (size_t j = 0; j < m->nregions; j++) {
			free(m->regions[j].key);
		}
		free(m->regions);
		free(m->deflt.key);
		nettree_clear(&m->tree);
		free(m->results);
	}
	free(maps);
}
