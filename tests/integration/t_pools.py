#!/usr/bin/python3
"""Pools: A/AAAA members, pool TTL, NODATA for a missing family,
round-robin rotation, `answers`, weighted draws, shared and mixed owners."""

import collections
import socket
import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from harness import ServerTestCase, make_query, rrset  # noqa: E402

import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.name  # noqa: E402
import dns.rcode  # noqa: E402

Z = "lb.example.test."


class Pools(ServerTestCase, unittest.TestCase):
    scenario = "basic"

    def setUp(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(2.0)
        self.sock.connect(self.server.addr())
        self.next_id = 1

    def tearDown(self):
        self.sock.close()

    def raw(self, name, rdtype="A"):
        """One UDP query from this test's socket; (wire response, parsed)."""
        self.next_id = (self.next_id + 1) & 0xFFFF
        q = make_query(name, rdtype, id_=self.next_id)
        for _attempt in range(2):
            self.sock.send(q.to_wire())
            try:
                for _stale in range(50):  # skip late answers to earlier queries
                    data = self.sock.recv(65535)
                    r = dns.message.from_wire(data)
                    if r.id == q.id:
                        return data, r
            except socket.timeout:
                continue
        self.fail("no answer for %s %s" % (name, rdtype))

    def test_a_members_only(self):
        _, r = self.raw("www." + Z, "A")
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertTrue(r.flags & dns.flags.AA)
        self.assertEqual(len(r.answer), 1)
        rs = rrset(r, r.answer, "www." + Z, "A")
        self.assertIsNotNone(rs)
        self.assertEqual(sorted(rd.address for rd in rs), ["192.0.2.1", "192.0.2.2", "192.0.2.3"])
        self.assertEqual(rs.ttl, 20, "pool ttl")
        self.assertEqual(len(r.authority), 0)

    def test_aaaa_members_only(self):
        _, r = self.raw("www." + Z, "AAAA")
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertEqual(len(r.answer), 1)
        rs = rrset(r, r.answer, "www." + Z, "AAAA")
        self.assertEqual(sorted(rd.address for rd in rs), ["2001:db8::1", "2001:db8::2"])
        self.assertEqual(rs.ttl, 20)

    def test_default_ttl_30(self):
        _, r = self.raw("v4." + Z, "A")
        self.assertEqual(r.answer[0].ttl, 30)

    def test_missing_family_nodata(self):
        _, r = self.raw("v4." + Z, "AAAA")
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertTrue(r.flags & dns.flags.AA)
        self.assertEqual(len(r.answer), 0)
        soa = rrset(r, r.authority, Z, "SOA")
        self.assertIsNotNone(soa, "NODATA carries the SOA:\n%s" % r)
        self.assertEqual(soa.ttl, 300)

    def test_other_type_at_pool_name_nodata(self):
        _, r = self.raw("www." + Z, "MX")
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertEqual(len(r.answer), 0)
        self.assertIsNotNone(rrset(r, r.authority, Z, "SOA"))

    def test_below_pool_name_nxdomain(self):
        _, r = self.raw("x.www." + Z, "A")
        self.assertRcode(r, dns.rcode.NXDOMAIN)

    def test_shared_pool_two_owners(self):
        for owner in ("www." + Z, "www2." + Z, "WWW2.lb.EXAMPLE.test."):
            _, r = self.raw(owner, "A")
            self.assertRcode(r, dns.rcode.NOERROR)
            self.assertEqual(sorted(harness.addresses(r)), ["192.0.2.1", "192.0.2.2", "192.0.2.3"], owner)
            self.assertEqual(r.answer[0].name, dns.name.from_text(owner))

    def test_pool_next_to_static_txt(self):
        _, r = self.raw("mixed." + Z, "A")
        self.assertEqual(harness.addresses(r), ["192.0.2.71"])
        _, r = self.raw("mixed." + Z, "AAAA")
        self.assertEqual(harness.addresses(r, "AAAA"), ["2001:db8::71"])
        _, r = self.raw("mixed." + Z, "TXT")
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertEqual(len(r.answer), 1)
        self.assertEqual([rd.strings for rd in r.answer[0]], [(b"static txt next to pool",)])

    def test_pool_over_tcp(self):
        r = self.server.query("www." + Z, "A", tcp=True)
        self.assertEqual(len(harness.addresses(r)), 3)

    def test_round_robin_rotates(self):
        members = ["192.0.2.31", "192.0.2.32", "192.0.2.33"]
        orders = []
        for _ in range(12):
            data, r = self.raw("rr." + Z, "A")
            addrs = harness.answer_addresses_raw(data)
            self.assertEqual(sorted(addrs), members, "all members in every answer")
            orders.append(addrs)
        # every answer is a rotation of the same cyclic order
        base = orders[0]
        rotations = [base[i:] + base[:i] for i in range(len(base))]
        for o in orders:
            self.assertIn(o, rotations, "answer %s is not a rotation of %s" % (o, base))
        firsts = [o[0] for o in orders]
        for a, b in zip(firsts, firsts[1:]):
            self.assertNotEqual(a, b, "consecutive responses must rotate: firsts %s" % firsts)
        # the first address cycles through all members
        for i in range(0, 12 - 2):
            self.assertEqual(sorted(firsts[i:i + 3]), members, "firsts %s" % firsts)

    def test_answers_limit(self):
        seen = collections.Counter()
        firsts = []
        for _ in range(8):
            data, r = self.raw("two." + Z, "A")
            addrs = harness.answer_addresses_raw(data)
            self.assertEqual(len(addrs), 2, "answers = 2: %s" % addrs)
            self.assertEqual(len(set(addrs)), 2)
            seen.update(addrs)
            firsts.append(addrs[0])
        self.assertEqual(sorted(seen), ["192.0.2.41", "192.0.2.42", "192.0.2.43", "192.0.2.44"],
                         "rotation must reach every member")
        self.assertEqual(len(set(firsts[:4])), 4, "first address cycles: %s" % firsts)

    def test_weighted_proportion(self):
        # weights 1:3 -> P(192.0.2.51) = 0.25.  n = 2000 gives sigma ~ 0.0097;
        # tolerance +-0.04 is ~4 sigma (false failure odds ~ 1e-4).
        n = 2000
        c = collections.Counter()
        for _ in range(n):
            data, r = self.raw("wt." + Z, "A")
            addrs = harness.answer_addresses_raw(data)
            self.assertEqual(len(addrs), 1, "weighted default answers = 1")
            c[addrs[0]] += 1
        self.assertEqual(set(c), {"192.0.2.51", "192.0.2.52"})
        p = c["192.0.2.51"] / n
        self.assertAlmostEqual(p, 0.25, delta=0.04, msg="share of weight-1 member: %.3f" % p)

    def test_weighted_no_duplicates(self):
        c = collections.Counter()
        for _ in range(300):
            data, r = self.raw("wt2." + Z, "A")
            addrs = harness.answer_addresses_raw(data)
            self.assertEqual(len(addrs), 2, "answers = 2: %s" % addrs)
            self.assertEqual(len(set(addrs)), 2, "duplicate member in weighted answer: %s" % addrs)
            c.update(addrs)
        # the heavy member is (nearly) always there; both light ones show up
        self.assertGreaterEqual(c["192.0.2.63"], 298)
        self.assertGreater(c["192.0.2.61"], 0)
        self.assertGreater(c["192.0.2.62"], 0)


if __name__ == "__main__":
    unittest.main()
