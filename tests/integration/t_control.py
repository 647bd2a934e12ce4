#!/usr/bin/python3
"""The control socket through the real gslbctl (env GSLBCTL, default
<repo>/src/gslbctl): status (text and --json), explain, drain/undrain (at
once, whatever the probes say; kept across a reload and a restart with
state_file), reload, the socket's permissions, errors.

Timing bounds (see backends.py): down within INTERVAL x FALL + TIMEOUT +
SLACK, up within INTERVAL x RISE + TIMEOUT + SLACK, SLACK = 0.5 s; a drain
or undrain shows in the answers within 0.2 s of gslbctl returning."""

import json
import os
import re
import socket
import stat
import subprocess
import sys
import threading
import time
import unittest

import dns.rcode
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))
import backends as B  # noqa: E402
import harness  # noqa: E402
from backends import DOWN_BOUND, check, config, member, pool  # noqa: E402

GSLBCTL = os.environ.get("GSLBCTL") or str(harness.REPO / "src" / "gslbctl")
if not os.path.isabs(GSLBCTL):
    GSLBCTL = os.path.abspath(GSLBCTL)

WWW = ["www.lb.example.test"]
DRAIN_BOUND = 0.2


def probe(addr, be, **kw):
    return member(addr, probe_address="127.0.0.1", port=be.port, **kw)


