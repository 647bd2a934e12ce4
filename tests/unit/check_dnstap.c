/* check_dnstap.c -- unit tests for src/dnstap/dnstap.c: the packed messages
 * decoded with protobuf-c and compared field by field, the sampling
 * countdown, the config's dnstap group (defaults, errors), and the writer:
 * a file read back with libfstrm's reader, a socket nobody listens on (every
 * message dropped and counted), a file that cannot be opened. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <fstrm.h>

#include "testutil.h"

#include "data/conf.h"
#include "dnstap/dnstap.h"
#include "src/dnstap/dnstap.pb-c.h"

static const uint8_t QUERY[] = {0x12, 0x34, 0x01, 0x00, 0,   1,	  0,   0,   0, 0, 0, 0, 3,
				'w',  'w',  'w',  4,	't', 'e', 's', 't', 0, 0, 1, 0, 1};
static const uint8_t RESPONSE[] = {
    0x12, 0x34, 0x85, 0x00, 0, 1,    0,	 1, 0, 0, 0, 0, 3, 'w', 'w', 'w', 4, 't', 'e', 's', 't',
    0,	  0,	1,    0,    1, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0,	30,  0,	  4, 192, 0,   2,   1};

static struct conf_dnstap dc;
static struct sockaddr_storage client4, server4, client6, server6;
static struct dnstap_event ev;

static void set4(struct sockaddr_storage *ss, const char *addr, uint16_t port)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	in->sin_family = AF_INET;
	in->sin_port = htons(port);
	inet_pton(AF_INET, addr, &in->sin_addr);
}

static void set6(struct sockaddr_storage *ss, const char *addr, uint16_t port)
{
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	inet_pton(AF_INET6, addr, &in6->sin6_addr);
}

static void setup(void)
{
	memset(&dc, 0, sizeof(dc));
	dc.sample = 1;
	dc.log_queries = dc.log_responses = true;
	dc.identity = (uint8_t *)"ns1.test";
	dc.identity_len = 8;
	dc.version = "gslbd 9.9";
	set4(&client4, "192.0.2.7", 40000);
	set4(&server4, "198.51.100.1", 53);
	set6(&client6, "2001:db8::7", 40001);
	set6(&server6, "2001:db8::53", 5353);
	memset(&ev, 0, sizeof(ev));
	ev.transport = TRANSPORT_UDP;
	ev.client = &client4;
	ev.server = &server4;
	ev.query = QUERY;
	ev.query_len = sizeof(QUERY);
	ev.response = RESPONSE;
	ev.response_len = sizeof(RESPONSE);
	ev.query_time.tv_sec = 1700000000;
	ev.query_time.tv_nsec = 123456789;
	ev.response_time.tv_sec = 1700000001;
	ev.response_time.tv_nsec = 5;
}

/* Pack @kind of ev and decode it again; the caller frees with
 * dnstap__dnstap__free_unpacked. */
static Dnstap__Dnstap *roundtrip(enum dnstap_kind kind)
{
	uint8_t *buf;
	size_t len = dnstap_pack(&buf, &dc, kind, &ev);
	Dnstap__Dnstap *d;

	ck_assert_uint_gt(len, 0);
	d = dnstap__dnstap__unpack(NULL, len, buf);
	free(buf);
	ck_assert_ptr_nonnull(d);
	return d;
}

static void assert_bytes(const ProtobufCBinaryData *b, const void *want, size_t len)
{
	ck_assert_uint_eq(b->len, len);
	ck_assert_int_eq(memcmp(b->data, want, len), 0);
}

START_TEST(query_udp_ipv4)
{
	Dnstap__Dnstap *d = roundtrip(DNSTAP_AUTH_QUERY);
	Dnstap__Message *m = d->message;
	uint8_t a[4];

	ck_assert_int_eq(d->type, DNSTAP__DNSTAP__TYPE__MESSAGE);
	ck_assert(d->has_identity);
	assert_bytes(&d->identity, "ns1.test", 8);
	ck_assert(d->has_version);
	assert_bytes(&d->version, "gslbd 9.9", 9);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(m->type, DNSTAP__MESSAGE__TYPE__AUTH_QUERY);
	ck_assert(m->has_socket_family);
	ck_assert_int_eq(m->socket_family, DNSTAP__SOCKET_FAMILY__INET);
	ck_assert(m->has_socket_protocol);
	ck_assert_int_eq(m->socket_protocol, DNSTAP__SOCKET_PROTOCOL__UDP);
	inet_pton(AF_INET, "192.0.2.7", a);
	ck_assert(m->has_query_address);
	assert_bytes(&m->query_address, a, 4);
	ck_assert(m->has_query_port);
	ck_assert_uint_eq(m->query_port, 40000);
	inet_pton(AF_INET, "198.51.100.1", a);
	ck_assert(m->has_response_address);
	assert_bytes(&m->response_address, a, 4);
	ck_assert_uint_eq(m->response_port, 53);
	ck_assert(m->has_query_time_sec && m->has_query_time_nsec);
	ck_assert_uint_eq(m->query_time_sec, 1700000000);
	ck_assert_uint_eq(m->query_time_nsec, 123456789);
	ck_assert(m->has_query_message);
	assert_bytes(&m->query_message, QUERY, sizeof(QUERY));
	ck_assert(!m->has_response_message);
	ck_assert(!m->has_response_time_sec);
	dnstap__dnstap__free_unpacked(d, NULL);
}
END_TEST

