#!/usr/bin/python3
"""Health checks against real loopback backends: every probe kind takes a
broken member out of the answers and brings it back within the bounds its
check's interval/timeout/rise/fall allow; the state-change log line; a hung
backend goes down at the timeout without delaying DNS answers; initial
"down"; the degraded TTL.

Timing bounds (see backends.py): down within INTERVAL x FALL + TIMEOUT +
SLACK of the break, up within INTERVAL x RISE + TIMEOUT + SLACK of the repair,
SLACK = 0.5 s; answers are polled every 20 ms."""

import gc
import os
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))
import backends as B  # noqa: E402
from backends import (DOWN_BOUND, DOWN_LOWER, FALL, INTERVAL, RISE, SLACK, STABLE,  # noqa: E402
                      TIMEOUT, UP_BOUND, UP_LOWER, check, config, member, pool)

import dns.rcode  # noqa: E402

WWW = ["www.lb.example.test"]


class ProbeKinds(B.HealthCase, unittest.TestCase):
    """One pool of three members per kind; one backend is broken and repaired."""

    def cycle(self, srv, addrs, victim, brk, restore, kind, target, reasons, lower=True):
        """Run the break/repair cycle. `reasons`: substrings of which at least
        one must be in the DOWN line (case-insensitive). `lower`: also check
        that FALL/RISE results took at least about an interval apart."""
        w = self.watch(srv)
        a = w.ask()
        self.assertAnswers(a, addrs, "at start every member is answered")
        # Probes succeed against healthy backends: nothing goes down over
        # more than FALL intervals.
        for a in w.during(STABLE):
            self.assertAnswers(a, addrs, "healthy backends stay up (%s probes must succeed)" % kind)
        others = set(addrs) - {victim}

        start = srv.nlines()
        t0 = time.monotonic()
        brk()
        _, a, seen = self.assertWithin(w, lambda a: victim not in a.addrs, DOWN_BOUND,
                                       "%s: broken member %s leaves the answers" % (kind, victim),
                                       t0=t0, lower=DOWN_LOWER if lower else None, srv=srv)
        for s in seen:
            self.assertTrue(others <= s.addrs, "healthy members stay answered: %r" % s)
        self.assertAnswers(a, others, "%s: after the break" % kind)

        _, line = B.find_line(srv, start, "DOWN after %d failures" % FALL, target, timeout=1.0)
        self.assertIsNotNone(line, "no 'DOWN after %d failures' log line naming %s; log:\n%s"
                             % (FALL, target, srv.log(start)))
        self.assertRegex(line, r"\b%s\b" % kind, "the DOWN line names the check kind")
        self.assertTrue(any(r.lower() in line.lower() for r in reasons),
                        "the DOWN line gives the reason (one of %s): %r" % (reasons, line))

        # It stays down while broken (no flapping).
        for a in w.during(0.4):
            self.assertAnswers(a, others, "%s: member stays down while broken" % kind)

        start = srv.nlines()
        t1 = time.monotonic()
        restore()
        _, a, seen = self.assertWithin(w, lambda a: victim in a.addrs, UP_BOUND,
                                       "%s: repaired member %s comes back" % (kind, victim),
                                       t0=t1, lower=UP_LOWER if lower else None, srv=srv)
        self.assertAnswers(a, addrs, "%s: after the repair" % kind)
        _, line = B.find_line(srv, start, "UP after %d successes" % RISE, target, timeout=1.0)
        self.assertIsNotNone(line, "no 'UP after %d successes' log line naming %s; log:\n%s"
                             % (RISE, target, srv.log(start)))
        self.assertRegex(line, r"\b%s\b" % kind)
        return w

    def test_tcp(self):
        hosts = ["127.0.0.11", "127.0.0.12", "127.0.0.13"]
        bes = [self.backend(B.TCPBackend(h)) for h in hosts]
        srv = self.start(config(
            [pool("web", WWW, [member(h, port=b.port) for h, b in zip(hosts, bes)], check="tcp")],
            [check("tcp", "tcp")]))
        self.cycle(srv, hosts, hosts[1], bes[1].stop, bes[1].start, "tcp", bes[1].target,
                   ["connection refused"])
        self.assertGreater(bes[0].accepted, 0)

    def test_http_status(self):
        bes = [self.backend(B.HTTPBackend()) for _ in range(3)]
        addrs = ["192.0.2.21", "192.0.2.22", "192.0.2.23"]
        srv = self.start(config(
            [pool("web", WWW, [member(a, probe_address="127.0.0.1", port=b.port)
                               for a, b in zip(addrs, bes)], check="http")],
            [check("http", "http")]))
        self.cycle(srv, addrs, addrs[0], lambda: bes[0].set_status(503),
                   lambda: bes[0].set_status(200), "http", bes[0].target, ["status 503"])

    def test_http_stopped_path_host_body(self):
        """path, host and expect_body are honoured; a stopped server is refused."""
        bes = [self.backend(B.HTTPBackend(body="all systems go\n")) for _ in range(3)]
        addrs = ["192.0.2.24", "192.0.2.25", "192.0.2.26"]
        srv = self.start(config(
            [pool("web", WWW, [member(a, probe_address="127.0.0.1", port=b.port)
                               for a, b in zip(addrs, bes)], check="http")],
            [check("http", "http", path="/health/check", host="app.example.test",
                   expect_body="systems go")]))
        w = self.cycle(srv, addrs, addrs[2], bes[2].stop, bes[2].start, "http", bes[2].target,
                       ["refused", "connect"])
        with bes[0].lock:
            self.assertIn("/health/check", bes[0].paths, "the check's path is requested")
            self.assertIn("app.example.test", bes[0].hosts, "the check's Host header is sent")
        # A body without the expected text fails the check.
        t0 = time.monotonic()
        bes[1].set_body("maintenance\n")
        self.assertWithin(w, lambda a: addrs[1] not in a.addrs, DOWN_BOUND,
                          "expect_body: member with the wrong body leaves", t0=t0, srv=srv)
        t0 = time.monotonic()
        bes[1].set_body("all systems go\n")
        self.assertWithin(w, lambda a: addrs[1] in a.addrs, UP_BOUND,
                          "expect_body: member with the right body comes back", t0=t0, srv=srv)

    def test_https_no_verify(self):
        cert, key = B.self_signed(self.tmp)
        bes = [self.backend(B.HTTPBackend(tls=(cert, key))) for _ in range(3)]
        addrs = ["192.0.2.31", "192.0.2.32", "192.0.2.33"]
        srv = self.start(config(
            [pool("web", WWW, [member(a, probe_address="127.0.0.1", port=b.port)
                               for a, b in zip(addrs, bes)], check="https")],
            [check("https", "https", tls_verify=False)]))
        self.cycle(srv, addrs, addrs[1], bes[1].stop, bes[1].start, "https", bes[1].target,
                   ["refused", "connect"])
        # and an HTTP-level failure over TLS
        w = self.watch(srv)
        start = srv.nlines()
        t0 = time.monotonic()
        bes[2].set_status(503)
        self.assertWithin(w, lambda a: addrs[2] not in a.addrs, DOWN_BOUND,
                          "https 503: member leaves", t0=t0, srv=srv)
        _, line = B.find_line(srv, start, "DOWN after", bes[2].target, "status 503")
        self.assertIsNotNone(line, "DOWN line with status 503 for %s; log:\n%s"
                             % (bes[2].target, srv.log(start)))

    def test_https_verify_self_signed_stays_down(self):
        cert, key = B.self_signed(self.tmp)
        bes = [self.backend(B.HTTPBackend(tls=(cert, key))) for _ in range(3)]
        addrs = ["192.0.2.34", "192.0.2.35", "192.0.2.36"]
        members = [member(addrs[0], probe_address="127.0.0.1", port=bes[0].port),
                   member(addrs[1], probe_address="127.0.0.1", port=bes[1].port),
                   # tls_verify = true (the default) against a self-signed cert
                   member(addrs[2], probe_address="127.0.0.1", port=bes[2].port, check="strict")]
        srv = self.start(config([pool("web", WWW, members, check="insecure")],
                                [check("insecure", "https", tls_verify=False, timeout=1.0),
                                 # A TLS handshake on a loaded (or sanitized) build
                                 # can outlast 200 ms: give both checks a second, so
                                 # that the reason is the certificate, not the
                                 # timeout, and the good members stay up.
                                 check("strict", "https", timeout=1.0)]))
        w = self.watch(srv)
        t0 = time.monotonic()
        a = w.ask()
        self.assertAnswers(a, addrs, "initial = up: every member answered at start")
        self.assertWithin(w, lambda a: addrs[2] not in a.addrs, DOWN_BOUND - TIMEOUT + 1.0,
                          "unverifiable certificate: member goes down", t0=t0, srv=srv)
        _, line = B.find_line(srv, 0, "DOWN after %d failures" % FALL, bes[2].target, timeout=1.0)
        self.assertIsNotNone(line, "DOWN line for %s; log:\n%s" % (bes[2].target, srv.log()))
        self.assertIn("certificate", line.lower(), "the reason names the certificate: %r" % line)
        self.assertRegex(line, r"\bhttps\b")
        for a in w.during(1.0):
            self.assertAnswers(a, addrs[:2], "the strict member stays down, the others up")
        self.assertNotIn("UP after", srv.log(), "nothing came up again")
        self.assertGreater(bes[0].requests, 0, "tls_verify = false: requests get through")

    def test_dns(self):
        bes = [self.backend(B.DNSBackend()) for _ in range(3)]
        addrs = ["192.0.2.41", "192.0.2.42", "192.0.2.43"]
        srv = self.start(config(
            [pool("web", WWW, [member(a, probe_address="127.0.0.1", port=b.port)
                               for a, b in zip(addrs, bes)], check="dns")],
            [check("dns", "dns", query="probe.example.test", expect_answer=B.DNSBackend.ANSWER)]))

        def brk():
            bes[1].mode = "servfail"

        def restore():
            bes[1].mode = "ok"
        self.cycle(srv, addrs, addrs[1], brk, restore, "dns", bes[1].target,
                   ["servfail", "rcode 2"])
        self.assertGreater(bes[0].queries, 0)

    def test_exec(self):
        ex = B.ExecCheck(self.tmp / "exec")
        addrs = ["192.0.2.51", "192.0.2.52", "192.0.2.53"]
        extra = ""
        if os.geteuid() == 0:
            # Exec checks never run as root: as nobody, who must reach the
            # script and write its log.
            extra = 'user = "nobody"; group = "nogroup";'
            self.tmp.chmod(0o755)
            os.chown(str(ex.dir), 65534, 65534)
        srv = self.start(config(
            [pool("web", WWW, [member(a, port=8001 + i) for i, a in enumerate(addrs)],
                  check="script")],
            [check("script", "exec", command=[str(ex.path), "--flag"])], extra=extra))
        self.cycle(srv, addrs, addrs[2], lambda: ex.set_down(addrs[2]),
                   lambda: ex.set_down(addrs[2], False), "exec", "%s:8003" % addrs[2],
                   ["exit", "status 1", "code 1"])
        calls = ex.call_lines()
        for i, a in enumerate(addrs):
            self.assertIn([a, str(8001 + i), "script"], calls,
                          "env GSLBD_ADDRESS / GSLBD_PORT / GSLBD_CHECK for %s" % a)

    def test_file(self):
        addrs = ["192.0.2.61", "192.0.2.62", "192.0.2.63"]
        sf = B.StateFile(self.tmp / "backends.state", {a: "up" for a in addrs})
        srv = self.start(config(
            [pool("web", WWW, [member(a) for a in addrs], check="file")],
            [check("file", "file", path=str(sf.path))]))
        # The file is re-read when it changes as well as every interval, so
        # two results may come less than an interval apart: no lower bound.
        self.cycle(srv, addrs, addrs[0], lambda: sf.set(addrs[0], "down"),
                   lambda: sf.set(addrs[0], "up"), "file", addrs[0], ["down"], lower=False)


