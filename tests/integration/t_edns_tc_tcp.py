#!/usr/bin/python3
"""EDNS0 (RFC 6891, RFC 8906), UDP truncation and TCP fallback, TCP
transport (RFC 7766): framing, pipelining, idle timeout, many clients."""

import re
import socket
import struct
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from harness import ServerTestCase, make_query, rrset  # noqa: E402

import dns.edns  # noqa: E402
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402

Z = "lb.example.test."
BIG_STRINGS = sorted(("big-%02d-%s" % (i, "x" * 92)).encode() for i in range(20))


def txt_strings(r):
    out = []
    for rs in r.answer:
        if rs.rdtype == dns.rdatatype.TXT:
            out.extend(b"".join(rd.strings) for rd in rs)
    return sorted(out)


class Edns(ServerTestCase, unittest.TestCase):
    scenario = "basic"

    def test_no_opt_without_edns(self):
        r = self.server.query("static." + Z, "A")
        self.assertEqual(r.edns, -1, "no OPT in the response when the query had none")
        self.assertEqual(len(r.additional), 0)

    def test_opt_echoed_with_our_size(self):
        for payload in (512, 1232, 4096, 65535):
            r = self.server.query("static." + Z, "A", payload=payload)
            self.assertRcode(r, dns.rcode.NOERROR)
            self.assertEqual(r.edns, 0, "OPT version 0 in the response")
            self.assertEqual(r.payload, 1232, "we advertise udp_size (default 1232)")
            self.assertFalse(r.ednsflags & dns.flags.DO)

    def test_opt_over_tcp(self):
        r = self.server.query("static." + Z, "A", payload=1232, tcp=True)
        self.assertEqual(r.edns, 0)

    def test_do_bit_echoed(self):
        r = self.server.query("static." + Z, "A", do=True)
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertEqual(r.edns, 0)
        self.assertTrue(r.ednsflags & dns.flags.DO, "DO must be echoed")
        r = self.server.query("nope." + Z, "A", do=True)
        self.assertRcode(r, dns.rcode.NXDOMAIN)
        self.assertTrue(r.ednsflags & dns.flags.DO)

    def test_badvers(self):
        for v in (1, 255):
            r = self.server.query("static." + Z, "A", edns=v)
            self.assertEqual(r.rcode(), dns.rcode.BADVERS,
                             "EDNS version %d -> BADVERS, got %s" % (v, dns.rcode.to_text(r.rcode())))
            self.assertEqual(r.edns, 0, "BADVERS carries an OPT with our version (0)")
            self.assertEqual(len(r.answer), 0)
        self.assertAlive()

    def test_unknown_option_ignored(self):
        opt = dns.edns.GenericOption(65001, b"\x01\x02\x03")
        r = self.server.query("static." + Z, "A", options=[opt])
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertEqual(sorted(harness.addresses(r)), ["198.51.100.1", "198.51.100.2"])
        self.assertEqual(r.edns, 0)
        self.assertNotIn(65001, [o.otype for o in r.options], "unknown option must not be echoed")

    def test_unknown_flags_ignored(self):
        r = self.server.query("static." + Z, "A", ednsflags=0x4000 | 0x0001)
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertEqual(sorted(harness.addresses(r)), ["198.51.100.1", "198.51.100.2"])
        self.assertEqual(r.edns, 0)
        self.assertEqual(r.ednsflags & 0x7FFF, 0, "unknown EDNS flags must not be echoed (RFC 8906)")

    def test_payload_below_512_treated_as_512(self):
        r = self.server.query("static." + Z, "A", payload=100)
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertFalse(r.flags & dns.flags.TC)
        self.assertEqual(len(harness.addresses(r)), 2)


