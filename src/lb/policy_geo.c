/* policy_geo.c -- the geo policy: members grouped in datacenters, the client's
 * region (ECS address or source address, through the pool's geo map) picks an
 * ordered list of them, the first with enough members up answers, with the
 * inner policy (round-robin or weighted) choosing inside it. */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "data/conf.h"
#include "dns/request.h"
#include "geo/geomap.h"
#include "lb/policy.h"
#include "lb/policy_geo.h"
#include "lb/pool.h"
#include "util/mem.h"
#include "util/sbuf.h"

static const char *const settings[] = {"geo_map", "datacenters", "inner", NULL};

extern const struct policy_ops policy_round_robin;

/* One family of a pool, per datacenter of the map: its members there. */
struct geo_family {
	const struct geo_map *map;
	const struct policy_ops *inner;
	struct pool_family shadow; /* f with the inner policy's own data, if it has any */
	bool use_shadow;
	struct {
		uint16_t n;
		uint16_t min_healthy;
		uint16_t *idx; /* ascending family indexes */
	} dc[GEO_MAX_DC];
	uint16_t *idx;
};

void geo_pool_conf_free(struct geo_pool_conf *g)
{
	if (!g) {
		return;
	}
	for (size_t i = 0; i < g->ndcs; i++) {
		free(g->dcs[i].name);
		free(g->dcs[i].members);
	}
	free(g->dcs);
	free(g->map);
	free(g);
}

static int fail(const config_setting_t **at, const config_setting_t *s, char *err, size_t size,
		const char *msg)
{
	*at = s;
	snprintf(err, size, "%s", msg);
	return -1;
}

/* The member of @cp whose address is @text, or -1. */
static long member_of(const struct conf_pool *cp, const char *text)
{
	uint8_t a[16] = {0};
	int family = AF_INET6;

	if (inet_pton(AF_INET, text, a) == 1) {
		family = AF_INET;
	} else if (inet_pton(AF_INET6, text, a) != 1) {
		return -1;
	}
	for (size_t i = 0; i < cp->nmembers; i++) {
		if (cp->members[i].family == family &&
		    memcmp(cp->members[i].addr, a, family == AF_INET ? 4 : 16) == 0) {
			return (long)i;
		}
	}
	return -1;
}

