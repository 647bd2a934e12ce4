/* image.c -- precomputed response tails. */
#include "config.h"

#include <assert.h>
#include <string.h>

#include "dns/wire.h"
#include "data/arena.h"
#include "dns/dname.h"
#include "dns/image.h"
#include "util/mem.h"

static void apply_fixups(uint8_t *out, const uint32_t *fixups, unsigned nfixups, size_t n,
			 unsigned qname_len)
{
	for (unsigned i = 0; i < nfixups; i++) {
		uint32_t f = fixups[i];
		size_t pos = f >> 16;
		if (pos >= n) {
			continue; /* in the additional section that was left out */
		}
		uint16_t ptr = image_ref_resolve((uint16_t)(f & 0xFFFF), qname_len);
		out[pos] = (uint8_t)(0xC0 | (ptr >> 8));
		out[pos + 1] = (uint8_t)ptr;
	}
}

void image_write(uint8_t *out, const struct image *img, size_t n, unsigned qname_len)
{
	memcpy(out, img->data, n);
	if (img->nfixups) {
		apply_fixups(out, image_fixups(img), img->nfixups, n, qname_len);
	}
}

struct imgb *imgb_new(void)
{
	return xcalloc(1, sizeof(struct imgb));
}

void imgb_free(struct imgb *b)
{
	if (b) {
		free(b->comp);
		free(b->fixups);
		free(b);
	}
}

static void comp_add(struct imgb *b, const uint8_t *name, uint16_t ref)
{
	if (b->ncomp == b->capcomp) {
		b->capcomp = b->capcomp ? b->capcomp * 2 : 32;
		b->comp = xrealloc(b->comp, b->capcomp * sizeof(*b->comp));
	}
	size_t l = dname_len(name);
	memcpy(b->comp[b->ncomp].name, name, l);
	b->comp[b->ncomp].len = (uint8_t)l;
	b->comp[b->ncomp].ref = ref;
	b->ncomp++;
}

static const struct imgb_comp *comp_find(const struct imgb *b, const uint8_t *lname, size_t l)
{
	for (size_t i = 0; i < b->ncomp; i++) {
		if (b->comp[i].len == l && memcmp(b->comp[i].name, lname, l) == 0) {
			return &b->comp[i];
		}
	}
	return NULL;
}

void imgb_reset(struct imgb *b, const uint8_t *qsuffix, const uint8_t *synth_owner)
{
	b->len = 0;
	b->len_noadd = 0;
	b->section = IMG_ANSWER;
	b->count[0] = b->count[1] = b->count[2] = 0;
	b->overflow = false;
	b->ncomp = 0;
	b->nfixups = 0;
	b->synth_owner = synth_owner;
	if (qsuffix) {
		const uint8_t *p = qsuffix;
		for (;;) {
			size_t l = dname_len(p);
			comp_add(b, p, (uint16_t)(IMG_REF_QSUFFIX | l));
			if (*p == 0) {
				break;
			}
			p += *p + 1;
		}
	}
}

