/* dnssec.c -- keys, the NSEC chain and every signature of a snapshot, made at
 * load time with ldns (see dnssec.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ldns/ldns.h>

#include "data/arena.h"
#include "data/snapshot.h"
#include "dns/wire.h"
#include "dnssec/dnssec.h"
#include "util/log.h"
#include "util/mem.h"

/* --- a pointer map: RRset -> its RRSIGs, pool owner -> its signed sets ------ */

struct mapent {
	const void *key;
	const void *val;
};

struct dnssec_map {
	struct mapent *e;
	size_t mask, n;
	struct arena *arena; /* signatures, set tables */
};

static inline size_t ptr_hash(const void *p)
{
	return (size_t)((((uint64_t)(uintptr_t)p >> 3) * 0x9E3779B97F4A7C15ULL) >> 20);
}

static void map_put(struct dnssec_map *m, const void *key, const void *val);

static void map_grow(struct dnssec_map *m)
{
	struct mapent *old = m->e;
	size_t oldsize = old ? m->mask + 1 : 0;

	m->mask = oldsize ? oldsize * 2 - 1 : 1023;
	m->e = xcalloc(m->mask + 1, sizeof(*m->e));
	m->n = 0;
	for (size_t i = 0; i < oldsize; i++) {
		if (old[i].key) {
			map_put(m, old[i].key, old[i].val);
		}
	}
	free(old);
}

static void map_put(struct dnssec_map *m, const void *key, const void *val)
{
	if (!m->e || (m->n + 1) * 2 > m->mask + 1) {
		map_grow(m);
	}
	for (size_t i = ptr_hash(key) & m->mask;; i = (i + 1) & m->mask) {
		if (!m->e[i].key || m->e[i].key == key) {
			m->n += !m->e[i].key;
			m->e[i].key = key;
			m->e[i].val = val;
			return;
		}
	}
}

static const void *map_get(const struct dnssec_map *m, const void *key)
{
	if (!m || !m->e) {
		return NULL;
	}
	for (size_t i = ptr_hash(key) & m->mask;; i = (i + 1) & m->mask) {
		if (m->e[i].key == key) {
			return m->e[i].val;
		}
		if (!m->e[i].key) {
			return NULL;
		}
	}
}

/* Signed address sets of one pool owner and type: open addressing by hash. */
struct signed_set {
	uint64_t hash;
	const struct dnssec_sig *sig;
	uint16_t n;
	uint8_t addrs[]; /* n addresses, sorted */
};

struct set_table {
	struct signed_set **slot;
	size_t mask;
	unsigned alen;
};

struct pool_sigs {
	struct set_table t[2]; /* A, AAAA */
};

/* --- canonical order ----------------------------------------------------- */

int dnssec_canon_cmp(const uint8_t *a, const uint8_t *b)
{
	uint8_t oa[DNAME_MAXLABELS], ob[DNAME_MAXLABELS];
	int na = dname_labels(a, oa), nb = dname_labels(b, ob);

	while (na > 0 && nb > 0) {
		const uint8_t *la = a + oa[--na], *lb = b + ob[--nb];
		unsigned n = la[0] < lb[0] ? la[0] : lb[0];
		int c = memcmp(la + 1, lb + 1, n);
		if (c) {
			return c;
		}
		if (la[0] != lb[0]) {
			return la[0] < lb[0] ? -1 : 1;
		}
	}
	return na - nb;
}

static int canon_qsort(const void *x, const void *y)
{
	return dnssec_canon_cmp(*(const uint8_t *const *)x, *(const uint8_t *const *)y);
}

/* --- keys ----------------------------------------------------------------- */

struct zkey {
	ldns_key *key;
	ldns_rr *dnskey; /* as the .key file has it */
	bool sign;	 /* false: published only */
	bool sep;	 /* flags bit 15 (KSK) */
};

/* A zone's keys while the snapshot is built. */
struct zsigner {
	struct zkey *keys;
	size_t nkeys;
	ldns_key_list *zsk, *ksk; /* sharing keys[]: emptied before they are freed */
	uint8_t **names;	  /* the NSEC chain, canonical order, while building */
	size_t nnames;
};

/* Read the first DNSKEY of @path. */
static ldns_rr *read_dnskey(const char *path, char *why, size_t wsize)
{
	FILE *f = fopen(path, "r");
	ldns_rr *rr = NULL, *found = NULL;
	ldns_rdf *origin = NULL, *prev = NULL;
	uint32_t ttl = 3600;
	int line = 1;

	if (!f) {
		snprintf(why, wsize, "cannot open: %s", strerror(errno));
		return NULL;
	}
	while (!found && !feof(f)) {
		ldns_status st = ldns_rr_new_frm_fp_l(&rr, f, &ttl, &origin, &prev, &line);
		if (st == LDNS_STATUS_SYNTAX_EMPTY || st == LDNS_STATUS_SYNTAX_TTL ||
		    st == LDNS_STATUS_SYNTAX_ORIGIN) {
			continue;
		}
		if (st != LDNS_STATUS_OK) {
			snprintf(why, wsize, "line %d: %s", line, ldns_get_errorstr_by_id(st));
			break;
		}
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_DNSKEY) {
			found = rr;
		} else {
			ldns_rr_free(rr);
		}
	}
	if (!found && !why[0]) {
		snprintf(why, wsize, "no DNSKEY record in it");
	}
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	fclose(f);
	return found;
}

