/* policy_geo.h -- the geo policy's config and what `explain` and `status` read of it. */
#ifndef GSLBD_POLICY_GEO_H
#define GSLBD_POLICY_GEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct geo_map;
struct health_table;
struct pool;
struct policy_ops;
struct request;
struct sbuf;

/* A pool's datacenter, as the config writes it. */
struct geo_pool_dc_conf {
	char *name;
	int line;
	unsigned min_healthy; /* members of the family up for it to answer (at most its size) */
	size_t *members;      /* indexes into the pool's conf members */
	size_t nmembers;
};

/* What a pool of policy "geo" adds to its config (conf_pool.geo). */
struct geo_pool_conf {
	char *map; /* geo map name */
	int map_line;
	const struct geo_map *geo;	/* set by geo_conf_check */
	const struct policy_ops *inner; /* the choice inside a datacenter */
	struct geo_pool_dc_conf *dcs;
	size_t ndcs;
};

void geo_pool_conf_free(struct geo_pool_conf *g);

/* For `gslbctl explain` (the control thread): narrate, into @out, which region
 * and datacenter pool @p gives the client of @req for @qtype and why, each
 * listed datacenter with its members up. @req as pool_explain_client left
 * it. Nothing for a pool of another policy. */
void geo_explain(struct sbuf *out, const struct pool *p, uint16_t qtype,
		 const struct health_table *health, const struct request *req);

/* The name of datacenter @dc (1-based, as request.dc) of geo pool @p, or NULL. */
const char *geo_dc_name(const struct pool *p, unsigned dc);

/* The number of datacenters of geo pool @p's map (0 for another policy). */
unsigned geo_pool_dcs(const struct pool *p);

#endif
