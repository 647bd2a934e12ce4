/* zone.c -- read an RFC 1035 master file with ldns and check it. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ldns/ldns.h>

#include "dns/wire.h"
#include "data/arena.h"
#include "util/log.h"
#include "util/mem.h"
#include "data/zone.h"

#define MAX_INCLUDE_DEPTH 8

struct reader {
	struct zone_data *z;
	int errors;
	ldns_buffer *buf; /* reused for every record's rdata */
	const ldns_rdf *apex; /* the zone's origin, to fall back on */
};

static const char *add_file(struct zone_data *z, const char *file)
{
	z->files = xrealloc(z->files, (z->nfiles + 1) * sizeof(char *));
	z->files[z->nfiles] = xstrdup(file);
	return z->files[z->nfiles++];
}

static void push_rr(struct reader *r, ldns_rr *rr, const char *file, int line)
{
	struct zone_data *z = r->z;
	ldns_buffer *buf = r->buf;
	ldns_rdf *owner = ldns_rr_owner(rr);
	struct zone_rr *out;
	char tmp[1100];

	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
		log_err("%s:%d: class %u is not supported (only IN)", file, line,
			(unsigned)ldns_rr_get_class(rr));
		r->errors++;
		return;
	}
	uint8_t lowner[DNAME_MAXLEN];
	size_t olen = ldns_rdf_size(owner);
	/* ldns does not enforce RFC 1035's 255 octets when it appends the
	 * origin to a relative name. */
	if (olen > DNAME_MAXLEN) {
		log_err("%s:%d: owner name longer than 255 octets", file, line);
		r->errors++;
		return;
	}
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *rd = ldns_rr_rdf(rr, i);
		if (ldns_rdf_get_type(rd) == LDNS_RDF_TYPE_DNAME && ldns_rdf_size(rd) > DNAME_MAXLEN) {
			log_err("%s:%d: a name in the record data is longer than 255 octets", file, line);
			r->errors++;
			return;
		}
	}
	memcpy(lowner, ldns_rdf_data(owner), olen);
	dname_tolower(lowner, olen);
	if (!dname_is_below_or_equal(lowner, z->origin)) {
		log_err("%s:%d: owner %s is outside the zone %s", file, line,
			dname_to_str(tmp, sizeof(tmp), lowner),
			dname_to_str(tmp + 550, sizeof(tmp) - 550, z->origin));
		r->errors++;
		return;
	}
	ldns_buffer_clear(buf);
	if (ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK ||
	    ldns_buffer_position(buf) > 65535) {
		log_err("%s:%d: cannot encode record data", file, line);
		r->errors++;
		return;
	}
	if (z->nrrs == z->caprrs) {
		z->caprrs = z->caprrs ? z->caprrs * 2 : 64;
		z->rrs = xrealloc(z->rrs, z->caprrs * sizeof(*z->rrs));
	}
	out = &z->rrs[z->nrrs++];
	/* Records of one name usually follow each other: share the owner. */
	if (z->nrrs > 1 && dname_len(z->rrs[z->nrrs - 2].owner) == olen &&
	    memcmp(z->rrs[z->nrrs - 2].owner, lowner, olen) == 0) {
		out->owner = z->rrs[z->nrrs - 2].owner;
	} else {
		out->owner = arena_memdup(z->arena, lowner, olen);
	}
	out->rdlen = (uint16_t)ldns_buffer_position(buf);
	out->rdata = arena_memdup(z->arena, ldns_buffer_begin(buf), out->rdlen);
	out->type = (uint16_t)ldns_rr_get_type(rr);
	out->ttl = ldns_rr_ttl(rr);
	out->line = line;
	out->file = file;
}

/* Is the next non-blank line a $INCLUDE (1) or $ORIGIN (2)? Blank and
 * comment-only lines are consumed (counted in @line); the stream is left at
 * the start of the next entry otherwise (0). For a directive, @arg receives
 * the rest of its line. */
