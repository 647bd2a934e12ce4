#!/usr/bin/python3
"""Response rate limiting against the real binary: floods of UDP queries from
loopback source addresses (Linux routes all of 127.0.0.0/8 to lo, so a client
socket bound to 127.1.0.1 is a client in 127.1.0.0/24).

Counting: each flood sends queries at a fixed pace from its own sockets and
classifies every response by its id: a full response (no TC), a truncated
one (TC: slipped) or none (dropped). With rate R, slip S and a flood of N
queries over T seconds from one network, the expected counts are
  answered = R * T + R   (the rate, plus the one-second burst of a full bucket)
  truncated = (N - answered) / S,   dropped = the rest,
with a stated tolerance (TOL_REL of the expectation plus TOL_ABS queries: the
pacing of a Python sender and the server's coarse clock, a few ms)."""

import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

GSLBCTL = os.environ.get("GSLBCTL") or str(harness.REPO / "src" / "gslbctl")
if not os.path.isabs(GSLBCTL):
    GSLBCTL = os.path.abspath(GSLBCTL)

RATE = 20      # responses_per_second
ERRORS = 5     # errors_per_second
SLIP = 2
TOL_REL = 0.2
TOL_ABS = 4

ZONE = """$ORIGIN rl.test.
$TTL 300
@    IN SOA ns1 hostmaster 1 3600 600 86400 60
     IN NS  ns1
ns1  IN A   192.0.2.53
www  IN A   192.0.2.80
api  IN A   192.0.2.81
"""

CONF = """listen = [ "127.0.0.1:0" ];
zones = ( { origin = "rl.test"; file = "rl.test.zone"; } );
control = { socket = "ctl.sock"; };
%s
"""

LIMITS = """rate_limit = { responses_per_second = %d; errors_per_second = %d; slip = %d;
  ipv4_prefix = 24; exempt = [ "127.9.0.0/16" ]; %s };""" % (RATE, ERRORS, SLIP, "%s")


def start(limits):
    return harness.start(CONF % limits, files={"rl.test.zone": ZONE}, v6=False)


