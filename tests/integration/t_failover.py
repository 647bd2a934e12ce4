#!/usr/bin/python3
"""Failover: backup pools, the last resort (fail-open, nodata, servfail),
min_healthy, health state across a SIGHUP reload, and the state file across
a restart.

Timing bounds (see backends.py): down within INTERVAL x FALL + TIMEOUT +
SLACK of the break, up within INTERVAL x RISE + TIMEOUT + SLACK of the repair,
SLACK = 0.5 s; answers are polled every 20 ms."""

import sys
import threading
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))
import backends as B  # noqa: E402
import harness  # noqa: E402
from backends import (DOWN_BOUND, STATE_LINE_RE, UP_BOUND, check, config, member,  # noqa: E402
                      pool)

import dns.rcode  # noqa: E402

WWW = ["www.lb.example.test"]
DR = ["dr.lb.example.test"]


def probe(addr, be, **kw):
    return member(addr, probe_address="127.0.0.1", port=be.port, **kw)


class Backup(B.HealthCase, unittest.TestCase):

    def three(self):
        return [self.backend(B.TCPBackend()) for _ in range(3)]

    def test_backup_pool(self):
        a, b, c = self.three()
        srv = self.start(config(
            [pool("web", WWW, [probe("192.0.2.11", a), probe("192.0.2.12", b)], check="tcp",
                  backup="dr", ttl=60, ttl_degraded=5),
             pool("dr", DR, [probe("192.0.2.21", c)], check="tcp", ttl=40)],
            [check("tcp", "tcp")]))
        w = self.watch(srv)
        self.assertAnswers(w.ask(), ["192.0.2.11", "192.0.2.12"], "primary at start")
        t0 = time.monotonic()
        a.stop()
        _, ans, _ = self.assertWithin(w, lambda x: "192.0.2.11" not in x.addrs, DOWN_BOUND,
                                      "first member down", t0=t0, srv=srv)
        self.assertAnswers(ans, ["192.0.2.12"], "one member left: still the primary pool")
        t0 = time.monotonic()
        b.stop()
        _, ans, seen = self.assertWithin(w, lambda x: "192.0.2.12" not in x.addrs, DOWN_BOUND,
                                         "second member down", t0=t0, srv=srv)
        self.assertAnswers(ans, ["192.0.2.21"], "all members down: the backup pool answers")
        self.assertEqual(ans.ttl, 5, "an answer from the backup has the asking pool's ttl_degraded")
        for x in seen:
            self.assertTrue(x.addrs, "never an empty answer during failover: %r" % x)
        for x in w.during(0.3):
            self.assertAnswers(x, ["192.0.2.21"], "backup answers while the primary is down")
        t0 = time.monotonic()
        a.start()
        _, ans, _ = self.assertWithin(w, lambda x: "192.0.2.11" in x.addrs, UP_BOUND,
                                      "primary member back", t0=t0, srv=srv)
        self.assertAnswers(ans, ["192.0.2.11"], "primary pool answers again once a member is up")
        self.assertEqual(ans.ttl, 5, "still degraded (one member down)")

    def test_backup_chain(self):
        a, b, c = self.three()
        srv = self.start(config(
            [pool("web", WWW, [probe("192.0.2.11", a)], check="tcp", backup="dr"),
             pool("dr", DR, [probe("192.0.2.21", b)], check="tcp", backup="dr2"),
             pool("dr2", ["dr2.lb.example.test"], [probe("192.0.2.31", c)], check="tcp")],
            [check("tcp", "tcp")]))
        w = self.watch(srv)
        self.assertAnswers(w.ask(), ["192.0.2.11"])
        t0 = time.monotonic()
        a.stop()
        b.stop()
        _, ans, seen = self.assertWithin(w, lambda x: x.addrs == {"192.0.2.31"}, DOWN_BOUND,
                                         "web and dr down: dr2 (the backup's backup) answers",
                                         t0=t0, srv=srv)
        self.assertEqual(ans.ttl, 10, "ttl_degraded of web (ttl 30 / 3)")

    def chain_down(self, **kw):
        """web (A, B) with backup dr (C); A, C, then B go down.
        Returns (server, watch) once B's DOWN line is logged."""
        a, b, c = self.three()
        srv = self.start(config(
            [pool("web", WWW, [probe("192.0.2.11", a), probe("192.0.2.12", b)], check="tcp",
                  backup="dr", ttl=60, ttl_degraded=6, **kw),
             pool("dr", DR, [probe("192.0.2.21", c)], check="tcp")],
            [check("tcp", "tcp")]))
        w = self.watch(srv)
        self.assertAnswers(w.ask(), ["192.0.2.11", "192.0.2.12"], "primary at start")
        t0 = time.monotonic()
        a.stop()
        c.stop()
        _, ans, _ = self.assertWithin(w, lambda x: "192.0.2.11" not in x.addrs, DOWN_BOUND,
                                      "first member down", t0=t0, srv=srv)
        self.assertAnswers(ans, ["192.0.2.12"])
        _, line = B.find_line(srv, 0, "DOWN after", c.target, timeout=DOWN_BOUND)
        self.assertIsNotNone(line, "backup member down; log:\n%s" % srv.log())
        start = srv.nlines()
        t0 = time.monotonic()
        b.stop()
        _, line = B.find_line(srv, start, "DOWN after", b.target, timeout=DOWN_BOUND + 0.5)
        self.assertIsNotNone(line, "last primary member down; log:\n%s" % srv.log())
        # the answer path reads the state at once; allow one poll period
        time.sleep(0.05)
        return srv, w

    def test_fail_open_default(self):
        srv, w = self.chain_down()
        for x in w.during(0.3):
            self.assertAnswers(x, ["192.0.2.11", "192.0.2.12"],
                               "whole chain down, default last_resort = fail-open: every member")
            self.assertEqual(x.ttl, 6, "fail-open answer has ttl_degraded")

    def test_last_resort_nodata(self):
        srv, w = self.chain_down(last_resort="nodata")
        for x in w.during(0.3):
            self.assertEqual(x.rcode, dns.rcode.NOERROR, "last_resort nodata: NOERROR: %s" % x.msg)
            self.assertEqual(len(x.msg.answer), 0, "last_resort nodata: no answer: %s" % x.msg)
            soa = harness.rrset(x.msg, x.msg.authority, "lb.example.test.", "SOA")
            self.assertIsNotNone(soa, "NODATA carries the SOA in authority: %s" % x.msg)

    def test_last_resort_servfail(self):
        srv, w = self.chain_down(last_resort="servfail")
        for x in w.during(0.3):
            self.assertEqual(dns.rcode.to_text(x.rcode), "SERVFAIL",
                             "last_resort servfail: %s" % x.msg)

    def test_min_healthy(self):
        a, b, c = self.three()
        srv = self.start(config(
            [pool("web", WWW, [probe("192.0.2.11", a), probe("192.0.2.12", b),
                               probe("192.0.2.13", c)],
                  check="tcp", min_healthy=2, backup="dr", ttl=60, ttl_degraded=4),
             pool("dr", DR, [member("192.0.2.21")])],  # no check: always up
            [check("tcp", "tcp")]))
        w = self.watch(srv)
        self.assertAnswers(w.ask(), ["192.0.2.11", "192.0.2.12", "192.0.2.13"])
        t0 = time.monotonic()
        a.stop()
        _, ans, _ = self.assertWithin(w, lambda x: "192.0.2.11" not in x.addrs, DOWN_BOUND,
                                      "one of three down", t0=t0, srv=srv)
        self.assertAnswers(ans, ["192.0.2.12", "192.0.2.13"], "2 up = min_healthy: primary")
        self.assertEqual(ans.ttl, 4)
        t0 = time.monotonic()
        b.stop()
        _, ans, seen = self.assertWithin(w, lambda x: "192.0.2.12" not in x.addrs, DOWN_BOUND,
                                         "two of three down", t0=t0, srv=srv)
        self.assertAnswers(ans, ["192.0.2.21"], "1 up < min_healthy 2: the backup answers")
        for x in seen:
            self.assertNotEqual(x.addrs, {"192.0.2.13"},
                                "never the lone member when min_healthy = 2: %r" % x)
        t0 = time.monotonic()
        b.start()
        _, ans, _ = self.assertWithin(w, lambda x: "192.0.2.21" not in x.addrs, UP_BOUND,
                                      "back to two members up", t0=t0, srv=srv)
        self.assertAnswers(ans, ["192.0.2.12", "192.0.2.13"])