static int peek_include(FILE *f, int *line, char *arg, size_t size)
{
	char buf[4096];

	for (;;) {
		long pos = ftell(f);
		if (!fgets(buf, sizeof(buf), f)) {
			return 0;
		}
		char *p = buf;
		while (*p == ' ' || *p == '\t') {
			p++;
		}
		if (*p == '\n' || *p == '\r' || *p == ';' || *p == 0) {
			(*line)++;
			continue;
		}
		/* Any white space ends the directive word, as ldns reads it. */
		if (strncasecmp(buf, "$ORIGIN", 7) == 0 && (buf[7] == 0 || isspace((unsigned char)buf[7]))) {
			char *end = strpbrk(buf + 7, ";\r\n");
			if (end) {
				*end = 0;
			}
			snprintf(arg, size, "%s", buf + 7);
			(*line)++;
			return 2;
		}
		if (strncasecmp(buf, "$INCLUDE", 8) == 0 && (buf[8] == 0 || isspace((unsigned char)buf[8]))) {
			char *end = strpbrk(buf + 8, ";\r\n");
			if (end) {
				*end = 0;
			}
			snprintf(arg, size, "%s", buf + 8);
			(*line)++;
			return 1;
		}
		fseek(f, pos, SEEK_SET);
		return 0;
	}
}

/* RFC 1035 5.1 allows "[owner] CLASS TTL TYPE" as well as "[owner] TTL CLASS
 * TYPE"; ldns only takes the latter. Re-read the entry's text with the two
 * swapped. Returns true and sets *@rr if that parses. */
static bool retry_class_first(FILE *f, long from, long to, uint32_t ttl, ldns_rdf *origin,
			      ldns_rdf **prev, ldns_rr **rr)
{
	char text[8192], out[8300], tok[3][256];
	size_t n;
	int lead, used[3];
	long back = ftell(f);
	bool ok = false;

	if (from < 0 || to <= from || to - from >= (long)sizeof(text)) {
		return false;
	}
	fseek(f, from, SEEK_SET);
	n = fread(text, 1, (size_t)(to - from), f);
	fseek(f, back, SEEK_SET);
	text[n] = 0;
	/* Single-line entries only: ldns mishandles some multi-line text given
	 * as a string (a heap overrun in ldns_bget_token, found by fuzzing). */
	if (strchr(text, '(') || (strchr(text, '\n') && strchr(text, '\n')[1] != 0)) {
		return false;
	}
	lead = text[0] == ' ' || text[0] == '\t'; /* no owner: the previous one */
	char *p = text;
	for (int i = 0; i < 3; i++) {
		if (sscanf(p, " %255s%n", tok[i], &used[i]) != 1) {
			return false;
		}
		p += used[i];
	}
	const char *cls = tok[lead ? 0 : 1], *num = tok[lead ? 1 : 2];
	if (strcasecmp(cls, "IN") != 0 || strspn(num, "0123456789") == 0) {
		return false;
	}
	const char *rest = text;
	for (int i = 0; i < (lead ? 2 : 3); i++) {
		rest += used[i];
	}
	if (lead) {
		snprintf(out, sizeof(out), " %s %s%s", num, cls, rest);
	} else {
		snprintf(out, sizeof(out), "%s %s %s%s", tok[0], num, cls, rest);
	}
	ok = ldns_rr_new_frm_str(rr, out, ttl, origin, prev) == LDNS_STATUS_OK;
	return ok;
}

