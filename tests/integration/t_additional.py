#!/usr/bin/python3
"""Additional addresses against the real binary: NS, MX and SRV answers carry
the A/AAAA records of their in-zone targets (the apex NS included), nothing
for targets outside the zone or behind a CNAME; a target that is a pool owner
brings its healthy members, and a member whose backend is stopped leaves the
additional section as it leaves the A answers; over UDP without EDNS the
addresses are left out without TC when they do not fit.

dnspython for most queries; dig and kdig parse the SRV answer, whose address
owners point into the SRV records' (uncompressed) targets."""

import shutil
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))
import backends as B  # noqa: E402
from backends import DOWN_BOUND, UP_BOUND, check, config, member, pool  # noqa: E402

import dns.flags  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402

ORIGIN = "lb.example.test."
HOSTS = ["127.0.0.11", "127.0.0.12", "127.0.0.13"]

ZONE = """; zone for the additional-section tests
$ORIGIN lb.example.test.
$TTL 300
@          IN SOA ns1 hostmaster 2024010101 3600 600 86400 60
           IN NS  ns1
           IN NS  ns2
           IN NS  ns.outside.example.
           IN MX  10 mail
           IN MX  20 www
           IN MX  30 alias
ns1        IN A    192.0.2.53
ns1        IN AAAA 2001:db8::53
ns2        IN A    192.0.2.54
mail       IN A    192.0.2.25
mail       IN AAAA 2001:db8::25
alias      IN CNAME mail
_imap._tcp IN SRV 0 1 143 mail
_imap._tcp IN SRV 0 1 993 www
_imap._tcp IN SRV 0 1 143 mail.outside.example.
""" + "".join("big IN MX %d mx%02d\nmx%02d IN A 192.0.2.%d\nmx%02d IN AAAA 2001:db8:3::%d\n"
              % (i, i, i, 100 + i, i, i) for i in range(1, 21))


def additional(msg):
    """{(owner, type): set of addresses} of the additional section."""
    out = {}
    for rs in msg.additional:
        if rs.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            key = (rs.name.to_text(), dns.rdatatype.to_text(rs.rdtype))
            out.setdefault(key, set()).update(rd.address for rd in rs)
    return out


def pool_addresses(msg):
    return additional(msg).get(("www." + ORIGIN, "A"), set())


class Additional(B.HealthCase, unittest.TestCase):

    def setUp(self):
        super().setUp()
        self.bes = [self.backend(B.TCPBackend(h)) for h in HOSTS]
        self.srv = self.start(
            config([pool("web", ["www.lb.example.test"],
                         [member(h, port=b.port) for h, b in zip(HOSTS, self.bes)],
                         check="tcp")],
                   [check("tcp", "tcp")]),
            files={B.ZONE_NAME: ZONE})

    def query(self, name, rdtype, **kw):
        r = self.srv.query(name, rdtype, **kw)
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertTrue(r.flags & dns.flags.AA)
        self.assertFalse(r.flags & dns.flags.TC)
        return r

    def test_apex_ns(self):
        r = self.query(ORIGIN, "NS")
        self.assertEqual(len(r.answer[0]), 3)
        self.assertEqual(additional(r), {
            ("ns1." + ORIGIN, "A"): {"192.0.2.53"},
            ("ns1." + ORIGIN, "AAAA"): {"2001:db8::53"},
            ("ns2." + ORIGIN, "A"): {"192.0.2.54"},
        }, "in-zone targets only")
        self.assertEqual(r.authority, [], "still no NS in authority")

    def test_mx_static_pool_and_cname(self):
        r = self.query(ORIGIN, "MX")
        self.assertEqual(len(r.answer[0]), 3)
        self.assertEqual(additional(r), {
            ("mail." + ORIGIN, "A"): {"192.0.2.25"},
            ("mail." + ORIGIN, "AAAA"): {"2001:db8::25"},
            ("www." + ORIGIN, "A"): set(HOSTS),
        }, "the CNAME target brings nothing")
        self.assertEqual([rs.ttl for rs in r.additional if rs.name.to_text() == "www." + ORIGIN],
                         [30], "the pool's TTL")

    def test_srv_parsed_by_dig_and_kdig(self):
        r = self.query("_imap._tcp." + ORIGIN, "SRV")
        self.assertEqual(set(additional(r)), {("mail." + ORIGIN, "A"), ("mail." + ORIGIN, "AAAA"),
                                              ("www." + ORIGIN, "A")})
        host, port = self.srv.addr()
        for tool, args in (("dig", ["+norec", "+noall", "+additional"]),
                           ("kdig", ["+norec", "+noall", "+additional"])):
            if not shutil.which(tool):
                continue
            p = subprocess.run([tool, "@" + host, "-p", str(port), *args,
                                "_imap._tcp." + ORIGIN, "SRV"],
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(p.returncode, 0, p.stderr)
            lines = [l.split() for l in p.stdout.splitlines() if l and not l.startswith(";")]
            seen = {(l[0], l[3], l[4]) for l in lines if len(l) >= 5}
            expect = {("mail." + ORIGIN, "A", "192.0.2.25"),
                      ("mail." + ORIGIN, "AAAA", "2001:db8::25")}
            expect |= {("www." + ORIGIN, "A", h) for h in HOSTS}
            self.assertEqual(seen, expect, "%s:\n%s" % (tool, p.stdout))

    def test_stopped_backend_leaves_the_additional_section(self):
        victim = HOSTS[1]
        self.assertEqual(pool_addresses(self.query(ORIGIN, "MX")), set(HOSTS))
        self.bes[1].stop()
        deadline = time.monotonic() + DOWN_BOUND + 1.0
        while pool_addresses(self.query(ORIGIN, "MX")) != set(HOSTS) - {victim}:
            self.assertLess(time.monotonic(), deadline,
                            "%s still in the MX answer's additional section" % victim)
            time.sleep(0.02)
        r = self.query("_imap._tcp." + ORIGIN, "SRV")
        self.assertEqual(pool_addresses(r), set(HOSTS) - {victim}, "SRV too")
        a = self.query("www." + ORIGIN, "A")
        self.assertEqual({rd.address for rd in a.answer[0]}, set(HOSTS) - {victim},
                         "as the A answer")
        self.bes[1].start()
        deadline = time.monotonic() + UP_BOUND + 1.0
        while pool_addresses(self.query(ORIGIN, "MX")) != set(HOSTS):
            self.assertLess(time.monotonic(), deadline, "%s does not come back" % victim)
            time.sleep(0.02)

    def test_dropped_without_tc_when_too_big(self):
        r = self.srv.query("big." + ORIGIN, "MX")  # UDP, no EDNS: 512 octets
        self.assertFalse(r.flags & dns.flags.TC)
        self.assertEqual(len(r.answer[0]), 20)
        self.assertEqual(r.additional, [])
        r = self.srv.query("big." + ORIGIN, "MX", tcp=True)
        self.assertEqual(len(additional(r)), 40)


if __name__ == "__main__":
    unittest.main()
