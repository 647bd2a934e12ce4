/* fuzz_nets.c -- libFuzzer target: arbitrary bytes as a geo map's nets file through
 * geo_nets_parse, every network into a build trie, compiled, then looked up. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "geo/geomap.h"
#include "geo/nettree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct load {
	struct nettree_build b;
	int32_t next;
	uint8_t first[16];
	unsigned first_bits;
	int32_t first_val;
};

static int add(void *arg, const uint8_t addr[16], unsigned bits, const char *name, unsigned line)
{
	struct load *l = arg;

	(void)line;
	if (bits > 128 || strlen(name) == 0 || strlen(name) > GEO_NAME_MAX) {
		abort(); /* the parser promised a network and a name */
	}
	if (l->next == 0) {
		memcpy(l->first, addr, 16);
		l->first_bits = bits;
	}
	/* Results by order of appearance, a few distinct ones so that merges happen. */
	if (nettree_build_insert(&l->b, addr, bits, 1 + l->next % 4) == NETTREE_NONE &&
	    l->next == 0) {
		l->first_val = 1;
	}
	l->next++;
	return 0;
}

static void err(void *arg, unsigned line, const char *msg)
{
	(void)arg;
	if (line == 0 || !msg || !*msg) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct load l;
	struct nettree t;
	unsigned d;
	uint8_t probe[16];

	memset(&l, 0, sizeof(l));
	nettree_build_init(&l.b);
	geo_nets_parse((const char *)data, size, add, err, &l);
	if (nettree_compile(&t, &l.b, NULL, 0) != 0) {
		abort(); /* no database: nothing can be corrupt */
	}
	if (l.next > 0) {
		/* The first network's own address lies in some network of the file. */
		uint32_t r = nettree_lookup6(&t, l.first, &d);
		if (r > 4 || d > 128) {
			abort();
		}
	}
	/* Lookups of input-derived addresses stay in bounds. */
	memset(probe, 0, sizeof(probe));
	memcpy(probe, data, size < 16 ? size : 16);
	if (nettree_lookup6(&t, probe, &d) > 4 || d > 128 || nettree_lookup4(&t, probe, &d) > 4 ||
	    d > 32) {
		abort();
	}
	nettree_clear(&t);
	nettree_build_clear(&l.b);
	return 0;
}
