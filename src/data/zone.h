/* zone.h -- read an RFC 1035 master file with ldns and check it (load time). */
#ifndef GSLBD_ZONE_H
#define GSLBD_ZONE_H

#include <stddef.h>
#include <stdint.h>

#include "dns/dname.h"

struct zone_rr {
	uint8_t *owner;    /* lower-case wire */
	uint8_t *rdata;    /* uncompressed wire, case as written */
	uint32_t ttl;
	uint16_t type;
	uint16_t rdlen;
	int line;
	const char *file;  /* points into the zone's file list */
};

struct arena;

struct zone_data {
	struct arena *arena; /* owners and rdata */
	uint8_t origin[DNAME_MAXLEN];
	size_t origin_len;
	struct zone_rr *rrs;
	size_t nrrs, caprrs;
	char **files;      /* the master file and every $INCLUDEd one */
	size_t nfiles;
};

/* Load @file for zone @origin into @z (zeroed by the caller). Handles $ORIGIN,
 * $TTL, $INCLUDE (relative to the including file), multi-line records and
 * RFC 3597 unknown types. Checks: class IN, owners inside the zone, one SOA
 * at the apex and none elsewhere, at least one NS at the apex, CNAME alone at
 * its name. Errors are logged as "FILE:LINE: message"; returns 0 or -1.
 * Identical records are merged. */
int zone_load(struct zone_data *z, const char *origin, const char *file);

void zone_clear(struct zone_data *z);

/* Append a record made at load time (DNSSEC: DNSKEY, CDS, NSEC) to @z; owner
 * (lower-case) and rdata are copied into its arena. Call zone_sort() after
 * the last one. Load time. */
void zone_add_rr(struct zone_data *z, const uint8_t *owner, uint16_t type, uint32_t ttl,
		 const uint8_t *rdata, uint16_t rdlen);

/* Sort @z's records again as zone_load() leaves them (by owner, then type). */
void zone_sort(struct zone_data *z);

#endif