class Truncation(ServerTestCase, unittest.TestCase):
    scenario = "basic"

    def udp_raw(self, name, rdtype, **kw):
        q = make_query(name, rdtype, **kw)
        resp = self.server.raw_udp(q.to_wire(), timeout=2.0)
        self.assertIsNotNone(resp, "no UDP response")
        return resp, dns.message.from_wire(resp)

    def assertTruncated(self, resp, r, limit):
        self.assertTrue(r.flags & dns.flags.TC, "TC must be set:\n%s" % r)
        self.assertLessEqual(len(resp), limit)
        self.assertEqual(len(r.answer), 0, "TC response has empty sections:\n%s" % r)
        self.assertEqual(len(r.authority), 0)
        self.assertEqual(len(r.additional), 0)
        self.assertEqual(len(r.question), 1)

    def test_big_udp_without_edns_tc(self):
        resp, r = self.udp_raw("big." + Z, "TXT")
        self.assertTruncated(resp, r, 512)
        self.assertTrue(r.flags & dns.flags.AA)
        self.assertEqual(r.edns, -1)

    def test_big_udp_edns4096_capped_at_1232(self):
        resp, r = self.udp_raw("big." + Z, "TXT", payload=4096)
        self.assertTruncated(resp, r, 1232)
        self.assertEqual(r.edns, 0, "TC response to an EDNS query still carries OPT")
        self.assertEqual(r.payload, 1232)

    def test_big_tcp_complete(self):
        for payload in (None, 4096):
            kw = {"payload": payload} if payload else {}
            r = self.server.query("big." + Z, "TXT", tcp=True, **kw)
            self.assertRcode(r, dns.rcode.NOERROR)
            self.assertFalse(r.flags & dns.flags.TC)
            self.assertEqual(txt_strings(r), BIG_STRINGS)

    def test_medium_sizes(self):
        # ~936 bytes: over 512, under 1232
        resp, r = self.udp_raw("medium." + Z, "TXT")
        self.assertTruncated(resp, r, 512)
        resp, r = self.udp_raw("medium." + Z, "TXT", payload=1232)
        self.assertFalse(r.flags & dns.flags.TC, "fits in 1232: no TC")
        self.assertEqual(len(txt_strings(r)), 8)
        resp, r = self.udp_raw("medium." + Z, "TXT", payload=4096)
        self.assertFalse(r.flags & dns.flags.TC)
        self.assertEqual(len(txt_strings(r)), 8)
        resp, r = self.udp_raw("medium." + Z, "TXT", payload=600)
        self.assertTruncated(resp, r, 600)
        resp, r = self.udp_raw("medium." + Z, "TXT", payload=100)  # treated as 512
        self.assertTruncated(resp, r, 512)

    def test_referral_required_glue_does_not_fit(self):
        # NS RRset alone ~270 bytes, with the 24 in-bailiwick glue records ~800
        resp, r = self.udp_raw("www.bigdeleg." + Z, "A")
        self.assertTrue(r.flags & dns.flags.TC, "required glue does not fit in 512: TC:\n%s" % r)
        self.assertLessEqual(len(resp), 512)
        resp, r = self.udp_raw("www.bigdeleg." + Z, "A", payload=1232)
        self.assertFalse(r.flags & dns.flags.TC)
        self.assertFalse(r.flags & dns.flags.AA)
        ns = rrset(r, r.authority, "bigdeleg." + Z, "NS")
        self.assertEqual(len(ns), 12)
        glue = sum(len(rs) for rs in r.additional)
        self.assertEqual(glue, 24, "all in-bailiwick glue:\n%s" % r)
        r = self.server.query("www.bigdeleg." + Z, "A", tcp=True)
        self.assertEqual(sum(len(rs) for rs in r.additional), 24)

    def test_optional_additional_dropped(self):
        # optdeleg: 12 NS whose targets are siblings (not below the cut); with
        # their 24 addresses the referral is ~900 bytes, without them ~300.
        resp, r = self.udp_raw("www.optdeleg." + Z, "A")
        self.assertFalse(r.flags & dns.flags.TC, "dropping the optional additional is enough: no TC")
        self.assertLessEqual(len(resp), 512)
        ns = rrset(r, r.authority, "optdeleg." + Z, "NS")
        self.assertIsNotNone(ns, "referral NS kept:\n%s" % r)
        self.assertEqual(len(ns), 12)
        self.assertEqual(len(r.additional), 0, "the additional section is dropped whole:\n%s" % r)
        # EDNS 600: still too big with the addresses; OPT stays
        resp, r = self.udp_raw("www.optdeleg." + Z, "A", payload=600)
        self.assertFalse(r.flags & dns.flags.TC)
        self.assertLessEqual(len(resp), 600)
        self.assertEqual(len(rrset(r, r.authority, "optdeleg." + Z, "NS")), 12)
        self.assertEqual(len(r.additional), 0)
        self.assertEqual(r.edns, 0, "OPT is kept when the additional records are dropped")
        # room enough: the addresses are there
        resp, r = self.udp_raw("www.optdeleg." + Z, "A", payload=1232)
        self.assertFalse(r.flags & dns.flags.TC)
        self.assertEqual(sum(len(rs) for rs in r.additional), 24, "sibling addresses:\n%s" % r)

    def dig(self, *args):
        cmd = ["dig", "@127.0.0.1", "-p", str(self.server.port), "+tries=1", "+time=3"] + list(args)
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=20)
        return p.returncode, p.stdout.decode(errors="replace")

    def test_dig_ignore_shows_tc(self):
        rc, out = self.dig("+noedns", "+ignore", "big." + Z, "TXT")
        self.assertEqual(rc, 0, out)
        m = re.search(r";; flags: ([a-z ]+);", out)
        self.assertIsNotNone(m, out)
        self.assertIn("tc", m.group(1).split(), out)
        self.assertIn("ANSWER: 0,", out)

    def test_dig_retries_over_tcp(self):
        for extra in (["+noedns"], []):
            rc, out = self.dig(*(extra + ["big." + Z, "TXT"]))
            self.assertEqual(rc, 0, out)
            self.assertIn("ANSWER: 20,", out, out)
            self.assertIn("status: NOERROR", out)
            m = re.search(r";; flags: ([a-z ]+);", out)
            self.assertNotIn("tc", m.group(1).split(), out)
            self.assertIn("(TCP)", out, "dig should report the TCP server line:\n" + out)