static int read_file(struct reader *r, const char *path, ldns_rdf **origin, uint32_t *ttl,
		     int depth, const char *from_file, int from_line)
{
	FILE *f = fopen(path, "re");
	const char *file;
	ldns_rdf *prev = NULL;
	int line = 1;

	if (!f) {
		if (from_file) {
			log_err("%s:%d: $INCLUDE %s: %s", from_file, from_line, path, strerror(errno));
		} else {
			log_err("%s: cannot open zone file: %s", path, strerror(errno));
		}
		r->errors++;
		return -1;
	}
	{
		struct stat st;
		if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
			if (from_file) {
				log_err("%s:%d: $INCLUDE %s: not a regular file", from_file, from_line, path);
			} else {
				log_err("%s: not a regular file", path);
			}
			r->errors++;
			fclose(f);
			return -1;
		}
	}
	file = add_file(r->z, path);
	for (;;) {
		char arg[4096];
		ldns_rr *rr = NULL;
		ldns_status st;

		int directive = peek_include(f, &line, arg, sizeof(arg));
		if (directive == 2) {
			/* $ORIGIN, relative to the current origin unless absolute
			 * (RFC 1035 5.1); ldns would take a relative one as absolute. */
			char name[1024];
			ldns_rdf *o = NULL;
			if (sscanf(arg, " %1023s", name) != 1 ||
			    ldns_str2rdf_dname(&o, name) != LDNS_STATUS_OK) {
				log_err("%s:%d: $ORIGIN needs a domain name", file, line - 1);
				r->errors++;
				continue;
			}
			if (!ldns_dname_str_absolute(name)) {
				if (ldns_dname_cat(o, *origin) != LDNS_STATUS_OK ||
				    ldns_rdf_size(o) > DNAME_MAXLEN) {
					log_err("%s:%d: $ORIGIN %s makes a name too long", file, line - 1, name);
					r->errors++;
					ldns_rdf_deep_free(o);
					continue;
				}
			}
			ldns_rdf_deep_free(*origin);
			*origin = o;
			continue;
		}
		if (directive == 1) {
			char incfile[PATH_MAX], name[PATH_MAX];
			char originstr[1024] = "";
			ldns_rdf *inc_origin = ldns_rdf_clone(*origin);
			int inc_line = line - 1;
			if (sscanf(arg, " %1023s %1023s", name, originstr) < 1) {
				log_err("%s:%d: $INCLUDE needs a file name", file, inc_line);
				r->errors++;
				ldns_rdf_deep_free(inc_origin);
				continue;
			}
			if (name[0] == '/') {
				snprintf(incfile, sizeof(incfile), "%s", name);
			} else {
				char *tmp = xstrdup(path);
				int n = snprintf(incfile, sizeof(incfile), "%s/%s", dirname(tmp), name);
				free(tmp);
				if (n < 0 || (size_t)n >= sizeof(incfile)) {
					log_err("%s:%d: $INCLUDE path too long", file, inc_line);
					r->errors++;
					ldns_rdf_deep_free(inc_origin);
					continue;
				}
			}
			if (originstr[0]) {
				ldns_rdf *o = NULL;
				if (ldns_str2rdf_dname(&o, originstr) != LDNS_STATUS_OK) {
					log_err("%s:%d: $INCLUDE origin \"%s\" is not a domain name",
						file, inc_line, originstr);
					r->errors++;
					ldns_rdf_deep_free(inc_origin);
					continue;
				}
				if ((!ldns_dname_str_absolute(originstr) &&
				     ldns_dname_cat(o, *origin) != LDNS_STATUS_OK) ||
				    ldns_rdf_size(o) > DNAME_MAXLEN) {
					log_err("%s:%d: $INCLUDE origin \"%s\" makes a name too long",
						file, inc_line, originstr);
					r->errors++;
					ldns_rdf_deep_free(o);
					ldns_rdf_deep_free(inc_origin);
					continue;
				}
				ldns_rdf_deep_free(inc_origin);
				inc_origin = o;
			}
			if (depth >= MAX_INCLUDE_DEPTH) {
				log_err("%s:%d: $INCLUDE nested deeper than %d", file, inc_line,
					MAX_INCLUDE_DEPTH);
				r->errors++;
			} else {
				uint32_t inc_ttl = *ttl;
				read_file(r, incfile, &inc_origin, &inc_ttl, depth + 1, file, inc_line);
			}
			ldns_rdf_deep_free(inc_origin);
			continue;
		}
		if (feof(f) || ferror(f)) {
			break;
		}
		int start = line;
		long before = ftell(f);
		st = ldns_rr_new_frm_fp_l(&rr, f, ttl, origin, &prev, &line);
		if (!*origin) {
			/* ldns freed the origin on a directive it could not parse. */
			*origin = ldns_rdf_clone(r->apex);
			if (st == LDNS_STATUS_OK) {
				ldns_rr_free(rr);
				st = LDNS_STATUS_SYNTAX_ERR;
			}
		}
		if (st != LDNS_STATUS_OK && st != LDNS_STATUS_SYNTAX_EMPTY &&
		    st != LDNS_STATUS_SYNTAX_TTL && st != LDNS_STATUS_SYNTAX_ORIGIN &&
		    retry_class_first(f, before, ftell(f), *ttl, *origin, &prev, &rr)) {
			st = LDNS_STATUS_OK;
		}
		switch (st) {
		case LDNS_STATUS_OK:
			push_rr(r, rr, file, start);
			ldns_rr_free(rr);
			break;
		case LDNS_STATUS_SYNTAX_EMPTY:
		case LDNS_STATUS_SYNTAX_TTL:
		case LDNS_STATUS_SYNTAX_ORIGIN:
			break;
		default:
			/* ldns has read past the newline of the bad line. */
			log_err("%s:%d: %s", file, line - 1 > start ? line - 1 : start,
				ldns_get_errorstr_by_id(st));
			r->errors++;
			if (r->errors > 20) {
				goto out;
			}
			break;
		}
		if (feof(f)) {
			break;
		}
	}
