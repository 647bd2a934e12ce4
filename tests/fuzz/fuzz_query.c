/* fuzz_query.c -- libFuzzer target: arbitrary bytes through query_parse and answer_query. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns/answer.h"
#include "data/conf.h"
#include "dns/query.h"
#include "data/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A zone with something of everything the answer path distinguishes: pools,
 * a wildcard, CNAME chains (into a pool, out of the zone, a loop), a
 * delegation with glue, a DS at a cut, an empty non-terminal, a large RRset,
 * and a child zone served alongside. */
static const char zone_text[] =
    "$ORIGIN lb.test.\n"
    "$TTL 300\n"
    "@ 3600 IN SOA ns1 hostmaster 1 3600 600 86400 60\n"
    "@ IN NS ns1\n"
    "@ IN NS ns.outside.example.\n"
    "@ IN MX 10 mail\n"
    "ns1 IN A 192.0.2.1\n"
    "mail IN A 192.0.2.25\n"
    "www IN A 192.0.2.10\n"
    "www IN AAAA 2001:db8::10\n"
    "www IN TXT \"web\"\n"
    "a.b.c IN A 192.0.2.20\n"
    "alias IN CNAME alias2\n"
    "alias2 IN CNAME www\n"
    "topool IN CNAME pool\n"
    "loop1 IN CNAME loop2\n"
    "loop2 IN CNAME loop1\n"
    "ext IN CNAME www.example.org.\n"
    "*.wild IN A 192.0.2.99\n"
    "*.wild IN TXT \"wild\"\n"
    "exists.wild IN TXT \"real\"\n"
    "sub IN NS ns.sub\n"
    "sub IN NS ns.outside.example.\n"
    "ns.sub IN A 192.0.2.53\n"
    "ns.sub IN AAAA 2001:db8::53\n"
    "sub IN DS 12345 8 2 49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC1234\n"
    "big IN TXT \"0123456789012345678901234567890123456789012345678901234567890123456789\"\n"
    "big IN TXT \"1123456789012345678901234567890123456789012345678901234567890123456789\"\n"
    "big IN TXT \"2123456789012345678901234567890123456789012345678901234567890123456789\"\n"
    "big IN TXT \"3123456789012345678901234567890123456789012345678901234567890123456789\"\n"
    "big IN TXT \"4123456789012345678901234567890123456789012345678901234567890123456789\"\n"
    "big IN TXT \"5123456789012345678901234567890123456789012345678901234567890123456789\"\n"
    "big IN TXT \"6123456789012345678901234567890123456789012345678901234567890123456789\"\n"
    "big IN TXT \"7123456789012345678901234567890123456789012345678901234567890123456789\"\n"
    "unk IN TYPE65400 \\# 3 abcdef\n";

static const char child_text[] = "$ORIGIN child.lb.test.\n"
				 "@ 300 IN SOA ns1 hostmaster 1 3600 600 86400 120\n"
				 "@ 300 IN NS ns1\n"
				 "ns1 300 IN A 192.0.2.210\n"
				 "www 300 IN A 192.0.2.211\n";

static const char conf_text[] =
    "listen = \"127.0.0.1:5353\";\n"
    "chaos = { version = \"gslbd-fuzz\"; id = \"fuzz-1\"; };\n"
    "nsid = \"gslbd-fuzz-nsid\";\n"
    "zones = ( { origin = \"lb.test\"; file = \"lb.test.zone\";\n"
    "            dnssec = { keys = [ \"Klb.test.+015+62293\" ]; }; },\n"
    "          { origin = \"child.lb.test\"; file = \"child.zone\"; } );\n"
    "pools = (\n"
    "  { name = \"rr\"; owners = [ \"pool.lb.test\", \"*.pw.lb.test\" ];\n"
    "    members = ( { address = \"192.0.2.101\"; }, { address = \"192.0.2.102\"; },\n"
    "                { address = \"2001:db8::101\"; } ); },\n"
    "  { name = \"wt\"; owners = \"wt.lb.test\"; policy = \"weighted\"; answers = 2;\n"
    "    members = ( { address = \"192.0.2.111\"; weight = 1; },\n"
    "                { address = \"192.0.2.112\"; weight = 3; },\n"
    "                { address = \"192.0.2.113\"; weight = 5; } ); },\n"
    "  { name = \"v6\"; owners = \"v6.lb.test\"; members = ( { address = \"2001:db8::201\"; } ); "
    "}\n"
    ");\n";