class Tcp(ServerTestCase, unittest.TestCase):
    """basic scenario has tcp_idle_timeout = 2."""
    scenario = "basic"

    def test_framing(self):
        q = make_query("static." + Z, "A", id_=0x5151)
        wire = q.to_wire()
        with self.server.tcp_connect() as s:
            s.sendall(struct.pack("!H", len(wire)) + wire)
            hdr = harness.recv_exact(s, 2)
            self.assertIsNotNone(hdr, "no response over TCP")
            (n,) = struct.unpack("!H", hdr)
            body = harness.recv_exact(s, n)
            self.assertIsNotNone(body)
            self.assertEqual(len(body), n)
            r = dns.message.from_wire(body)
            self.assertEqual(r.id, 0x5151)
            self.assertEqual(sorted(harness.addresses(r)), ["198.51.100.1", "198.51.100.2"])

    def test_split_writes(self):
        q = make_query("static." + Z, "AAAA", id_=0x5252)
        data = struct.pack("!H", len(q.to_wire())) + q.to_wire()
        with self.server.tcp_connect() as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for part in (data[:1], data[1:7], data[7:]):
                s.sendall(part)
                time.sleep(0.1)
            resp = harness.read_framed(s)
        self.assertIsNotNone(resp, "message sent in pieces was not answered")
        r = dns.message.from_wire(resp)
        self.assertEqual(r.id, 0x5252)
        self.assertEqual(harness.addresses(r, "AAAA"), ["2001:db8:100::1"])

    QUERIES = [("static." + Z, "A"), ("static." + Z, "AAAA"), ("nope." + Z, "A"),
               ("static." + Z, "TXT"), ("big." + Z, "TXT")]

    def pipelined(self):
        msgs = [make_query(n, t, id_=1000 + i) for i, (n, t) in enumerate(self.QUERIES)]
        data = b"".join(struct.pack("!H", len(m.to_wire())) + m.to_wire() for m in msgs)
        out = []
        with self.server.tcp_connect(timeout=3.0) as s:
            s.sendall(data)
            for _ in msgs:
                resp = harness.read_framed(s)
                if resp is None:
                    break
                out.append(dns.message.from_wire(resp))
        return msgs, out

    def test_huge_answer_compression_beyond_16k(self):
        # 1000 MX records, ~23 KB: names past offset 0x3FFF cannot be pointer
        # targets; a wrong pointer would corrupt names or fail to parse
        r = self.server.query("hugemx." + Z, "MX", tcp=True, timeout=5)
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertFalse(r.flags & dns.flags.TC)
        rs = rrset(r, r.answer, "hugemx." + Z, "MX")
        self.assertIsNotNone(rs)
        got = sorted((rd.preference, rd.exchange.to_text()) for rd in rs)
        want = sorted((i % 100, "mx%04d.hugemx.%s" % (i, Z)) for i in range(1000))
        self.assertEqual(got, want)
        # over UDP: TC
        r = self.server.query("hugemx." + Z, "MX", payload=4096)
        self.assertTrue(r.flags & dns.flags.TC)

    def test_pipelined_all_answered(self):
        msgs, out = self.pipelined()
        self.assertEqual(len(out), 5, "all 5 pipelined queries must be answered")
        by_id = {r.id: r for r in out}
        self.assertEqual(sorted(by_id), [1000, 1001, 1002, 1003, 1004])
        for m in msgs:
            self.assertTrue(m.is_response(by_id[m.id]))
        self.assertEqual(by_id[1002].rcode(), dns.rcode.NXDOMAIN)
        self.assertEqual(txt_strings(by_id[1004]), BIG_STRINGS)

    def test_pipelined_in_order(self):
        _msgs, out = self.pipelined()
        self.assertEqual([r.id for r in out], [1000, 1001, 1002, 1003, 1004])

    def test_kdig_keepopen(self):
        cmd = ["kdig", "@127.0.0.1", "-p", str(self.server.port), "+tcp", "+keepopen",
               "+timeout=3", "+retry=0",
               "static." + Z, "A", "static." + Z, "AAAA", "static." + Z, "TXT"]
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=20)
        out = p.stdout.decode(errors="replace")
        self.assertEqual(p.returncode, 0, out)
        self.assertEqual(out.count("status: NOERROR"), 3, out)
        for s in ("198.51.100.1", "2001:db8:100::1", '"hello world"'):
            self.assertIn(s, out)

    def time_to_close(self, s, limit=6.0):
        s.settimeout(limit)
        t0 = time.monotonic()
        try:
            data = s.recv(1)
        except socket.timeout:
            return None
        except ConnectionResetError:
            data = b""
        self.assertEqual(data, b"", "unexpected data on idle connection")
        return time.monotonic() - t0

    def test_idle_timeout(self):
        with self.server.tcp_connect() as s:
            t = self.time_to_close(s)
        self.assertIsNotNone(t, "idle connection not closed within 6 s (tcp_idle_timeout = 2)")
        self.assertGreaterEqual(t, 1.0, "closed too early (%.2fs)" % t)
        self.assertLessEqual(t, 5.0)

    def test_idle_timeout_after_query(self):
        q = make_query("static." + Z, "A", id_=77)
        with self.server.tcp_connect() as s:
            s.sendall(struct.pack("!H", len(q.to_wire())) + q.to_wire())
            self.assertIsNotNone(harness.read_framed(s))
            t = self.time_to_close(s)
        self.assertIsNotNone(t, "connection not closed within 6 s after its last query")
        self.assertGreaterEqual(t, 1.0)
        self.assertLessEqual(t, 5.0)

    def test_many_connections(self):
        n = 200
        socks = []
        try:
            for _ in range(n):
                socks.append(self.server.tcp_connect(timeout=5.0))
            for i, s in enumerate(socks):
                q = make_query("static." + Z, "A", id_=i)
                s.sendall(struct.pack("!H", len(q.to_wire())) + q.to_wire())
            ok = 0
            for i, s in enumerate(socks):
                resp = harness.read_framed(s)
                if resp is None:
                    continue
                r = dns.message.from_wire(resp)
                if r.id == i and sorted(harness.addresses(r)) == ["198.51.100.1", "198.51.100.2"]:
                    ok += 1
            self.assertEqual(ok, n, "all %d concurrent connections answered" % n)
        finally:
            for s in socks:
                s.close()
        self.assertAlive()

    def test_ipv6_tcp_and_udp(self):
        if not harness.ipv6_usable():
            self.skipTest("::1 not usable")
        r = self.server.query("big." + Z, "TXT", v6=True, tcp=True)
        self.assertEqual(txt_strings(r), BIG_STRINGS)
        r = self.server.query("big." + Z, "TXT", v6=True)
        self.assertTrue(r.flags & dns.flags.TC)


class UdpSize(ServerTestCase, unittest.TestCase):
    """minimal scenario: udp_size = 1400."""
    scenario = "minimal"

    def test_advertised_size(self):
        r = self.server.query("static.min.test.", "A", payload=4096)
        self.assertEqual(r.edns, 0)
        self.assertEqual(r.payload, 1400)

    def test_answers_up_to_udp_size(self):
        # t1300 is 1341 bytes: fits in min(4096, 1400), not in a client's 1232
        r = self.server.query("t1300.min.test.", "TXT", payload=4096)
        self.assertFalse(r.flags & dns.flags.TC, "1341 bytes <= udp_size 1400: no TC")
        self.assertEqual(len(txt_strings(r)), 11)
        r = self.server.query("t1300.min.test.", "TXT", payload=1232)
        self.assertTrue(r.flags & dns.flags.TC, "over the client's 1232: TC")
        # t1500 is 1577 bytes: over udp_size
        r = self.server.query("t1500.min.test.", "TXT", payload=4096)
        self.assertTrue(r.flags & dns.flags.TC)
        r = self.server.query("t1500.min.test.", "TXT", tcp=True)
        self.assertEqual(len(txt_strings(r)), 13)


if __name__ == "__main__":
    unittest.main()