class Timing(B.HealthCase, unittest.TestCase):

    def test_hung_backend_does_not_delay_answers(self):
        ok = self.backend(B.HTTPBackend())
        hung = self.backend(B.HungBackend())
        addrs = ["192.0.2.71", "192.0.2.72"]
        srv = self.start(config(
            [pool("web", WWW, [member(addrs[0], probe_address="127.0.0.1", port=ok.port),
                               member(addrs[1], probe_address="127.0.0.1", port=hung.port)],
                  check="http")],
            [check("http", "http")]))
        t0 = time.monotonic()
        w = self.watch(srv)
        # Every probe of the hung member lasts TIMEOUT; FALL of them, started
        # at most INTERVAL apart after the previous one ended, the first within
        # one INTERVAL of start: down within FALL x (INTERVAL + TIMEOUT) + SLACK,
        # and never before FALL x TIMEOUT (each failure waits for the timeout).
        bound = FALL * (INTERVAL + TIMEOUT) + SLACK
        lower = FALL * TIMEOUT - 0.05
        lat = []
        gone_at = None
        gc.disable()  # no collector pauses in the client's latency figures
        self.addCleanup(gc.enable)
        for i in range(200):
            a = w.ask(timeout=1.0)
            lat.append(a.latency)
            self.assertIn(addrs[0], a.addrs, "the healthy member is always answered")
            if gone_at is None and addrs[1] not in a.addrs:
                gone_at = a.t - a.latency - t0
            time.sleep(0.008)
        spent = time.monotonic() - t0
        gc.enable()
        self.assertGreater(hung.accepted, 0, "the hung backend was probed")
        # 50 ms per answer: probes hanging in the probe thread must not
        # hold up the workers.
        self.assertLess(max(lat), 0.050, "max DNS latency while a probe hangs: %.1f ms "
                        "(over %.1fs, %d queries)" % (max(lat) * 1000, spent, len(lat)))
        if gone_at is None:
            elapsed, _a, _ = w.until(lambda a: addrs[1] not in a.addrs, bound, t0=t0)
            gone_at = elapsed
        self.assertIsNotNone(gone_at, "hung member did not go down within %.2fs; log:\n%s"
                             % (bound, srv.log()))
        self.assertLessEqual(gone_at, bound, "hung member down after %.3fs" % gone_at)
        self.assertGreaterEqual(gone_at, lower, "hung member down after %.3fs, before %d "
                                "timeouts of %.2fs could pass" % (gone_at, FALL, TIMEOUT))
        _, line = B.find_line(srv, 0, "DOWN after %d failures" % FALL, hung.target, timeout=1.0)
        self.assertIsNotNone(line, "DOWN line for the hung backend; log:\n%s" % srv.log())
        self.assertRegex(line.lower(), r"time.?out|timed out", "reason names the timeout")

    def test_initial_down(self):
        bes = [self.backend(B.TCPBackend()) for _ in range(3)]
        # pool "slow": every member starts down -> NODATA (last_resort) until
        # RISE successes; pool "mixed": one member initial up, one down.
        srv = self.start(config(
            [pool("slow", WWW, [member("192.0.2.81", probe_address="127.0.0.1", port=bes[0].port),
                                member("192.0.2.82", probe_address="127.0.0.1", port=bes[1].port)],
                  check="cold", last_resort="nodata"),
             pool("mixed", ["mixed.lb.example.test"],
                  [member("192.0.2.83", probe_address="127.0.0.1", port=bes[2].port, check="warm"),
                   member("192.0.2.84", probe_address="127.0.0.1", port=bes[0].port)],
                  check="cold")],
            [check("cold", "tcp", initial="down"), check("warm", "tcp")]))
        t0 = time.monotonic()
        w = self.watch(srv)
        wm = self.watch(srv, "mixed.lb.example.test.")
        a = w.ask()
        self.assertEqual(a.rcode, dns.rcode.NOERROR)
        self.assertEqual(a.addrs, frozenset(), "initial = down: nothing answered yet: %r" % a)
        am = wm.ask()
        self.assertAnswers(am, ["192.0.2.83"], "initial down member not answered at start")
        # first probes are spread over one interval, then RISE successes
        # an interval apart: up within INTERVAL x RISE + TIMEOUT + SLACK.
        self.assertWithin(w, lambda a: a.addrs == {"192.0.2.81", "192.0.2.82"}, UP_BOUND,
                          "initially down members come up", t0=t0, lower=UP_LOWER, srv=srv)
        self.assertWithin(wm, lambda a: a.addrs == {"192.0.2.83", "192.0.2.84"}, UP_BOUND,
                          "initially down member of the mixed pool comes up", t0=t0, srv=srv)


