/* fuzz_dnsprobe.c -- libFuzzer target: arbitrary bytes as the reply to a dns health probe,
 * through probe_dns_judge. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/wire.h"
#include "health/check_kinds.h"
#include "health/probe_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Each input is judged as the reply to three probes of "www.fuzz.test" with
 * ID 0x1234 (the seeds are written for them): a query for A expecting
 * 192.0.2.1 in the answer, one for AAAA expecting 2001:db8::1, and one for
 * A that only wants NOERROR. So one input reaches the question check, the
 * rcode and both address walks. */
struct judge_case {
	uint16_t qtype;
	const char *expect_answer;
};

static const struct judge_case cases[] = {
    {DNS_TYPE_A, "192.0.2.1"},
    {DNS_TYPE_AAAA, "2001:db8::1"},
    {DNS_TYPE_A, NULL},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static struct probe_spec specs[NCASES];
static struct probe_dns_opts opts[NCASES];
static struct probe probes[NCASES];
static bool ready;

/* What probe.c does when it installs a dns probe, minus the engine. */
static void init(void)
{
	static const uint8_t qname[] = "\003www\004fuzz\004test";

	for (size_t i = 0; i < NCASES; i++) {
		struct probe_spec *s = &specs[i];
		struct probe_dns_opts *o = &opts[i];
		struct probe *p = &probes[i];
		s->kind = check_kinds_find("dns");
		s->opts = o;
		memcpy(o->qname, qname, sizeof(qname));
		o->qtype = cases[i].qtype;
		o->expect_rcode = DNS_RCODE_NOERROR;
		o->expect_answer = (char *)cases[i].expect_answer;
		p->spec = s;
		p->fd = -1;
		probe_dns_setup(p);
		if (p->setup_err[0]) {
			fprintf(stderr, "fuzz_dnsprobe: setup: %s\n", p->setup_err);
			abort();
		}
		p->dns_id = 0x1234;
	}
	ready = true;
}

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_dnsprobe: invariant broken: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char reason[PROBE_REASON_MAX];

	if (!ready) {
		init();
	}
	for (size_t i = 0; i < NCASES; i++) {
		/* A marker that a verdict must replace. */
		memset(reason, 0x7F, sizeof(reason));
		int v = probe_dns_judge(&probes[i], data, size, reason, sizeof(reason));
		check(v == PROBE_DNS_IGNORE || v == PROBE_DNS_DOWN || v == PROBE_DNS_UP,
		      "one of the three verdicts");
		if (v == PROBE_DNS_IGNORE) {
			continue;
		}
		check(memchr(reason, 0, sizeof(reason)) && reason[0], "a verdict has a reason");
		/* Only the reply to our query counts: our ID, QR set. */
		check(size >= 12 && data[0] == 0x12 && data[1] == 0x34 && (data[2] & 0x80),
		      "judged only our reply");
		check(v == PROBE_DNS_DOWN || (data[3] & 0x0F) == opts[i].expect_rcode,
		      "UP needs the expected rcode");
	}
	return 0;
}
