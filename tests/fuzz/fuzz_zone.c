/* fuzz_zone.c -- libFuzzer target: arbitrary bytes as a master file through zone_load. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dname.h"
#include "data/zone.h"

#include "fuzzutil.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* ldns 1.8.3 leaks the gateway and public-key strings it copied when an
 * IPSECKEY record has a token too many: the "default:" case of
 * ldns_str2rdf_ipseckey returns without freeing them (seed
 * leak-ldns-ipseckey-extra-token.zone, found by fuzzing; the same code is
 * in NLnetLabs/ldns's str2host.c as far as we could read it). The record is
 * refused and the zone fails to load, so gslbd loses those bytes once per
 * failed load. The bug is ldns's and worth reporting there; only that
 * function's allocations are suppressed, so a leak of ours still shows. */
const char *__lsan_default_suppressions(void)
{
	return "leak:ldns_str2rdf_ipseckey\n";
}

/* A file the input may $INCLUDE by its relative name (the input can also
 * include itself, as "fuzz.zone"). */
static const char inc_text[] = "$TTL 60\n"
			       "inc IN A 192.0.2.77\n"
			       "inc IN TXT \"included\"\n";

static char zone_path[600];

/* Walk the uncompressed name at @off of the @len-byte rdata @rd: labels of
 * at most 63 octets, at most 255 octets in all, the root within @len. Puts
 * the offset after it in *@end. */
static bool name_ok(const uint8_t *rd, size_t len, size_t off, size_t *end)
{
	size_t start = off;

	while (off < len && rd[off] != 0) {
		if (rd[off] > 63) {
			return false;
		}
		off += 1 + (size_t)rd[off];
	}
	if (off >= len || off + 1 - start > DNAME_MAXLEN) {
		return false;
	}
	*end = off + 1;
	return true;
}

/* The names in the rdata of the types the answer path and the snapshot
 * builder read names from are names the wire can carry (RFC 1035 3.1). */
static bool rdata_names_ok(const struct zone_rr *rr)
{
	size_t off = 0;

	switch (rr->type) {
	case 2:	 /* NS */
	case 5:	 /* CNAME */
	case 12: /* PTR */
	case 39: /* DNAME */
		return name_ok(rr->rdata, rr->rdlen, 0, &off) && off == rr->rdlen;
	case 15: /* MX */
		return name_ok(rr->rdata, rr->rdlen, 2, &off) && off == rr->rdlen;
	case 33: /* SRV */
		return name_ok(rr->rdata, rr->rdlen, 6, &off) && off == rr->rdlen;
	case 6: /* SOA */
		return name_ok(rr->rdata, rr->rdlen, 0, &off) &&
		       name_ok(rr->rdata, rr->rdlen, off, &off) && off + 20 == rr->rdlen;
	default:
		return true;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fu_quiet_logs();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zone_data z;
	char inc_path[600];

	if (!zone_path[0]) {
		fu_write(inc_path, sizeof(inc_path), "inc.zone", inc_text, strlen(inc_text));
		/* The path is fixed from here on: every input rewrites one file. */
		fu_write(zone_path, sizeof(zone_path), "fuzz.zone", "", 0);
	}
	if (!fu_includes_ok(data, size, "$include", 2)) {
		return -1;
	}
	fu_write(zone_path, sizeof(zone_path), "fuzz.zone", data, size);
	memset(&z, 0, sizeof(z));
	if (zone_load(&z, "fuzz.test", zone_path) == 0) {
		/* A zone that loads has what the rest of gslbd relies on. */
		size_t soa = 0;
		if (z.nrrs == 0 || z.nfiles == 0) {
			fu_fail("fuzz_zone", "a loaded zone has records and its file");
		}
		for (size_t i = 0; i < z.nrrs; i++) {
			const struct zone_rr *rr = &z.rrs[i];
			if (!rr->owner || (rr->rdlen && !rr->rdata) || !rr->file) {
				fu_fail("fuzz_zone",
					"every record has an owner, its rdata, a file");
			}
			if (dname_len(rr->owner) > DNAME_MAXLEN ||
			    !dname_is_below_or_equal(rr->owner, z.origin)) {
				fu_fail("fuzz_zone", "owners are names inside the zone");
			}
			if (!rdata_names_ok(rr)) {
				fu_fail("fuzz_zone", "names in rdata are at most 255 octets");
			}
			if (rr->type == 6) {
				soa++;
			}
		}
		if (soa != 1) {
			fu_fail("fuzz_zone", "a loaded zone has exactly one SOA");
		}
	}
	zone_clear(&z);
	return 0;
}
