/* nettree.c -- build, combine and compile a geo map's prefix tree (see nettree.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "geo/nettree.h"
#include "util/mem.h"

#define NO_NODE UINT32_MAX

void nettree_build_init(struct nettree_build *b)
{
	b->cap = 64;
	b->nodes = xcalloc(b->cap, sizeof(*b->nodes));
	b->n = 1;
	b->nodes[0].val = NETTREE_NONE;
}

void nettree_build_clear(struct nettree_build *b)
{
	free(b->nodes);
	memset(b, 0, sizeof(*b));
}

static inline unsigned bit_of(const uint8_t *addr, unsigned d)
{
	return (addr[d >> 3] >> (7 - (d & 7))) & 1;
}

int32_t nettree_build_insert(struct nettree_build *b, const uint8_t addr[16], unsigned bits,
			     int32_t val)
{
	uint32_t at = 0;
	int32_t old;

	for (unsigned d = 0; d < bits; d++) {
		unsigned c = bit_of(addr, d);
		if (!b->nodes[at].child[c]) {
			if (b->n == b->cap) {
				b->cap *= 2;
				b->nodes = xrealloc(b->nodes, b->cap * sizeof(*b->nodes));
			}
			b->nodes[b->n].child[0] = b->nodes[b->n].child[1] = 0;
			b->nodes[b->n].val = NETTREE_NONE;
			b->nodes[at].child[c] = (uint32_t)b->n++;
		}
		at = b->nodes[at].child[c];
	}
	old = b->nodes[at].val;
	b->nodes[at].val = val;
	return old;
}

/* --- combining the build trie with a database, compiling ----------------------- */

enum { DB_NODE = 0, DB_EMPTY = 1, DB_RESULT = 2 };

struct compile {
	struct nettree *t;
	size_t cap;
	const struct nettree_build *b;
	const struct nettree_db *db;
	int32_t deflt;
	uint8_t path[16];
	size_t visits, max_visits;
	bool corrupt;
};

/* Does the prefix path/@d lie above a position where the database is
 * replaced: ::ffff:0:0/96 (IPv4, from the database's IPv4 subtree), ::/96
 * (IPv4-compatible, deprecated: the IPv4 data lives at ::ffff:0:0/96 here)
 * 2002::/16 (6to4) and 2001::/32 (Teredo), both aliased to IPv4 in MaxMind's
 * databases: not copied? */
static bool above_special(const uint8_t *path, unsigned d)
{
	static const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t zero[16] = {0};
	static const uint8_t sixtofour[16] = {0x20, 0x02};
	static const uint8_t teredo[16] = {0x20, 0x01};
	const uint8_t *specials[] = {mapped, zero, sixtofour, teredo};
	const unsigned lens[] = {96, 96, 16, 32};

	for (unsigned s = 0; s < 4; s++) {
		unsigned k;
		if (d >= lens[s]) {
			continue;
		}
		for (k = 0; k < d && bit_of(path, k) == bit_of(specials[s], k); k++) {
		}
		if (k == d) {
			return true;
		}
	}
	return false;
}

/* At exactly one of the special positions: the database cursor there. */
static bool special_cursor(const struct compile *c, unsigned d, int *kind, uint32_t *val)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t zero[12] = {0};

	if (d == 96 && memcmp(c->path, mapped, 12) == 0) {
		*kind = c->db->ipv4_only ? DB_NODE : c->db->ipv4_kind;
		*val = c->db->ipv4_only ? c->db->root : c->db->ipv4;
		return true;
	}
	if ((d == 96 && memcmp(c->path, zero, 12) == 0) ||
	    (d == 16 && c->path[0] == 0x20 && c->path[1] == 0x02) ||
	    (d == 32 && c->path[0] == 0x20 && c->path[1] == 0x01 && c->path[2] == 0 &&
	     c->path[3] == 0)) {
		*kind = DB_EMPTY;
		return true;
	}
	return false;
}

static uint32_t new_node(struct compile *c, uint32_t l, uint32_t r)
{
	struct nettree *t = c->t;

	if (t->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 256;
		t->nodes = xrealloc(t->nodes, c->cap * sizeof(*t->nodes));
	}
	t->nodes[t->n][0] = l;
	t->nodes[t->n][1] = r;
	return (uint32_t)t->n++;
}

/* The compiled reference for prefix path/@d: @m the build trie's node there
 * (NO_NODE: none), (@kind, @dbv) the database's cursor, @mv and @dv the
 * results inherited from above. */