/* Load key pair @base (with or without .key/.private) of zone @origin. */
static int load_key(struct zkey *k, const char *base, const uint8_t *origin, const char *where)
{
	char path[4096], why[300] = "";
	size_t l = strlen(base);
	FILE *f;
	int line = 0;
	ldns_status st;

	if (l > 4 && strcmp(base + l - 4, ".key") == 0) {
		l -= 4;
	} else if (l > 8 && strcmp(base + l - 8, ".private") == 0) {
		l -= 8;
	}
	snprintf(path, sizeof(path), "%.*s.key", (int)l, base);
	k->dnskey = read_dnskey(path, why, sizeof(why));
	if (!k->dnskey) {
		log_err("%s: %s: %s", where, path, why);
		return -1;
	}
	{
		const ldns_rdf *o = ldns_rr_owner(k->dnskey);
		uint8_t lo[DNAME_MAXLEN];
		size_t ol = ldns_rdf_size(o);
		char tmp[1100];
		if (ol > DNAME_MAXLEN) {
			log_err("%s: %s: bad owner name", where, path);
			return -1;
		}
		memcpy(lo, ldns_rdf_data(o), ol);
		dname_tolower(lo, ol);
		if (ol != dname_len(origin) || memcmp(lo, origin, ol) != 0) {
			log_err("%s: %s: the key is for %s, not for the zone %s", where, path,
				dname_to_str(tmp, sizeof(tmp), lo),
				dname_to_str(tmp + 550, sizeof(tmp) - 550, origin));
			return -1;
		}
	}
	snprintf(path, sizeof(path), "%.*s.private", (int)l, base);
	f = fopen(path, "r");
	if (!f) {
		log_err("%s: %s: cannot open: %s", where, path, strerror(errno));
		return -1;
	}
	st = ldns_key_new_frm_fp_l(&k->key, f, &line);
	fclose(f);
	if (st != LDNS_STATUS_OK) {
		k->key = NULL;
		log_err("%s: %s: line %d: %s", where, path, line, ldns_get_errorstr_by_id(st));
		return -1;
	}
	if (ldns_key_algorithm(k->key) != LDNS_SIGN_ECDSAP256SHA256 &&
	    ldns_key_algorithm(k->key) != LDNS_SIGN_ED25519) {
		log_err("%s: %s: algorithm %d; only 13 (ECDSAP256SHA256) and 15 (ED25519) are "
			"supported",
			where, path, (int)ldns_key_algorithm(k->key));
		return -1;
	}
	ldns_key_set_flags(k->key, ldns_rdf2native_int16(ldns_rr_rdf(k->dnskey, 0)));
	ldns_key_set_pubkey_owner(k->key, ldns_rdf_clone(ldns_rr_owner(k->dnskey)));
	ldns_key_set_keytag(k->key, ldns_calc_keytag(k->dnskey));
	{
		ldns_rr *mine = ldns_key2rr(k->key);
		bool same = mine && ldns_calc_keytag(mine) == ldns_calc_keytag(k->dnskey) &&
			    ldns_rdf_compare(ldns_rr_rdf(mine, 3), ldns_rr_rdf(k->dnskey, 3)) == 0;
		ldns_rr_free(mine);
		if (!same) {
			log_err("%s: %s: the private key does not match the public key in the .key "
				"file "
				"(key tag %u)",
				where, path, (unsigned)ldns_calc_keytag(k->dnskey));
			return -1;
		}
	}
	k->sep = (ldns_key_flags(k->key) & LDNS_KEY_SEP_KEY) != 0;
	return 0;
}

static void zsigner_free(struct zsigner *g)
{
	if (!g) {
		return;
	}
	if (g->zsk) {
		ldns_key_list_set_key_count(g->zsk, 0);
		ldns_key_list_free(g->zsk);
	}
	if (g->ksk) {
		ldns_key_list_set_key_count(g->ksk, 0);
		ldns_key_list_free(g->ksk);
	}
	for (size_t i = 0; i < g->nkeys; i++) {
		if (g->keys[i].key) {
			ldns_key_deep_free(g->keys[i].key);
		}
		ldns_rr_free(g->keys[i].dnskey);
	}
	free(g->keys);
	free(g->names);
	free(g);
}

/* --- records added to the zone --------------------------------------------- */

static void put_rdata_of(struct zone_data *d, ldns_rr *rr, uint16_t type, uint32_t ttl)
{
	ldns_buffer *b = ldns_buffer_new(512);

	if (ldns_rr_rdata2buffer_wire(b, rr) == LDNS_STATUS_OK) {
		zone_add_rr(d, d->origin, type, ttl, ldns_buffer_begin(b),
			    (uint16_t)ldns_buffer_position(b));
	}
	ldns_buffer_free(b);
}

/* A zone served by @s that lies strictly below @z and holds @name. */
static bool in_deeper_zone(const struct snapshot *s, const struct snap_zone *z, const uint8_t *name)
{
	for (size_t i = 0; i < s->nzones; i++) {
		const struct snap_zone *y = &s->zones[i];
		if (y != z && y->data.origin_len > z->data.origin_len &&
		    dname_is_below_or_equal(y->data.origin, z->data.origin) &&
		    dname_is_below_or_equal(name, y->data.origin)) {
			return true;
		}
	}
	return false;
}

static void add_type(uint16_t *t, unsigned *n, uint16_t type)
{
	for (unsigned i = 0; i < *n; i++) {
		if (t[i] == type) {
			return;
		}
	}
	if (*n < 256) {
		t[(*n)++] = type;
	}
}