static int parse(struct conf_pool *cp, const config_setting_t *group, const config_setting_t **at,
		 char *err, size_t size)
{
	const config_setting_t *s = config_setting_get_member(group, "geo_map");
	const config_setting_t *dcs = config_setting_get_member(group, "datacenters");
	struct geo_pool_conf *g = xcalloc(1, sizeof(*g));
	int *in_dc = NULL;

	cp->geo = g;
	g->inner = policy_find("round-robin");
	if (!s || config_setting_type(s) != CONFIG_TYPE_STRING) {
		return fail(at, s ? s : group, err, size,
			    "policy \"geo\" needs geo_map = \"NAME\" (a geo map of geo_maps)");
	}
	g->map = xstrdup(config_setting_get_string(s));
	g->map_line = config_setting_source_line(s);
	if ((s = config_setting_get_member(group, "inner"))) {
		const char *name = config_setting_get_string(s);
		g->inner = name ? policy_find(name) : NULL;
		if (!g->inner || !g->inner->choose || g->inner->narrow) {
			g->inner = NULL;
			return fail(at, s, err, size, "expected \"round-robin\" or \"weighted\"");
		}
	}
	if (cp->answers == 0 && g->inner->parse) {
		/* The inner policy's default number of answers (weighted: one). */
		const config_setting_t *ignored = group;
		char msg[8];
		g->inner->parse(cp, group, &ignored, msg, sizeof(msg));
	}
	if (!dcs || config_setting_type(dcs) != CONFIG_TYPE_LIST ||
	    config_setting_length(dcs) == 0 || config_setting_length(dcs) > GEO_MAX_DC) {
		return fail(at, dcs ? dcs : group, err, size,
			    "policy \"geo\" needs datacenters = ( { name = \"ams\"; members = "
			    "[ \"192.0.2.1\" ]; min_healthy = 1; }, ... ), at most 32");
	}
	in_dc = xcalloc(cp->nmembers ? cp->nmembers : 1, sizeof(int));
	g->dcs = xcalloc((size_t)config_setting_length(dcs), sizeof(*g->dcs));
	for (int i = 0; i < config_setting_length(dcs); i++) {
		const config_setting_t *e = config_setting_get_elem(dcs, (unsigned)i);
		const config_setting_t *n = config_setting_get_member(e, "name");
		const config_setting_t *ms = config_setting_get_member(e, "members");
		const config_setting_t *mh = config_setting_get_member(e, "min_healthy");
		struct geo_pool_dc_conf *d = &g->dcs[g->ndcs];
		if (config_setting_type(e) != CONFIG_TYPE_GROUP || !n ||
		    config_setting_type(n) != CONFIG_TYPE_STRING || !ms ||
		    !config_setting_is_aggregate(ms) || config_setting_length(ms) == 0) {
			free(in_dc);
			return fail(at, e, err, size,
				    "expected { name = \"ams\"; members = [ \"192.0.2.1\", ... ]; "
				    "min_healthy = 1; }");
		}
		for (int k = 0; k < config_setting_length(e); k++) {
			const char *nm =
			    config_setting_name(config_setting_get_elem(e, (unsigned)k));
			if (!nm || (strcmp(nm, "name") && strcmp(nm, "members") &&
				    strcmp(nm, "min_healthy"))) {
				free(in_dc);
				return fail(at, config_setting_get_elem(e, (unsigned)k), err, size,
					    "unknown setting (expected one of: name, members, "
					    "min_healthy)");
			}
		}
		d->name = xstrdup(config_setting_get_string(n));
		d->line = config_setting_source_line(e);
		g->ndcs++;
		for (size_t j = 0; j + 1 < g->ndcs; j++) {
			if (strcmp(g->dcs[j].name, d->name) == 0) {
				free(in_dc);
				return fail(at, n, err, size, "this datacenter is listed twice");
			}
		}
		d->min_healthy = 1;
		if (mh) {
			int v = config_setting_get_int(mh);
			if (config_setting_type(mh) != CONFIG_TYPE_INT || v < 1 || v > 512) {
				free(in_dc);
				return fail(at, mh, err, size, "expected an integer from 1 to 512");
			}
			d->min_healthy = (unsigned)v;
		}
		d->members = xcalloc((size_t)config_setting_length(ms), sizeof(size_t));
		for (int k = 0; k < config_setting_length(ms); k++) {
			const config_setting_t *a = config_setting_get_elem(ms, (unsigned)k);
			const char *text = config_setting_get_string(a);
			long m = text ? member_of(cp, text) : -1;
			if (m < 0) {
				free(in_dc);
				snprintf(err, size,
					 "expected the address of one of this pool's members, "
					 "got %s%s%s",
					 text ? "\"" : "a non-string", text ? text : "",
					 text ? "\"" : "");
				*at = a;
				return -1;
			}
			if (in_dc[m]) {
				free(in_dc);
				return fail(at, a, err, size,
					    "this member is already in a datacenter");
			}
			in_dc[m] = 1;
			d->members[d->nmembers++] = (size_t)m;
		}
	}
	for (size_t m = 0; m < cp->nmembers; m++) {
		if (!in_dc[m]) {
			free(in_dc);
			snprintf(err, size, "member at line %d is in no datacenter",
				 cp->members[m].line);
			*at = dcs;
			return -1;
		}
	}
	free(in_dc);
	return 0;
}

static int dc_of_map(const struct geo_map *m, const char *name)
{
	for (size_t i = 0; i < m->ndcs; i++) {
		if (strcmp(m->dcs[i].name, name) == 0) {
			return (int)i;
		}
	}
	return -1;
}

