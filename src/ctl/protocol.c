/* protocol.c -- the control commands as users see them (shared with gslbctl). */
#include "config.h"

#include <string.h>

#include "ctl/protocol.h"

const struct control_doc control_docs[] = {
	{ "status", "[--json]",
	  "every pool and member: state, last probe, latency, last change, admin override" },
	{ "stats", "[--json]",
	  "counters: queries by transport, type and rcode, answers per pool, probes, reloads" },
	{ "explain", "NAME TYPE [--client ADDRESS] [--ecs PREFIX]",
	  "why NAME TYPE is answered the way it is now (for a client at ADDRESS whose "
	  "resolver sends the client subnet PREFIX: region and datacenter of a geo pool)" },
	{ "drain", "POOL ADDRESS [--for DURATION | --until TIME]",
	  "take a member out whatever its probes say; with --for (30m: s, m, h, d) or --until "
	  "(2026-12-24T06:00Z, UTC) it comes back by itself then" },
	{ "undrain", "POOL ADDRESS", "remove the override" },
	{ "weight", "POOL ADDRESS N|--reset",
	  "runtime weight 0..1000000 in place of the configured one (0: drained); --reset "
	  "removes it" },
	{ "shift", "POOL --to GROUP [--step N] [--every DURATION] [--min-healthy N] | POOL "
		   "--pause|--resume|--rollback|--finish",
	  "move traffic to a group of members (or one address) N points (10) every DURATION "
	  "(60s); held while the group is not all up, rolled back when fewer than min-healthy "
	  "(the pool's) are" },
	{ "reload", "",
	  "reload config and zones (as SIGHUP does), wait and say how it went; refused while one "
	  "is in progress" },
};

const size_t control_ndocs = sizeof(control_docs) / sizeof(control_docs[0]);

const struct control_doc *control_doc_find(const char *name)
{
	for (size_t i = 0; i < control_ndocs; i++) {
		if (strcmp(control_docs[i].name, name) == 0) {
			return &control_docs[i];
		}
	}
	return NULL;
}
