/* image.h -- precomputed response tails: built at load time, copied per query.
 *
 * An image holds the answer, authority and additional sections of one
 * response, already in wire form and compressed. It is position-independent:
 * compression pointers whose target depends on the query are listed as
 * fixups, either "relative to the image start" (names inside the image) or
 * "a suffix of the query name of length L" (names known to end the qname, such
 * as the zone apex). Images used only for an exact name match are resolved at
 * build time and carry no fixups; wildcard, NXDOMAIN and referral images are
 * resolved per query, which costs a few 16-bit stores. */
#ifndef GSLBD_IMAGE_H
#define GSLBD_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pool;

/* A pool owner that is the target of an NS, MX or SRV record in the
 * answer: its members, A then AAAA, go into the additional section. */
struct image_extra {
	const struct pool *pool;
	uint16_t owner;           /* reference to the target name */
};

/* The dynamic part of a response. A pool answer: which pool, for which
 * type, with which owner name, and the same answer as NODATA for the
 * "nodata" last resort. An NS, MX or SRV answer: the pools of its targets,
 * written after the image in the additional section, each RRset only if it
 * fits (never both kinds: a pool answer is A or AAAA). */
struct image_dyn {
	const struct pool *pool;  /* the answer's pool, or NULL: extra pools only */
	uint16_t qtype;           /* 1 (A) or 28 (AAAA) */
	uint16_t owner;           /* reference to the records' owner name */
	uint16_t nextra;
	const struct image *alt;  /* NODATA variant, or NULL */
	const struct image_extra *extra; /* nextra pools for the additional section */
};

/* 24 bytes of header, then data, then (4-aligned) the fixups. */
struct image {
	uint8_t rcode;
	uint8_t aa;
	uint8_t glue_required; /* additional holds glue that must not be dropped */
	uint16_t ancount, nscount, arcount;
	uint16_t len;          /* bytes in data */
	uint16_t len_noadd;    /* bytes of answer + authority */
	uint16_t nfixups;      /* pos << 16 | encoded reference, after data */
	struct image_dyn *dyn; /* pool records appended after data, or NULL */
	uint8_t data[];
};

static inline const uint32_t *image_fixups(const struct image *img)
{
	return (const uint32_t *)(const void *)(img->data + ((img->len + 3u) & ~3u));
}

/* Encoded references (14 bits of pointer value plus a kind bit). */
#define IMG_REF_QSUFFIX 0x8000u /* low 14 bits: length of a qname suffix */
#define IMG_REF_REL 0x0000u     /* low 14 bits: offset from the image start */
#define IMG_REF_QNAME 0xFFFEu   /* the query name itself (offset 12) */
#define IMG_REF_NONE 0xFFFFu

/* Turn reference @ref into an absolute compression pointer target for a
 * query name of @qname_len bytes (question at offset 12). */
static inline uint16_t image_ref_resolve(uint16_t ref, unsigned qname_len)
{
	unsigned base = 12 + qname_len + 4;
	if (ref == IMG_REF_QNAME) {
		return 12;
	}
	if (ref & IMG_REF_QSUFFIX) {
		return (uint16_t)(12 + qname_len - (ref & 0x3FFF));
	}
	return (uint16_t)(base + (ref & 0x3FFF));
}

/* Copy @n bytes of @img (n is img->len or img->len_noadd) to @out, which is
 * where the image starts in the response, and resolve its fixups for a query
 * name of @qname_len bytes. Hot path: no allocation. */
void image_write(uint8_t *out, const struct image *img, size_t n, unsigned qname_len);

/* --- load-time builder ----------------------------------------------------- */

enum img_section { IMG_ANSWER = 0, IMG_AUTHORITY = 1, IMG_ADDITIONAL = 2 };

struct imgb_comp {
	uint8_t name[255];
	uint8_t len;
	uint16_t ref;
};

/* Builder state; large, so allocate it (imgb_new) rather than on the stack. */
struct imgb {
	uint8_t buf[65535];
	size_t len;
	size_t len_noadd;
	int section;
	uint16_t count[3];
	bool overflow;
	const uint8_t *synth_owner; /* owner written as a pointer to the qname */
	struct imgb_comp *comp;
	size_t ncomp, capcomp;
	uint32_t *fixups;
	size_t nfixups, capfixups;
};

struct imgb *imgb_new(void);
void imgb_free(struct imgb *b);

/* Start a new image. @qsuffix (lower-case wire) is a name known to end every
 * query name this image will answer; all its suffixes become compression
 * targets. @synth_owner, if not NULL, is a name that stands for the query
 * name itself (a wildcard owner, or the exact node name). */
void imgb_reset(struct imgb *b, const uint8_t *qsuffix, const uint8_t *synth_owner);

/* Append one RR to @section (sections must be filled in order). @owner and
 * names inside @rdata (uncompressed wire) are compressed where RFC 3597
 * allows it. Overflow past 65535 bytes sets b->overflow. */
void imgb_add_rr(struct imgb *b, int section, const uint8_t *owner, uint16_t type,
		 uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen);

/* Reference to where @name (lower-case) was written, or 0xFFFF if it never was. */
uint16_t imgb_ref(const struct imgb *b, const uint8_t *name);

struct arena;

/* Produce the image, allocated in @arena (freed with it). If
 * @exact_qname_len is non-zero, the image will only be used for query names
 * of that length and its fixups are resolved now. Returns NULL if it
 * overflowed. */
struct image *imgb_finish(struct imgb *b, struct arena *arena, uint8_t rcode, bool aa,
			  const struct pool *pool, uint16_t pool_qtype, uint16_t pool_owner,
			  unsigned exact_qname_len);

/* Give @img, which has no dynamic part, the @n pools @extra whose members
 * go into its additional section per query (copied into @arena). */
void image_set_extra(struct image *img, struct arena *arena, const struct image_extra *extra,
		     unsigned n);

#endif