class Flood:
    """Paced UDP queries from one socket per source address; per-source counts."""

    def __init__(self, srv, sources, qname="www.rl.test", per_source=400, qps=400.0,
                 qtype="A"):
        self.srv, self.sources = srv, list(sources)
        self.qname, self.qtype = qname, qtype
        self.per_source, self.qps = per_source, qps
        self.counts = {}

    def wire(self, i):
        name = self.qname(i) if callable(self.qname) else self.qname
        q = dns.message.make_query(name, self.qtype)
        q.id = i & 0xFFFF
        return q.to_wire()

    def run(self):
        socks = []
        for src in self.sources:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.bind((src, 0))
            s.setblocking(False)
            socks.append(s)
        got = [dict() for _ in socks]
        total = self.per_source * len(socks)
        dest = ("127.0.0.1", self.srv.port)

        def drain():
            for k, s in enumerate(socks):
                while True:
                    try:
                        data = s.recv(4096)
                    except BlockingIOError:
                        break
                    h = harness.parse_header(data)
                    got[k][h["id"]] = h
        t0 = time.monotonic()
        for i in range(total):
            due = t0 + i / self.qps
            while time.monotonic() < due:
                drain()
                time.sleep(0.0003)
            socks[i % len(socks)].sendto(self.wire(i // len(socks)), dest)
        t1 = time.monotonic()
        quiet = time.monotonic() + 0.5
        while time.monotonic() < quiet:
            drain()
            time.sleep(0.01)
        for s in socks:
            s.close()
        self.seconds = t1 - t0
        for src, g in zip(self.sources, got):
            tc = sum(1 for h in g.values() if h["tc"])
            self.counts[src] = {"sent": self.per_source, "answered": len(g) - tc, "tc": tc,
                                "dropped": self.per_source - len(g),
                                "rcodes": {h["rcode"] for h in g.values()}}
        return self

    def total(self, key):
        return sum(c[key] for c in self.counts.values())


def expected(rate, seconds):
    return rate * seconds + rate


class Case(unittest.TestCase):
    server = None
    limits = LIMITS % ""

    @classmethod
    def setUpClass(cls):
        cls.server = start(cls.limits)

    @classmethod
    def tearDownClass(cls):
        if cls.server is not None:
            srv, cls.server = cls.server, None
            srv.stop()

    def stats(self):
        p = subprocess.run([GSLBCTL, "-s", str(self.server.path("ctl.sock")), "stats", "--json"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
        return json.loads(p.stdout)

    def assertAbout(self, got, want, what):
        slack = TOL_REL * want + TOL_ABS
        self.assertTrue(abs(got - want) <= slack, "%s: %s, expected %.1f +- %.1f"
                        % (what, got, want, slack))

    def assertLimited(self, f, src, rate=RATE, slip=SLIP):
        """The flood from src was cut to about the rate, the rest slipped or dropped."""
        c = f.counts[src]
        want = expected(rate, f.seconds)
        self.assertAbout(c["answered"], want, "%s answered in %.2f s" % (src, f.seconds))
        limited = c["sent"] - c["answered"]
        if slip:
            self.assertAbout(c["tc"], limited / slip, "%s truncated (slipped)" % src)
        else:
            self.assertEqual(c["tc"], 0)
        self.assertEqual(c["answered"] + c["tc"] + c["dropped"], c["sent"])


class RateLimit(Case):

    def test_flood_cut_to_rate_plus_slips(self):
        before = self.stats()
        f = Flood(self.server, ["127.1.0.1"], per_source=1000, qps=500).run()
        self.assertLimited(f, "127.1.0.1")
        c = f.counts["127.1.0.1"]
        self.assertEqual(c["rcodes"], {dns.rcode.NOERROR})
        # The server counted what the client saw (loopback loses nothing
        # at this pace; a lost datagram would show as one more drop).
        after = self.stats()
        rl = {k: after["rate_limit"][k] - before["rate_limit"][k] for k in after["rate_limit"]}
        self.assertEqual(rl["limited"], c["sent"] - c["answered"], rl)
        self.assertEqual(rl["slipped"], c["tc"], rl)
        self.assertLessEqual(abs(rl["dropped"] - c["dropped"]), 2, rl)
        text = subprocess.run([GSLBCTL, "-s", str(self.server.path("ctl.sock")), "stats"],
                              capture_output=True, timeout=10).stdout.decode()
        self.assertIn("rate limit: limited %d, slipped %d, dropped %d"
                      % (after["rate_limit"]["limited"], after["rate_limit"]["slipped"],
                         after["rate_limit"]["dropped"]), text)
        # One log line for the episode, naming the network, class and name.
        lines = [l for l in self.server.log().splitlines()
                 if "rate limit: answer responses to 127.1.0.0/24 for www.rl.test." in l]
        self.assertEqual(len(lines), 1, self.server.log()[-3000:])
        self.assertIn("dropped, one in 2 sent truncated", lines[0])

    def test_other_network_answered_during_flood(self):
        f = Flood(self.server, ["127.1.1.1"], per_source=1000, qps=500)
        t = threading.Thread(target=f.run)
        t.start()
        time.sleep(0.3)
        full = 0
        for i in range(20):
            q = dns.message.make_query("www.rl.test", "A")
            r = dns.query.udp(q, "127.0.0.1", port=self.server.port, source="127.2.0.1",
                              timeout=2)
            full += not (r.flags & dns.flags.TC) and len(r.answer) == 1
            time.sleep(0.06)
        t.join()
        self.assertEqual(full, 20, "the other network's queries, all answered in full")
        self.assertLimited(f, "127.1.1.1")

    def test_each_network_its_own_bucket(self):
        sources = ["127.3.%d.1" % k for k in range(1, 6)]
        f = Flood(self.server, sources, per_source=300, qps=1000).run()
        for src in sources:
            self.assertLimited(f, src)
        self.assertAbout(f.total("answered"), 5 * expected(RATE, f.seconds), "all networks")

    def test_one_network_one_bucket(self):
        # Two addresses of one /24, two sockets (which SO_REUSEPORT may hand
        # to different threads): one bucket, so one rate between them.
        f = Flood(self.server, ["127.4.0.1", "127.4.0.2"], per_source=300, qps=400).run()
        self.assertAbout(f.total("answered"), expected(RATE, f.seconds), "127.4.0.0/24")

    def test_tcp_never_limited(self):
        f = Flood(self.server, ["127.5.0.1"], per_source=600, qps=400)
        t = threading.Thread(target=f.run)
        t.start()
        time.sleep(0.5)
        full = 0
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=3,
                                      source_address=("127.5.0.1", 0)) as s:
            for i in range(100):
                q = dns.message.make_query("www.rl.test", "A")
                dns.query.send_tcp(s, q)
                r, _ = dns.query.receive_tcp(s, expiration=time.time() + 3)
                full += not (r.flags & dns.flags.TC) and len(r.answer) == 1
        t.join()
        self.assertEqual(full, 100, "over TCP, during the flood, from the same address")
        self.assertLimited(f, "127.5.0.1")

    def test_exempt_network(self):
        f = Flood(self.server, ["127.9.1.1", "127.6.0.1"], per_source=300, qps=600).run()
        c = f.counts["127.9.1.1"]
        self.assertEqual((c["answered"], c["tc"], c["dropped"]), (300, 0, 0), "exempt")
        self.assertLimited(f, "127.6.0.1")

    def test_random_names_share_the_zone_bucket(self):
        f = Flood(self.server, ["127.7.0.1"], qname=lambda i: "rnd-%d.rl.test" % i,
                  per_source=400, qps=400).run()
        self.assertEqual(f.counts["127.7.0.1"]["rcodes"], {dns.rcode.NXDOMAIN})
        self.assertLimited(f, "127.7.0.1")

    def test_errors_at_their_rate(self):
        f = Flood(self.server, ["127.8.0.1"], qname="example.com", per_source=300,
                  qps=300).run()
        self.assertEqual(f.counts["127.8.0.1"]["rcodes"], {dns.rcode.REFUSED})
        self.assertLimited(f, "127.8.0.1", rate=ERRORS)


class LogOnly(Case):
    limits = LIMITS % "log_only = true;"

    def test_counted_and_logged_not_dropped(self):
        before = self.stats()
        f = Flood(self.server, ["127.1.0.1"], per_source=400, qps=400).run()
        c = f.counts["127.1.0.1"]
        self.assertEqual((c["answered"], c["tc"], c["dropped"]), (400, 0, 0))
        after = self.stats()
        rl = {k: after["rate_limit"][k] - before["rate_limit"][k] for k in after["rate_limit"]}
        self.assertAbout(rl["limited"], 400 - expected(RATE, f.seconds), "limited (log only)")
        self.assertEqual((rl["slipped"], rl["dropped"]), (0, 0))
        lines = [l for l in self.server.log().splitlines() if "rate limit: answer" in l]
        self.assertEqual(len(lines), 1, self.server.log()[-3000:])
        self.assertIn("127.1.0.0/24", lines[0])
        self.assertIn("log_only: still sent", lines[0])


class Reload(Case):

    def test_off_and_on_by_reload(self):
        srv = self.server
        self.assertLimited(Flood(srv, ["127.1.0.1"], per_source=200, qps=400).run(),
                           "127.1.0.1")
        srv.write_conf(CONF % "")
        self.assertEqual(srv.reload()[0], "done")
        c = Flood(srv, ["127.2.0.2"], per_source=200, qps=400).run().counts["127.2.0.2"]
        self.assertEqual((c["answered"], c["tc"], c["dropped"]), (200, 0, 0), "off")
        # Back on with another rate and slip 1: every limited response is TC.
        srv.write_conf(CONF % ("rate_limit = { responses_per_second = 10; slip = 1; };"))
        self.assertEqual(srv.reload()[0], "done")
        f = Flood(srv, ["127.3.0.3"], per_source=200, qps=400).run()
        self.assertLimited(f, "127.3.0.3", rate=10, slip=1)
        self.assertEqual(f.counts["127.3.0.3"]["dropped"], 0)


if __name__ == "__main__":
    unittest.main()
