#!/usr/bin/python3
"""Basic answers: header flags, question echo, compression, static record
types, zone-file syntax ($ORIGIN/$TTL/$INCLUDE/parentheses), CHAOS,
classes, REFUSED/NOTIMP qtypes, ANY, IPv6 transport."""

import io
import struct
import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from harness import DATA, ServerTestCase, make_query, rrset  # noqa: E402

import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.name  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdataclass  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.rrset  # noqa: E402

Z = "lb.example.test"


def n(s):
    return s + "." + Z + "."


class HeaderAndEcho(ServerTestCase, unittest.TestCase):
    scenario = "basic"

    def test_aa_set_ra_clear(self):
        r = self.server.query(n("static"), "A")
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertTrue(r.flags & dns.flags.QR)
        self.assertTrue(r.flags & dns.flags.AA, "AA must be set on authoritative answers")
        self.assertFalse(r.flags & dns.flags.RA, "RA must be clear")
        self.assertFalse(r.flags & dns.flags.TC)

    def test_rd_copied(self):
        r = self.server.query(n("static"), "A", rd=True)
        self.assertTrue(r.flags & dns.flags.RD, "RD=1 in query must be copied")
        r = self.server.query(n("static"), "A", rd=False)
        self.assertFalse(r.flags & dns.flags.RD, "RD=0 in query must be copied")
        self.assertFalse(r.flags & dns.flags.RA)

    def test_cd_copied(self):
        r = self.server.query(n("static"), "A", cd=True)
        self.assertTrue(r.flags & dns.flags.CD, "CD=1 in query must be copied")
        r = self.server.query(n("static"), "A", cd=False)
        self.assertFalse(r.flags & dns.flags.CD)

    def test_id_echoed(self):
        for id_ in (0, 1, 0x1234, 0xFFFF):
            q = make_query(n("static"), "A", id_=id_)
            resp = self.server.raw_udp(q.to_wire())
            self.assertIsNotNone(resp)
            self.assertEqual(harness.parse_header(resp)["id"], id_)

    def test_question_case_preserved(self):
        qname = "WwW.Lb.ExAmPlE.TeSt."
        for tcp in (False, True):
            q = make_query(qname, "A", id_=4242)
            wire = q.to_wire()
            qlen = len(harness.wire_name(qname)) + 4
            if tcp:
                resp = self.server.raw_tcp(wire)
            else:
                resp = self.server.raw_udp(wire)
            self.assertIsNotNone(resp, "no response (tcp=%s)" % tcp)
            h = harness.parse_header(resp)
            self.assertEqual(h["qd"], 1)
            self.assertEqual(resp[12:12 + qlen], wire[12:12 + qlen],
                             "question section must be byte-identical (letter case) (tcp=%s)" % tcp)
            self.assertEqual(h["rcode"], 0)
            self.assertGreater(h["an"], 0)

    def test_mixed_case_static_name(self):
        r = self.server.query("StAtIc.LB.example.TEST.", "A")
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertEqual(sorted(harness.addresses(r)), ["198.51.100.1", "198.51.100.2"])

    def test_compression(self):
        q = make_query(n("static"), "MX")
        resp = self.server.raw_udp(q.to_wire())
        self.assertIsNotNone(resp)
        r = dns.message.from_wire(resp)
        self.assertEqual(len(r.answer), 1)
        # uncompressed size of the same message
        size = 12
        for rs in r.question:
            size += len(rs.name.to_wire()) + 4
        for section in (r.answer, r.authority, r.additional):
            for rs in section:
                buf = io.BytesIO()
                rs.to_wire(buf, None)
                size += len(buf.getvalue())
        if r.opt is not None:
            size += 11
        qlen = len(harness.wire_name(n("static"))) + 4
        after_q = resp[12 + qlen:]
        self.assertTrue(any(b & 0xC0 == 0xC0 and i + 1 < len(after_q) for i, b in enumerate(after_q)),
                        "no compression pointer in the answer")
        # owner of the MX must be a pointer to the question name (offset 12)
        self.assertEqual(after_q[0:2], b"\xc0\x0c", "answer owner should point to the question")
        self.assertLess(len(resp), size, "response is not shorter than the uncompressed form")
        # MX exchange mail.lb.example.test must also be compressed: rdata shorter than uncompressed
        rdlen = struct.unpack("!H", after_q[10:12])[0]
        self.assertLess(rdlen, 2 + len(harness.wire_name(n("mail"))), "MX exchange not compressed")

    def test_minimal_positive_answer(self):
        r = self.server.query(n("static"), "A")
        self.assertEqual(len(r.authority), 0, "positive answers must not carry NS in authority")
        self.assertEqual(len(r.additional), 0)