class Reload(B.HealthCase, unittest.TestCase):

    def test_health_survives_reload(self):
        a = self.backend(B.TCPBackend())
        a.stop()                                         # 11: down
        b = self.backend(B.TCPBackend())                 # 12: up
        c = self.backend(B.TCPBackend())                 # 13: up, removed at reload
        d = self.backend(B.TCPBackend())                 # 14: added, initial down, backend up
        e = self.backend(B.TCPBackend())                 # 15: added, initial up, backend dead
        e.stop()
        checks = [check("tcp", "tcp"), check("cold", "tcp", initial="down")]
        srv = self.start(config(
            [pool("web", WWW, [probe("192.0.2.11", a), probe("192.0.2.12", b),
                               probe("192.0.2.13", c)], check="tcp")], checks))
        w = self.watch(srv)
        t0 = time.monotonic()
        self.assertAnswers(w.ask(), ["192.0.2.11", "192.0.2.12", "192.0.2.13"])
        self.assertWithin(w, lambda x: "192.0.2.11" not in x.addrs, DOWN_BOUND,
                          "dead member goes down", t0=t0, srv=srv)
        _, line = B.find_line(srv, 0, "UP after", timeout=0.0)
        self.assertIsNone(line, "nothing came up")

        # Poll from another socket all through the reload.
        stop = threading.Event()
        seen = []
        poller = self.watch(srv)

        def poll():
            for _ in range(2000):
                if stop.is_set():
                    return
                seen.append(poller.ask())
                time.sleep(0.005)
        th = threading.Thread(target=poll, daemon=True)
        th.start()
        time.sleep(0.1)
        srv.write_conf(config(
            [pool("web", WWW, [probe("192.0.2.11", a), probe("192.0.2.12", b),
                               probe("192.0.2.14", d, check="cold"), probe("192.0.2.15", e)],
                  check="tcp")], checks))
        start = srv.nlines()
        status, text = srv.reload()
        t_reload = time.monotonic()
        self.assertEqual(status, "done", text)
        first = w.ask()
        # 13 removed; 14 added with initial = down; 15 added with initial = up
        self.assertAnswers(first, ["192.0.2.12", "192.0.2.15"],
                           "right after the reload: kept states, new members in their initial state")
        self.assertWithin(w, lambda x: "192.0.2.14" in x.addrs, UP_BOUND,
                          "added member (initial down, backend up) comes up", t0=t_reload, srv=srv)
        self.assertWithin(w, lambda x: "192.0.2.15" not in x.addrs, DOWN_BOUND,
                          "added member (initial up, backend dead) goes down", t0=t_reload, srv=srv)
        time.sleep(0.1)
        stop.set()
        th.join(5)
        self.assertGreater(len(seen), 20, "the poller ran")
        for x in seen:
            self.assertNotIn("192.0.2.11", x.addrs, "the down member never reappears around "
                             "the reload: %r" % x)
            self.assertIn("192.0.2.12", x.addrs, "the up member stays up around the reload: %r" % x)
        self.assertNotIn("192.0.2.13", w.ask().addrs, "the removed member is gone")
        _, line = B.find_line(srv, start, a.target, "UP after", timeout=0.0)
        self.assertIsNone(line, "no flap of the down member in the log: %s" % line)