START_TEST(response_tcp_ipv6)
{
	Dnstap__Dnstap *d;
	Dnstap__Message *m;
	uint8_t a[16];

	ev.transport = TRANSPORT_TCP;
	ev.client = &client6;
	ev.server = &server6;
	d = roundtrip(DNSTAP_AUTH_RESPONSE);
	m = d->message;
	ck_assert_int_eq(m->type, DNSTAP__MESSAGE__TYPE__AUTH_RESPONSE);
	ck_assert_int_eq(m->socket_family, DNSTAP__SOCKET_FAMILY__INET6);
	ck_assert_int_eq(m->socket_protocol, DNSTAP__SOCKET_PROTOCOL__TCP);
	inet_pton(AF_INET6, "2001:db8::7", a);
	assert_bytes(&m->query_address, a, 16);
	ck_assert_uint_eq(m->query_port, 40001);
	inet_pton(AF_INET6, "2001:db8::53", a);
	assert_bytes(&m->response_address, a, 16);
	ck_assert_uint_eq(m->response_port, 5353);
	ck_assert(m->has_response_message);
	assert_bytes(&m->response_message, RESPONSE, sizeof(RESPONSE));
	ck_assert(!m->has_query_message);
	/* The query's time too, so that a reader can pair and time them. */
	ck_assert_uint_eq(m->query_time_sec, 1700000000);
	ck_assert(m->has_response_time_sec && m->has_response_time_nsec);
	ck_assert_uint_eq(m->response_time_sec, 1700000001);
	ck_assert_uint_eq(m->response_time_nsec, 5);
	dnstap__dnstap__free_unpacked(d, NULL);
}
END_TEST

START_TEST(no_identity_no_version_no_addresses)
{
	Dnstap__Dnstap *d;

	dc.identity_len = 0;
	dc.version = NULL;
	ev.client = ev.server = NULL;
	d = roundtrip(DNSTAP_AUTH_QUERY);
	ck_assert(!d->has_identity);
	ck_assert(!d->has_version);
	ck_assert(!d->message->has_query_address);
	ck_assert(!d->message->has_response_address);
	ck_assert(!d->message->has_socket_family);
	ck_assert(d->message->has_query_message);
	dnstap__dnstap__free_unpacked(d, NULL);
}
END_TEST

/* The largest message gslbd can log packs within the buffer dnstap_pack
 * sizes without a sizing pass (its assert), and decodes again. */
START_TEST(pack_at_the_limits)
{
	static uint8_t big[65535];
	static char identity[256], version[256];

	memset(identity, 'i', 255);
	memset(version, 'v', 255);
	dc.identity = (uint8_t *)identity;
	dc.identity_len = 255;
	dc.version = version;
	memset(big, 0xff, sizeof(big));
	ev.transport = TRANSPORT_TCP;
	ev.client = &client6;
	ev.server = &server6;
	ev.query = ev.response = big;
	ev.query_len = ev.response_len = sizeof(big);
	ev.query_time.tv_sec = ev.response_time.tv_sec = INT64_MAX;
	ev.query_time.tv_nsec = ev.response_time.tv_nsec = 999999999;
	for (int k = DNSTAP_AUTH_QUERY; k <= DNSTAP_AUTH_RESPONSE; k++) {
		Dnstap__Dnstap *d = roundtrip((enum dnstap_kind)k);
		const ProtobufCBinaryData *msg = k == DNSTAP_AUTH_QUERY
						     ? &d->message->query_message
						     : &d->message->response_message;
		assert_bytes(msg, big, sizeof(big));
		ck_assert_uint_eq(d->identity.len, 255);
		ck_assert_uint_eq(d->version.len, 255);
		dnstap__dnstap__free_unpacked(d, NULL);
	}
}
END_TEST

START_TEST(sample_countdown)
{
	struct dnstap_thread t = {0, 1};
	unsigned logged = 0;

	ck_assert(dnstap_sample(&t, 4)); /* the first one is logged */
	logged = 1;
	for (int i = 1; i < 40; i++) {
		bool s = dnstap_sample(&t, 4);
		ck_assert_int_eq(s, i % 4 == 0);
		logged += s;
	}
	ck_assert_uint_eq(logged, 10);
	t.countdown = 1;
	for (int i = 0; i < 5; i++) {
		ck_assert(dnstap_sample(&t, 1)); /* sample = 1: every query */
	}
}
END_TEST