class Control(B.HealthCase, unittest.TestCase):

    def setUp(self):
        super().setUp()
        self.sock = str(self.tmp / "ctl.sock")

    def ctl(self, *args, sock=None):
        """Run gslbctl -s SOCK ARGS; (rc, stdout, stderr)."""
        if not (os.path.isfile(GSLBCTL) and os.access(GSLBCTL, os.X_OK)):
            self.fail("gslbctl not found or not executable: %s (build it, or set GSLBCTL)" % GSLBCTL)
        p = subprocess.run([GSLBCTL, "-s", sock or self.sock] + list(args),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=10)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    def ctl_ok(self, *args):
        rc, out, err = self.ctl(*args)
        self.assertEqual(rc, 0, "gslbctl %s: rc %s\nstdout:\n%s\nstderr:\n%s"
                         % (" ".join(args), rc, out, err))
        return out

    def control_conf(self, pools, checks, extra=""):
        return config(pools, checks, ('control = { socket = "%s"; };\n' % self.sock) + extra)

    def up_down_server(self, extra=""):
        """web: 192.0.2.11 (backend up), 192.0.2.12 (backend dead) with backup
        dr (192.0.2.21, unchecked); lr: dead members, no backup, nodata.
        Returns (server, backends) once 192.0.2.12 is down."""
        a = self.backend(B.TCPBackend())
        b = self.backend(B.TCPBackend())
        b.stop()
        srv = self.start(self.control_conf(
            [pool("web", WWW, [probe("192.0.2.11", a), probe("192.0.2.12", b)], check="tcp",
                  backup="dr", ttl=60, ttl_degraded=7),
             pool("dr", ["dr.lb.example.test"], [member("192.0.2.21")]),
             pool("lr", ["lr.lb.example.test"], [probe("192.0.2.31", b)], check="tcp",
                  last_resort="nodata")],
            [check("tcp", "tcp")], extra))
        _, line = B.find_line(srv, 0, "DOWN after", b.target, timeout=DOWN_BOUND + 0.5)
        self.assertIsNotNone(line, "dead member goes down; log:\n%s" % srv.log())
        return srv, a, b

    def two_up_server(self, extra=""):
        a = self.backend(B.TCPBackend())
        c = self.backend(B.TCPBackend())
        srv = self.start(self.control_conf(
            [pool("web", WWW, [probe("192.0.2.11", a), probe("192.0.2.12", c)], check="tcp")],
            [check("tcp", "tcp")], extra))
        w = self.watch(srv)
        self.assertAnswers(w.ask(), ["192.0.2.11", "192.0.2.12"])
        return srv, w, a, c

    @staticmethod
    def block(text, addr):
        """The status text about one member: from the first line naming it to
        the next line naming another 192.0.2.x address or a blank line."""
        lines = text.splitlines()
        for i, l in enumerate(lines):
            if addr in l:
                out = [l]
                for m in lines[i + 1:]:
                    if not m.strip() or (re.search(r"192\.0\.2\.\d+", m) and addr not in m):
                        break
                    out.append(m)
                return "\n".join(out)
        return None

    # ---------------------------------------------------------------- status

    def test_status(self):
        srv, a, b = self.up_down_server()
        out = self.ctl_ok("status")
        for word in ("web", "dr", "lr", "192.0.2.11", "192.0.2.12", "192.0.2.21"):
            self.assertIn(word, out, "status lists pools and members:\n%s" % out)
        up = self.block(out, "192.0.2.11")
        down = self.block(out, "192.0.2.12")
        self.assertRegex(up, r"(?i)\bup\b", "member 192.0.2.11 is up:\n%s" % out)
        self.assertNotRegex(up, r"(?i)\bdown\b", "member 192.0.2.11 is not down:\n%s" % out)
        self.assertRegex(down, r"(?i)\bdown\b", "member 192.0.2.12 is down:\n%s" % out)
        self.assertRegex(down, r"(?i)refused", "the reason of the down member:\n%s" % out)
        self.assertRegex(up, r"(?i)\d+(\.\d+)?\s*ms", "the latency of the last probe:\n%s" % out)

    def test_status_json(self):
        srv, a, b = self.up_down_server()
        out = self.ctl_ok("status", "--json")
        try:
            obj = json.loads(out)
        except ValueError as e:
            self.fail("status --json does not parse (%s):\n%s" % (e, out[:3000]))
        text = json.dumps(obj)
        for word in ("web", "dr", "192.0.2.11", "192.0.2.12"):
            self.assertIn(word, text)
        for addr, want in (("192.0.2.11", "up"), ("192.0.2.12", "down")):
            ds = B.json_member_dicts(obj, addr)
            self.assertTrue(ds, "a JSON object for member %s:\n%s" % (addr, B.dumps(obj)))
            states = [B.json_state(d) for d in ds]
            self.assertIn(want, states, "member %s is %s:\n%s" % (addr, want, B.dumps(ds)))
        ds = B.json_member_dicts(obj, "192.0.2.12")
        self.assertIn("refused", json.dumps(ds).lower(), "reason in JSON:\n%s" % B.dumps(ds))
        lat = [v for d in B.json_member_dicts(obj, "192.0.2.11") for k, v in d.items()
               if "latency" in k and isinstance(v, (int, float)) and not isinstance(v, bool)]
        self.assertTrue(lat, "a numeric latency for the probed member:\n%s"
                        % B.dumps(B.json_member_dicts(obj, "192.0.2.11")))

    # ---------------------------------------------------------------- explain

    def test_explain(self):
        srv, a, b = self.up_down_server()
        out = self.ctl_ok("explain", "www.lb.example.test", "A")
        for word in ("web", "192.0.2.11", "192.0.2.12"):
            self.assertIn(word, out, "explain names the pool and its members:\n%s" % out)
        self.assertRegex(out, r"(?i)ttl\D{0,30}\b7\b", "explain gives the (degraded) TTL 7:\n%s" % out)
        # all members down -> the backup pool answers
        w = self.watch(srv)
        t0 = time.monotonic()
        a.stop()
        self.assertWithin(w, lambda x: x.addrs == {"192.0.2.21"}, DOWN_BOUND,
                          "backup in force", t0=t0, srv=srv)
        out = self.ctl_ok("explain", "www.lb.example.test", "A")
        self.assertRegex(out, r"(?i)backup", "explain says the backup is in force:\n%s" % out)
        self.assertIn("dr", out)
        self.assertIn("192.0.2.21", out)
        out = self.ctl_ok("explain", "lr.lb.example.test", "A")
        self.assertRegex(out, r"(?i)last[ _-]?resort", "explain says the last resort is in force:\n%s"
                         % out)
        self.assertRegex(out, r"(?i)nodata")

    # ---------------------------------------------------------------- drain

    def test_drain_undrain(self):
        srv, w, a, c = self.two_up_server()
        start = srv.nlines()
        self.ctl_ok("drain", "web", "192.0.2.11")
        t0 = time.monotonic()
        self.assertWithin(w, lambda x: x.addrs == {"192.0.2.12"}, DRAIN_BOUND,
                          "drained member leaves at once", t0=t0, srv=srv)
        for x in w.during(1.0):
            self.assertAnswers(x, ["192.0.2.12"], "drained whatever the (passing) probes say")
        self.assertGreater(a.accepted, 0)
        out = self.ctl_ok("status")
        self.assertRegex(self.block(out, "192.0.2.11") or "", r"(?i)drain",
                         "status shows the override:\n%s" % out)
        self.ctl_ok("undrain", "web", "192.0.2.11")
        t0 = time.monotonic()
        self.assertWithin(w, lambda x: x.addrs == {"192.0.2.11", "192.0.2.12"}, DRAIN_BOUND,
                          "undrained member is back at once", t0=t0, srv=srv)
        _, line = B.find_line(srv, start, "DOWN after", timeout=0.0)
        self.assertIsNone(line, "no probe failed: %s" % line)

    def test_drain_kept_across_reload(self):
        srv, w, a, c = self.two_up_server()
        self.ctl_ok("drain", "web", "192.0.2.11")
        t0 = time.monotonic()
        self.assertWithin(w, lambda x: x.addrs == {"192.0.2.12"}, DRAIN_BOUND,
                          "drained", t0=t0, srv=srv)
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
        time.sleep(0.05)
        status, text = srv.reload()
        self.assertEqual(status, "done", text)
        for x in w.during(0.5):
            self.assertAnswers(x, ["192.0.2.12"], "still drained after the reload")
        stop.set()
        th.join(5)
        self.assertGreater(len(seen), 10)
        for x in seen:
            self.assertAnswers(x, ["192.0.2.12"], "drained all through the reload")
        self.ctl_ok("undrain", "web", "192.0.2.11")
        t0 = time.monotonic()
        self.assertWithin(w, lambda x: "192.0.2.11" in x.addrs, DRAIN_BOUND, "undrained",
                          t0=t0, srv=srv)

    def test_drain_kept_across_restart(self):
        state = self.tmp / "gslbd.state"
        extra = 'state_file = "%s";' % state
        srv, w, a, c = self.two_up_server(extra)
        conf_text = srv.conf_path.read_text()
        self.ctl_ok("drain", "web", "192.0.2.11")
        t0 = time.monotonic()
        self.assertWithin(w, lambda x: x.addrs == {"192.0.2.12"}, DRAIN_BOUND,
                          "drained", t0=t0, srv=srv)
        srv.stop()
        for line in state.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                self.assertRegex(line, B.STATE_LINE_RE)
        srv2 = self.start(conf_text)
        w2 = self.watch(srv2)
        for x in w2.during(0.5, every=0.01):
            self.assertAnswers(x, ["192.0.2.12"], "drain kept across a restart, from the first query")
        self.ctl_ok("undrain", "web", "192.0.2.11")
        t0 = time.monotonic()
        self.assertWithin(w2, lambda x: "192.0.2.11" in x.addrs, DRAIN_BOUND, "undrained",
                          t0=t0, srv=srv2)

    # ---------------------------------------------------------------- stats

    def stats(self):
        return json.loads(self.ctl_ok("stats", "--json"))

    def test_stats_count_queries_pools_probes_reloads(self):
        srv, a, b = self.up_down_server()
        before = self.stats()
        # 3 UDP answers from web (degraded: primary), 2 TCP from lr (every
        # member dead, no backup: last resort nodata), one NXDOMAIN, one
        # REFUSED, one datagram too short for a header (dropped).
        for _ in range(3):
            self.assertEqual(srv.query("www.lb.example.test").rcode(), dns.rcode.NOERROR)
        for _ in range(2):
            r = srv.query("lr.lb.example.test", tcp=True)
            self.assertEqual((r.rcode(), len(r.answer)), (dns.rcode.NOERROR, 0), "nodata")
        self.assertEqual(srv.query("nx.lb.example.test").rcode(), dns.rcode.NXDOMAIN)
        self.assertEqual(srv.query("example.com").rcode(), dns.rcode.REFUSED)
        self.assertIsNone(srv.raw_udp(b"\x12\x34\x00", timeout=0.3))
        after = self.stats()

        def delta(*path):
            x, y = before, after
            for k in path:
                x, y = x.get(k, {}) if isinstance(x, dict) else 0, y[k]
            return y - (x or 0)

        self.assertEqual(delta("queries", "udp"), 6)
        self.assertEqual(delta("queries", "tcp"), 2)
        self.assertEqual(delta("qtypes", "A"), 7)
        self.assertEqual(delta("rcodes", "NOERROR"), 5)
        self.assertEqual(delta("rcodes", "NXDOMAIN"), 1)
        self.assertEqual(delta("rcodes", "REFUSED"), 1)
        self.assertEqual(delta("responses", "answer"), 3)
        self.assertEqual(delta("responses", "nodata"), 2)
        self.assertEqual(delta("responses", "dropped"), 1)
        self.assertEqual(delta("pools", "web", "primary"), 3)
        self.assertEqual(delta("pools", "web", "backup"), 0)
        self.assertEqual(delta("pools", "lr", "last_resort"), 2)
        # The probes ran and the dead member's fall was counted.
        tcp = after["checks"]["tcp"]
        self.assertGreater(tcp["ok"], 0)
        self.assertGreater(tcp["failed"], 0)
        self.assertGreaterEqual(tcp["health_changes"], 1)
        self.assertEqual(after["workers"] >= 1, True)
        # Reloads by result: a good one, then a broken config.
        self.ctl_ok("reload")
        srv.write_conf(srv.read_file("gslbd.conf").replace("pools = (", "pools = ( oops"))
        rc, out, err = self.ctl("reload")
        self.assertEqual(rc, 1, "a failed reload is an error: %s %s" % (out, err))
        self.assertIn("reload failed; the previous configuration keeps serving", err)
        # The client sees the error itself, with file and line.
        self.assertRegex(err, r"gslbd\.conf:\d+: .*syntax error")
        last = self.stats()
        self.assertEqual(last["reloads"]["ok"] - after["reloads"]["ok"], 1)
        self.assertEqual(last["reloads"]["failed"] - after["reloads"]["failed"], 1)
        self.assertIsNotNone(last["reloads"]["last_ok"])
        # The text form says the same; the old configuration still answers.
        text = self.ctl_ok("stats")
        self.assertIn("pool web: primary %d," % last["pools"]["web"]["primary"], text)
        self.assertIn("pool lr: primary 0, backup 0, last_resort %d"
                      % last["pools"]["lr"]["last_resort"], text)
        self.assertIn("reloads: ok %d, failed %d" % (last["reloads"]["ok"],
                                                    last["reloads"]["failed"]), text)
        self.assertEqual(srv.query("www.lb.example.test").rcode(), dns.rcode.NOERROR)

    # ---------------------------------------------------------------- misc

    def test_reload_command(self):
        srv, w, a, c = self.two_up_server()
        start = srv.nlines()
        out = self.ctl_ok("reload")
        self.assertRegex(out, r"reload done: 1 zones, 1 pools, \d+ names",
                         "gslbctl reload waits for the reload and says how it went")
        idx = srv.wait_for(lambda l: "reload done" in l, start, 10.0)
        self.assertIsNotNone(idx, "gslbctl reload reloads; log:\n%s" % srv.log(start))

    def test_socket_mode(self):
        srv, w, a, c = self.two_up_server()
        st = os.stat(self.sock)
        self.assertTrue(stat.S_ISSOCK(st.st_mode), "a UNIX socket")
        self.assertEqual(oct(st.st_mode & 0o777), oct(0o600), "default mode 0600")
        srv.stop()
        sock2 = str(self.tmp / "ctl2.sock")
        be = self.backend(B.TCPBackend())
        self.start(config([pool("web", WWW, [probe("192.0.2.11", be)], check="tcp")],
                          [check("tcp", "tcp")],
                          'control = { socket = "%s"; mode = "0660"; };' % sock2))
        self.assertEqual(oct(os.stat(sock2).st_mode & 0o777), oct(0o660), "configured mode")

    def test_partial_lines_do_not_keep_the_operator_out(self):
        # 20 clients (the limit is 16) connect and send part of a line; an
        # operator's gslbctl status is answered at once, not after their 2 s.
        srv, w, a, c = self.two_up_server()
        idle = []
        try:
            for _ in range(20):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                idle.append(s)
                s.connect(self.sock)  # blocking: waits for room in the backlog
                try:
                    s.sendall(b"sta")
                except OSError:
                    pass  # refused at once: not what is tested here
            time.sleep(0.2)
            t0 = time.monotonic()
            out = self.ctl_ok("status")
            took = time.monotonic() - t0
            self.assertIn("pool web", out)
            self.assertLess(took, 0.5, "gslbctl status answered in %.2f s" % took)
        finally:
            for s in idle:
                s.close()

    def test_errors(self):
        srv, w, a, c = self.two_up_server()
        for cmd in ("drain", "undrain"):
            rc, out, err = self.ctl(cmd, "nosuchpool", "192.0.2.11")
            self.assertEqual(rc, 1, "%s of an unknown pool: exit 1 (stdout %r, stderr %r)"
                             % (cmd, out, err))
            self.assertIn("nosuchpool", out + err, "the message names the pool")
        self.assertAnswers(w.ask(), ["192.0.2.11", "192.0.2.12"], "nothing changed")


if __name__ == "__main__":
    unittest.main()
