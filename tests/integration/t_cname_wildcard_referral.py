#!/usr/bin/python3
"""CNAME chains, wildcards (RFC 4592), delegations/referrals, and a child
zone served by the same server."""

import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from harness import ServerTestCase, rrset  # noqa: E402

import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.name  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402

Z = "lb.example.test."
CHILD = "child.lb.example.test."


def N(s):
    return dns.name.from_text(s)


def chain(r):
    """[(owner, target)] of the CNAMEs in the answer, in wire order."""
    out = []
    for rs in r.answer:
        if rs.rdtype == dns.rdatatype.CNAME:
            for rd in rs:
                out.append((rs.name.to_text(), rd.target.to_text()))
    return out


class Cname(ServerTestCase, unittest.TestCase):
    scenario = "basic"

    def test_chain_inside_zone(self):
        r = self.server.query("cname1." + Z, "A")
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertTrue(r.flags & dns.flags.AA)
        types = [(rs.name.to_text(), dns.rdatatype.to_text(rs.rdtype)) for rs in r.answer]
        self.assertEqual(types, [("cname1." + Z, "CNAME"), ("cname2." + Z, "CNAME"),
                                 ("static." + Z, "A")], "chain records in order:\n%s" % r)
        self.assertEqual(chain(r), [("cname1." + Z, "cname2." + Z), ("cname2." + Z, "static." + Z)])
        self.assertEqual(sorted(harness.addresses(r)), ["198.51.100.1", "198.51.100.2"])
        self.assertEqual(len(r.authority), 0)

    def test_chain_other_type(self):
        r = self.server.query("cname1." + Z, "MX")
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertEqual([dns.rdatatype.to_text(rs.rdtype) for rs in r.answer], ["CNAME", "CNAME", "MX"])

    def test_chain_ends_in_nodata(self):
        r = self.server.query("cname1." + Z, "SRV")
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertEqual(len(chain(r)), 2)
        self.assertEqual(len(r.answer), 2)
        soa = rrset(r, r.authority, Z, "SOA")
        self.assertIsNotNone(soa, "NODATA at the end of a chain carries the SOA:\n%s" % r)

    def test_dangling_cname_nxdomain(self):
        # RFC 6604: the rcode is that of the last name in the chain
        r = self.server.query("dangling." + Z, "A")
        self.assertRcode(r, dns.rcode.NXDOMAIN)
        self.assertEqual(chain(r), [("dangling." + Z, "nothere." + Z)])
        self.assertIsNotNone(rrset(r, r.authority, Z, "SOA"))

    def test_chain_to_pool(self):
        r = self.server.query("topool." + Z, "A")
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertEqual(chain(r), [("topool." + Z, "www." + Z)])
        self.assertEqual(r.answer[0].rdtype, dns.rdatatype.CNAME)
        a = rrset(r, r.answer, "www." + Z, "A")
        self.assertIsNotNone(a, "pool A records after the CNAME:\n%s" % r)
        self.assertEqual(sorted(rd.address for rd in a), ["192.0.2.1", "192.0.2.2", "192.0.2.3"])
        self.assertEqual(a.ttl, 20)
        r = self.server.query("topool." + Z, "AAAA")
        self.assertEqual(sorted(harness.addresses(r, "AAAA")), ["2001:db8::1", "2001:db8::2"])

    def test_loop_terminates(self):
        for name, expect in (("loop1." + Z, {("loop1." + Z, "loop2." + Z), ("loop2." + Z, "loop1." + Z)}),
                             ("selfloop." + Z, {("selfloop." + Z, "selfloop." + Z)})):
            for tcp in (False, True):
                r = self.server.query(name, "A", tcp=tcp, timeout=3)
                self.assertRcode(r, dns.rcode.NOERROR)
                c = chain(r)
                self.assertEqual(set(c), expect, "loop CNAMEs:\n%s" % r)
                self.assertEqual(len(c), len(expect), "no CNAME repeated:\n%s" % r)
                self.assertEqual(c[0][0], name)
        self.assertAlive()

    def test_long_chain_bounded(self):
        # chain1 -> ... -> chain13 A: 12 links; "up to 8 links" are followed
        r = self.server.query("chain1." + Z, "A", tcp=True)
        self.assertNotEqual(r.rcode(), dns.rcode.SERVFAIL)
        c = chain(r)
        self.assertIn(len(c), (8, 9), "chain must stop after 8 links:\n%s" % r)
        self.assertEqual(c[0], ("chain1." + Z, "chain2." + Z))
        self.assertEqual(harness.addresses(r), [], "the A at link 12 must not be reached")
        # a chain within the limit resolves fully
        r = self.server.query("chain8." + Z, "A")
        self.assertEqual(len(chain(r)), 5)
        self.assertEqual(harness.addresses(r), ["198.51.100.113"])

    def test_out_of_zone_target(self):
        r = self.server.query("external." + Z, "A")
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertTrue(r.flags & dns.flags.AA)
        self.assertEqual(len(r.answer), 1)
        self.assertEqual(chain(r), [("external." + Z, "www.example.org.")])

    def test_qtype_cname(self):
        r = self.server.query("cname1." + Z, "CNAME")
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertEqual(len(r.answer), 1, "qtype CNAME: just the CNAME:\n%s" % r)
        self.assertEqual(chain(r), [("cname1." + Z, "cname2." + Z)])

    def test_chain_into_child_zone(self):
        # "CNAMEs are followed inside the served zones": also into another served zone
        r = self.server.query("tochild." + Z, "A")
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertEqual(chain(r), [("tochild." + Z, "www." + CHILD)])
        self.assertEqual(harness.addresses(r), ["203.0.113.10"])

    def test_chain_into_wildcard(self):
        r = self.server.query("towild." + Z, "A")
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertEqual(chain(r), [("towild." + Z, "foo.wild." + Z)])
        a = rrset(r, r.answer, "foo.wild." + Z, "A")
        self.assertIsNotNone(a, "synthesized A after the CNAME:\n%s" % r)
        self.assertEqual([rd.address for rd in a], ["198.51.100.80"])


