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
	{ "drain", "POOL ADDRESS", "take a member out whatever its probes say" },
	{ "undrain", "POOL ADDRESS", "remove the override" },
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
