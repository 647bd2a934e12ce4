/* dnssec.h -- a zone's DNSSEC, done at load time: keys read, DNSKEY, CDS and
 * the NSEC chain added to the zone's data, every RRset and every address set
 * a pool can answer signed, all kept as wire images that the answer path
 * copies (dns/answer_dnssec.c). No cryptography per query.
 *
 * The signatures belong to the snapshot they were made for: re-signing is a
 * rebuild of the snapshot (the daemon does it before dnssec_resign_at()), so
 * nothing here changes after the build and workers read it without locks. */
#ifndef GSLBD_DNSSEC_H
#define GSLBD_DNSSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct snapshot;
struct snap_zone;
struct node;
struct rrset;

/* The most address sets one pool owner may answer for one type (A or AAAA),
 * counted over the pool and its backups as every subset of members up to
 * `answers` of them (what any policy may choose, whatever health and weights
 * do). Each is signed when the snapshot is built and again at every re-sign:
 * 4096 ECDSA P-256 signatures take about 0.2 s and 0.5 MB, which bounds the
 * time a reload or re-sign spends on one pool. */
#define DNSSEC_MAX_SETS 4096

/* The RRSIG records of one RRset or address set, in wire form without their
 * owner: n records of type, class, TTL, rdlength, rdata. */
struct dnssec_sig {
	uint16_t n;
	uint16_t len;
	uint8_t wire[];
};

/* One zone's signed state, reached from struct snap_zone. */
struct dnssec_zone {
	struct node **chain; /* the names owning an NSEC, in canonical order */
	size_t nchain;
	uint32_t inception, expiration; /* of every signature made */
	uint32_t resign_at;		/* when the daemon rebuilds to sign again */
};

/* Load the keys of every zone with a dnssec setting and add DNSKEY, CDS,
 * CDNSKEY and NSEC records to its data. Called by the snapshot builder after
 * the zone files are read and before names are made. Logs each error
 * (naming the config line, the key file and what is wrong); returns the
 * number of errors. */
int dnssec_prepare(struct snapshot *s);

/* Sign every RRset and pool address set of the signed zones and build their
 * NSEC chains. After the names, pools and cuts are made. Returns the number
 * of errors (logged), e.g. a pool with more than DNSSEC_MAX_SETS sets. */
int dnssec_sign(struct snapshot *s);

/* Free what dnssec_prepare and dnssec_sign made for @s. */
void dnssec_free(struct snapshot *s);

/* Print the signed data of zone @origin (text) of @s to @out as a zone file:
 * every record with its RRSIGs, the NSEC chain, and one signed address set
 * of each pool owner and type (for `ldns-verify-zone`). Returns -1 if @s
 * signs no such zone. Any thread. */
int dnssec_dump(FILE *out, const struct snapshot *s, const char *origin);

/* Bytes held by the signatures and set tables of @s (for reports). */
size_t dnssec_memory(const struct snapshot *s);

/* The earliest time (Unix seconds) some zone of @s must be signed again; 0:
 * no signed zone. */
uint32_t dnssec_resign_at(const struct snapshot *s);

/* --- per query (answer path; any thread, no allocation) -------------------- */

/* The RRSIGs of @rs, or NULL (not signed: glue, a delegation's NS, an
 * unsigned zone). */
const struct dnssec_sig *dnssec_rrset_sig(const struct snapshot *s, const struct rrset *rs);

/* The RRSIGs of the A (@qtype 1) or AAAA records with the @n addresses at
 * @addrs (@alen bytes each, in any order) that @owner's pool answered, or
 * NULL when that set was not signed. */
const struct dnssec_sig *dnssec_set_sig(const struct snapshot *s, const struct node *owner,
					uint16_t qtype, const uint8_t *addrs, unsigned n,
					unsigned alen);

/* The name of @z's NSEC chain that equals @name (lower-case wire) or
 * precedes it in canonical order (RFC 4034 6.1), wrapping to the last one:
 * whose NSEC proves @name's types or its absence. NULL if @z is unsigned. */
const struct node *dnssec_nsec_cover(const struct snap_zone *z, const uint8_t *name);

/* RFC 4034 6.1 canonical order of lower-case wire names: <0, 0, >0. */
int dnssec_canon_cmp(const uint8_t *a, const uint8_t *b);

#endif