/* Every data frame of the Frame Streams file @path, decoded; returns how
 * many, with the kinds counted in @kinds[1..2]. */
static unsigned read_frames(const char *path, unsigned kinds[3])
{
	struct fstrm_file_options *fopt = fstrm_file_options_init();
	struct fstrm_reader *r;
	const uint8_t *data;
	size_t len;
	unsigned n = 0;

	fstrm_file_options_set_file_path(fopt, path);
	r = fstrm_file_reader_init(fopt, NULL);
	fstrm_file_options_destroy(&fopt);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(fstrm_reader_open(r), fstrm_res_success);
	{
		const struct fstrm_control *ctl;
		const uint8_t *ct;
		size_t ctlen;
		ck_assert_int_eq(fstrm_reader_get_control(r, FSTRM_CONTROL_START, &ctl),
				 fstrm_res_success);
		ck_assert_int_eq(fstrm_control_get_field_content_type(ctl, 0, &ct, &ctlen),
				 fstrm_res_success);
		ck_assert_uint_eq(ctlen, strlen("protobuf:dnstap.Dnstap"));
		ck_assert_int_eq(memcmp(ct, "protobuf:dnstap.Dnstap", ctlen), 0);
	}
	while (fstrm_reader_read(r, &data, &len) == fstrm_res_success) {
		Dnstap__Dnstap *d = dnstap__dnstap__unpack(NULL, len, data);
		ck_assert_ptr_nonnull(d);
		ck_assert_ptr_nonnull(d->message);
		ck_assert_uint_le(d->message->type, 2);
		kinds[d->message->type]++;
		n++;
		dnstap__dnstap__free_unpacked(d, NULL);
	}
	fstrm_reader_destroy(&r);
	return n;
}

START_TEST(writer_file)
{
	char path[PATH_MAX], why[256] = "";
	struct dnstap *dt;
	struct dnstap_thread t0 = {0, 1}, t1 = {1, 1};
	unsigned kinds[3] = {0, 0, 0}, sent = 0;

	snprintf(path, sizeof(path), "%s/w.fstrm", tu_dir());
	dc.file = path;
	dt = dnstap_new(&dc, 2, why, sizeof(why));
	ck_assert_msg(dt != NULL, "%s", why);
	ck_assert(dnstap_same_destination(dt, &dc));
	ck_assert_str_eq(dnstap_destination(dt) + strlen("file "), path);
	ck_assert(dnstap_connected(dt)); /* a file is open before dnstap_new returns */
	for (int i = 0; i < 5; i++) {
		struct dnstap_result r = dnstap_log(dt, &dc, i % 2 ? &t1 : &t0, &ev);
		ck_assert_uint_eq(r.dropped, 0);
		sent += r.sent;
	}
	ev.response = NULL; /* a dropped query: its query message alone */
	sent += dnstap_log(dt, &dc, &t0, &ev).sent;
	dc.log_queries = false; /* nothing to log: no response, queries off */
	ck_assert_uint_eq(dnstap_log(dt, &dc, &t0, &ev).sent, 0);
	ck_assert_uint_eq(sent, 11);
	dnstap_free(dt); /* flushes */
	ck_assert_uint_eq(read_frames(path, kinds), 11);
	ck_assert_uint_eq(kinds[DNSTAP_AUTH_QUERY], 6);
	ck_assert_uint_eq(kinds[DNSTAP_AUTH_RESPONSE], 5);
	{
		/* Another destination is another writer. */
		struct conf_dnstap other = dc;
		other.file = NULL;
		other.socket = path;
		ck_assert(!dnstap_same_destination(NULL, &dc));
		dt = dnstap_new(&dc, 1, why, sizeof(why));
		ck_assert_ptr_nonnull(dt);
		ck_assert(!dnstap_same_destination(dt, &other));
		dnstap_free(dt);
	}
}
END_TEST

START_TEST(writer_socket_nobody_listening)
{
	char path[PATH_MAX], why[256] = "";
	struct dnstap *dt;
	struct dnstap_thread t = {0, 1};
	struct dnstap_result r;

	snprintf(path, sizeof(path), "%s/nobody.sock", tu_dir());
	dc.socket = path;
	dt = dnstap_new(&dc, 1, why, sizeof(why));
	ck_assert_msg(dt != NULL, "%s", why);
	ck_assert(!dnstap_connected(dt));
	r = dnstap_log(dt, &dc, &t, &ev);
	ck_assert_uint_eq(r.sent, 0);
	ck_assert_uint_eq(r.dropped, 2);
	dnstap_free(dt); /* returns: nothing blocks on an absent reader */
}
END_TEST