class RiseIsNotFall(B.HealthCase, unittest.TestCase):
    """Every other health test uses rise = fall = 2, so none of them could
    tell the two apart. Here they differ, both ways round, and the backend
    counts the probes it answers: the member must leave the answers after
    exactly `fall` failed probes and come back after exactly `rise` good
    ones (one more is allowed: a probe may land between the change and the
    next poll), and the log lines must name those counts. With rise and fall
    swapped, both cases fail on the counts. The times are measured too (in
    the failure messages and on stderr), and checked against the bounds of
    the other health tests, computed with this check's rise and fall."""

    def flip(self, be, status):
        """Set the backend's status; how many requests it had answered."""
        with be.lock:
            be.status = status
            return be.requests

    def probes_since(self, be, before):
        with be.lock:
            return be.requests - before

    def run_cycle(self, rise, fall):
        be = self.backend(B.HTTPBackend())
        other = self.backend(B.HTTPBackend())
        addrs = ["192.0.2.31", "192.0.2.32"]
        srv = self.start(config(
            [pool("web", WWW, [member(addrs[0], probe_address="127.0.0.1", port=be.port),
                               member(addrs[1], probe_address="127.0.0.1", port=other.port)],
                  check="h")],
            [check("h", "http", rise=rise, fall=fall)]))
        w = self.watch(srv)
        # Both up, and probed long enough for every counter to settle.
        for a in w.during(INTERVAL * (rise + fall) + TIMEOUT + 0.2):
            self.assertAnswers(a, addrs, "rise %d, fall %d: healthy members stay up" % (rise, fall))
        what = "rise %d, fall %d" % (rise, fall)

        start = srv.nlines()
        t0 = time.monotonic()
        before = self.flip(be, 503)
        gone, a, _ = self.assertWithin(
            w, lambda a: addrs[0] not in a.addrs, INTERVAL * fall + TIMEOUT + SLACK,
            "%s: the failing member leaves the answers" % what, t0=t0,
            lower=(fall - 1) * INTERVAL * 0.5, srv=srv)
        failed = self.probes_since(be, before)
        self.assertTrue(fall <= failed <= fall + 1,
                        "%s: the member left after %d failed probes (%.3f s): it must take "
                        "fall = %d" % (what, failed, gone, fall))
        _, line = B.find_line(srv, start, "DOWN after %d failure" % fall, be.target, timeout=1.0)
        self.assertIsNotNone(line, "%s: no 'DOWN after %d failure(s)' line; log:\n%s"
                             % (what, fall, srv.log(start)))
        for a in w.during(INTERVAL * 2):
            self.assertAnswers(a, addrs[1:], "%s: stays down while failing" % what)

        start = srv.nlines()
        t1 = time.monotonic()
        before = self.flip(be, 200)
        back, a, _ = self.assertWithin(
            w, lambda a: addrs[0] in a.addrs, INTERVAL * rise + TIMEOUT + SLACK,
            "%s: the repaired member comes back" % what, t0=t1,
            lower=(rise - 1) * INTERVAL * 0.5, srv=srv)
        good = self.probes_since(be, before)
        self.assertTrue(rise <= good <= rise + 1,
                        "%s: the member came back after %d good probes (%.3f s): it must take "
                        "rise = %d" % (what, good, back, rise))
        _, line = B.find_line(srv, start, "UP after %d success" % rise, be.target, timeout=1.0)
        self.assertIsNotNone(line, "%s: no 'UP after %d success(es)' line; log:\n%s"
                             % (what, rise, srv.log(start)))
        print("\n%s, interval %.1f s: down after %d failed probes, %.3f s; up after %d good "
              "probes, %.3f s" % (what, INTERVAL, failed, gone, good, back), file=sys.stderr)
        return gone, back

    def test_rise_3_fall_1(self):
        gone, back = self.run_cycle(rise=3, fall=1)
        # Three good probes are at least two intervals (less jitter) apart.
        self.assertGreater(back, 2 * INTERVAL * 0.9 - 0.02, "rise 3 takes two intervals at least")

    def test_rise_1_fall_3(self):
        gone, back = self.run_cycle(rise=1, fall=3)
        self.assertGreater(gone, 2 * INTERVAL * 0.9 - 0.02, "fall 3 takes two intervals at least")