static uint32_t combine(struct compile *c, uint32_t m, int kind, uint32_t dbv, int32_t mv,
			int32_t dv, unsigned d)
{
	bool mkids, dkids;
	uint32_t ref[2];

	if (++c->visits > c->max_visits) {
		c->corrupt = true;
		return NETTREE_LEAF;
	}
	if (c->db && special_cursor(c, d, &kind, &dbv)) {
		dv = NETTREE_NONE;
	}
	if (m != NO_NODE && c->b->nodes[m].val >= 0) {
		mv = c->b->nodes[m].val;
	}
	if (kind == DB_RESULT) {
		dv = (int32_t)dbv;
	}
	mkids = m != NO_NODE && (c->b->nodes[m].child[0] || c->b->nodes[m].child[1]);
	dkids = c->db && (kind == DB_NODE || above_special(c->path, d));
	if (d == 128) {
		mkids = dkids = false;
	}
	if (!mkids && (mv >= 0 || !dkids)) {
		/* The build trie (the operator's networks) wins over the database. */
		int32_t v = mv >= 0 ? mv : dv >= 0 ? dv : c->deflt;
		return NETTREE_LEAF | (uint32_t)v;
	}
	for (unsigned bit = 0; bit < 2; bit++) {
		uint32_t mc =
		    mkids && c->b->nodes[m].child[bit] ? c->b->nodes[m].child[bit] : NO_NODE;
		int ck = DB_EMPTY;
		uint32_t cv = 0;
		if (c->db && kind == DB_NODE && c->db->node(c->db->db, dbv, bit, &ck, &cv) != 0) {
			c->corrupt = true;
			return NETTREE_LEAF;
		}
		if (kind == DB_RESULT) {
			ck = DB_RESULT; /* the data covers the whole subtree */
			cv = dbv;
		}
		if (bit) {
			c->path[d >> 3] |= (uint8_t)(0x80 >> (d & 7));
		}
		ref[bit] = combine(c, mc, ck, cv, mv, dv, d + 1);
		c->path[d >> 3] &= (uint8_t) ~(0x80 >> (d & 7));
		if (c->corrupt) {
			return NETTREE_LEAF;
		}
	}
	if (ref[0] == ref[1] && (ref[0] & NETTREE_LEAF)) {
		return ref[0]; /* the same result on both sides: merged */
	}
	return new_node(c, ref[0], ref[1]);
}

/* Walk from @r at depth @d along @addr's bits until depth @to or a leaf. */
static uint32_t walk(const struct nettree *t, uint32_t r, unsigned *d, const uint8_t *addr,
		     unsigned to)
{
	while (!(r & NETTREE_LEAF) && *d < to) {
		r = t->nodes[r][bit_of(addr, *d)];
		(*d)++;
	}
	return r;
}

int nettree_compile(struct nettree *t, const struct nettree_build *b, const struct nettree_db *db,
		    int32_t deflt)
{
	struct compile c;
	uint8_t addr[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	unsigned d4 = 0;
	uint32_t r4;

	memset(t, 0, sizeof(*t));
	memset(&c, 0, sizeof(c));
	c.t = t;
	c.b = b;
	c.db = db;
	c.deflt = deflt;
	/* A tree visits each node once; a database whose "tree" shares nodes
	 * would make the walk exponential. */
	c.max_visits = 4096 + 4 * (b ? b->n : 0);
	if (db) {
		c.max_visits += 4 * db->nodes;
	}
	t->root = combine(&c, b ? 0 : NO_NODE, db ? (db->ipv4_only ? DB_EMPTY : DB_NODE) : DB_EMPTY,
			  db ? db->root : 0, NETTREE_NONE, NETTREE_NONE, 0);
	if (c.corrupt) {
		free(t->nodes);
		memset(t, 0, sizeof(*t));
		return -1;
	}
	t->tab6 = xcalloc(65536, sizeof(uint32_t));
	t->dep6 = xcalloc(65536, 1);
	t->tab4 = xcalloc(65536, sizeof(uint32_t));
	t->dep4 = xcalloc(65536, 1);
	r4 = walk(t, t->root, &d4, addr, 96);
	for (unsigned top = 0; top < 65536; top++) {
		uint8_t a[16] = {(uint8_t)(top >> 8), (uint8_t)top};
		unsigned d = 0;
		t->tab6[top] = walk(t, t->root, &d, a, 16);
		t->dep6[top] = (uint8_t)d;
		addr[12] = (uint8_t)(top >> 8);
		addr[13] = (uint8_t)top;
		d = d4;
		t->tab4[top] = walk(t, r4, &d, addr, 112);
		t->dep4[top] = (uint8_t)d;
	}
	return 0;
}

void nettree_clear(struct nettree *t)
{
	free(t->nodes);
	free(t->tab6);
	free(t->dep6);
	free(t->tab4);
	free(t->dep4);
	memset(t, 0, sizeof(*t));
}

size_t nettree_memory(const struct nettree *t)
{
	return t->n * sizeof(*t->nodes) + (t->tab6 ? 2 * 65536 * (sizeof(uint32_t) + 1) : 0);
}