static int u16cmp(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* RFC 4034 4.1.2: the type bit maps of an NSEC; returns its length. */
static size_t type_bitmap(uint8_t *out, uint16_t *types, unsigned n)
{
	size_t len = 0;

	qsort(types, n, sizeof(*types), u16cmp);
	for (unsigned i = 0; i < n;) {
		unsigned win = types[i] >> 8, max = 0;
		uint8_t bits[32] = {0};
		for (; i < n && (types[i] >> 8) == win; i++) {
			unsigned lo = types[i] & 0xFF;
			bits[lo / 8] |= (uint8_t)(0x80 >> (lo % 8));
			max = lo / 8 + 1;
		}
		out[len++] = (uint8_t)win;
		out[len++] = (uint8_t)max;
		memcpy(out + len, bits, max);
		len += max;
	}
	return len;
}

static bool same_dname(const uint8_t *a, const uint8_t *b)
{
	size_t l = dname_len(a);
	return l == dname_len(b) && memcmp(a, b, l) == 0;
}

/* The NSEC chain of @z: every name holding authoritative data or a
 * delegation, pool owners included, in canonical order. */
static void add_nsec_chain(struct snapshot *s, struct snap_zone *z, struct zsigner *g, bool cds)
{
	struct zone_data *d = &z->data;
	const struct conf *conf = s->conf;
	size_t cap = d->nrrs + 16, n = 0;
	uint8_t **names = xcalloc(cap, sizeof(*names));
	uint32_t neg = 0;

	for (size_t i = 0; i < d->nrrs; i++) {
		if (d->rrs[i].type == DNS_TYPE_SOA && same_dname(d->rrs[i].owner, d->origin)) {
			const uint8_t *p = d->rrs[i].rdata + d->rrs[i].rdlen - 4;
			uint32_t min = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
				       (uint32_t)p[2] << 8 | p[3];
			neg = d->rrs[i].ttl < min ? d->rrs[i].ttl : min;
		}
		if ((i == 0 || !same_dname(d->rrs[i - 1].owner, d->rrs[i].owner)) &&
		    !in_deeper_zone(s, z, d->rrs[i].owner)) {
			names[n++] = d->rrs[i].owner;
		}
	}
	struct powner {
		uint8_t *name;
		bool v4, v6;
	} *powner = NULL;
	size_t npo = 0;
	for (size_t i = 0; i < conf->npools; i++) {
		for (size_t j = 0; j < conf->pools[i].nowners; j++) {
			uint8_t w[DNAME_MAXLEN];
			if (dname_from_str(w, conf->pools[i].owners[j]) < 0 ||
			    !dname_is_below_or_equal(w, d->origin) || in_deeper_zone(s, z, w)) {
				continue;
			}
			if (n == cap) {
				cap *= 2;
				names = xrealloc(names, cap * sizeof(*names));
			}
			names[n++] = arena_memdup(d->arena, w, dname_len(w));
			powner = xrealloc(powner, (npo + 1) * sizeof(*powner));
			powner[npo].name = names[n - 1];
			powner[npo].v4 = powner[npo].v6 = false;
			for (size_t m = 0; m < conf->pools[i].nmembers; m++) {
				if (conf->pools[i].members[m].family == AF_INET) {
					powner[npo].v4 = true;
				} else {
					powner[npo].v6 = true;
				}
			}
			npo++;
		}
	}
	qsort(names, n, sizeof(*names), canon_qsort);
	/* Drop duplicates (a pool owner that has records too) and every name
	 * below a delegation: in canonical order a cut's descendants follow it. */
	size_t out = 0;
	const uint8_t *cut = NULL;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *nm = names[i];
		if (out && same_dname(names[out - 1], nm)) {
			continue;
		}
		if (cut && dname_is_below_or_equal(nm, cut)) {
			continue;
		}
		cut = NULL;
		names[out++] = (uint8_t *)nm;
		/* Is it a delegation? Its records are consecutive in d->rrs, which
		 * is sorted by (length, bytes): find them by binary search. */
		size_t lo = 0, hi = d->nrrs, l = dname_len(nm);
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			size_t ml = dname_len(d->rrs[mid].owner);
			int c = ml != l ? (ml < l ? -1 : 1) : memcmp(d->rrs[mid].owner, nm, l);
			if (c < 0) {
				lo = mid + 1;
			} else {
				hi = mid;
			}
		}
		for (size_t k = lo; k < d->nrrs && same_dname(d->rrs[k].owner, nm); k++) {
			if (d->rrs[k].type == DNS_TYPE_NS && !same_dname(nm, d->origin)) {
				cut = nm;
			}
		}
	}
	n = out;
	/* Types per name, then the NSEC records (added after: they move d->rrs). */
	uint8_t **rdata = xcalloc(n ? n : 1, sizeof(*rdata));
	uint16_t *rdlen = xcalloc(n ? n : 1, sizeof(*rdlen));
	for (size_t i = 0; i < n; i++) {
		const uint8_t *nm = names[i], *next = names[(i + 1) % n];
		uint16_t types[256];
		unsigned nt = 0;
		bool is_cut = false, apex = same_dname(nm, d->origin);
		size_t lo = 0, hi = d->nrrs, l = dname_len(nm);
		uint8_t buf[DNAME_MAXLEN + 8192];
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			size_t ml = dname_len(d->rrs[mid].owner);
			int c = ml != l ? (ml < l ? -1 : 1) : memcmp(d->rrs[mid].owner, nm, l);
			if (c < 0) {
				lo = mid + 1;
			} else {
				hi = mid;
			}
		}
		for (size_t k = lo; k < d->nrrs && same_dname(d->rrs[k].owner, nm); k++) {
			is_cut |= d->rrs[k].type == DNS_TYPE_NS && !apex;
		}
		for (size_t k = lo; k < d->nrrs && same_dname(d->rrs[k].owner, nm); k++) {
			uint16_t t = d->rrs[k].type;
			if (!is_cut || t == DNS_TYPE_NS || t == DNS_TYPE_DS) {
				add_type(types, &nt, t);
			}
		}
		for (size_t p = 0; p < npo; p++) {
			if (same_dname(powner[p].name, nm)) {
				if (powner[p].v4) {
					add_type(types, &nt, DNS_TYPE_A);
				}
				if (powner[p].v6) {
					add_type(types, &nt, DNS_TYPE_AAAA);
				}
			}
		}
		add_type(types, &nt, DNS_TYPE_RRSIG);
		add_type(types, &nt, DNS_TYPE_NSEC);
		if (apex) {
			add_type(types, &nt, DNS_TYPE_DNSKEY);
			if (cds) {
				add_type(types, &nt, DNS_TYPE_CDS);
				add_type(types, &nt, DNS_TYPE_CDNSKEY);
			}
		}
		size_t nl = dname_len(next);
		memcpy(buf, next, nl);
		size_t bl = type_bitmap(buf + nl, types, nt);
		rdlen[i] = (uint16_t)(nl + bl);
		rdata[i] = arena_memdup(d->arena, buf, rdlen[i]);
	}
	for (size_t i = 0; i < n; i++) {
		zone_add_rr(d, names[i], DNS_TYPE_NSEC, neg, rdata[i], rdlen[i]);
	}
	free(rdata);
	free(rdlen);
	free(powner);
	g->names = names;
	g->nnames = n;
}