static void prepare(struct pool_family *f, const struct pool *p, const struct conf_pool *cp)
{
	const struct geo_pool_conf *gc = cp->geo;
	struct geo_family *g;
	int family = f == &p->v4 ? AF_INET : AF_INET6;
	uint16_t *fam_index;
	size_t used = 0;

	if (!gc || !gc->geo) {
		return; /* not checked (a config that failed): never answers */
	}
	g = xcalloc(1, sizeof(*g));
	g->map = gc->geo;
	g->inner = gc->inner;
	if (g->inner->prepare) {
		g->shadow = *f;
		g->shadow.policy_data = NULL;
		g->inner->prepare(&g->shadow, p, cp);
		g->use_shadow = true;
	}
	/* conf member index -> index in this family (pool.c keeps their order). */
	fam_index = xcalloc(cp->nmembers ? cp->nmembers : 1, sizeof(*fam_index));
	for (size_t i = 0, k = 0; i < cp->nmembers; i++) {
		fam_index[i] = cp->members[i].family == family ? (uint16_t)k++ : UINT16_MAX;
	}
	g->idx = xcalloc(f->n ? f->n : 1, sizeof(*g->idx));
	for (size_t i = 0; i < gc->ndcs; i++) {
		const struct geo_pool_dc_conf *d = &gc->dcs[i];
		int m = dc_of_map(g->map, d->name);
		uint16_t *start = g->idx + used;
		if (m < 0) {
			continue;
		}
		for (size_t j = 0; j < d->nmembers; j++) {
			uint16_t fi = fam_index[d->members[j]];
			if (fi != UINT16_MAX) {
				/* Ascending: insertion into the short sorted run. */
				size_t at = g->dc[m].n;
				while (at > 0 && start[at - 1] > fi) {
					start[at] = start[at - 1];
					at--;
				}
				start[at] = fi;
				g->dc[m].n++;
			}
		}
		used += g->dc[m].n;
		g->dc[m].idx = start;
		g->dc[m].min_healthy =
		    (uint16_t)(d->min_healthy < g->dc[m].n ? d->min_healthy : g->dc[m].n);
	}
	free(fam_index);
	f->policy_data = g;
}

static void clear(struct pool_family *f)
{
	struct geo_family *g = f->policy_data;

	if (g) {
		if (g->use_shadow && g->inner->clear) {
			g->inner->clear(&g->shadow);
		}
		free(g->idx);
		free(g);
	}
	f->policy_data = NULL;
}

/* The client's region: from the ECS address when it applies and has a
 * prefix, else from the packet's source. Records the scope the response
 * echoes: the prefix that decided, at most the source prefix (RFC 7871
 * 7.2.1); 0 when the source address decided (the resolver's own address:
 * the answer is the same for all its clients). */
static const struct geo_result *locate(const struct geo_map *m, struct request *req)
{
	const struct query_ecs *e = &req->q.ecs;
	const struct geo_result *r;
	unsigned scope;

	if (e->present && req->ecs_apply && e->source_prefix) {
		r = geo_map_lookup(m, e->family == DNS_ECS_FAMILY_IP6 ? e->addr : NULL, e->addr,
				   &scope);
		if (scope > e->source_prefix) {
			scope = e->source_prefix;
		}
		if (scope > req->ecs_scope) {
			req->ecs_scope = (uint8_t)scope;
		}
		return r;
	}
	if (req->client && req->client->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)req->client;
		return geo_map_lookup(m, NULL, (const uint8_t *)&a->sin_addr, &scope);
	}
	if (req->client && req->client->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)req->client;
		return geo_map_lookup(m, a->sin6_addr.s6_addr, NULL, &scope);
	}
	return &m->results[0]; /* no client (explain without one): the default */
}

static unsigned narrow(uint16_t *out, const struct pool *p, const struct pool_family *f,
		       const uint16_t *cand, unsigned n, bool *degraded, struct request *req)
{
	const struct geo_family *g = f->policy_data;
	const struct geo_result *r;
	uint8_t up[POOL_MAX_MEMBERS];
	bool all = n == f->n, first = true;

	if (!g) {
		return 0;
	}
	r = locate(g->map, req);
	req->geo = r;
	req->dc = 0;
	if (!all) {
		memset(up, 0, f->n);
		for (unsigned i = 0; i < n; i++) {
			up[cand[i]] = 1;
		}
	}
	for (unsigned i = 0; i < r->n; i++) {
		unsigned dc = r->dc[i], k = 0, dn = g->dc[dc].n;
		const uint16_t *idx = g->dc[dc].idx;
		if (dn == 0) {
			continue; /* no member of this family there */
		}
		for (unsigned j = 0; j < dn; j++) {
			if (all || up[idx[j]]) {
				out[k++] = idx[j];
			}
		}
		if (k > 0 && k >= g->dc[dc].min_healthy) {
			/* Shorter TTL when not the first choice or not whole. */
			*degraded = !first || k < dn;
			req->dc = (uint8_t)(dc + 1);
			return k;
		}
		first = false;
	}
	return 0;
}