class DegradedTTL(B.HealthCase, unittest.TestCase):

    def test_ttl_degraded(self):
        bes = [self.backend(B.TCPBackend()) for _ in range(3)]
        addrs = ["192.0.2.91", "192.0.2.92", "192.0.2.93"]
        members = [member(a, probe_address="127.0.0.1", port=b.port) for a, b in zip(addrs, bes)]
        srv = self.start(config(
            [pool("explicit", WWW, members, check="tcp", ttl=60, ttl_degraded=7),
             pool("default", ["dflt.lb.example.test"], members, check="tcp")],  # ttl 30
            [check("tcp", "tcp")]))
        w = self.watch(srv)
        wd = self.watch(srv, "dflt.lb.example.test.")
        a = w.ask()
        self.assertAnswers(a, addrs)
        self.assertEqual(a.ttl, 60, "pool ttl while all members are up")
        self.assertEqual(wd.ask().ttl, 30, "default pool ttl")
        t0 = time.monotonic()
        bes[0].stop()
        _, a, _ = self.assertWithin(w, lambda a: addrs[0] not in a.addrs, DOWN_BOUND,
                                    "member goes down", t0=t0, srv=srv)
        self.assertEqual(a.ttl, 7, "ttl_degraded while a member is down: %r" % a)
        ad = wd.ask()
        self.assertNotIn(addrs[0], ad.addrs)
        self.assertEqual(ad.ttl, 10, "default ttl_degraded = ttl / 3 = 10: %r" % ad)
        for a in w.during(0.2):
            self.assertEqual(a.ttl, 7, "degraded TTL holds: %r" % a)
        t1 = time.monotonic()
        bes[0].start()
        _, a, _ = self.assertWithin(w, lambda a: addrs[0] in a.addrs, UP_BOUND,
                                    "member comes back", t0=t1, srv=srv)
        self.assertEqual(a.ttl, 60, "back to ttl after recovery: %r" % a)
        self.assertEqual(wd.ask().ttl, 30, "default pool back to ttl")


if __name__ == "__main__":
    unittest.main()
