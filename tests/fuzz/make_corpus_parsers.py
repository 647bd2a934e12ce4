#!/usr/bin/python3
"""Generate the seed corpora of fuzz_zone, fuzz_conf, fuzz_control and fuzz_dnsprobe.

Writes tests/fuzz/corpus/{zone,conf,control,dnsprobe} next to this script,
replacing their files. Names match the targets' built-in data: zones load
for origin fuzz.test and may $INCLUDE inc.zone, configs may @include
inc.conf, control lines address the pools p, b, c and plain of
fuzz_control.c, and probe replies start with the bytes that choose the probe
(fuzz_dnsprobe.c), mostly "www.fuzz.test" with ID 0x1234.
Seeds named bad-* are meant to fail to load; crash-* and hang-* reproduce
bugs that were found by fuzzing. The files are committed, so this only needs
to run when the seeds change. Standard library only.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))

SOA = "@ IN SOA ns hostmaster 1 3600 600 86400 60\n"
APEX = SOA + "@ IN NS ns\nns IN A 192.0.2.53\n"


def zone_seeds():
    s = {}
    s["basic"] = (
        "$ORIGIN fuzz.test.\n"
        "$TTL 300\n"
        "@ 3600 IN SOA ns1.fuzz.test. hostmaster ( 2024010101 ; serial\n"
        "        3600    ; refresh\n"
        "        600     ; retry\n"
        "        86400   ; expire\n"
        "        60 )    ; minimum\n"
        "@ IN NS ns1\n"
        "@ IN NS ns.outside.example.\n"
        "@ IN MX 10 mail\n"
        "ns1 IN A 192.0.2.1\n"
        "mail IN A 192.0.2.25\n"
        "www IN A 192.0.2.10\n"
        "www IN AAAA 2001:db8::10\n"
        "    IN TXT \"owner inherited\"\n"
        "www 60 IN A 192.0.2.10 ; duplicates are merged\n"
        "WWW IN A 192.0.2.10\n"
        "alias IN CNAME www\n"
        "*.wild IN A 192.0.2.99\n"
    )
    s["no-origin-crlf"] = ("; the origin is the zone's; CRLF line ends\r\n\r\n$TTL 60\r\n" +
                           APEX.replace("\n", "\r\n") +
                           "   ; indented comment\r\nwww A 192.0.2.1 ; trailing\r\n"
                           "www.fuzz.test. AAAA 2001:db8::1\r\n")
    s["rfc3597"] = (
        "$ORIGIN fuzz.test.\n" + APEX +
        "unk IN TYPE65400 \\# 3 abcdef\n"
        "empty IN TYPE65401 \\# 0\n"
        "a3597 IN TYPE1 \\# 4 C0000201\n"
        "generic CLASS1 TYPE16 \\# 6 05 68656c6c6f\n"
    )
    s["class-first"] = (
        "; RFC 1035 5.1: [<class>] [<TTL>] as well as [<TTL>] [<class>]\n"
        "$ORIGIN fuzz.test.\n$TTL 1h\n" + APEX +
        "a 1d2h IN A 192.0.2.1\n"
        "b 2147483647 IN A 192.0.2.2\n"
        "classfirst IN 120 A 198.51.100.63\n"
        "ttlfirst 120 IN A 198.51.100.64\n"
        "\tIN 30 TXT \"inherited owner, class first\"\n"
    )
    s["include"] = (
        "$ORIGIN fuzz.test.\n" + APEX +
        "$INCLUDE inc.zone\n"
        "$INCLUDE inc.zone sub ; relative origin\n"
        "$INCLUDE inc.zone sub2.fuzz.test.\n"
        "after IN A 192.0.2.2\n"
    )
    s["include-self"] = "$ORIGIN fuzz.test.\n" + APEX + "$INCLUDE fuzz.zone\n"
    s["origin-relative"] = (
        "$ORIGIN fuzz.test.\n" + APEX +
        "$ORIGIN sub\n"
        "www IN A 192.0.2.30 ; www.sub.fuzz.test.\n"
        "$ORIGIN fuzz.test.\n"
        "$origin deeper.sub.fuzz.test.\n"
        "@ IN TXT \"lower-case directive\"\n"
    )
    s["escapes"] = (
        "$ORIGIN fuzz.test.\n" + APEX +
        "a\\.b IN TXT \"dot in a label\"\n"
        "\\065bc IN TXT \"quote \\\" and \\\\ and \\065 decimal\"\n"
        "long IN TXT \"" + "x" * 255 + "\" \"second string\"\n"
        "sp\\ ace IN A 192.0.2.4\n"
    )
    s["delegation-ds"] = (
        "$ORIGIN fuzz.test.\n" + APEX +
        "sub IN NS ns.sub\n"
        "sub IN NS ns.outside.example.\n"
        "ns.sub IN A 192.0.2.53\n"
        "ns.sub IN AAAA 2001:db8::53\n"
        "sub IN DS 12345 8 2 49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC1234\n"
    )
    s["many-types"] = (
        "$ORIGIN fuzz.test.\n" + APEX +
        "_sip._tcp IN SRV 10 60 5060 sip\n"
        "@ IN CAA 0 issue \"ca.example\"\n"
        "1.2.0.192 IN PTR www\n"
        "n IN NAPTR 100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:info@fuzz.test!\" .\n"
        "s IN SSHFP 1 1 123456789abcdef67890123456789abcdef67890\n"
        "_443._tcp IN TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
        "h IN HINFO \"cpu\" \"os\"\n"
        "k IN DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==\n"
        "sig IN A 192.0.2.7\n"
        "cn IN CNAME www\n"
        "cn IN RRSIG CNAME 13 3 300 20300101000000 20200101000000 12345 fuzz.test. AAAA\n"
        "cn IN NSEC d.fuzz.test. CNAME RRSIG NSEC\n"
        "spf IN SPF \"v=spf1 -all\"\n"
        "loc IN LOC 52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m\n"
        "x IN AFSDB 1 afs\n"
    )
    # No records: check_zone calls qsort(NULL, 0, ...), undefined behaviour
    # that UBSan reports (and aborts on with --enable-sanitizers).
    s["crash-empty-ubsan"] = ""
    s["bad-no-soa"] = "$ORIGIN fuzz.test.\n@ IN NS ns\nns IN A 192.0.2.1\n"
    s["bad-no-ns"] = "$ORIGIN fuzz.test.\n" + SOA
    s["bad-two-soa"] = "$ORIGIN fuzz.test.\n" + APEX + "@ IN SOA ns2 hostmaster 2 3600 600 86400 60\n"
    s["bad-soa-not-apex"] = "$ORIGIN fuzz.test.\n" + APEX + "sub IN SOA ns hostmaster 1 3600 600 86400 60\n"
    s["bad-cname-apex-and-other"] = ("$ORIGIN fuzz.test.\n" + APEX +
                                     "@ IN CNAME elsewhere.test.\nwww IN CNAME a\nwww IN A 192.0.2.1\n")
    s["bad-outside-zone"] = "$ORIGIN fuzz.test.\n" + APEX + "www.example.org. IN A 192.0.2.1\n"
    s["bad-class-ch"] = "$ORIGIN fuzz.test.\n" + APEX + "v CH TXT \"chaos\"\n"
    s["bad-syntax"] = (
        "$ORIGIN fuzz.test.\n" + APEX +
        "a IN A 192.0.2.256\n"
        "b IN AAAA 2001:db8::g\n"
        "c IN MX mail\n"
        "d IN NOSUCHTYPE x\n"
        "e IN TYPE65400 \\# 4 abcdef\n"
        "f IN A ( 192.0.2.1\n"
    )
    s["bad-directives"] = (
        "$ORIGIN\n"
        "$ORIGIN bad..name.\n"
        "$INCLUDE\n"
        "$INCLUDE missing.zone\n"
        "$INCLUDE inc.zone bad..origin\n"
        "$TTL\n"
        "$TTL notanumber\n"
        "  $INCLUDE inc.zone\n"
        "$GENERATE 1-10 host$ A 192.0.2.$\n"
    )
    s["bad-long-names"] = (
        "$ORIGIN fuzz.test.\n" + APEX +
        ("a" * 64) + " IN A 192.0.2.1\n" +
        ".".join(["abcdefghi"] * 26) + ". IN A 192.0.2.2\n"
        "$ORIGIN " + ".".join(["abcdefghi"] * 26) + ".\n"
    )
    s["bad-many-errors"] = "$ORIGIN fuzz.test.\n" + "".join("e%d IN A 999.0.0.%d\n" % (i, i) for i in range(25))
    s["bad-binary"] = bytes(range(256)) + b"\0\n$ORIGIN fuzz.test.\n\0\xff"
    # ldns joins a relative name and the origin without checking the
    # 255-octet limit (RFC 1035 3.1), and gslbd copies what it gets into
    # 255-octet buffers: owners in push_rr (src/zone.c), CNAME targets in
    # chain_end (src/snapshot.c). Each of these makes a name of 256 to 264 octets.
    long_origin = ".".join(["abcdefghi"] * 23) + ".fuzz.test."  # 251 octets
    s["crash-owner-over-255"] = ("$ORIGIN fuzz.test.\n" + APEX + "$ORIGIN " + long_origin + "\n" +
                                 "abcdefghijabcdefghij IN A 192.0.2.3\n")
    s["crash-origin-over-255"] = ("$ORIGIN fuzz.test.\n" + APEX +
                                  "$ORIGIN " + ".".join(["abcdefghi"] * 25) + "\n" +
                                  "x IN A 192.0.2.3\n")
    s["crash-cname-target-over-255"] = ("$ORIGIN fuzz.test.\n" + APEX + "$ORIGIN " + long_origin + "\n" +
                                        "www IN CNAME abcdefghijabcdefghij\n")
    # A "$ORIGIN" line that peek_include does not take (it wants a space or
    # a tab after the word; ldns takes any white space, "\r" included) is
    # parsed by ldns, which frees the origin and leaves it NULL when the name
    # does not parse. The next relative $ORIGIN (ldns_dname_cat) or $INCLUDE
    # (ldns_rdf_clone) then fails an assertion in ldns: abort.
    s["crash-origin-lost-then-origin"] = "$ORIGIN fuzz.test.\n" + APEX + "$ORIGIN\r\n$ORIGIN sub\n"
    s["crash-origin-lost-then-include"] = "$ORIGIN fuzz.test.\n" + APEX + "$ORIGIN\r\n$INCLUDE inc.zone\n"
    # An entry ldns rejects whose text parses with class and TTL swapped
    # goes to ldns_rr_new_frm_str again (retry_class_first, src/zone.c)
    # with its newlines; ldns 1.8.3 then writes a byte past a heap buffer
    # in ldns_bget_token. libldns is not instrumented: valgrind sees it,
    # ASan only when the corrupted heap is reused later.
    s["crash-ldns-overflow-class-first"] = "$ORIGIN fuzz.test.\n" + APEX + "\tIN 30 w(S ns\nns I A 192.0.2.53\n"
    # An IPSECKEY with a token too many: ldns 1.8.3 returns an error
    # without freeing the gateway and key strings it copied (suppressed in
    # fuzz_zone.c: the leak is ldns's, the zone fails to load).
    s["leak-ldns-ipseckey-extra-token"] = ("$ORIGIN fuzz.test.\n" + APEX +
                                           "x IN IPSECKEY 10 1 2 192.0.2.1 "
                                           "AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ== extra\n")
    # zone_load loops for ever on a file it cannot read: the directory
    # "." of the temp dir (src/zone.c read_file ends only at feof).
    s["hang-include-directory"] = "$ORIGIN fuzz.test.\n" + APEX + "$INCLUDE .\n"
    return s


def conf_seeds():
    s = {}
    with open(os.path.join(TOP, "contrib", "example", "gslbd.conf"), "rb") as f:
        s["example"] = f.read()
    s["minimal"] = ('listen = [ "127.0.0.1:5353" ];\n'
                    'zones = ( { origin = "fuzz.test"; file = "fuzz.test.zone"; } );\n')
    s["top-level"] = (
        'listen = [ "127.0.0.1:53", "[::1]:5353", "0.0.0.0", "[2001:db8::1]:0" ];\n'
        'threads = 4; udp_size = 4096; tcp_idle_timeout = 5; tcp_max_clients = 10;\n'
        'chaos = { version = "v"; id = "i"; };\n'
        'state_file = "/var/lib/gslbd/state"; control = { socket = "ctl.sock"; mode = "0660"; };\n'
        'zones = ( { origin = "fuzz.test."; file = "/nonexistent/fuzz.zone"; },\n'
        '          { origin = "Child.FUZZ.test"; file = "child.zone"; } );\n'
    )
    s["checks-every-kind"] = (
        'listen = [ "127.0.0.1:0" ];\n'
        'zones = ( { origin = "fuzz.test"; file = "z"; } );\n'
        'checks = (\n'
        '  { name = "t"; type = "tcp"; port = 80; interval = 0.5; timeout = 0.25; rise = 3; fall = 1; initial = "down"; },\n'
        '  { name = "h"; type = "http"; port = 8080; path = "/health"; host = "www.fuzz.test";\n'
        '    method = "HEAD"; expect_status = ( 200, 204, "3xx" ); expect_body = "ok"; },\n'
        '  { name = "hs"; type = "https"; tls_verify = false; expect_status = 200; },\n'
        '  { name = "d"; type = "dns"; query = "www.example.test"; qtype = "AAAA";\n'
        '    expect_rcode = "NXDOMAIN"; expect_answer = "2001:db8::1"; },\n'
        '  { name = "e"; type = "exec"; command = [ "/bin/true", "--flag" ]; timeout = 2.0; },\n'
        '  { name = "f"; type = "file"; path = "states"; initial = "up"; },\n'
        '  { name = "n"; type = "none"; }\n'
        ');\n'
        'pools = ( { name = "p"; owners = [ "www.fuzz.test" ]; check = "t";\n'
        '  members = ( { address = "192.0.2.1"; check = "h"; port = 81; host = "a.test"; },\n'
        '              { address = "192.0.2.2"; check = "hs"; url = "https://a.test/x"; },\n'
        '              { address = "2001:db8::1"; check = "d"; probe_address = "::1"; },\n'
        '              { address = "192.0.2.3"; check = "e"; }, { address = "192.0.2.4"; check = "f"; },\n'
        '              { address = "192.0.2.5"; check = "n"; } ); } );\n'
    )
    s["backup-chain"] = (
        'listen = [ "127.0.0.1:0" ];\n'
        'zones = ( { origin = "fuzz.test"; file = "z"; } );\n'
        'checks = ( { name = "web"; type = "tcp"; port = 80; } );\n'
        'pools = (\n'
        '  { name = "a"; owners = [ "a.fuzz.test", "*.w.fuzz.test" ]; check = "web"; backup = "b";\n'
        '    min_healthy = 2; ttl = 30; ttl_degraded = 5; last_resort = "nodata";\n'
        '    members = ( { address = "192.0.2.1"; }, { address = "192.0.2.2"; } ); },\n'
        '  { name = "b"; check = "web"; backup = "c"; last_resort = "fail-open";\n'
        '    members = ( { address = "198.51.100.1"; } ); },\n'
        '  { name = "c"; last_resort = "servfail"; members = ( { address = "203.0.113.1"; } ); }\n'
        ');\n'
    )
    s["weighted"] = (
        'listen = "127.0.0.1:0";\n'
        'zones = ( { origin = "fuzz.test"; file = "z"; } );\n'
        'pools = ( { name = "wt"; owners = "wt.fuzz.test"; policy = "weighted"; answers = 2;\n'
        '  members = ( { address = "192.0.2.111"; weight = 1; }, { address = "192.0.2.112"; weight = 1000000; },\n'
        '              { address = "2001:db8::113"; weight = 5; } ); },\n'
        '  { name = "rr"; owners = [ "rr.fuzz.test" ]; policy = "round-robin";\n'
        '    members = ( { address = "2001:db8:0:0::1"; } ); } );\n'
    )
    s["rate-limit"] = (
        'listen = [ "127.0.0.1:0" ];\n'
        'zones = ( { origin = "fuzz.test"; file = "z"; } );\n'
        'rate_limit = { responses_per_second = 20; errors_per_second = 0; slip = 1;\n'
        '  ipv4_prefix = 32; ipv6_prefix = 128; log_only = true; table_size = 9;\n'
        '  exempt = [ "192.0.2.0/24", "2001:db8::/32", "198.51.100.7", "::1", "0.0.0.0/0" ]; };\n'
    )
    s["bad-rate-limit"] = (
        'listen = [ "127.0.0.1:0" ];\n'
        'zones = ( { origin = "fuzz.test"; file = "z"; } );\n'
        'rate_limit = { slip = 11; ipv4_prefix = 7; ipv6_prefix = 129; log_only = "yes";\n'
        '  table_size = 0; errors_per_second = -1; colour = 1;\n'
        '  exempt = [ "192.0.2.1/24", "2001:db8::/", "/8", "10.0.0.0/33", 5 ]; };\n'
    )
    s["include"] = ('@include "inc.conf"\n'
                    'listen = [ "127.0.0.1:0" ];\n'
                    'zones = ( { origin = "fuzz.test"; file = "z"; } );\n'
                    'pools = ( { name = "p"; check = "inc"; members = ( { address = "192.0.2.1"; } ); } );\n')
    s["include-self"] = '@include "fuzz.conf"\nlisten = [ "127.0.0.1:0" ];\n'
    s["bad-syntax"] = 'listen = [ "127.0.0.1:0" \nzones = ( { origin = "fuzz.test"; file = "z"; } );\n'
    s["bad-missing"] = 'threads = 1;\n'
    s["bad-backup-cycle"] = (
        'listen = [ "127.0.0.1:0" ];\nzones = ( { origin = "fuzz.test"; file = "z"; } );\n'
        'pools = ( { name = "a"; backup = "b"; members = ( { address = "192.0.2.1"; } ); },\n'
        '          { name = "b"; backup = "a"; members = ( { address = "192.0.2.2"; } ); },\n'
        '          { name = "c"; backup = "nosuch"; members = ( { address = "192.0.2.3"; } ); } );\n'
    )
    s["bad-references"] = (
        'listen = [ "127.0.0.1:0" ];\nzones = ( { origin = "fuzz.test"; file = "z"; } );\n'
        'checks = ( { name = "t"; type = "tcp"; }, { name = "t"; type = "file"; } );\n'
        'pools = ( { name = "a"; check = "t"; members = ( { address = "192.0.2.1"; } ); },\n'
        '          { name = "a"; check = "nosuch"; members = ( { address = "192.0.2.2"; check = "x"; } ); } );\n'
    )
    s["bad-values"] = (
        'listen = [ "127.0.0.1:99999", "[::1" ];\nudp_size = 100; threads = -1;\n'
        'zones = ( { origin = "bad..name"; file = 5; }, { file = "z"; }, "string" );\n'
        'checks = ( { name = "x"; type = "gopher"; interval = 0.0; rise = 0; expect_status = [ 99, "9xx" ];\n'
        '             expect_rcode = "WHAT"; qtype = "NOPE"; command = [ ]; unknown = 1; } );\n'
        'pools = ( { name = "p"; policy = "random"; answers = 0; last_resort = "pray";\n'
        '            members = ( { address = "not-an-ip"; weight = 0; }, "x", { port = 70000; } ); },\n'
        '          { name = "q"; members = ( ); }, 42 );\n'
        'surprise = "unknown setting";\n'
    )
    s["bad-types"] = ('listen = 5;\nzones = "z";\npools = { name = "p"; };\nchecks = 1.5;\n'
                      'chaos = [ 1, 2 ];\ncontrol = "sock";\n')
    # One TXT character-string at most: 255 bytes is the limit, 256 an error.
    s["chaos-longest"] = ('listen = [ "127.0.0.1:0" ];\nzones = ( { origin = "fuzz.test"; file = "z"; } );\n'
                          'chaos = { version = "%s"; id = "%s"; };\n' % ("v" * 255, "i" * 256))
    s["bad-stray-string"] = '""'  # libconfig 1.5 leaks the string (fuzz_conf.c)
    s["bad-binary"] = bytes(range(256)) + b'\nlisten = [ "\xff\xfe" ];\n'
    # libconfig's scanner calls exit(2) ("input in flex scanner failed")
    # when an @include names a directory: conf_load, and a SIGHUP reload of
    # a running gslbd, end the process.
    s["crash-include-directory"] = ('listen = [ "127.0.0.1:0" ];\n@include "."\n'
                                    'zones = ( { origin = "fuzz.test"; file = "z"; } );\n')
    return s


def control_seeds():
    s = {}
    lines = [
        ("status", "status"),
        ("status-json", "status --json"),
        ("status-bad-flag", "status --xml"),
        ("explain-www-a", "explain www.fuzz.test A"),
        ("explain-www-aaaa", "explain www.fuzz.test. aaaa"),
        ("explain-wildcard-pool", "explain x.pw.fuzz.test A"),
        ("explain-cname-pool", "explain alias.fuzz.test A"),
        ("explain-cname-loop", "explain loop1.fuzz.test A"),
        ("explain-cname-out", "explain out.fuzz.test TXT"),
        ("explain-referral", "explain host.sub.fuzz.test A"),
        ("explain-wildcard", "explain a.b.wild.fuzz.test TYPE65"),
        ("explain-nxdomain", "explain nosuch.fuzz.test MX"),
        ("explain-outside", "explain www.example.com A"),
        ("explain-axfr", "explain fuzz.test AXFR"),
        ("explain-maila", "explain fuzz.test MAILA"),
        ("explain-bad-name", "explain www..fuzz.test A"),
        ("explain-bad-type", "explain www.fuzz.test TYPE99999"),
        ("drain-v4", "drain p 192.0.2.1"),
        ("drain-v6-long", "drain p 2001:db8:0:0:0:0:0:2"),
        ("undrain-v6", "undrain p 2001:db8::1"),
        ("drain-unknown", "drain nosuch 203.0.113.9"),
        ("drain-no-check", "drain plain 192.0.2.100"),
        ("drain-for", "drain p 192.0.2.1 --for 30m"),
        ("drain-until", "drain p 192.0.2.1 --until 2026-12-24T06:00Z"),
        ("drain-until-bad", "drain p 192.0.2.1 --until 2026-02-30T25:00+01:00"),
        ("weight-set", "weight p 192.0.2.2 7"),
        ("weight-reset", "weight p 192.0.2.2 --reset"),
        ("weight-bad", "weight p 192.0.2.2 -1"),
        ("shift-start", "shift p --to green --step 10 --every 60s --min-healthy 1"),
        ("shift-control", "shift p --rollback"),
        ("reload", "reload\n"),
        ("crlf-tabs", "\tstatus\r\n"),
        ("empty", ""),
        ("control-chars", "\x01\x7f\x1b[31m status"),
    ]
    for name, text in lines:
        s[name] = text
    s["long-line"] = "explain " + ".".join(["a" * 63] * 16) + " A"
    s["many-args"] = " ".join(["drain"] * 12)
    s["nul-inside"] = b"status\0--json"
    s["utf8"] = "explain \xe2\x82\xac.fuzz.test A".encode("latin-1")
    return s


def name(n):
    out = b""
    for label in n.split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def header(qid=0x1234, flags=0x8180, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def question(qname="www.fuzz.test", qtype=1):
    return name(qname) + struct.pack("!HH", qtype, 1)


def rr(owner, rtype, rdata, ttl=60):
    return owner + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


PTR = b"\xc0\x0c"  # the question's name
A1 = bytes([192, 0, 2, 1])
A9 = bytes([192, 0, 2, 9])
AAAA1 = bytes.fromhex("20010db8000000000000000000000001")


# fuzz_dnsprobe's input: byte 0 chooses the probe (question name, type,
# expect_answer) and the reply's shape, byte 1 expect_rcode, bytes 2-3 the
# probe's ID; fuzz_dnsprobe.c says how the rest becomes the reply.
ECHO, NOQ, CASE, RAW = 0, 1, 2, 3
QN_WWW, QN_ROOT, QN_LONG, QN_X1 = 0, 1, 2, 3
QT_A, QT_AAAA, QT_TXT, QT_MX = 0, 1, 2, 3
ANS_NONE, ANS_V4, ANS_V6, ANS_MAPPED = 0, 1, 2, 3
RC = {"NOERROR": 0, "FORMERR": 1, "SERVFAIL": 2, "NXDOMAIN": 3, "NOTIMP": 4, "REFUSED": 5}


def probe(shape, qname=QN_WWW, qtype=QT_A, answer=ANS_V4, rcode="NOERROR", qid=0x1234,
          case_bits=0):
    ctl0 = qname | qtype << 2 | answer << 4 | shape << 6
    ctl1 = (case_bits & 0xF8) | RC[rcode]   # mod 6: the low bits pick the rcode
    while ctl1 % 6 != RC[rcode]:
        ctl1 += 1
    return bytes([ctl0, ctl1 & 0xFF]) + struct.pack("!H", qid)


def spliced(shape, rest=b"", flags=0x8180, an=0, **kw):
    return probe(shape, **kw) + struct.pack("!HH", flags, an) + rest


MAPPED = bytes(10) + b"\xff\xff" + A1


def dnsprobe_seeds():
    s = {}
    # Whole replies (RAW), as the old target judged them: a query for A
    # expecting 192.0.2.1 (AAAA expecting 2001:db8::1 for the aaaa-* ones).
    raw = {}
    raw["a-match"] = header(an=1) + question() + rr(PTR, 1, A1)
    raw["a-nomatch"] = header(an=1) + question() + rr(PTR, 1, A9)
    # A CNAME, an A for its target, then one for the target by pointer.
    m = header(an=3) + question() + rr(PTR, 5, name("x.fuzz.test"))
    target = len(m) - len(name("x.fuzz.test"))
    raw["a-second-answer"] = m + rr(name("x.fuzz.test"), 1, A9) + \
        rr(struct.pack("!H", 0xC000 | target), 1, A1)
    raw["aaaa-match"] = header(an=1) + question(qtype=28) + rr(PTR, 28, AAAA1)
    raw["aaaa-wrong-length"] = header(an=1) + question(qtype=28) + rr(PTR, 28, AAAA1[:15])
    raw["case-differs"] = header(an=1) + question("WWW.Fuzz.TEST") + rr(PTR, 1, A1)
    raw["other-question"] = header(an=1) + question("www.fuzz.tesu") + rr(PTR, 1, A1)
    raw["other-qtype"] = header() + question(qtype=16)
    raw["other-class"] = header() + name("www.fuzz.test") + struct.pack("!HH", 1, 3)
    raw["servfail"] = header(flags=0x8182) + question()
    raw["nxdomain"] = header(flags=0x8183) + question()
    raw["refused-no-question"] = header(flags=0x8185, qd=0)
    raw["no-question-answer"] = header(qd=0, an=1) + rr(name("www.fuzz.test"), 1, A1)
    raw["rcode-15"] = header(flags=0x818F) + question()
    raw["wrong-id"] = header(qid=0x1235, an=1) + question() + rr(PTR, 1, A1)
    raw["not-response"] = header(flags=0x0100, an=1) + question() + rr(PTR, 1, A1)
    raw["truncated-tc"] = header(flags=0x8380) + question()
    raw["short-header"] = header()[:11]
    raw["question-cut"] = header() + question()[:-2]
    raw["opcode-notify"] = header(flags=0xA180) + question()
    raw["qdcount-2"] = header(qd=2) + question() + question()
    raw["answer-count-overrun"] = header(an=5) + question() + rr(PTR, 1, A9)
    raw["rdlen-overrun"] = header(an=1) + question() + PTR + struct.pack("!HHIH", 1, 1, 60, 200) + A1
    raw["pointer-loop"] = header(an=1) + question() + b"\xc0\x1f" + struct.pack("!HHIH", 1, 1, 60, 4) + A1
    raw["pointer-past-end"] = header(an=1) + question() + b"\xff\xff" + struct.pack("!HHIH", 1, 1, 60, 4) + A1
    raw["owner-cut"] = header(an=1) + question() + b"\x3fabc"
    raw["label-0x40"] = header(an=1) + question() + b"\x40" + b"x" * 70
    raw["edns-opt"] = header(an=1, ar=1) + question() + rr(PTR, 1, A1) + \
        b"\0" + struct.pack("!HHIH", 41, 1232, 0x01000000, 0)
    for n, reply in raw.items():
        v6 = n.startswith("aaaa")
        s["raw-" + n] = probe(RAW, qtype=QT_AAAA if v6 else QT_A,
                              answer=ANS_V6 if v6 else ANS_V4) + reply
    # Spliced around the probe's own ID and question: the judging itself.
    s["echo-a-match"] = spliced(ECHO, rr(PTR, 1, A1), an=1)
    s["echo-a-second"] = spliced(ECHO, rr(PTR, 5, name("x.fuzz.test")) +
                                 rr(name("x.fuzz.test"), 1, A1), an=2)
    s["echo-a-nomatch"] = spliced(ECHO, rr(PTR, 1, A9), an=1)
    s["echo-a-no-answer"] = spliced(ECHO)
    s["echo-a-truncated"] = spliced(ECHO, flags=0x8380)
    s["echo-aaaa-match"] = spliced(ECHO, rr(PTR, 28, AAAA1), an=1, qtype=QT_AAAA, answer=ANS_V6)
    s["echo-aaaa-mapped"] = spliced(ECHO, rr(PTR, 28, MAPPED), an=1, qtype=QT_AAAA,
                                    answer=ANS_MAPPED)
    s["echo-aaaa-a-record"] = spliced(ECHO, rr(PTR, 1, A1), an=1, qtype=QT_AAAA, answer=ANS_V4)
    s["echo-txt-rcode-only"] = spliced(ECHO, rr(PTR, 16, b"\x02ok"), an=1, qtype=QT_TXT,
                                       answer=ANS_NONE)
    s["echo-mx-nxdomain"] = spliced(ECHO, flags=0x8183, qtype=QT_MX, answer=ANS_NONE,
                                    rcode="NXDOMAIN")
    s["echo-servfail-wanted"] = spliced(ECHO, flags=0x8182, answer=ANS_NONE, rcode="SERVFAIL")
    s["echo-rcode-11"] = spliced(ECHO, flags=0x818B, answer=ANS_NONE)
    s["echo-opcode-update"] = spliced(ECHO, flags=0xA980)
    s["echo-root"] = spliced(ECHO, rr(PTR, 1, A1), an=1, qname=QN_ROOT)
    s["echo-long-name"] = spliced(ECHO, rr(PTR, 1, A1), an=1, qname=QN_LONG)
    s["echo-x1"] = spliced(ECHO, rr(PTR, 1, A1), an=1, qname=QN_X1)
    s["echo-answer-overrun"] = spliced(ECHO, rr(PTR, 1, A9), an=40)
    s["echo-rdlen-overrun"] = spliced(ECHO, PTR + struct.pack("!HHIH", 1, 1, 60, 300) + A1, an=1)
    s["echo-owner-uncompressed"] = spliced(ECHO, rr(name("www.fuzz.test"), 1, A1), an=1)
    s["echo-owner-bad-label"] = spliced(ECHO, b"\x80" + bytes(12), an=1)
    s["noq-refused"] = spliced(NOQ, flags=0x8185, answer=ANS_NONE, rcode="REFUSED")
    s["noq-a-match"] = spliced(NOQ, rr(name("www.fuzz.test"), 1, A1), an=1)
    s["noq-noerror"] = spliced(NOQ, answer=ANS_NONE)
    s["case-a-match"] = spliced(CASE, rr(PTR, 1, A1), an=1, case_bits=0xA8)
    s["case-long"] = spliced(CASE, rr(PTR, 1, A1), an=1, qname=QN_LONG, case_bits=0xF8)
    return s


def write(sub, ext, seeds):
    out = os.path.join(HERE, "corpus", sub)
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        os.unlink(os.path.join(out, f))
    for name_, data in seeds.items():
        if isinstance(data, str):
            data = data.encode("utf-8")
        with open(os.path.join(out, name_ + ext), "wb") as f:
            f.write(data)
    print("%s: %d seeds" % (out, len(seeds)), file=sys.stderr)


def main():
    write("zone", ".zone", zone_seeds())
    write("conf", ".conf", conf_seeds())
    write("control", ".txt", control_seeds())
    write("dnsprobe", ".bin", dnsprobe_seeds())


if __name__ == "__main__":
    main()