class StaticTypes(ServerTestCase, unittest.TestCase):
    scenario = "basic"

    def one(self, name, rdtype):
        r = self.server.query(name, rdtype)
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertTrue(r.flags & dns.flags.AA)
        rs = rrset(r, r.answer, name, rdtype)
        self.assertIsNotNone(rs, "no %s %s in answer:\n%s" % (name, rdtype, r))
        self.assertEqual(len(r.answer), 1, "answer must hold only the requested RRset:\n%s" % r)
        return rs

    def test_a(self):
        rs = self.one(n("static"), "A")
        self.assertEqual(sorted(rd.address for rd in rs), ["198.51.100.1", "198.51.100.2"])
        self.assertEqual(rs.ttl, 3600)

    def test_aaaa(self):
        rs = self.one(n("static"), "AAAA")
        self.assertEqual([rd.address for rd in rs], ["2001:db8:100::1"])

    def test_mx(self):
        rs = self.one(n("static"), "MX")
        self.assertEqual([(rd.preference, rd.exchange.to_text()) for rd in rs], [(10, n("mail"))])

    def test_txt(self):
        rs = self.one(n("static"), "TXT")
        self.assertEqual([rd.strings for rd in rs], [(b"hello world",)])

    def test_srv(self):
        rs = self.one(n("_sip._tcp"), "SRV")
        rd = list(rs)[0]
        self.assertEqual((rd.priority, rd.weight, rd.port, rd.target.to_text()), (10, 60, 5060, n("sip")))

    def test_caa(self):
        rs = self.one(Z + ".", "CAA")
        rd = list(rs)[0]
        self.assertEqual((rd.flags, rd.tag, rd.value), (0, b"issue", b"ca.example.test"))

    def test_ptr(self):
        rs = self.one(n("ptr"), "PTR")
        self.assertEqual(list(rs)[0].target.to_text(), n("static"))

    def test_unknown_type_rfc3597(self):
        r = self.server.query(n("unk"), 65400)
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertEqual(len(r.answer), 1)
        rs = r.answer[0]
        self.assertEqual(rs.rdtype, 65400)
        self.assertEqual(list(rs)[0].data, bytes.fromhex("abcdef"))
        # other type at that name: NODATA
        r = self.server.query(n("unk"), "A")
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertEqual(len(r.answer), 0)

    def test_soa_and_ns_at_apex(self):
        rs = self.one(Z + ".", "SOA")
        rd = list(rs)[0]
        self.assertEqual((rd.serial, rd.refresh, rd.retry, rd.expire, rd.minimum),
                         (2024010101, 7200, 900, 1209600, 300))
        self.assertEqual(rs.ttl, 3600)
        self.assertEqual(rd.mname.to_text(), n("ns1"))
        rs = self.one(Z + ".", "NS")
        self.assertEqual(sorted(rd.target.to_text() for rd in rs), [n("ns1"), n("ns2")])

    def test_owner_inherited_from_previous_line(self):
        rs = self.one(n("ns1"), "AAAA")
        self.assertEqual([rd.address for rd in rs], ["2001:db8::53"])

    def test_owner_case_in_zone_file(self):
        rs = self.one(n("upper"), "A")
        self.assertEqual([rd.address for rd in rs], ["198.51.100.77"])

    def test_ttl_forms(self):
        self.assertEqual(self.one(n("ttl60"), "A").ttl, 60)
        # $TTL, not the previous record's explicit TTL (RFC 2308)
        self.assertEqual(self.one(n("ttldef"), "A").ttl, 3600)
        self.assertEqual(self.one(n("ttlfirst"), "A").ttl, 120)
        self.assertEqual(self.one(n("noclass"), "A").ttl, 120)
        # a later $TTL directive
        self.assertEqual(self.one(n("ttl120"), "A").ttl, 120)

    def test_multiline_parentheses(self):
        rs = self.one(n("multi"), "TXT")
        self.assertEqual([rd.strings for rd in rs], [(b"part one", b"part two")])

    def test_txt_quoting_and_escapes(self):
        rs = self.one(n("esc"), "TXT")
        self.assertEqual([rd.strings for rd in rs],
                         [(b"semi;colon", b'quote"d', b"back\\slash", b"ABC")])

    def test_any_single_rrset(self):
        for tcp in (False, True):
            r = self.server.query(n("static"), "ANY", tcp=tcp)
            self.assertRcode(r, dns.rcode.NOERROR)
            self.assertEqual(len(r.answer), 1,
                             "ANY must return exactly one RRset (tcp=%s):\n%s" % (tcp, r))
            rs = r.answer[0]
            self.assertEqual(rs.name, dns.name.from_text(n("static")))
            types = {"A": 2, "AAAA": 1, "MX": 1, "TXT": 1}
            t = dns.rdatatype.to_text(rs.rdtype)
            self.assertIn(t, types)
            self.assertEqual(len(rs), types[t], "the whole RRset must be returned")


