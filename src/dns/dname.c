/* dname.c -- domain names in uncompressed wire form. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns/wire.h"
#include "dns/dname.h"

int dname_from_str(uint8_t out[DNAME_MAXLEN], const char *str)
{
	ldns_rdf *rdf = NULL;
	size_t n;
	char buf[1100];

	n = strlen(str);
	if (n == 0 || n > 1020) {
		return -1;
	}
	/* ldns treats a name without the final dot as relative; we want it
	 * absolute either way. */
	snprintf(buf, sizeof(buf), "%s%s", str, str[n - 1] == '.' ? "" : ".");
	if (strcmp(buf, "..") == 0) {
		return -1;
	}
	if (ldns_str2rdf_dname(&rdf, buf) != LDNS_STATUS_OK || !rdf) {
		return -1;
	}
	n = ldns_rdf_size(rdf);
	if (n > DNAME_MAXLEN) {
		ldns_rdf_deep_free(rdf);
		return -1;
	}
	memcpy(out, ldns_rdf_data(rdf), n);
	ldns_rdf_deep_free(rdf);
	dname_tolower(out, n);
	return (int)n;
}

const char *dname_to_str(char *buf, size_t size, const uint8_t *name)
{
	size_t o = 0;

	if (*name == 0) {
		snprintf(buf, size, ".");
		return buf;
	}
	while (*name && o + 5 < size) {
		uint8_t l = *name++;
		for (uint8_t i = 0; i < l && o + 5 < size; i++, name++) {
			uint8_t c = *name;
			if (c == '.' || c == '\\') {
				o += (size_t)snprintf(buf + o, size - o, "\\%c", c);
			} else if (c > 32 && c < 127) {
				buf[o++] = (char)c;
			} else {
				o += (size_t)snprintf(buf + o, size - o, "\\%03u", c);
			}
		}
		buf[o++] = '.';
	}
	buf[o] = 0;
	return buf;
}

size_t dname_len(const uint8_t *name)
{
	const uint8_t *p = name;

	while (*p) {
		p += *p + 1;
	}
	return (size_t)(p - name) + 1;
}

void dname_tolower(uint8_t *name, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (name[i] >= 'A' && name[i] <= 'Z') {
			name[i] |= 0x20;
		}
	}
}

int dname_labels(const uint8_t *name, uint8_t offsets[DNAME_MAXLABELS])
{
	int n = 0;
	uint8_t o = 0;

	while (name[o]) {
		offsets[n++] = o;
		o = (uint8_t)(o + name[o] + 1);
	}
	return n;
}

bool dname_is_below_or_equal(const uint8_t *name, const uint8_t *parent)
{
	size_t nl = dname_len(name), pl = dname_len(parent);
	const uint8_t *p = name;

	if (pl > nl) {
		return false;
	}
	/* Walk labels so that the comparison is label-aligned. */
	while ((size_t)(p - name) < nl - pl) {
		p += *p + 1;
	}
	return (size_t)(p - name) == nl - pl && memcmp(p, parent, pl) == 0;
}

#define FNV_PRIME 0x100000001b3ULL
#define FNV_BASIS 0xcbf29ce484222325ULL

static uint64_t hash_label(uint64_t h, const uint8_t *label)
{
	uint8_t l = label[0];

	h = (h ^ l) * FNV_PRIME;
	for (uint8_t i = 1; i <= l; i++) {
		h = (h ^ label[i]) * FNV_PRIME;
	}
	return h;
}

void dname_suffix_hashes(uint64_t *hashes, const uint8_t *name, const uint8_t *offsets,
			 int nlabels)
{
	uint64_t h = FNV_BASIS;

	hashes[nlabels] = h;
	for (int i = nlabels - 1; i >= 0; i--) {
		h = hash_label(h, name + offsets[i]);
		hashes[i] = h ^ (h >> 29);
		h = hashes[i];
	}
}

uint64_t dname_hash(const uint8_t *name)
{
	uint8_t offs[DNAME_MAXLABELS];
	uint64_t hashes[DNAME_MAXLABELS + 1];
	int n = dname_labels(name, offs);

	dname_suffix_hashes(hashes, name, offs, n);
	return hashes[0];
}