class Wildcard(ServerTestCase, unittest.TestCase):
    scenario = "basic"

    def synth(self, qname, rdtype, expect):
        r = self.server.query(qname, rdtype)
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertTrue(r.flags & dns.flags.AA)
        self.assertEqual(len(r.answer), 1, "answer:\n%s" % r)
        rs = r.answer[0]
        self.assertEqual(rs.name, N(qname), "owner must be the qname")
        self.assertEqual(dns.rdatatype.to_text(rs.rdtype), rdtype)
        self.assertEqual([rd.to_text() for rd in rs], expect)
        return r

    def test_synthesized_one_label(self):
        self.synth("foo.wild." + Z, "A", ["198.51.100.80"])
        self.synth("foo.wild." + Z, "TXT", ['"wildcard"'])

    def test_synthesized_two_labels(self):
        self.synth("a.b.wild." + Z, "A", ["198.51.100.80"])

    def test_owner_is_qname_raw(self):
        q = harness.make_query("FoO.wild." + Z, "A", id_=7)
        resp = self.server.raw_udp(q.to_wire())
        self.assertIsNotNone(resp)
        r = dns.message.from_wire(resp)
        self.assertEqual(r.answer[0].name, N("foo.wild." + Z))
        self.assertNotIn(b"\x01*", resp, "the '*' label must not appear in the synthesized answer")

    def test_existing_name_not_synthesized(self):
        r = self.server.query("exists.wild." + Z, "A")
        self.assertEqual(harness.addresses(r), ["198.51.100.81"])
        # exists.wild has no TXT: NODATA, the wildcard TXT does not apply
        r = self.server.query("exists.wild." + Z, "TXT")
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertEqual(len(r.answer), 0, "existing name must not be synthesized:\n%s" % r)
        self.assertIsNotNone(rrset(r, r.authority, Z, "SOA"))

    def test_ent_not_synthesized(self):
        # x.ent.wild exists, so ent.wild is an empty non-terminal: NODATA
        r = self.server.query("ent.wild." + Z, "A")
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertEqual(len(r.answer), 0, "ENT must not be synthesized:\n%s" % r)
        self.assertIsNotNone(rrset(r, r.authority, Z, "SOA"))

    def test_below_existing_name_nxdomain(self):
        # closest encloser is exists.wild / ent.wild, which have no '*' child
        for name in ("sub.exists.wild." + Z, "y.ent.wild." + Z):
            r = self.server.query(name, "A")
            self.assertRcode(r, dns.rcode.NXDOMAIN)
            self.assertEqual(len(r.answer), 0)

    def test_wildcard_nodata(self):
        r = self.server.query("foo.wild." + Z, "MX")
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertEqual(len(r.answer), 0)
        soa = rrset(r, r.authority, Z, "SOA")
        self.assertIsNotNone(soa, "wildcard NODATA carries the SOA:\n%s" % r)
        self.assertEqual(soa.ttl, 300)

    def test_star_queried_directly(self):
        self.synth("*.wild." + Z, "A", ["198.51.100.80"])

    def test_wild_parent_itself(self):
        # wild. is an ENT (only children): NODATA, not synthesized
        r = self.server.query("wild." + Z, "A")
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertEqual(len(r.answer), 0)

    def test_no_wildcard_elsewhere(self):
        r = self.server.query("foo.nowild." + Z, "A")
        self.assertRcode(r, dns.rcode.NXDOMAIN)