/* lb.test is signed (DO=1 queries take dns/answer_dnssec.c) with this
 * Ed25519 key, made for the fuzzer alone by ldns-keygen -a ED25519 -k lb.test. */
static const char key_text[] = "lb.test.\tIN\tDNSKEY\t257 3 15 "
			       "mIF04pArlvVqYDp/SQYErGFiePHzu6Vu2riV8n6uZVY=\n";
static const char private_text[] = "Private-key-format: v1.2\n"
				   "Algorithm: 15 (ED25519)\n"
				   "PrivateKey: hgIRfiuI4nWv3Hm9rf2zCh9rYk/RM6tVacGkqpYDirs=\n";

static struct snapshot *snap;
static struct answer_ctx ctx;

/* Where queries come from: cookies are made and checked over the address
 * (IPv4 over UDP, IPv6 over TCP). */
static struct sockaddr_storage client4 = { .ss_family = AF_INET };
static struct sockaddr_storage client6 = { .ss_family = AF_INET6 };

/* answer_query() as a transport calls it, with a request of its own. */
static size_t answer_as(struct answer_ctx *c, const struct snapshot *s, const uint8_t *pkt,
			size_t len, uint8_t *out, size_t size, bool tcp)
{
	struct request req;

	req.client = tcp ? &client6 : &client4;
	req.transport = tcp ? TRANSPORT_TCP : TRANSPORT_UDP;
	return answer_query(c, s, &req, pkt, len, out, size);
}
static uint8_t resp[65535];

static void write_file(const char *dir, const char *name, const char *text, char *path, size_t size)
{
	FILE *f;

	snprintf(path, size, "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		abort();
	}
}

/* Build the snapshot once, from files in a temp dir removed right after:
 * everything is in memory from then on. */
static void init(void)
{
	const char *t = getenv("TMPDIR");
	char dir[512], zone[600], child[600], conf_path[600], key[600], private[600];
	struct conf *conf;

	snprintf(dir, sizeof(dir), "%s/gslbd-fuzz.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		abort();
	}
	write_file(dir, "lb.test.zone", zone_text, zone, sizeof(zone));
	write_file(dir, "child.zone", child_text, child, sizeof(child));
	write_file(dir, "gslbd.conf", conf_text, conf_path, sizeof(conf_path));
	write_file(dir, "Klb.test.+015+62293.key", key_text, key, sizeof(key));
	write_file(dir, "Klb.test.+015+62293.private", private_text, private, sizeof(private));
	conf = conf_load(conf_path);
	snap = conf ? snapshot_build(conf) : NULL;
	unlink(zone);
	unlink(child);
	unlink(conf_path);
	unlink(key);
	unlink(private);
	rmdir(dir);
	if (!snap) {
		fprintf(stderr, "fuzz_query: the built-in config or zone did not load\n");
		abort();
	}
	answer_ctx_init(&ctx, 1);
	answer_ctx_use(&ctx, snap);
}

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_query: invariant broken: %s\n", what);
		abort();
	}
}

/* Skip the name at *@off of the @n-byte response: compression pointers
 * must point backwards (so decompression ends) and the expanded name must
 * stay within 255 octets. Returns false if it is malformed. */
static bool skip_name(size_t n, size_t *off)
{
	size_t p = *off, total = 0, end = 0;
	int jumps = 0;

	for (;;) {
		if (p >= n) {
			return false;
		}
		uint8_t l = resp[p];
		if ((l & 0xC0) == 0xC0) {
			size_t target;
			if (p + 1 >= n || ++jumps > 127) {
				return false;
			}
			target = (size_t)(l & 0x3F) << 8 | resp[p + 1];
			if (target >= p || target < 12) {
				return false;
			}
			if (!end) {
				end = p + 2;
			}
			p = target;
			continue;
		}
		if (l & 0xC0) {
			return false;
		}
		total += (size_t)l + 1;
		if (total > 255) {
			return false;
		}
		if (l == 0) {
			*off = end ? end : p + 1;
			return true;
		}
		p += (size_t)l + 1;
	}
}