class RefusedAndNotimp(ServerTestCase, unittest.TestCase):
    scenario = "basic"

    def test_out_of_zone_refused(self):
        for name in ("www.example.org.", "example.test.", "test.", ".", "xlb.example.test."):
            r = self.server.query(name, "A")
            self.assertRcode(r, dns.rcode.REFUSED)
            self.assertEqual(len(r.answer), 0)
            self.assertFalse(r.flags & dns.flags.AA, name)

    def test_chaos_version(self):
        for name in ("version.bind.", "VERSION.server."):
            r = self.server.query(name, "TXT", "CH")
            self.assertRcode(r, dns.rcode.NOERROR)
            self.assertEqual(len(r.answer), 1, name)
            rs = r.answer[0]
            self.assertEqual(rs.rdclass, dns.rdataclass.CH)
            self.assertEqual([rd.strings for rd in rs], [(b"gslbd-test-1.0",)], name)

    def test_chaos_id(self):
        for name in ("id.server.", "hostname.bind."):
            r = self.server.query(name, "TXT", "CH")
            self.assertRcode(r, dns.rcode.NOERROR)
            self.assertEqual(len(r.answer), 1, name)
            self.assertEqual([rd.strings for rd in r.answer[0]], [(b"gslbd-test-id",)], name)

    def test_chaos_other_name_refused(self):
        r = self.server.query("authors.bind.", "TXT", "CH")
        self.assertRcode(r, dns.rcode.REFUSED)
        r = self.server.query(n("static"), "TXT", "CH")
        self.assertRcode(r, dns.rcode.REFUSED)

    def test_other_classes_refused(self):
        for cls in (dns.rdataclass.HS, 42, dns.rdataclass.ANY):
            r = self.server.query(n("static"), "A", cls)
            self.assertRcode(r, dns.rcode.REFUSED)
            self.assertEqual(len(r.answer), 0)

    def test_axfr_ixfr_refused(self):
        r = self.server.query(Z + ".", "AXFR", tcp=True)
        self.assertRcode(r, dns.rcode.REFUSED)
        self.assertEqual(len(r.answer), 0)
        r = self.server.query(Z + ".", "AXFR")
        self.assertRcode(r, dns.rcode.REFUSED)
        q = make_query(Z + ".", "IXFR")
        q.authority.append(dns.rrset.from_text(
            Z + ".", 0, "IN", "SOA",
            "ns1.lb.example.test. hostmaster.lb.example.test. 1 7200 900 1209600 300"))
        for tcp in (False, True):
            r = self.server.send(q, tcp=tcp)
            self.assertRcode(r, dns.rcode.REFUSED)
            self.assertEqual(len(r.answer), 0)

    def test_maila_mailb_notimp(self):
        for t in (dns.rdatatype.MAILA, dns.rdatatype.MAILB):
            r = self.server.query(n("static"), t)
            self.assertRcode(r, dns.rcode.NOTIMP)
            self.assertEqual(len(r.answer), 0)

    def test_ipv6_transport(self):
        if not harness.ipv6_usable():
            self.skipTest("::1 not usable")
        for tcp in (False, True):
            r = self.server.query(n("static"), "A", v6=True, tcp=tcp)
            self.assertRcode(r, dns.rcode.NOERROR)
            self.assertTrue(r.flags & dns.flags.AA)
            self.assertEqual(sorted(harness.addresses(r)), ["198.51.100.1", "198.51.100.2"])


