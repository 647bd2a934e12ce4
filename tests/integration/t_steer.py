#!/usr/bin/python3
"""Steering by load and by hand, against the real binary and real backends:
agent-reported weights (a real agent process whose reply the test changes),
answers following effective weights (chi-square over many draws), runtime
weights, drains that end by themselves, slow start, a shift that completes
and one that rolls itself back when the destination's backends die, and all
of it across a restart through the state file."""

import json
import os
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import backends as B  # noqa: E402
import harness  # noqa: E402
from backends import DOWN_BOUND, UP_BOUND, check, config, member, pool  # noqa: E402

GSLBCTL = os.environ.get("GSLBCTL") or str(harness.REPO / "src" / "gslbctl")
if not os.path.isabs(GSLBCTL):
    GSLBCTL = os.path.abspath(GSLBCTL)

WWW = ["www.lb.example.test"]
A1, A2, A3 = "127.0.1.1", "127.0.1.2", "127.0.1.3"
# chi-square critical values at p = 0.0001 (a dozen such tests per run: a
# false alarm about once in a thousand runs): 1 and 2 degrees of freedom
CHI2_1, CHI2_2 = 15.14, 18.42


def chi2(counts, shares):
    n = sum(counts.values())
    return sum((counts.get(k, 0) - n * p) ** 2 / (n * p) for k, p in shares.items() if p > 0)