/* --- prepare --------------------------------------------------------------- */

int dnssec_prepare(struct snapshot *s)
{
	int errors = 0;

	for (size_t i = 0; i < s->nzones; i++) {
		const struct conf_zone *cz = &s->conf->zones[i];
		const struct conf_dnssec *cd = cz->dnssec;
		struct snap_zone *z = &s->zones[i];
		struct zsigner *g;
		char where[600];

		if (!cd) {
			continue;
		}
		{
			/* gslbd makes these itself: a pre-signed zone file would clash. */
			int own = 0;
			for (size_t k = 0; k < z->data.nrrs; k++) {
				const struct zone_rr *rr = &z->data.rrs[k];
				switch (rr->type) {
				case DNS_TYPE_DNSKEY:
				case DNS_TYPE_RRSIG:
				case DNS_TYPE_NSEC:
				case DNS_TYPE_NSEC3:
				case 51: /* NSEC3PARAM */
				case DNS_TYPE_CDS:
				case DNS_TYPE_CDNSKEY:
					if (own++ == 0) {
						log_err("%s:%d: type %u in a zone signed by gslbd "
							"(zones[%zu]."
							"dnssec): remove DNSKEY, RRSIG, NSEC, "
							"NSEC3, CDS and "
							"CDNSKEY records from the zone file; gslbd "
							"makes them",
							rr->file, rr->line, rr->type, i);
					}
					break;
				default:
					break;
				}
			}
			if (own) {
				errors++;
				continue;
			}
		}
		g = xcalloc(1, sizeof(*g));
		z->signer = g;
		g->nkeys = cd->nkeys + cd->npublish;
		g->keys = xcalloc(g->nkeys, sizeof(*g->keys));
		g->zsk = ldns_key_list_new();
		g->ksk = ldns_key_list_new();
		for (size_t k = 0; k < g->nkeys; k++) {
			bool sign = k < cd->nkeys;
			snprintf(where, sizeof(where), "%s:%d: zones[%zu].dnssec.%s", s->conf->path,
				 cd->line, i, sign ? "keys" : "publish");
			if (load_key(&g->keys[k], sign ? cd->keys[k] : cd->publish[k - cd->nkeys],
				     z->data.origin, where) != 0) {
				errors++;
				continue;
			}
			g->keys[k].sign = sign;
			if (sign) {
				ldns_key_list_push_key(g->keys[k].sep ? g->ksk : g->zsk,
						       g->keys[k].key);
			}
		}
		if (errors) {
			continue;
		}
		/* A single key (or KSKs only) signs everything; ZSKs alone sign the
		 * DNSKEY RRset too. */
		if (ldns_key_list_key_count(g->zsk) == 0) {
			for (size_t k = 0; k < ldns_key_list_key_count(g->ksk); k++) {
				ldns_key_list_push_key(g->zsk, ldns_key_list_key(g->ksk, k));
			}
		}
		if (ldns_key_list_key_count(g->ksk) == 0) {
			for (size_t k = 0; k < ldns_key_list_key_count(g->zsk); k++) {
				ldns_key_list_push_key(g->ksk, ldns_key_list_key(g->zsk, k));
			}
		}
		for (size_t k = 0; k < g->nkeys; k++) {
			put_rdata_of(&z->data, g->keys[k].dnskey, DNS_TYPE_DNSKEY, cd->dnskey_ttl);
		}
		if (cd->cds) {
			for (size_t k = 0; k < g->nkeys; k++) {
				struct zkey *zk = &g->keys[k];
				bool any_sep = false;
				for (size_t m = 0; m < g->nkeys; m++) {
					any_sep |= g->keys[m].sign && g->keys[m].sep;
				}
				/* The parent's DS is for the keys that sign the DNSKEY RRset. */
				if (!zk->sign || (any_sep && !zk->sep)) {
					continue;
				}
				ldns_rr *ds = ldns_key_rr2ds(zk->dnskey, LDNS_SHA256);
				if (ds) {
					put_rdata_of(&z->data, ds, DNS_TYPE_CDS, cd->dnskey_ttl);
					ldns_rr_free(ds);
				}
				put_rdata_of(&z->data, zk->dnskey, DNS_TYPE_CDNSKEY,
					     cd->dnskey_ttl);
			}
		}
		zone_sort(&z->data); /* add_nsec_chain searches the records by owner */
		add_nsec_chain(s, z, g, cd->cds);
		zone_sort(&z->data);
	}
	return errors;
}