class StateFile(B.HealthCase, unittest.TestCase):

    def conf(self, a, b, state):
        return config(
            [pool("web", WWW, [probe("192.0.2.11", a), probe("192.0.2.12", b)], check="tcp")],
            [check("tcp", "tcp", initial="up")], 'state_file = "%s";' % state)

    def parse_state(self, text):
        """Lines of a state file: every non-comment line has 3 fields."""
        self.assertTrue(text == "" or text.endswith("\n"), "state file ends with a newline: %r" % text)
        out = []
        for line in text.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            self.assertRegex(line, STATE_LINE_RE, "state file line has 3 fields")
            out.append(line.split())
        return out

    def test_state_file_wins_at_restart(self):
        a = self.backend(B.TCPBackend())
        a.stop()
        b = self.backend(B.TCPBackend())
        state = self.tmp / "gslbd.state"
        conf = self.conf(a, b, state)
        srv = self.start(conf)
        w = self.watch(srv)
        t0 = time.monotonic()
        self.assertAnswers(w.ask(), ["192.0.2.11", "192.0.2.12"], "initial = up")
        self.assertWithin(w, lambda x: x.addrs == {"192.0.2.12"}, DOWN_BOUND,
                          "dead member goes down", t0=t0, srv=srv)
        srv.stop()
        self.assertTrue(state.exists(), "state file written")
        lines = self.parse_state(state.read_text())
        mine = [l for l in lines if a.target in l[1]]
        self.assertTrue(mine, "a line for %s in the state file:\n%s" % (a.target, state.read_text()))
        self.assertEqual(mine[0][2], "down", "saved state: %s" % mine[0])
        leftovers = [p.name for p in self.tmp.iterdir() if p.name.startswith("gslbd.state.")
                     and p.name != "gslbd.state.lock"]
        self.assertEqual(leftovers, [], "no temporary state files left behind")

        srv2 = self.start(conf)
        w2 = self.watch(srv2)
        for x in w2.during(0.5, every=0.01):
            self.assertAnswers(x, ["192.0.2.12"], "the state file wins over initial = up, "
                               "from the very first query")
        _, line = B.find_line(srv2, 0, "UP after", timeout=0.0)
        self.assertIsNone(line)
        # and the member comes back normally
        t0 = time.monotonic()
        a.start()
        self.assertWithin(w2, lambda x: "192.0.2.11" in x.addrs, UP_BOUND,
                          "member known down from the state file comes up", t0=t0, srv=srv2)

    def test_state_file_never_half_written(self):
        a = self.backend(B.TCPBackend())
        b = self.backend(B.TCPBackend())
        state = self.tmp / "gslbd.state"
        srv = self.start(self.conf(a, b, state))
        reads = [0]

        def read_until(want, limit):
            """Read and parse the file every 3 ms until a's state is `want`."""
            t0 = time.monotonic()
            for _ in range(5000):
                try:
                    text = state.read_text()
                except FileNotFoundError:
                    text = None
                if text is not None:
                    reads[0] += 1
                    st = [l[2] for l in self.parse_state(text) if a.target in l[1]]
                    if st and st[0] == want:
                        return True
                if time.monotonic() - t0 > limit:
                    return False
                time.sleep(0.003)
            return False
        # The state is saved (at most) every second when it changed.
        self.assertTrue(read_until("up", 2.5), "the state file records the member up")
        a.stop()
        self.assertTrue(read_until("down", DOWN_BOUND + 2.0), "then down")
        a.start()
        self.assertTrue(read_until("up", UP_BOUND + 2.0), "then up again")
        self.assertGreater(reads[0], 100, "the file was read (and parsed) often")
        self.assertTrue(srv.alive())

if __name__ == "__main__":
    unittest.main()