class ZoneSyntax(ServerTestCase, unittest.TestCase):
    """Less common RFC 1035 record forms (separate scenario)."""
    scenario = "zonesyntax"

    def a(self, name):
        r = self.server.query(name, "A")
        self.assertEqual(dns.rcode.to_text(r.rcode()), "NOERROR", "%s:\n%s" % (name, r))
        self.assertEqual(len(r.answer), 1)
        return r.answer[0].ttl, [rd.address for rd in r.answer[0]]

    def test_class_before_ttl(self):
        # RFC 1035 5.1: [<class>] [<TTL>] <type> <RDATA>
        self.assertEqual(self.a("classfirst.syntax.test."), (120, ["198.51.100.63"]))

    def test_ttl_before_class_and_inherited_owner(self):
        self.assertEqual(self.a("ttlfirst.syntax.test."), (120, ["198.51.100.64"]))
        r = self.server.query("ttlfirst.syntax.test.", "TXT")
        self.assertEqual(len(r.answer), 1, "owner inherited from the previous line:\n%s" % r)
        self.assertEqual(r.answer[0].ttl, 300)
        self.assertEqual([rd.strings for rd in r.answer[0]], [(b"inherited",)])

    def test_absolute_owner_tabs(self):
        self.assertEqual(self.a("www.syntax.test."), (300, ["198.51.100.66"]))


class ChaosNotConfigured(ServerTestCase, unittest.TestCase):
    scenario = "minimal"

    def test_chaos_refused_without_config(self):
        for name in ("version.bind.", "id.server."):
            r = self.server.query(name, "TXT", "CH")
            self.assertRcode(r, dns.rcode.REFUSED)
            self.assertEqual(len(r.answer), 0)

    def test_minimal_still_answers(self):
        r = self.server.query("static.min.test.", "A")
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertEqual(harness.addresses(r), ["198.51.100.1"])


class Include(ServerTestCase, unittest.TestCase):
    """$INCLUDE relative to the including file's folder; origin handling."""
    scenario = "include"
    Z = "inc.example.test."

    def a(self, name):
        r = self.server.query(name, "A")
        self.assertRcode(r, dns.rcode.NOERROR)
        return harness.addresses(r)

    def test_included_file(self):
        self.assertEqual(self.a("included." + self.Z), ["198.51.100.10"])

    def test_nested_include_relative_to_including_file(self):
        self.assertEqual(self.a("nested." + self.Z), ["198.51.100.11"])

    def test_origin_inside_include(self):
        self.assertEqual(self.a("inner.deep." + self.Z), ["198.51.100.12"])

    def test_origin_restored_after_include(self):
        # RFC 1035: $INCLUDE never changes the parent's relative origin
        self.assertEqual(self.a("after." + self.Z), ["198.51.100.2"])
        self.assertEqual(self.a("before." + self.Z), ["198.51.100.1"])

    def test_include_with_origin_argument(self):
        self.assertEqual(self.a("host.withorigin." + self.Z), ["198.51.100.20"])
        self.assertEqual(self.a("after2." + self.Z), ["198.51.100.3"])


if __name__ == "__main__":
    unittest.main()