out:
	if (prev) {
		ldns_rdf_deep_free(prev);
	}
	fclose(f);
	return 0;
}

static int rr_cmp(const void *a, const void *b)
{
	const struct zone_rr *x = a, *y = b;
	size_t lx = dname_len(x->owner), ly = dname_len(y->owner);
	int c;

	if (lx != ly) {
		return lx < ly ? -1 : 1;
	}
	if ((c = memcmp(x->owner, y->owner, lx)) != 0) {
		return c;
	}
	if (x->type != y->type) {
		return x->type < y->type ? -1 : 1;
	}
	if (x->rdlen != y->rdlen) {
		return x->rdlen < y->rdlen ? -1 : 1;
	}
	if ((c = memcmp(x->rdata, y->rdata, x->rdlen)) != 0) {
		return c;
	}
	return x->line - y->line;
}

static bool same_name(const struct zone_rr *a, const struct zone_rr *b)
{
	size_t l = dname_len(a->owner);
	return l == dname_len(b->owner) && memcmp(a->owner, b->owner, l) == 0;
}

/* RFC 1035/2181 consistency checks over the sorted record list. */
static void check_zone(struct reader *r, const char *file)
{
	struct zone_data *z = r->z;
	size_t soa = 0, ns = 0, out = 0, soa_index = 0;
	char tmp[1100];

	/* Sort, keeping zone-file order for equal records, then merge duplicates. */
	if (z->nrrs) {
		qsort(z->rrs, z->nrrs, sizeof(*z->rrs), rr_cmp);
	}
	for (size_t i = 0; i < z->nrrs; i++) {
		struct zone_rr *rr = &z->rrs[i];
		if (out > 0) {
			struct zone_rr *p = &z->rrs[out - 1];
			if (same_name(p, rr) && p->type == rr->type && p->rdlen == rr->rdlen &&
			    memcmp(p->rdata, rr->rdata, rr->rdlen) == 0) {
				continue; /* the arena keeps its bytes until zone_clear */
			}
		}
		z->rrs[out++] = *rr;
	}
	z->nrrs = out;
	z->rrs = xrealloc(z->rrs, (out ? out : 1) * sizeof(*z->rrs)); /* drop the doubling slack */
	z->caprrs = out;

	for (size_t i = 0; i < z->nrrs; i++) {
		struct zone_rr *rr = &z->rrs[i];
		bool apex = dname_len(rr->owner) == z->origin_len &&
			    memcmp(rr->owner, z->origin, z->origin_len) == 0;
		if (rr->type == DNS_TYPE_SOA) {
			if (!apex) {
				log_err("%s:%d: SOA record at %s, which is not the zone apex", rr->file,
					rr->line, dname_to_str(tmp, sizeof(tmp), rr->owner));
				r->errors++;
			} else if (++soa == 2) {
				const struct zone_rr *first = &z->rrs[soa_index];
				const struct zone_rr *later = first->line > rr->line ? first : rr;
				log_err("%s:%d: second SOA record at the apex (a zone has exactly one; the other is at line %d)",
					later->file, later->line, later == rr ? first->line : rr->line);
				r->errors++;
			} else {
				soa_index = i;
			}
		}
		if (rr->type == DNS_TYPE_NS && apex) {
			ns++;
		}
		if (rr->type == DNS_TYPE_CNAME) {
			if (apex) {
				log_err("%s:%d: CNAME at the zone apex", rr->file, rr->line);
				r->errors++;
			}
			for (size_t j = i; j > 0 && same_name(&z->rrs[j - 1], rr); j--) {
				const struct zone_rr *o = &z->rrs[j - 1];
				if (o->type != DNS_TYPE_RRSIG && o->type != DNS_TYPE_NSEC) {
					log_err("%s:%d: CNAME at %s, which also has other data (line %d)",
						rr->file, rr->line,
						dname_to_str(tmp, sizeof(tmp), rr->owner), o->line);
					r->errors++;
				}
			}
			for (size_t j = i + 1; j < z->nrrs && same_name(&z->rrs[j], rr); j++) {
				const struct zone_rr *o = &z->rrs[j];
				if (o->type != DNS_TYPE_RRSIG && o->type != DNS_TYPE_NSEC) {
					log_err("%s:%d: CNAME at %s, which also has other data (line %d)",
						rr->file, rr->line,
						dname_to_str(tmp, sizeof(tmp), rr->owner), o->line);
					r->errors++;
				}
			}
		}
	}
	if (soa == 0) {
		log_err("%s:1: zone %s has no SOA record at its apex", file,
			dname_to_str(tmp, sizeof(tmp), z->origin));
		r->errors++;
	}
	if (ns == 0) {
		log_err("%s:1: zone %s has no NS records at its apex", file,
			dname_to_str(tmp, sizeof(tmp), z->origin));
		r->errors++;
	}
}