/* The response parses as DNS: its counts match its records exactly. */
static bool well_formed(size_t n)
{
	size_t off = 12;
	unsigned qd = (unsigned)(resp[4] << 8 | resp[5]);
	unsigned rrs = (unsigned)(resp[6] << 8 | resp[7]) + (unsigned)(resp[8] << 8 | resp[9]) +
		       (unsigned)(resp[10] << 8 | resp[11]);

	for (unsigned i = 0; i < qd; i++) {
		if (!skip_name(n, &off) || off + 4 > n) {
			return false;
		}
		off += 4;
	}
	for (unsigned i = 0; i < rrs; i++) {
		if (!skip_name(n, &off) || off + 10 > n) {
			return false;
		}
		unsigned type = (unsigned)(resp[off] << 8 | resp[off + 1]);
		size_t rd = off + 10, end = rd + (size_t)(resp[off + 8] << 8 | resp[off + 9]);
		if (end > n) {
			return false;
		}
		/* Names inside rdata (compressed ones included) end exactly
		 * where the rdata says. */
		if (type == 2 || type == 5 || type == 12 || type == 6 || type == 15) {
			size_t p = type == 15 ? rd + 2 : rd;
			if (!skip_name(end, &p) || (type == 6 && !skip_name(end, &p))) {
				return false;
			}
			if (p + (type == 6 ? 20 : 0) != end) {
				return false;
			}
		}
		off = end;
	}
	return off == n;
}

/* What every response must satisfy, whatever the input. */
static void check_response(const uint8_t *data, size_t size, const struct query *q,
			   enum query_status st, size_t n, size_t cap, bool tcp)
{
	check(n <= cap, "length within the buffer");
	check((n == 0) == (st == QUERY_DROP), "dropped exactly when the parser says so");
	if (n == 0) {
		return;
	}
	check(n >= 12, "at least a header");
	check(resp[0] == data[0] && resp[1] == data[1], "ID echoed");
	check(resp[2] & 0x80, "QR set");
	check(((resp[2] >> 3) & 0x0F) == ((data[2] >> 3) & 0x0F), "opcode echoed");
	check((resp[2] & 0x01) == (data[2] & 0x01), "RD copied");
	check(!(resp[3] & 0x80), "RA clear");
	if (!tcp) {
		size_t limit = 512;
		if (st != QUERY_FORMERR && q->edns) {
			limit = q->edns_udp < 1232 ? q->edns_udp : 1232;
		}
		check(n <= limit, "UDP response within the size limit");
	}
	check(well_formed(n), "the response parses: counts match records, names are sound");
	if (q->has_question) {
		size_t qlen = q->question_end;
		check(resp[4] == 0 && resp[5] == 1, "QDCOUNT 1 when the question parsed");
		check(n >= qlen && memcmp(resp + 12, data + 12, qlen - 12) == 0,
		      "question echoed byte for byte");
	} else {
		check(resp[4] == 0 && resp[5] == 0, "QDCOUNT 0 without a question");
	}
	(void)size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct query q;
	enum query_status st;
	size_t n;

	if (!snap) {
		init();
	}
	/* The parser alone, then the whole answer path over UDP and TCP. */
	st = query_parse(&q, data, size);
	if (st != QUERY_DROP) {
		check(size >= 12, "a header was there");
	}
	if (q.has_question) {
		check(q.question_end <= size && q.qname_len >= 1, "question within the packet");
		check(q.qname[q.qname_len - 1] == 0, "qname ends with the root");
	}

	n = answer_as(&ctx, snap, data, size, resp, 4096, false);
	check_response(data, size, &q, st, n, 4096, false);
	n = answer_as(&ctx, snap, data, size, resp, sizeof(resp), true);
	check_response(data, size, &q, st, n, sizeof(resp), true);
	return 0;
}