START_TEST(writer_file_cannot_open)
{
	char path[PATH_MAX], why[256] = "";

	snprintf(path, sizeof(path), "%s/no/such/dir/x.fstrm", tu_dir());
	dc.file = path;
	ck_assert_ptr_null(dnstap_new(&dc, 1, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, path));
	ck_assert_ptr_nonnull(strstr(why, "No such file"));
}
END_TEST

/* --- the config's dnstap group ----------------------------------------------- */

static struct conf *load(const char *extra)
{
	char zpath[PATH_MAX], cpath[PATH_MAX], text[2048];

	tu_write(zpath, "t.zone",
		 "$ORIGIN test.\n$TTL 60\n@ SOA ns hm 1 60 60 60 60\n@ NS ns\nns A 192.0.2.1\n");
	snprintf(text, sizeof(text),
		 "listen = [ \"127.0.0.1:0\" ];\nzones = ( { origin = \"test\"; file = \"t.zone\"; "
		 "} );\n%s\n",
		 extra);
	return conf_load(tu_write(cpath, "d.conf", text));
}

START_TEST(conf_defaults)
{
	struct conf *c = load("nsid = \"ns-a\";\ndnstap = { file = \"tap.fstrm\"; };");
	char want[PATH_MAX];

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(c->dnstap);
	snprintf(want, sizeof(want), "%s/tap.fstrm", tu_dir());
	ck_assert_str_eq(c->dnstap->file, want); /* next to the config */
	ck_assert_ptr_null(c->dnstap->socket);
	ck_assert_uint_eq(c->dnstap->sample, 1);
	ck_assert(c->dnstap->log_queries && c->dnstap->log_responses);
	ck_assert_uint_eq(c->dnstap->identity_len, 4); /* the NSID */
	ck_assert_int_eq(memcmp(c->dnstap->identity, "ns-a", 4), 0);
	ck_assert_str_eq(c->dnstap->version, "gslbd " PACKAGE_VERSION);
	ck_assert_ptr_nonnull(strstr(c->dnstap->where, "d.conf:4: dnstap.file"));
	conf_free(c);
	c = load("");
	ck_assert_ptr_null(c->dnstap); /* absent: off */
	conf_free(c);
}
END_TEST

START_TEST(conf_settings)
{
	struct conf *c = load("dnstap = { socket = \"/run/t.sock\"; sample = 10; log_queries = "
			      "false; identity = \"\"; version = \"v\"; };");

	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->dnstap->socket, "/run/t.sock");
	ck_assert_uint_eq(c->dnstap->sample, 10);
	ck_assert(!c->dnstap->log_queries && c->dnstap->log_responses);
	ck_assert_uint_eq(c->dnstap->identity_len, 0);
	ck_assert_str_eq(c->dnstap->version, "v");
	conf_free(c);
}
END_TEST

START_TEST(conf_error_cases)
{
	static const char *const bad[] = {
	    "dnstap = { };",
	    "dnstap = { file = \"a\"; socket = \"b\"; };",
	    "dnstap = { file = \"a\"; sample = 0; };",
	    "dnstap = { file = \"a\"; rate = 2; };",
	    "dnstap = { file = \"a\"; log_queries = false; log_responses = false; };",
	    "dnstap = \"a\";",
	    "dnstap = { file = \"\"; };",
	    "dnstap = { socket = \"/"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.sock\"; };",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct conf *c = load(bad[i]);
		ck_assert_msg(c == NULL, "accepted: %s", bad[i]);
	}
}
END_TEST

static Suite *dnstap_suite(void)
{
	Suite *s = suite_create("dnstap");
	TCase *tp = tcase_create("pack");
	TCase *tw = tcase_create("writer");
	TCase *tc = tcase_create("conf");

	tcase_add_checked_fixture(tp, setup, NULL);
	tcase_add_test(tp, query_udp_ipv4);
	tcase_add_test(tp, response_tcp_ipv6);
	tcase_add_test(tp, no_identity_no_version_no_addresses);
	tcase_add_test(tp, pack_at_the_limits);
	tcase_add_test(tp, sample_countdown);
	suite_add_tcase(s, tp);
	tcase_add_checked_fixture(tw, setup, NULL);
	tcase_set_timeout(tw, 30);
	tcase_add_test(tw, writer_file);
	tcase_add_test(tw, writer_socket_nobody_listening);
	tcase_add_test(tw, writer_file_cannot_open);
	suite_add_tcase(s, tw);
	tcase_add_test(tc, conf_defaults);
	tcase_add_test(tc, conf_settings);
	tcase_add_test(tc, conf_error_cases);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	tu_dir();
	sr = srunner_create(dnstap_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