static void put(struct imgb *b, const void *p, size_t n)
{
	if (b->len + n > sizeof(b->buf)) {
		b->overflow = true;
		return;
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

static void put16(struct imgb *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	put(b, x, 2);
}

static void put32(struct imgb *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	put(b, x, 4);
}

static void put_ref(struct imgb *b, uint16_t ref)
{
	if (b->nfixups == b->capfixups) {
		b->capfixups = b->capfixups ? b->capfixups * 2 : 16;
		b->fixups = xrealloc(b->fixups, b->capfixups * sizeof(*b->fixups));
	}
	b->fixups[b->nfixups++] = (uint32_t)b->len << 16 | ref;
	put16(b, 0xC000);
}

/* Write @name (original case), compressing against every name written so
 * far; @compress false writes it in full (types outside RFC 3597's list). */
static void put_name(struct imgb *b, const uint8_t *name, bool compress)
{
	uint8_t lname[DNAME_MAXLEN];
	size_t l = dname_len(name);
	size_t o = 0;

	memcpy(lname, name, l);
	dname_tolower(lname, l);
	if (!compress) {
		put(b, name, l);
		return;
	}
	while (lname[o]) {
		const struct imgb_comp *c = comp_find(b, lname + o, l - o);
		if (c) {
			put_ref(b, c->ref);
			return;
		}
		/* Remember this suffix as a target while it is still within
		 * pointer range once the question is in front of it. */
		if (b->len < 0x3FFF - 300) {
			comp_add(b, lname + o, (uint16_t)(IMG_REF_REL | b->len));
		}
		put(b, name + o, (size_t)name[o] + 1);
		o += (size_t)name[o] + 1;
	}
	put(b, "", 1);
}

/* Write @name in full, as a field that must not be compressed (RFC 2782:
 * the SRV target), and remember it as a target for later names: pointing
 * to it is allowed, and the target's addresses follow in the additional
 * section. */
static void put_name_full(struct imgb *b, const uint8_t *name)
{
	uint8_t lname[DNAME_MAXLEN];
	size_t l = dname_len(name);

	memcpy(lname, name, l);
	dname_tolower(lname, l);
	for (size_t o = 0; lname[o]; o += (size_t)lname[o] + 1) {
		if (b->len + o < 0x3FFF - 300 && !comp_find(b, lname + o, l - o)) {
			comp_add(b, lname + o, (uint16_t)(IMG_REF_REL | (b->len + o)));
		}
	}
	put(b, name, l);
}

static void put_owner(struct imgb *b, const uint8_t *owner)
{
	if (b->synth_owner && dname_len(owner) == dname_len(b->synth_owner) &&
	    memcmp(owner, b->synth_owner, dname_len(owner)) == 0) {
		put16(b, 0xC00C); /* the query name itself, at offset 12 */
		return;
	}
	put_name(b, owner, true);
}

/* Name-bearing rdata that may be compressed (RFC 3597 section 4). */
static void put_rdata(struct imgb *b, uint16_t type, const uint8_t *rd, uint16_t rdlen)
{
	size_t n1, n2;

	switch (type) {
	case 2:  /* NS */
	case 3:  /* MD */
	case 4:  /* MF */
	case 5:  /* CNAME */
	case 7:  /* MB */
	case 8:  /* MG */
	case 9:  /* MR */
	case 12: /* PTR */
		put_name(b, rd, true);
		return;
	case 6: /* SOA */
		n1 = dname_len(rd);
		n2 = dname_len(rd + n1);
		put_name(b, rd, true);
		put_name(b, rd + n1, true);
		put(b, rd + n1 + n2, 20);
		return;
	case 14: /* MINFO */
		n1 = dname_len(rd);
		put_name(b, rd, true);
		put_name(b, rd + n1, true);
		return;
	case 15: /* MX */
		put(b, rd, 2);
		put_name(b, rd + 2, true);
		return;
	case 33: /* SRV */
		put(b, rd, 6);
		put_name_full(b, rd + 6);
		return;
	default:
		put(b, rd, rdlen);
		return;
	}
}

void imgb_add_rr(struct imgb *b, int section, const uint8_t *owner, uint16_t type,
		 uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
	size_t rdlen_pos, start;

	assert(section >= b->section);
	if (section == IMG_ADDITIONAL && b->section != IMG_ADDITIONAL) {
		b->len_noadd = b->len;
	}
	b->section = section;
	put_owner(b, owner);
	put16(b, type);
	put16(b, rclass);
	put32(b, ttl);
	rdlen_pos = b->len;
	put16(b, 0);
	start = b->len;
	put_rdata(b, type, rdata, rdlen);
	if (!b->overflow) {
		size_t n = b->len - start;
		b->buf[rdlen_pos] = (uint8_t)(n >> 8);
		b->buf[rdlen_pos + 1] = (uint8_t)n;
	}
	b->count[section]++;
}

uint16_t imgb_ref(const struct imgb *b, const uint8_t *name)
{
	uint8_t lname[DNAME_MAXLEN];
	size_t l = dname_len(name);
	const struct imgb_comp *c;

	if (b->synth_owner && l == dname_len(b->synth_owner) &&
	    memcmp(name, b->synth_owner, l) == 0) {
		return IMG_REF_QNAME;
	}
	memcpy(lname, name, l);
	dname_tolower(lname, l);
	c = comp_find(b, lname, l);
	return c ? c->ref : IMG_REF_NONE;
}

struct image *imgb_finish(struct imgb *b, struct arena *arena, uint8_t rcode, bool aa,
			  const struct pool *pool, uint16_t pool_qtype, uint16_t pool_owner,
			  unsigned exact_qname_len)
{
	struct image *img;
	size_t nfix;

	if (b->overflow || b->len > 65000) {
		return NULL;
	}
	if (b->section != IMG_ADDITIONAL) {
		b->len_noadd = b->len;
	}
	nfix = exact_qname_len ? 0 : b->nfixups;
	img = arena_alloc(arena, sizeof(*img) + ((b->len + 3) & ~(size_t)3) + nfix * sizeof(uint32_t));
	img->rcode = rcode;
	img->aa = aa;
	img->ancount = b->count[0];
	img->nscount = b->count[1];
	img->arcount = b->count[2];
	img->len = (uint16_t)b->len;
	img->len_noadd = (uint16_t)b->len_noadd;
	memcpy(img->data, b->buf, b->len);
	if (exact_qname_len) {
		/* Only ever used for one query name length: resolve now. */
		apply_fixups(img->data, b->fixups, (unsigned)b->nfixups, img->len, exact_qname_len);
	} else if (nfix) {
		img->nfixups = (uint16_t)nfix;
		memcpy((void *)image_fixups(img), b->fixups, nfix * sizeof(uint32_t));
	}
	if (pool) {
		img->dyn = arena_alloc(arena, sizeof(*img->dyn));
		img->dyn->pool = pool;
		img->dyn->qtype = pool_qtype;
		img->dyn->owner = pool_owner;
	}
	return img;
}

void image_set_extra(struct image *img, struct arena *arena, const struct image_extra *extra,
		     unsigned n)
{
	assert(!img->dyn && n > 0);
	img->dyn = arena_alloc(arena, sizeof(*img->dyn));
	img->dyn->nextra = (uint16_t)n;
	img->dyn->extra = arena_memdup(arena, extra, n * sizeof(*extra));
}
