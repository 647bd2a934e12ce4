/* geomap.h -- geo maps: client networks (a nets file, a MaxMind database) to ordered
 * datacenters, compiled at load time into one prefix tree per map (geo/nettree.h).
 *
 * The config's top-level `geo_maps` list declares them; a pool of policy "geo"
 * names one and groups its members into the map's datacenters
 * (lb/policy_geo.c). Compiling reads the files; the compiled map is part of
 * the config, so a reload (or a watched file's change, daemon.c) builds a new
 * one beside the live one and a broken file keeps the old. */
#ifndef GSLBD_GEOMAP_H
#define GSLBD_GEOMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "geo/nettree.h"

#define GEO_MAX_DC 32	/* datacenters per map */
#define GEO_NAME_MAX 63 /* a region or nets name */

enum geo_mode { GEO_MODE_ORDER = 0, GEO_MODE_NEAREST };

/* What decided a client's datacenter list. */
enum geo_source {
	GEO_FROM_DEFAULT = 0, /* nothing matched: the map's default */
	GEO_FROM_NETS,	      /* a network of the nets file */
	GEO_FROM_SUBDIVISION, /* the database's country/subdivision ("US/CA") */
	GEO_FROM_COUNTRY,     /* the database's country ("US") */
	GEO_FROM_CONTINENT,   /* the database's continent ("NA") */
	GEO_FROM_COORDINATES, /* nearest mode: the database's location */
};

/* A leaf of the compiled tree: a ready-made datacenter order. */
struct geo_result {
	enum geo_source source;
	const char *key; /* the region key that matched (owned by the map), or NULL */
	double lat, lon; /* GEO_FROM_COORDINATES: the first network's location */
	uint8_t n;
	uint8_t dc[GEO_MAX_DC]; /* datacenter indexes, most preferred first */
};

struct geo_dc {
	char *name;
	bool has_coordinates;
	double lat, lon; /* degrees */
};

struct geo_region {
	char *key; /* nets name, continent, country or "CC/SUBDIVISION" */
	uint8_t n;
	uint8_t dc[GEO_MAX_DC];
	int line;
};

struct geo_map {
	char *name;
	int line;
	char *nets;   /* resolved path, or NULL */
	char *geoip2; /* resolved path, or NULL */
	enum geo_mode mode;
	struct geo_dc *dcs;
	size_t ndcs;
	struct geo_region *regions;
	size_t nregions;
	struct geo_region deflt; /* key "default" */
	/* Compiled: */
	struct nettree tree;
	struct geo_result *results;
	size_t nresults;
	size_t nets_networks; /* lines of the nets file */
	size_t db_records;    /* distinct database records read */
	double compile_seconds;
};

struct conf;
struct conf_ctx;
struct config_setting_t;

/* Parse the top-level `geo_maps` list of @root into conf->geo_maps and compile
 * each (reads its files). Errors go through conf_error. Loading thread. */
void geo_conf_parse(struct conf_ctx *c, struct conf *conf, const struct config_setting_t *root);

/* After the pools are parsed: every geo pool's map and datacenters exist.
 * Logs "FILE:LINE: ..." per error; returns the number of errors. */
int geo_conf_check(struct conf *conf);

/* The map called @name, or NULL. */
const struct geo_map *geo_map_find(const struct conf *conf, const char *name);

/* Compile @m from its files; on error writes a message to @err and returns -1
 * (m's compiled part stays empty). Load time. */
int geo_map_compile(struct geo_map *m, char *err, size_t size);

void geo_maps_free(struct geo_map *maps, size_t n);

/* The region for IPv6 address @addr16, or IPv4 @addr4 when @addr16 is NULL;
 * *@scope the prefix length that decided it (in the family's bits). Hot
 * path: one tree walk. */
static inline const struct geo_result *geo_map_lookup(const struct geo_map *m,
						      const uint8_t *addr16, const uint8_t *addr4,
						      unsigned *scope)
{
	uint32_t r = addr16 ? nettree_lookup6(&m->tree, addr16, scope)
			    : nettree_lookup4(&m->tree, addr4, scope);
	return &m->results[r];
}

/* Great-circle distance in km between two points given in degrees. */
double geo_distance(double lat1, double lon1, double lat2, double lon2);

/* A nets file: "NETWORK NAME" lines, '#' comments. For each network calls
 * @add (return non-zero to count an error), for each error @err with the
 * line number and a message; returns the number of errors. @text need not
 * be NUL-terminated. Pure; safe on any input (fuzzed). */
typedef int (*geo_nets_add_fn)(void *arg, const uint8_t addr[16], unsigned bits, const char *name,
			       unsigned line);
typedef void (*geo_nets_err_fn)(void *arg, unsigned line, const char *msg);
int geo_nets_parse(const char *text, size_t len, geo_nets_add_fn add, geo_nets_err_fn err,
		   void *arg);

#endif