/* --- signing ----------------------------------------------------------------- */

struct signing {
	struct snapshot *s;
	struct dnssec_map *m;
	ldns_buffer *buf;
	uint32_t now;
	size_t nsigs;
	int errors;
};

/* Sign @n records (@owner, @type, @ttl, rdata) with @keys. */
static const struct dnssec_sig *sign_records(struct signing *sg, const struct snap_zone *z,
					     ldns_key_list *keys, const uint8_t *owner,
					     uint16_t type, uint32_t ttl,
					     const uint8_t *const *rdata, const uint16_t *rdlen,
					     unsigned n)
{
	const struct conf_dnssec *cd = sg->s->conf->zones[z - sg->s->zones].dnssec;
	ldns_rr_list *list = ldns_rr_list_new(), *sigs;
	size_t ol = dname_len(owner), total = 0;
	struct dnssec_sig *out = NULL;
	uint8_t wire[DNAME_MAXLEN + 10 + 65535];
	char tmp[1100];

	for (unsigned i = 0; i < n; i++) {
		ldns_rr *rr = NULL;
		size_t pos = 0, len = ol + 10 + rdlen[i];
		memcpy(wire, owner, ol);
		dns_wr16(wire + ol, type);
		dns_wr16(wire + ol + 2, DNS_CLASS_IN);
		dns_wr16(wire + ol + 4, (uint16_t)(ttl >> 16));
		dns_wr16(wire + ol + 6, (uint16_t)ttl);
		dns_wr16(wire + ol + 8, rdlen[i]);
		memcpy(wire + ol + 10, rdata[i], rdlen[i]);
		if (ldns_wire2rr(&rr, wire, len, &pos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK) {
			log_err("%s: cannot sign %s type %u: bad record data", z->data.files[0],
				dname_to_str(tmp, sizeof(tmp), owner), type);
			sg->errors++;
			ldns_rr_list_deep_free(list);
			return NULL;
		}
		ldns_rr_list_push_rr(list, rr);
	}
	for (size_t k = 0; k < ldns_key_list_key_count(keys); k++) {
		ldns_key *key = ldns_key_list_key(keys, k);
		ldns_key_set_inception(key, sg->now - cd->inception);
		ldns_key_set_expiration(key, sg->now + cd->validity);
	}
	sigs = ldns_sign_public(list, keys);
	ldns_rr_list_deep_free(list);
	if (!sigs) {
		log_err("%s: cannot sign %s type %u", z->data.files[0],
			dname_to_str(tmp, sizeof(tmp), owner), type);
		sg->errors++;
		return NULL;
	}
	ldns_buffer *b = sg->buf;
	ldns_buffer_clear(b);
	for (size_t i = 0; i < ldns_rr_list_rr_count(sigs); i++) {
		ldns_rr *sig = ldns_rr_list_rr(sigs, i);
		size_t at = ldns_buffer_position(b);
		ldns_buffer_write_u16(b, DNS_TYPE_RRSIG);
		ldns_buffer_write_u16(b, DNS_CLASS_IN);
		ldns_buffer_write_u32(b, ttl);
		ldns_buffer_write_u16(b, 0);
		ldns_rr_rdata2buffer_wire(b, sig);
		ldns_buffer_write_u16_at(b, at + 8, (uint16_t)(ldns_buffer_position(b) - at - 10));
	}
	total = ldns_buffer_position(b);
	if (total < 65535) {
		out = arena_alloc(sg->m->arena, sizeof(*out) + total);
		out->n = (uint16_t)ldns_rr_list_rr_count(sigs);
		out->len = (uint16_t)total;
		memcpy(out->wire, ldns_buffer_begin(b), total);
	}
	ldns_rr_list_deep_free(sigs);
	sg->nsigs += out ? out->n : 0;
	return out;
}

static const struct dnssec_sig *sign_rrset(struct signing *sg, const struct snap_zone *z,
					   const uint8_t *owner, const struct rrset *rs)
{
	const uint8_t *rdata[rs->count ? rs->count : 1];
	uint16_t rdlen[rs->count ? rs->count : 1];
	ldns_key_list *keys =
	    rs->type == DNS_TYPE_DNSKEY || rs->type == DNS_TYPE_CDS || rs->type == DNS_TYPE_CDNSKEY
		? z->signer->ksk
		: z->signer->zsk;

	for (unsigned i = 0; i < rs->count; i++) {
		rdata[i] = rs->rrs[i].rdata;
		rdlen[i] = rs->rrs[i].rdlen;
	}
	return sign_records(sg, z, keys, owner, rs->type, rs->ttl, rdata, rdlen, rs->count);
}

static uint64_t set_hash(const uint8_t *a, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++) {
		h = (h ^ a[i]) * 0x100000001b3ULL;
	}
	return h;
}

