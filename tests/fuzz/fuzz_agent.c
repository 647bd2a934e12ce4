/* fuzz_agent.c -- libFuzzer target: agent-check replies through probe_agent_parse, and the
 * same bytes as an http weight through probe_weight_parse. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health/probe_int.h"
#include "lb/steer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Invariants: a reply that parses says at least one thing within its
 * bounds; the verdict is the same twice; the reason is a terminated string
 * within its buffer; a weight that parses is within 0..STEER_REPORT_MAX. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct probe_agent_reply r, again;
	char reason[PROBE_REASON_MAX], reason2[PROBE_REASON_MAX];
	char *buf;
	int rc, rc2, pct = -1;

	if (size > PROBE_AGENT_MAX) {
		size = PROBE_AGENT_MAX; /* what the probe reads at most */
	}
	/* Its exact size, so that ASan sees a read past the end. */
	buf = malloc(size ? size : 1);
	if (!buf) {
		return 0;
	}
	memcpy(buf, data, size);
	memset(reason, 0x55, sizeof(reason));
	rc = probe_agent_parse(buf, size, &r, reason, sizeof(reason));
	if (memchr(reason, 0, sizeof(reason)) == NULL) {
		abort();
	}
	rc2 = probe_agent_parse(buf, size, &again, reason2, sizeof(reason2));
	if (rc != rc2 || (rc == 0 && memcmp(&r, &again, sizeof(r)) != 0)) {
		abort();
	}
	if (rc == 0) {
		if (r.percent < -1 || r.percent > STEER_REPORT_MAX || r.drain < -1 || r.drain > 1 ||
		    r.up < -1 || r.up > 1) {
			abort();
		}
	}
	if (probe_weight_parse(buf, size, &pct) == 0 && (pct < 0 || pct > STEER_REPORT_MAX)) {
		abort();
	}
	free(buf);
	return 0;
}