class Referral(ServerTestCase, unittest.TestCase):
    scenario = "basic"

    def check_referral(self, qname, rdtype="A", **kw):
        r = self.server.query(qname, rdtype, **kw)
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertFalse(r.flags & dns.flags.AA, "AA must be clear on a referral")
        self.assertEqual(len(r.answer), 0, "answer must be empty:\n%s" % r)
        ns = rrset(r, r.authority, "sub." + Z, "NS")
        self.assertIsNotNone(ns, "NS of sub in authority:\n%s" % r)
        self.assertEqual(sorted(rd.target.to_text() for rd in ns), ["ns.outside.test.", "ns.sub." + Z])
        self.assertEqual(len(r.authority), 1, "only the NS RRset in authority:\n%s" % r)
        a = rrset(r, r.additional, "ns.sub." + Z, "A")
        aaaa = rrset(r, r.additional, "ns.sub." + Z, "AAAA")
        self.assertIsNotNone(a, "glue A in additional:\n%s" % r)
        self.assertIsNotNone(aaaa, "glue AAAA in additional:\n%s" % r)
        self.assertEqual([rd.address for rd in a], ["192.0.2.200"])
        self.assertEqual([rd.address for rd in aaaa], ["2001:db8::200"])
        for rs in r.additional:
            self.assertNotEqual(rs.name, N("ns.outside.test."))
        return r

    def test_at_delegation(self):
        self.check_referral("sub." + Z, "A")
        self.check_referral("sub." + Z, "NS")
        self.check_referral("sub." + Z, "SOA")

    def test_below_delegation(self):
        self.check_referral("host.sub." + Z, "A")
        self.check_referral("deep.host.sub." + Z, "AAAA")
        self.check_referral("host.sub." + Z, "TXT", tcp=True)

    def test_glue_name_itself_is_referral(self):
        self.check_referral("ns.sub." + Z, "A")

    def test_referral_with_edns(self):
        r = self.check_referral("host.sub." + Z, "A", edns=0)
        self.assertEqual(r.edns, 0)

    def test_ds_at_delegation_answered_by_parent(self):
        # as NSD/Knot: DS belongs to the parent side -> authoritative NODATA
        r = self.server.query("sub." + Z, "DS")
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertTrue(r.flags & dns.flags.AA)
        self.assertEqual(len(r.answer), 0)
        self.assertIsNotNone(rrset(r, r.authority, Z, "SOA"))


class ChildZone(ServerTestCase, unittest.TestCase):
    scenario = "basic"

    def test_name_in_child_answered_authoritatively(self):
        r = self.server.query("www." + CHILD, "A")
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertTrue(r.flags & dns.flags.AA, "child zone is served: AA, not a referral")
        self.assertEqual(harness.addresses(r), ["203.0.113.10"])

    def test_child_apex(self):
        r = self.server.query(CHILD, "SOA")
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertTrue(r.flags & dns.flags.AA)
        soa = rrset(r, r.answer, CHILD, "SOA")
        self.assertIsNotNone(soa)
        self.assertEqual(soa.ttl, 60)
        r = self.server.query(CHILD, "NS")
        self.assertTrue(r.flags & dns.flags.AA)
        ns = rrset(r, r.answer, CHILD, "NS")
        self.assertIsNotNone(ns, "child apex NS in the answer section:\n%s" % r)
        self.assertEqual([rd.target.to_text() for rd in ns], ["ns1." + CHILD])

    def test_child_nxdomain_uses_child_soa(self):
        r = self.server.query("nope." + CHILD, "A")
        self.assertRcode(r, dns.rcode.NXDOMAIN)
        self.assertTrue(r.flags & dns.flags.AA)
        self.assertIsNotNone(rrset(r, r.authority, CHILD, "SOA"))


if __name__ == "__main__":
    unittest.main()