static void sort_addrs(uint8_t *a, unsigned n, unsigned alen)
{
	if (alen == 4) {
		/* IPv4: compare as big-endian words (the byte order memcmp gives). */
		for (unsigned i = 1; i < n; i++) {
			uint8_t t[4];
			unsigned j = i;
			memcpy(t, a + i * 4, 4);
			uint32_t tv = (uint32_t)t[0] << 24 | (uint32_t)t[1] << 16 |
				      (uint32_t)t[2] << 8 | t[3];
			while (j > 0) {
				const uint8_t *p = a + (j - 1) * 4;
				uint32_t pv = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
					      (uint32_t)p[2] << 8 | p[3];
				if (pv <= tv) {
					break;
				}
				memcpy(a + j * 4, p, 4);
				j--;
			}
			memcpy(a + j * 4, t, 4);
		}
		return;
	}
	for (unsigned i = 1; i < n; i++) {
		uint8_t t[16];
		unsigned j = i;
		memcpy(t, a + i * alen, alen);
		while (j > 0 && memcmp(a + (j - 1) * alen, t, alen) > 0) {
			memcpy(a + j * alen, a + (j - 1) * alen, alen);
			j--;
		}
		memcpy(a + j * alen, t, alen);
	}
}

static const struct pool_family *family_of(const struct pool *p, uint16_t qtype)
{
	return qtype == DNS_TYPE_A ? &p->v4 : &p->v6;
}

/* C(n, k), saturating at DNSSEC_MAX_SETS + 1. */
static size_t choose_count(unsigned n, unsigned k)
{
	double c = 1;
	for (unsigned i = 1; i <= k; i++) {
		c = c * (n - k + i) / i;
		if (c > DNSSEC_MAX_SETS) {
			return DNSSEC_MAX_SETS + 1;
		}
	}
	return (size_t)(c + 0.5);
}

/* Every set of members of @p's chain that can answer @qtype at @n. */
static void sign_pool_sets(struct signing *sg, struct node *n, const struct pool *p, uint16_t qtype,
			   struct set_table *t)
{
	const struct snap_zone *z = n->zone;
	size_t count = 0;
	unsigned depth = 0;
	uint32_t ttl = p->ttl > p->ttl_degraded ? p->ttl : p->ttl_degraded;
	char tmp[1100];

	t->alen = qtype == DNS_TYPE_A ? 4 : 16;
	for (const struct pool *b = p; b && depth < 16; b = b->backup, depth++) {
		const struct pool_family *f = family_of(b, qtype);
		unsigned max = f->answers < f->n ? f->answers : f->n;
		for (unsigned k = 1; k <= max && count <= DNSSEC_MAX_SETS; k++) {
			count += choose_count(f->n, k);
		}
	}
	if (count > DNSSEC_MAX_SETS) {
		log_err(
		    "%s:%d: pools[%u] \"%s\" (owner %s in a signed zone): more than %d possible "
		    "%s answer sets (every subset of up to `answers` members, backups "
		    "included) to sign ahead; lower answers or the number of members",
		    sg->s->conf->path, sg->s->conf->pools[p->index].line, p->index, p->name,
		    dname_to_str(tmp, sizeof(tmp), n->name), DNSSEC_MAX_SETS,
		    qtype == DNS_TYPE_A ? "A" : "AAAA");
		sg->errors++;
		return;
	}
	if (count == 0) {
		return;
	}
	t->mask = 1;
	while (t->mask + 1 < count * 2) {
		t->mask = t->mask * 2 + 1;
	}
	t->slot = arena_alloc(sg->m->arena, (t->mask + 1) * sizeof(*t->slot));
	depth = 0;
	for (const struct pool *b = p; b && depth < 16; b = b->backup, depth++) {
		const struct pool_family *f = family_of(b, qtype);
		unsigned max = f->answers < f->n ? f->answers : f->n;
		for (unsigned k = 1; k <= max; k++) {
			unsigned idx[POOL_MAX_MEMBERS];
			for (unsigned i = 0; i < k; i++) {
				idx[i] = i;
			}
			for (;;) {
				uint8_t addrs[POOL_MAX_MEMBERS * 16];
				const uint8_t *rdata[POOL_MAX_MEMBERS];
				uint16_t rdlen[POOL_MAX_MEMBERS];
				for (unsigned i = 0; i < k; i++) {
					memcpy(addrs + i * t->alen,
					       f->rr + (size_t)idx[i] * f->rrlen + 12, t->alen);
				}
				sort_addrs(addrs, k, t->alen);
				uint64_t h = set_hash(addrs, (size_t)k * t->alen);
				size_t s = h & t->mask;
				bool dup = false;
				for (; t->slot[s]; s = (s + 1) & t->mask) {
					if (t->slot[s]->hash == h && t->slot[s]->n == k &&
					    memcmp(t->slot[s]->addrs, addrs, (size_t)k * t->alen) ==
						0) {
						dup = true;
						break;
					}
				}
				if (!dup) {
					for (unsigned i = 0; i < k; i++) {
						rdata[i] = addrs + i * t->alen;
						rdlen[i] = (uint16_t)t->alen;
					}
					const struct dnssec_sig *sig =
					    sign_records(sg, z, z->signer->zsk, n->name, qtype, ttl,
							 rdata, rdlen, k);
					struct signed_set *ss = arena_alloc(
					    sg->m->arena, sizeof(*ss) + (size_t)k * t->alen);
					ss->hash = h;
					ss->sig = sig;
					ss->n = (uint16_t)k;
					memcpy(ss->addrs, addrs, (size_t)k * t->alen);
					t->slot[s] = ss;
				}
				/* Next combination of k indexes out of f->n. */
				int i = (int)k - 1;
				while (i >= 0 && idx[i] == f->n - k + (unsigned)i) {
					i--;
				}
				if (i < 0) {
					break;
				}
				idx[i]++;
				for (unsigned j = (unsigned)i + 1; j < k; j++) {
					idx[j] = idx[j - 1] + 1;
				}
			}
		}
	}
}