class SteerCase(B.HealthCase, unittest.TestCase):
    def setUp(self):
        super().setUp()
        self.sock = str(self.tmp / "ctl.sock")
        self.state = str(self.tmp / "gslbd.state")

    def ctl(self, *args):
        p = subprocess.run([GSLBCTL, "-s", self.sock] + list(args), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
        return p.returncode, p.stdout.decode(errors="replace")

    def ctl_ok(self, *args):
        rc, out = self.ctl(*args)
        self.assertEqual(rc, 0, "gslbctl %s: %s" % (" ".join(args), out))
        return out

    def status(self):
        return json.loads(self.ctl_ok("status", "--json"))

    def member_json(self, address, poolname="www"):
        for p in self.status()["pools"]:
            if p["name"] == poolname:
                for m in p["members"]:
                    if m["address"] == address:
                        return m
        self.fail("no member %s in status" % address)

    def shift_json(self, poolname="www"):
        for p in self.status()["pools"]:
            if p["name"] == poolname:
                return p["shift"]
        self.fail("no pool %s" % poolname)

    def extra(self):
        return 'state_file = "%s";\ncontrol = { socket = "%s"; };' % (self.state, self.sock)

    def count(self, w, n):
        c = {}
        for _ in range(n):
            a = w.ask()
            for addr in a.addrs:
                c[addr] = c.get(addr, 0) + 1
        return c

    def wait(self, pred, bound, what, every=0.05):
        bound *= harness.SLOW  # sanitizer builds are slower
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline:
            v = pred()
            if v:
                return v
            time.sleep(every)
        self.fail("%s: not within %.1f s" % (what, bound))

    def assertFollows(self, w, shares, n=1500, what=""):
        c = self.count(w, n)
        crit = CHI2_1 if len([p for p in shares.values() if p > 0]) <= 2 else CHI2_2
        for k, p in shares.items():
            if p == 0:
                self.assertEqual(c.get(k, 0), 0, "%s: %s answered: %r" % (what, k, c))
        x = chi2(c, shares)
        self.assertLess(x, crit, "%s: counts %r against shares %r (chi2 %.1f)"
                        % (what, c, shares, x))
        return c


class AgentWeights(SteerCase):
    """A real agent per member; its reply scales the member's weight."""

    def test_agent_reports_steer_answers(self):
        a1 = self.backend(B.AgentBackend(reply="up 100%"))
        a2 = self.backend(B.AgentBackend(reply="UP 100%"))
        conf = config([pool("www", WWW, [member(A1, probe_address="127.0.0.1", port=a1.port),
                                         member(A2, probe_address="127.0.0.1", port=a2.port,
                                                weight=2)],
                            policy="weighted", check="agent")],
                      [check("agent", "agent", interval=0.1, timeout=0.5)], self.extra())
        srv = self.start(conf)
        w = self.watch(srv)
        self.wait(lambda: self.member_json(A2)["last_probe"] == "ok", 2, "first probes")
        self.assertFollows(w, {A1: 1 / 3, A2: 2 / 3}, what="both at 100%")
        # The agent of A2 says it is loaded: 25% of weight 2 is 0.5 against 1.
        a2.reply = "up 25%"
        self.wait(lambda: self.member_json(A2)["weight"]["reported"] == 25, 2, "report seen")
        time.sleep(0.2)
        self.assertFollows(w, {A1: 2 / 3, A2: 1 / 3}, what="A2 at 25%")
        # drain: out of answers while it says so, back with ready.
        a2.reply = "drain #deploying"
        self.wait(lambda: self.member_json(A2)["state"] == "down", 2, "agent drain")
        self.assertFollows(w, {A1: 1.0, A2: 0.0}, n=300, what="A2 drained by its agent")
        a2.reply = "ready,up 100%"
        self.wait(lambda: self.member_json(A2)["state"] == "up", 2, "agent ready")
        time.sleep(0.2)
        self.assertFollows(w, {A1: 1 / 3, A2: 2 / 3}, what="A2 ready again")
        # 0% drains it too; then a reply that is not the protocol is a failed
        # probe with its reason, never a weight.
        a2.reply = "0%"
        self.wait(lambda: self.member_json(A2)["state"] == "down", 2, "0%")
        a2.reply = "up 50%"
        self.wait(lambda: self.member_json(A2)["weight"]["reported"] == 50, 2, "50%")
        a2.reply = "up 75 percent"
        m = self.wait(lambda: (lambda m: m if m["state"] == "down" else None)(
            self.member_json(A2)), DOWN_BOUND + 1, "nonsense fails the probe")
        self.assertIn('agent reply: unknown word "75"', m["reason"])
        self.assertEqual(m["weight"]["reported"], 50, "a bad reply changed the weight")
        self.assertIsNotNone(B.find_line(srv, 0, "127.0.0.1:%d" % a2.port, "DOWN",
                                         "unknown word")[0], "logged with its reason")

    def test_send_string(self):
        a1 = self.backend(B.AgentBackend(reply="up 40%"))
        a1.expect = b"status?"
        conf = config([pool("www", WWW, [member(A1, probe_address="127.0.0.1", port=a1.port)],
                            check="agent")],
                      [check("agent", "agent", interval=0.1, timeout=0.5, send="status?")],
                      self.extra())
        self.start(conf)
        m = self.wait(lambda: (lambda m: m if m["weight"]["reported"] == 40 else None)(
            self.member_json(A1)), 2, "the reply to what was sent")
        self.assertEqual(a1.received, b"status?")
        self.assertEqual(m["state"], "up")


class HTTPWeights(SteerCase):
    """An http check reading the weight from a header, or from a JSON body."""

    def test_header_and_json_body(self):
        h1 = self.backend(B.HTTPBackend())
        h2 = self.backend(B.HTTPBackend(body='{"weight": 100}'))
        h1.extra_headers = {"X-Weight": "100%"}
        conf = config([pool("www", WWW, [member(A1, probe_address="127.0.0.1", port=h1.port,
                                                check="hdr"),
                                         member(A2, probe_address="127.0.0.1", port=h2.port,
                                                check="body")],
                            policy="weighted")],
                      [check("hdr", "http", interval=0.1, timeout=0.5, weight_header="X-Weight"),
                       check("body", "http", interval=0.1, timeout=0.5, weight_json="weight")],
                      self.extra())
        srv = self.start(conf)
        w = self.watch(srv)
        self.wait(lambda: self.member_json(A2)["last_probe"] == "ok", 2, "first probes")
        self.assertFollows(w, {A1: 0.5, A2: 0.5}, n=600, what="both 100%")
        h1.extra_headers = {"X-Weight": "300"}
        h2.set_body('{"weight": 100, "other": true}')
        self.wait(lambda: self.member_json(A1)["weight"]["reported"] == 300, 2, "header 300")
        time.sleep(0.2)
        self.assertFollows(w, {A1: 0.75, A2: 0.25}, what="A1 at 300%")
        h2.set_body('{"weight": "0%"}')
        self.wait(lambda: self.member_json(A2)["state"] == "down", 2, "body 0%")
        # Strict: a bad value is a failed probe, the weight stays.
        h1.extra_headers = {"X-Weight": "lots"}
        m = self.wait(lambda: (lambda m: m if m["state"] == "down" else None)(
            self.member_json(A1)), DOWN_BOUND + 1, "bad header value")
        self.assertIn('X-Weight: bad weight "lots"', m["reason"])
        self.assertEqual(m["weight"]["reported"], 300)
        h2.set_body("not json")
        m2 = self.wait(lambda: (lambda m: m if "not JSON" in (m["reason"] or "") else None)(
            self.member_json(A2)), 2, "bad body")
        self.assertEqual(m2["weight"]["reported"], 0)
        self.assertTrue(srv.alive())


class RuntimeWeights(SteerCase):
    """gslbctl weight and timed drains, and both across a restart."""

    def conf(self):
        return config([pool("www", WWW, [member(A1), member(A2), member(A3)],
                            policy="weighted")], [], self.extra())

    def test_weight_drain_expiry_and_restart(self):
        srv = self.start(self.conf())
        w = self.watch(srv)
        self.assertFollows(w, {A1: 1 / 3, A2: 1 / 3, A3: 1 / 3}, what="configured")
        out = self.ctl_ok("weight", "www", A2, "4")
        self.assertIn("runtime weight 4", out)
        # The weights follow before the reply: a status right after agrees.
        self.assertAlmostEqual(self.member_json(A2)["weight"]["effective_share"], 4 / 6,
                               places=3)
        self.wait(lambda: self.member_json(A2)["weight"]["runtime"] == 4, 1, "runtime shown")
        time.sleep(0.2)
        self.assertFollows(w, {A1: 1 / 6, A2: 4 / 6, A3: 1 / 6}, what="runtime 4")
        # 0 drains it.
        self.ctl_ok("weight", "www", A3, "0")
        time.sleep(0.2)
        self.assertFollows(w, {A1: 0.2, A2: 0.8, A3: 0.0}, what="A3 at 0")
        self.ctl_ok("weight", "www", A3, "--reset")
        # A drain that ends by itself.
        rc, out = self.ctl("drain", "www", A1, "--for", "soon")
        self.assertEqual(rc, 1)
        self.assertIn('bad duration "soon"', out)
        rc, out = self.ctl("drain", "www", A1, "--until", "2026-13-01T00:00Z")
        self.assertEqual(rc, 1)
        self.assertIn("expected RFC 3339 in UTC", out)
        rc, out = self.ctl("drain", "www", A1, "--until", "2001-01-01T00:00Z")
        self.assertIn("in the past", out)
        t0 = time.monotonic()
        self.ctl_ok("drain", "www", A1, "--for", "1.5s")
        self.assertIsNotNone(self.member_json(A1)["weight"]["drained_until"])
        self.assertFollows(w, {A1: 0.0, A2: 0.8, A3: 0.2}, n=300, what="A1 drained")
        self.wait(lambda: self.member_json(A1)["state"] == "up", 3, "drain expired")
        self.assertGreater(time.monotonic() - t0, 1.3, "the drain ended early")
        self.assertIsNotNone(B.find_line(srv, 0, "drain of www/127.0.1.1 ended")[0])
        # A long one and the weight survive a restart.
        self.ctl_ok("drain", "www", A3, "--until", "2099-12-24T06:00Z")
        time.sleep(1.5)  # saved within a second
        srv.stop()
        self._servers.remove(srv)
        text = Path(self.state).read_text()
        self.assertIn("weight www/127.0.1.2 4\n", text)
        self.assertIn("admin www/127.0.1.3 drained 4101775200.000\n", text)
        srv = self.start(self.conf())
        w = self.watch(srv)
        m2, m3 = self.member_json(A2), self.member_json(A3)
        self.assertEqual(m2["weight"]["runtime"], 4)
        self.assertEqual(m3["state"], "down")
        self.assertEqual(m3["weight"]["drained_until"], "2099-12-24T06:00:00Z")
        self.assertFollows(w, {A1: 0.2, A2: 0.8, A3: 0.0}, what="after the restart")
        text = self.ctl_ok("status")
        self.assertIn("weight: configured 1, reported 100%, runtime 4, effective 80.0%", text)


RAMP = 3.0 * harness.SLOW


class SlowStart(SteerCase):
    def test_ramp_after_coming_up(self):
        b1 = self.backend(B.TCPBackend())
        b2 = self.backend(B.TCPBackend())
        conf = config([pool("www", WWW, [member(A1, probe_address="127.0.0.1", port=b1.port),
                                         member(A2, probe_address="127.0.0.1", port=b2.port)],
                            policy="weighted", check="tcp", slow_start=RAMP)],
                      [check("tcp", "tcp", interval=0.1, timeout=0.5)], self.extra())
        srv = self.start(conf)
        w = self.watch(srv)
        # Up from the start: no ramp.
        self.assertIsNone(self.member_json(A2)["weight"]["slow_start_since"])
        self.assertFollows(w, {A1: 0.5, A2: 0.5}, n=600, what="from the start")
        b2.stop()
        self.wait(lambda: self.member_json(A2)["state"] == "down", DOWN_BOUND + 1, "down")
        b2.start()
        self.wait(lambda: self.member_json(A2)["state"] == "up", UP_BOUND + 1, "up again")
        t_up = time.monotonic()
        self.wait(lambda: self.member_json(A2)["weight"]["slow_start_since"], 1, "ramp starts")
        # The curve: the share grows from about 5% of the weight.
        early = self.count(w, 400)
        t_early = time.monotonic() - t_up
        shares = []
        while time.monotonic() - t_up < RAMP:
            shares.append(self.member_json(A2)["weight"]["effective_share"])
            time.sleep(0.25)
        self.assertLess(early.get(A2, 0) / 400, 0.30,
                        "A2 took %r within %.1f s of coming up" % (early, t_early))
        self.assertEqual(shares, sorted(shares), "the ramp never goes down: %r" % shares)
        self.assertLess(shares[0], 0.35)
        self.assertGreater(shares[-1], shares[0])
        self.wait(lambda: self.member_json(A2)["weight"]["slow_start_since"] is None, 2,
                  "ramp over")
        self.assertFollows(w, {A1: 0.5, A2: 0.5}, n=600, what="after the ramp")


    def test_ramp_survives_restart(self):
        b1 = self.backend(B.TCPBackend())
        b2 = self.backend(B.TCPBackend())

        def conf():
            return config([pool("www", WWW,
                                [member(A1, probe_address="127.0.0.1", port=b1.port),
                                 member(A2, probe_address="127.0.0.1", port=b2.port)],
                                policy="weighted", check="tcp")],
                          [check("tcp", "tcp", interval=0.1, timeout=0.5, slow_start=60)],
                          self.extra())
        srv = self.start(conf())
        b2.stop()
        self.wait(lambda: self.member_json(A2)["state"] == "down", DOWN_BOUND + 1, "down")
        b2.start()
        since = self.wait(lambda: self.member_json(A2)["weight"]["slow_start_since"], UP_BOUND + 1,
                          "ramp starts")
        time.sleep(1.5)  # saved within a second
        srv.stop()
        self._servers.remove(srv)
        self.assertIn("ramp www/127.0.1.2 ", Path(self.state).read_text())
        self.start(conf())
        m = self.member_json(A2)
        self.assertEqual(m["weight"]["slow_start_since"], since, "the ramp started over")
        self.assertLess(m["weight"]["effective_share"], 0.2)


class Shift(SteerCase):
    def conf(self, b1, b2, b3, interval=0.1):
        return config([pool("www", WWW, [member(A1, probe_address="127.0.0.1", port=b1.port),
                                         member(A2, probe_address="127.0.0.1", port=b2.port,
                                                group="green"),
                                         member(A3, probe_address="127.0.0.1", port=b3.port,
                                                group="green")],
                            policy="weighted", check="tcp")],
                      [check("tcp", "tcp", interval=interval, timeout=0.3, fall=2)], self.extra())

    def test_shift_completes_and_survives_restart(self):
        bs = [self.backend(B.TCPBackend()) for _ in range(3)]
        srv = self.start(self.conf(*bs))
        w = self.watch(srv)
        self.assertFollows(w, {A1: 1 / 3, A2: 1 / 3, A3: 1 / 3}, n=600, what="before")
        rc, out = self.ctl("shift", "www", "--to", "purple")
        self.assertEqual(rc, 1)
        self.assertIn("no member in group or with address purple", out)
        out = self.ctl_ok("shift", "www", "--to", "green", "--step", "20", "--every", "2s")
        self.assertIn("shifting to green, 20 points every 2 s, from 67%", out)
        sh = self.shift_json()
        self.assertEqual(sh["state"], "running")
        self.assertEqual(sh["step"], 1)
        self.assertAlmostEqual(sh["share_a"], 2 / 3 + 0.2, places=6)
        self.assertIsNone(sh["share_aaaa"])  # no AAAA member
        self.assertAlmostEqual(self.member_json(A1)["weight"]["effective_share"], 1 / 3 - 0.2,
                               places=3)
        rc, out = self.ctl("shift", "www", "--to", "green")
        self.assertIn("already shifts", out)
        self.ctl_ok("shift", "www", "--pause")
        time.sleep(0.6)
        self.assertEqual(self.shift_json()["step"], 1, "paused, yet it stepped")
        self.ctl_ok("shift", "www", "--resume")
        self.wait(lambda: self.shift_json()["state"] == "done", 5 * harness.SLOW, "shift done")
        self.assertFollows(w, {A1: 0.0, A2: 0.5, A3: 0.5}, n=600, what="all on green")
        sh = self.shift_json()
        self.assertGreaterEqual(sh["steps_taken"], 2)
        self.assertTrue(any("done" in e["event"] for e in sh["history"]))
        time.sleep(1.5)
        srv.stop()
        self._servers.remove(srv)
        self.assertIn("state=done", Path(self.state).read_text())
        srv = self.start(self.conf(*bs))
        w = self.watch(srv)
        self.assertEqual(self.shift_json()["state"], "done")
        self.assertFollows(w, {A1: 0.0, A2: 0.5, A3: 0.5}, n=600, what="after the restart")
        # Rolling back a finished shift restores the starting weights.
        self.ctl_ok("shift", "www", "--rollback")
        time.sleep(0.2)
        self.assertFollows(w, {A1: 1 / 3, A2: 1 / 3, A3: 1 / 3}, n=600, what="rolled back")

    def test_rolls_back_when_destination_dies(self):
        bs = [self.backend(B.TCPBackend()) for _ in range(3)]
        srv = self.start(self.conf(*bs))
        w = self.watch(srv)
        self.ctl_ok("shift", "www", "--to", "green", "--step", "10", "--every", "60s",
                    "--min-healthy", "2")
        time.sleep(1.2)
        srv.stop()  # a restart resumes where it was
        self._servers.remove(srv)
        self.assertIn("state=running", Path(self.state).read_text())
        srv = self.start(self.conf(*bs))
        w = self.watch(srv)
        sh = self.shift_json()
        self.assertEqual((sh["state"], sh["step"]), ("running", 1))
        # One green backend dies: 1 up, fewer than the 2 the shift needs.
        bs[1].stop()
        sh = self.wait(lambda: (lambda s: s if s["state"] == "rolled-back" else None)(
            self.shift_json()), DOWN_BOUND + 1, "rolled back")
        self.assertIn("below min_healthy 2", sh["reason"])
        self.assertEqual(sh["rollbacks"], 1)
        self.assertIsNotNone(B.find_line(srv, 0, "rolled back to the starting weights",
                                         "below min_healthy 2")[0])
        bs[1].start()
        self.wait(lambda: self.member_json(A2)["state"] == "up", UP_BOUND + 1, "green back")
        time.sleep(0.2)
        self.assertFollows(w, {A1: 1 / 3, A2: 1 / 3, A3: 1 / 3}, n=900,
                           what="starting weights after the rollback")

    def test_holds_while_destination_degraded(self):
        bs = [self.backend(B.TCPBackend()) for _ in range(3)]
        self.start(self.conf(*bs))
        self.ctl_ok("shift", "www", "--to", "green", "--step", "10", "--every", "1s")
        bs[2].stop()
        sh = self.wait(lambda: (lambda s: s if s["state"] == "held" else None)(
            self.shift_json()), DOWN_BOUND + 1, "held")
        self.assertIn("1 of 2 members up", sh["reason"])
        step = sh["step"]
        time.sleep(0.8)
        self.assertEqual(self.shift_json()["step"], step, "held, yet it stepped")
        bs[2].start()
        self.wait(lambda: self.shift_json()["step"] > step, UP_BOUND + 2, "going on")


if __name__ == "__main__":
    unittest.main()