static void choose(uint16_t *out, const struct pool *p, const struct pool_family *f,
		   const uint16_t *cand, unsigned n, unsigned k, struct pool_state *st,
		   const struct request *req)
{
	const struct geo_family *g = f->policy_data;

	if (!g) {
		/* Not prepared (no geo map: never in a snapshot that serves). */
		policy_round_robin.choose(out, p, f, cand, n, k, st, req);
		return;
	}
	g->inner->choose(out, p, g->use_shadow ? &g->shadow : f, cand, n, k, st, req);
}

const struct policy_ops policy_geo = {
    .name = "geo",
    .settings = settings,
    .parse = parse,
    .prepare = prepare,
    .clear = clear,
    .narrow = narrow,
    .choose = choose,
};

/* --- explain and status ------------------------------------------------------------- */

const char *geo_dc_name(const struct pool *p, unsigned dc)
{
	const struct geo_family *g = p->v4.policy_data ? p->v4.policy_data : p->v6.policy_data;

	if (p->policy != &policy_geo || !g || dc == 0 || dc > g->map->ndcs) {
		return NULL;
	}
	return g->map->dcs[dc - 1].name;
}

unsigned geo_pool_dcs(const struct pool *p)
{
	const struct geo_family *g = p->v4.policy_data ? p->v4.policy_data : p->v6.policy_data;

	return p->policy == &policy_geo && g ? (unsigned)g->map->ndcs : 0;
}

static const char *source_text(enum geo_source s)
{
	switch (s) {
	case GEO_FROM_NETS:
		return "network of the nets file";
	case GEO_FROM_SUBDIVISION:
		return "GeoIP country/subdivision";
	case GEO_FROM_COUNTRY:
		return "GeoIP country";
	case GEO_FROM_CONTINENT:
		return "GeoIP continent";
	case GEO_FROM_COORDINATES:
		return "GeoIP location, nearest datacenters first";
	case GEO_FROM_DEFAULT:
	default:
		return "no match: the map's default";
	}
}

void geo_explain(struct sbuf *out, const struct pool *p, uint16_t qtype,
		 const struct health_table *health, const struct request *req)
{
	const struct pool_family *f = qtype == DNS_TYPE_A ? &p->v4 : &p->v6;
	const struct geo_family *g = f->policy_data;
	const struct geo_result *r = req->geo;
	bool decided = false;

	if (p->policy != &policy_geo || !g || !r) {
		return;
	}
	sb_printf(out, "  geo map \"%s\": region %s%s%s (%s)\n", g->map->name, r->key ? "\"" : "",
		  r->key ? r->key : "by coordinates", r->key ? "\"" : "", source_text(r->source));
	sb_printf(out, "  datacenters in order:");
	for (unsigned i = 0; i < r->n; i++) {
		sb_printf(out, "%s%s", i ? ", " : " ", g->map->dcs[r->dc[i]].name);
	}
	sb_printf(out, "\n");
	for (unsigned i = 0; i < r->n; i++) {
		unsigned dc = r->dc[i], up = 0;
		for (unsigned j = 0; j < g->dc[dc].n; j++) {
			unsigned m = g->dc[dc].idx[j];
			if (!p->checked || !health ||
			    health_member_up(health, f->hword[m], f->aword[m])) {
				up++;
			}
		}
		sb_printf(out, "    %s: ", g->map->dcs[dc].name);
		if (g->dc[dc].n == 0) {
			sb_printf(out, "no %s member in this pool: skipped\n",
				  qtype == DNS_TYPE_A ? "IPv4" : "IPv6");
		} else if (decided) {
			sb_printf(out, "%u of %u up, min_healthy %u: not needed\n", up, g->dc[dc].n,
				  g->dc[dc].min_healthy);
		} else if (req->dc == dc + 1) {
			sb_printf(out, "%u of %u up, min_healthy %u: answers%s\n", up, g->dc[dc].n,
				  g->dc[dc].min_healthy,
				  i == 0 ? "" : " (not the first choice: ttl_degraded)");
			decided = true;
		} else {
			sb_printf(out, "%u of %u up, below min_healthy %u: skipped\n", up,
				  g->dc[dc].n, g->dc[dc].min_healthy);
		}
	}
	if (!decided) {
		sb_printf(out, "  no listed datacenter has enough members up: the backup chain and "
			       "last resort apply\n");
	}
}