int dnssec_sign(struct snapshot *s)
{
	struct signing sg = {s, NULL, NULL, (uint32_t)time(NULL), 0, 0};
	bool any = false;
	struct timespec t0, t1;

	for (size_t i = 0; i < s->nzones; i++) {
		any |= s->zones[i].signer != NULL;
	}
	if (!any) {
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* A test clock: GSLBD_DNSSEC_NOW_OFFSET seconds added to the time signed at. */
	{
		const char *off = getenv("GSLBD_DNSSEC_NOW_OFFSET");
		if (off) {
			sg.now += (uint32_t)strtol(off, NULL, 10);
		}
	}
	sg.m = xcalloc(1, sizeof(*sg.m));
	sg.m->arena = arena_new();
	sg.buf = ldns_buffer_new(4096);
	s->dnssec = sg.m;
	for (size_t i = 0; i <= s->mask; i++) {
		struct node *n = s->table[i];
		if (!n) {
			continue;
		}
		for (unsigned r = 0; r < n->nrrsets; r++) {
			const struct rrset *rs = &n->rrsets[r];
			const struct snap_zone *z = n->zone;
			if (rs->type == DNS_TYPE_DS && n->is_apex && node_ds_parent(n)) {
				z = node_ds_parent(n);
			} else if (node_cut(n) &&
				   !(node_cut(n) == n &&
				     (rs->type == DNS_TYPE_DS || rs->type == DNS_TYPE_NSEC))) {
				continue; /* a delegation's NS and glue are not signed */
			}
			if (!z->signer) {
				continue;
			}
			const struct dnssec_sig *sig = sign_rrset(&sg, z, n->name, rs);
			if (sig) {
				map_put(sg.m, rs, sig);
			}
		}
		if (n->zone->signer && node_pool(n) && !node_cut(n)) {
			struct pool_sigs *ps = arena_alloc(sg.m->arena, sizeof(*ps));
			sign_pool_sets(&sg, n, node_pool(n), DNS_TYPE_A, &ps->t[0]);
			sign_pool_sets(&sg, n, node_pool(n), DNS_TYPE_AAAA, &ps->t[1]);
			map_put(sg.m, n, ps);
		}
	}
	for (size_t i = 0; i < s->nzones; i++) {
		struct snap_zone *z = &s->zones[i];
		const struct conf_dnssec *cd = s->conf->zones[i].dnssec;
		struct zsigner *g = z->signer;
		struct dnssec_zone *dz;
		if (!g) {
			continue;
		}
		dz = arena_alloc(sg.m->arena, sizeof(*dz));
		dz->chain =
		    arena_alloc(sg.m->arena, (g->nnames ? g->nnames : 1) * sizeof(*dz->chain));
		for (size_t k = 0; k < g->nnames; k++) {
			uint8_t offs[DNAME_MAXLABELS];
			const struct node *nd = NULL;
			int nl = dname_labels(g->names[k], offs);
			if (snapshot_find(s, g->names[k], offs, nl, &nd) == MATCH_EXACT && nd) {
				dz->chain[dz->nchain++] = (struct node *)nd;
			}
		}
		dz->inception = sg.now - cd->inception;
		dz->expiration = sg.now + cd->validity;
		dz->resign_at = (uint32_t)time(NULL) + (cd->validity - cd->refresh);
		z->dnssec = dz;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_info("dnssec: %zu signatures made in %.3f s", sg.nsigs,
		 (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	ldns_buffer_free(sg.buf);
	for (size_t i = 0; i < s->nzones; i++) {
		zsigner_free(s->zones[i].signer);
		s->zones[i].signer = NULL;
	}
	return sg.errors;
}

void dnssec_free(struct snapshot *s)
{
	struct dnssec_map *m = s->dnssec;

	for (size_t i = 0; i < s->nzones; i++) {
		zsigner_free(s->zones[i].signer);
		s->zones[i].signer = NULL;
	}
	if (!m) {
		return;
	}
	free(m->e);
	arena_free(m->arena);
	free(m);
	s->dnssec = NULL;
}

size_t dnssec_memory(const struct snapshot *s)
{
	const struct dnssec_map *m = s->dnssec;

	return m ? arena_used(m->arena) + (m->e ? (m->mask + 1) * sizeof(*m->e) : 0) : 0;
}

uint32_t dnssec_resign_at(const struct snapshot *s)
{
	uint32_t at = 0;

	for (size_t i = 0; i < s->nzones; i++) {
		const struct dnssec_zone *dz = s->zones[i].dnssec;
		if (dz && (!at || dz->resign_at < at)) {
			at = dz->resign_at;
		}
	}
	return at;
}

/* --- per query ---------------------------------------------------------------- */

const struct dnssec_sig *dnssec_rrset_sig(const struct snapshot *s, const struct rrset *rs)
{
	return map_get(s->dnssec, rs);
}

const struct dnssec_sig *dnssec_set_sig(const struct snapshot *s, const struct node *owner,
					uint16_t qtype, const uint8_t *addrs, unsigned n,
					unsigned alen)
{
	const struct pool_sigs *ps = map_get(s->dnssec, owner);
	const struct set_table *t;
	uint8_t sorted[64 * 16];
	uint64_t h;

	if (!ps || n == 0 || n > 64) {
		return NULL;
	}
	t = &ps->t[qtype == DNS_TYPE_A ? 0 : 1];
	if (!t->slot || t->alen != alen) {
		return NULL;
	}
	memcpy(sorted, addrs, (size_t)n * alen);
	sort_addrs(sorted, n, alen);
	h = set_hash(sorted, (size_t)n * alen);
	for (size_t i = h & t->mask; t->slot[i]; i = (i + 1) & t->mask) {
		const struct signed_set *ss = t->slot[i];
		if (ss->hash == h && ss->n == n &&
		    memcmp(ss->addrs, sorted, (size_t)n * alen) == 0) {
			return ss->sig;
		}
	}
	return NULL;
}

const struct node *dnssec_nsec_cover(const struct snap_zone *z, const uint8_t *name)
{
	const struct dnssec_zone *dz = z->dnssec;
	size_t lo = 0, hi;

	if (!dz || dz->nchain == 0) {
		return NULL;
	}
	hi = dz->nchain;
	/* The last name not after @name. */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (dnssec_canon_cmp(dz->chain[mid]->name, name) <= 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return dz->chain[lo ? lo - 1 : dz->nchain - 1];
}

/* --- the signed static data, as a zone file ----------------------------------- */

static void print_records(FILE *out, const uint8_t *owner, uint16_t type, uint32_t ttl,
			  const uint8_t *rdata, uint16_t rdlen)
{
	uint8_t wire[DNAME_MAXLEN + 10 + 65535];
	size_t ol = dname_len(owner), pos = 0;
	ldns_rr *rr = NULL;

	memcpy(wire, owner, ol);
	dns_wr16(wire + ol, type);
	dns_wr16(wire + ol + 2, DNS_CLASS_IN);
	dns_wr16(wire + ol + 4, (uint16_t)(ttl >> 16));
	dns_wr16(wire + ol + 6, (uint16_t)ttl);
	dns_wr16(wire + ol + 8, rdlen);
	memcpy(wire + ol + 10, rdata, rdlen);
	if (ldns_wire2rr(&rr, wire, ol + 10 + rdlen, &pos, LDNS_SECTION_ANSWER) == LDNS_STATUS_OK) {
		ldns_rr_print(out, rr);
		ldns_rr_free(rr);
	}
}

static void print_sig(FILE *out, const uint8_t *owner, const struct dnssec_sig *sig)
{
	const uint8_t *r = sig ? sig->wire : NULL;

	for (unsigned i = 0; sig && i < sig->n; i++) {
		uint16_t rdlen = dns_rd16(r + 8);
		uint32_t ttl = (uint32_t)dns_rd16(r + 4) << 16 | dns_rd16(r + 6);
		print_records(out, owner, DNS_TYPE_RRSIG, ttl, r + 10, rdlen);
		r += 10u + rdlen;
	}
}

int dnssec_dump(FILE *out, const struct snapshot *s, const char *origin)
{
	uint8_t w[DNAME_MAXLEN];
	const struct snap_zone *z = NULL;

	if (dname_from_str(w, origin) < 0) {
		return -1;
	}
	for (size_t i = 0; i < s->nzones; i++) {
		if (same_dname(s->zones[i].data.origin, w)) {
			z = &s->zones[i];
		}
	}
	if (!z || !z->dnssec) {
		return -1;
	}
	for (size_t i = 0; i <= s->mask; i++) {
		const struct node *n = s->table[i];
		if (!n) {
			continue;
		}
		for (unsigned r = 0; r < n->nrrsets; r++) {
			const struct rrset *rs = &n->rrsets[r];
			bool parent_ds =
			    rs->type == DNS_TYPE_DS && n->is_apex && node_ds_parent(n) == z;
			if (n->zone != z && !parent_ds) {
				continue;
			}
			if (n->zone == z && rs->type == DNS_TYPE_DS && n->is_apex &&
			    node_ds_parent(n)) {
				continue;
			}
			for (unsigned k = 0; k < rs->count; k++) {
				print_records(out, n->name, rs->type, rs->ttl, rs->rrs[k].rdata,
					      rs->rrs[k].rdlen);
			}
			print_sig(out, n->name, dnssec_rrset_sig(s, rs));
		}
		/* A pool owner: one of its signed sets per type (each one is
		 * signed alike; `ldns-verify-zone` checks that one). */
		const struct pool_sigs *ps = n->zone == z ? map_get(s->dnssec, n) : NULL;
		for (unsigned t = 0; ps && t < 2; t++) {
			const struct set_table *st = &ps->t[t];
			for (size_t k = 0; st->slot && k <= st->mask; k++) {
				const struct signed_set *ss = st->slot[k];
				if (!ss || !ss->sig) {
					continue;
				}
				uint32_t ttl = (uint32_t)dns_rd16(ss->sig->wire + 4) << 16 |
					       dns_rd16(ss->sig->wire + 6);
				for (unsigned a = 0; a < ss->n; a++) {
					print_records(out, n->name, t ? DNS_TYPE_AAAA : DNS_TYPE_A,
						      ttl, ss->addrs + (size_t)a * st->alen,
						      (uint16_t)st->alen);
				}
				print_sig(out, n->name, ss->sig);
				break;
			}
		}
	}
	return 0;
}