int zone_load(struct zone_data *z, const char *origin, const char *file)
{
	struct reader r = { z, 0, NULL, NULL };
	ldns_rdf *o = NULL;
	uint32_t ttl = 3600;
	int len = dname_from_str(z->origin, origin);
	char abs[1100];

	if (len < 0) {
		log_err("%s: zone origin \"%s\" is not a domain name", file, origin);
		return -1;
	}
	z->origin_len = (size_t)len;
	snprintf(abs, sizeof(abs), "%s%s", origin, origin[strlen(origin) - 1] == '.' ? "" : ".");
	if (ldns_str2rdf_dname(&o, abs) != LDNS_STATUS_OK) {
		log_err("%s: zone origin \"%s\" is not a domain name", file, origin);
		return -1;
	}
	if (!z->arena) {
		z->arena = arena_new();
	}
	r.buf = ldns_buffer_new(512);
	r.apex = ldns_rdf_clone(o);
	read_file(&r, file, &o, &ttl, 0, NULL, 0);
	ldns_rdf_deep_free((ldns_rdf *)r.apex);
	ldns_buffer_free(r.buf);
	ldns_rdf_deep_free(o);
	if (r.errors == 0) {
		check_zone(&r, file);
	}
	return r.errors ? -1 : 0;
}

void zone_clear(struct zone_data *z)
{
	arena_free(z->arena);
	free(z->rrs);
	for (size_t i = 0; i < z->nfiles; i++) {
		free(z->files[i]);
	}
	free(z->files);
	memset(z, 0, sizeof(*z));
}

void zone_add_rr(struct zone_data *z, const uint8_t *owner, uint16_t type, uint32_t ttl,
		 const uint8_t *rdata, uint16_t rdlen)
{
	struct zone_rr *out;

	if (z->nrrs == z->caprrs) {
		z->caprrs = z->caprrs ? z->caprrs * 2 : 64;
		z->rrs = xrealloc(z->rrs, z->caprrs * sizeof(*z->rrs));
	}
	out = &z->rrs[z->nrrs++];
	memset(out, 0, sizeof(*out));
	out->owner = arena_memdup(z->arena, owner, dname_len(owner));
	out->rdata = arena_memdup(z->arena, rdata, rdlen ? rdlen : 1);
	out->rdlen = rdlen;
	out->type = type;
	out->ttl = ttl;
	out->file = z->nfiles ? z->files[0] : "";
}

void zone_sort(struct zone_data *z)
{
	if (z->nrrs) {
		qsort(z->rrs, z->nrrs, sizeof(*z->rrs), rr_cmp);
	}
}
