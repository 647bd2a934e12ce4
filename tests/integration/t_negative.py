#!/usr/bin/python3
"""NXDOMAIN / NODATA: SOA in authority with the RFC 2308 TTL, empty
non-terminals, names below existing names, negative answers in a child zone
whose SOA TTL is smaller than its MINIMUM."""

import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from harness import ServerTestCase  # noqa: E402

import dns.flags  # noqa: E402
import dns.name  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402

Z = "lb.example.test."
CHILD = "child.lb.example.test."


class Negative(ServerTestCase, unittest.TestCase):
    scenario = "basic"

    def check_negative(self, qname, rdtype, rcode, zone=Z, ttl=300, **kw):
        r = self.server.query(qname, rdtype, **kw)
        self.assertRcode(r, rcode)
        self.assertTrue(r.flags & dns.flags.AA, "AA must be set on %s %s" % (qname, rdtype))
        self.assertEqual(len(r.answer), 0, "answer must be empty:\n%s" % r)
        self.assertEqual(len(r.authority), 1, "authority must hold exactly the SOA:\n%s" % r)
        soa = r.authority[0]
        self.assertEqual(soa.rdtype, dns.rdatatype.SOA)
        self.assertEqual(soa.name, dns.name.from_text(zone))
        self.assertEqual(len(soa), 1)
        self.assertEqual(soa.ttl, ttl, "SOA TTL must be min(SOA TTL, MINIMUM) = %d" % ttl)
        return r

    def test_nxdomain(self):
        r = self.check_negative("nope." + Z, "A", dns.rcode.NXDOMAIN)
        # the SOA rdata itself is unchanged (MINIMUM still 300)
        self.assertEqual(list(r.authority[0])[0].minimum, 300)
        self.assertEqual(len(r.additional), 0)

    def test_nxdomain_below_existing_name(self):
        self.check_negative("x.static." + Z, "A", dns.rcode.NXDOMAIN)
        self.check_negative("deep.er.nope." + Z, "AAAA", dns.rcode.NXDOMAIN)

    def test_nxdomain_other_types(self):
        for t in ("TXT", "MX", "AAAA", "SOA", "NS"):
            self.check_negative("nope." + Z, t, dns.rcode.NXDOMAIN)

    def test_nodata(self):
        self.check_negative("mail." + Z, "AAAA", dns.rcode.NOERROR)
        self.check_negative("static." + Z, "SRV", dns.rcode.NOERROR)
        self.check_negative(Z, "A", dns.rcode.NOERROR)

    def test_nodata_tcp(self):
        self.check_negative("mail." + Z, "TXT", dns.rcode.NOERROR, tcp=True)
        self.check_negative("nope." + Z, "A", dns.rcode.NXDOMAIN, tcp=True)

    def test_empty_non_terminal_is_nodata(self):
        self.check_negative("b.c." + Z, "A", dns.rcode.NOERROR)
        self.check_negative("c." + Z, "A", dns.rcode.NOERROR)
        self.check_negative("c." + Z, "TXT", dns.rcode.NOERROR)

    def test_below_ent_is_nxdomain(self):
        self.check_negative("x.b.c." + Z, "A", dns.rcode.NXDOMAIN)
        self.check_negative("z.c." + Z, "A", dns.rcode.NXDOMAIN)

    def test_existing_name_under_ent(self):
        r = self.server.query("a.b.c." + Z, "A")
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertEqual(harness.addresses(r), ["198.51.100.3"])

    def test_negative_with_edns(self):
        r = self.check_negative("nope." + Z, "A", dns.rcode.NXDOMAIN, edns=0)
        self.assertEqual(r.edns, 0)

    def test_child_zone_negative_ttl_soa_ttl_smaller(self):
        # child zone: SOA TTL 60 < MINIMUM 600 -> 60
        r = self.check_negative("nope." + CHILD, "A", dns.rcode.NXDOMAIN, zone=CHILD, ttl=60)
        self.assertEqual(list(r.authority[0])[0].minimum, 600)
        self.check_negative("www." + CHILD, "AAAA", dns.rcode.NOERROR, zone=CHILD, ttl=60)

    def test_case_insensitive_negative(self):
        self.check_negative("NoPe." + Z.upper(), "A", dns.rcode.NXDOMAIN)


if __name__ == "__main__":
    unittest.main()
