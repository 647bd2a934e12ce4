/* nettree.h -- the compiled prefix tree of a geo map: client networks (IPv4 inside
 * IPv6 at ::ffff:0:0/96) to result numbers, one longest-prefix walk per query.
 *
 * Built at load time from a build trie of prefixes (nettree_build_*) and,
 * optionally, a MaxMind database's own search tree, combined so that the
 * build trie's prefixes win wherever they match, and compiled into a flat
 * array of binary nodes whose leaves are result numbers. Adjacent networks
 * with the same result are merged (a node whose two halves are the same leaf
 * is that leaf), so the depth at which a lookup reaches its leaf is the
 * shortest prefix that decides the client's result: what an answer echoes as
 * its EDNS Client Subnet scope. */
#ifndef GSLBD_NETTREE_H
#define GSLBD_NETTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETTREE_LEAF 0x80000000u /* a child reference with this bit is a result number */
#define NETTREE_NONE (-1)	 /* no result: the default applies */

/* --- build side (load time, one thread) ------------------------------------------ */

struct nettree_build {
	struct bnode {
		uint32_t child[2]; /* 0: none (the root is node 0, never a child) */
		int32_t val;	   /* result set at this exact prefix, or NETTREE_NONE */
	} * nodes;
	size_t n, cap;
};

void nettree_build_init(struct nettree_build *b);
void nettree_build_clear(struct nettree_build *b);

/* Set the result of prefix @addr/@bits (16 octets, bits 0..128) to @val >= 0;
 * a later insert of the same prefix replaces it. Returns the result it
 * replaced, or NETTREE_NONE. */
int32_t nettree_build_insert(struct nettree_build *b, const uint8_t addr[16], unsigned bits,
			     int32_t val);

/* A database's tree as nettree_compile reads it: @node(@db, number, bit) gives
 * a child: *@kind 0 = another node (return value), 1 = empty, 2 = a result
 * (return value). @ipv4 is IPv4's ::/96 subtree (@root for an IPv4-only
 * database, whose tree then covers ::ffff:0:0/96 only). */
struct nettree_db {
	void *db;
	uint32_t root;
	uint32_t ipv4;
	int ipv4_kind; /* what is at ::/96: 0 node @ipv4, 1 empty, 2 result @ipv4 */
	bool ipv4_only;
	size_t nodes; /* nodes in its tree: bounds the walk */
	/* Returns 0, or -1 on a corrupt database. */
	int (*node)(void *db, uint32_t number, unsigned bit, int *kind, uint32_t *out);
};

/* --- the compiled tree (immutable; any thread) ------------------------------------ */

struct nettree {
	uint32_t (*nodes)[2]; /* child references: node index, or NETTREE_LEAF | result */
	size_t n;
	uint32_t root; /* a reference */
	/* Shortcuts past the first 16 bits of IPv6 and the first 96 + 16 of
	 * IPv4-mapped: the reference reached there and its depth (less when a
	 * leaf was reached before). */
	uint32_t *tab6, *tab4;
	uint8_t *dep6, *dep4;
};

/* Compile @b (may be NULL) over database @db (may be NULL) into @t: where
 * a prefix of @b matches, its result; else the database's; else @deflt.
 * Returns 0, or -1 when the database is corrupt (nothing to free then).
 * Load time; allocation aborts on exhaustion. */
int nettree_compile(struct nettree *t, const struct nettree_build *b, const struct nettree_db *db,
		    int32_t deflt);
void nettree_clear(struct nettree *t);

/* The result for IPv6 address @addr (16 octets) and in *@depth the prefix
 * length that decided it. Hot path: no allocation, at most 112 steps. */
static inline uint32_t nettree_lookup6(const struct nettree *t, const uint8_t *addr,
				       unsigned *depth)
{
	unsigned top = (unsigned)addr[0] << 8 | addr[1];
	uint32_t r = t->tab6[top];
	unsigned d = t->dep6[top];

	while (!(r & NETTREE_LEAF)) {
		r = t->nodes[r][(addr[d >> 3] >> (7 - (d & 7))) & 1];
		d++;
	}
	*depth = d;
	return r & ~NETTREE_LEAF;
}

/* The same for IPv4 address @addr (4 octets), *@depth counted in IPv4 bits
 * (0 when the result covers more than all of IPv4). */
static inline uint32_t nettree_lookup4(const struct nettree *t, const uint8_t *addr,
				       unsigned *depth)
{
	unsigned top = (unsigned)addr[0] << 8 | addr[1];
	uint32_t r = t->tab4[top];
	unsigned d = t->dep4[top]; /* IPv6 bits */

	while (!(r & NETTREE_LEAF)) {
		unsigned b = d - 96;
		r = t->nodes[r][(addr[b >> 3] >> (7 - (b & 7))) & 1];
		d++;
	}
	*depth = d > 96 ? d - 96 : 0;
	return r & ~NETTREE_LEAF;
}

/* Bytes held by @t. */
size_t nettree_memory(const struct nettree *t);

#endif
