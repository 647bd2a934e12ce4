#!/usr/bin/python3
"""systemd's notification protocol (sd_notify(3)), against the real gslbd:
the test binds a unix datagram socket, names it in NOTIFY_SOCKET, and reads
what gslbd sends, in order:

  READY=1 (with STATUS=) once every listener is open: a query sent the
  moment it arrives is answered, over TCP and UDP;
  STATUS= updated when a pool's health changes (healthy -> degraded ->
  failed), within the status timer's second;
  RELOADING=1 with MONOTONIC_USEC (CLOCK_MONOTONIC at the reload, in
  microseconds) then READY=1, for SIGHUP, `gslbctl reload` and a reload
  that fails (READY=1 again, the status saying so);
  WATCHDOG=1 at half of WATCHDOG_USEC when WATCHDOG_PID is gslbd, and none
  when it names another process or WATCHDOG_USEC is unset;
  STOPPING=1 on SIGTERM, the last message."""

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

import dns.message
import dns.query
import dns.rcode

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import backends as B  # noqa: E402
import harness  # noqa: E402
from backends import check, config, member, pool  # noqa: E402

GSLBCTL = os.environ.get("GSLBCTL") or str(harness.REPO / "src" / "gslbctl")
SLOW = harness.SLOW
WAIT = 5.0 * SLOW
STATUS_BOUND = B.DOWN_BOUND + 1.0 + 1.0 * SLOW  # health change + the status timer


class NotifySocket:
    """The service manager's end: every datagram, with its arrival time.
    `on_ready` runs in the receiving thread the moment READY=1 first comes."""

    def __init__(self, directory, on_ready=None):
        self.path = str(Path(directory) / "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.msgs = []
        self.on_ready = on_ready
        self.ready_result = None
        self._cv = threading.Condition()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            text = data.decode(errors="replace")
            fields = dict(l.split("=", 1) for l in text.split("\n") if "=" in l)
            if "READY" in fields and self.on_ready and self.ready_result is None:
                try:
                    self.ready_result = self.on_ready()
                except Exception as e:  # reported by the test
                    self.ready_result = e
            with self._cv:
                self.msgs.append((time.monotonic(), fields, text))
                self._cv.notify_all()

    def close(self):
        self._stop.set()
        self._t.join(3)
        self.sock.close()

    def wait(self, pred, start, timeout=WAIT):
        """Index of the first message >= start whose fields satisfy pred."""
        deadline = time.monotonic() + timeout
        i = start
        with self._cv:
            while True:
                while i < len(self.msgs):
                    if pred(self.msgs[i][1]):
                        return i
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cv.wait(min(left, 0.2))

    def count(self):
        with self._cv:
            return len(self.msgs)

    def dump(self, start=0):
        with self._cv:
            return "\n".join("%.3f %r" % (t, text) for t, _f, text in self.msgs[start:])


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1 (the kernel's pick)."""
    for _ in range(20):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            u.close()
            t.close()
        return port
    raise RuntimeError("no free port")


class Notify(B.HealthCase, unittest.TestCase):

    def notify_env(self, ns, extra=()):
        return ["env", "-u", "WATCHDOG_USEC", "-u", "WATCHDOG_PID",
                "NOTIFY_SOCKET=" + ns.path] + list(extra)

    def start_with(self, ns, conf, prefix, listen=None, files=None):
        fs = {B.ZONE_NAME: B.ZONE}
        fs.update(files or {})
        srv = harness.start(conf, files=fs, prefix=prefix, listen=listen)
        self._servers.append(srv)
        return srv

    def test_lifecycle(self):
        up = self.backend(B.TCPBackend())
        closed = B.TCPBackend()   # a port nobody listens on once stopped
        closed.stop()
        port = free_port()

        def query_now():
            q = dns.message.make_query("www.lb.example.test", "A")
            r_tcp = dns.query.tcp(q, "127.0.0.1", port=port, timeout=2)
            r_udp = dns.query.udp(q, "127.0.0.1", port=port, timeout=2)
            return (r_tcp.rcode(), len(r_tcp.answer)), (r_udp.rcode(), len(r_udp.answer))

        ns = NotifySocket(self.tmp, on_ready=query_now)
        self.addCleanup(ns.close)
        sock = str(self.tmp / "ctl.sock")
        conf = config([pool("web", ["www.lb.example.test"],
                            [member("192.0.2.1", probe_address="127.0.0.1", port=up.port),
                             member("192.0.2.2", probe_address="127.0.0.1", port=closed.port)],
                            check="tcp")],
                      [check("tcp", "tcp")],
                      extra='control = { socket = "%s"; };' % sock)
        srv = self.start_with(ns, conf, self.notify_env(ns), listen=["127.0.0.1:%d" % port])

        # READY=1 first, with a status line; a query at that moment is answered.
        i = ns.wait(lambda f: True, 0)
        self.assertIsNotNone(i, "no notification at all; log:\n" + srv.log())
        first = ns.msgs[0][1]
        self.assertEqual(first.get("READY"), "1", "first message is not READY=1:\n" + ns.dump())
        self.assertRegex(first.get("STATUS", ""), r"^serving 1 pool: \d+ healthy, \d+ degraded, 0 failed$")
        self.assertNotIsInstance(ns.ready_result, Exception,
                                 "query sent on READY=1 failed: %r" % (ns.ready_result,))
        self.assertEqual(ns.ready_result, ((dns.rcode.NOERROR, 1), (dns.rcode.NOERROR, 1)),
                         "TCP and UDP answers to a query sent on READY=1")

        # Health changes show in STATUS=.
        i = ns.wait(lambda f: f.get("STATUS", "").endswith("0 healthy, 1 degraded, 0 failed"),
                    0, STATUS_BOUND)
        self.assertIsNotNone(i, "no degraded STATUS after a member went down:\n" + ns.dump())
        up.stop()
        i = ns.wait(lambda f: f.get("STATUS", "").endswith("0 healthy, 0 degraded, 1 failed"),
                    i + 1, STATUS_BOUND)
        self.assertIsNotNone(i, "no failed STATUS after every member went down:\n" + ns.dump())
        up.start()
        i = ns.wait(lambda f: "1 degraded" in f.get("STATUS", ""), i + 1, STATUS_BOUND + 1)
        self.assertIsNotNone(i, "no degraded STATUS after a member came back:\n" + ns.dump())
        # Unchanged health: no more STATUS lines (the timer sends changes only).
        n = ns.count()
        time.sleep(1.5)
        self.assertEqual(ns.count(), n, "messages without a change:\n" + ns.dump(n))

        # Reloads: SIGHUP, gslbctl reload, a failed one.
        def reload_pair(start, before, after, what):
            r = ns.wait(lambda f: f.get("RELOADING") == "1", start)
            self.assertIsNotNone(r, "%s: no RELOADING=1:\n%s" % (what, ns.dump(start)))
            usec = int(ns.msgs[r][1].get("MONOTONIC_USEC", "-1"))
            self.assertTrue(before <= usec <= after,
                            "%s: MONOTONIC_USEC=%d not within the reload [%d, %d]"
                            % (what, usec, before, after))
            d = ns.wait(lambda f: f.get("READY") == "1", r + 1)
            self.assertIsNotNone(d, "%s: no READY=1 after RELOADING=1:\n%s" % (what, ns.dump(r)))
            return d, ns.msgs[d][1]

        start = ns.count()
        before = time.monotonic_ns() // 1000
        result, text = srv.reload()
        after = time.monotonic_ns() // 1000
        self.assertEqual(result, "done", text)
        d, f = reload_pair(start, before, after, "SIGHUP")
        self.assertNotIn("reload failed", f.get("STATUS", ""))

        start = ns.count()
        line = srv.nlines()
        before = time.monotonic_ns() // 1000
        p = subprocess.run([GSLBCTL, "-s", sock, "reload"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        after = time.monotonic_ns() // 1000
        self.assertEqual(p.returncode, 0, p.stdout)
        reload_pair(start, before, after, "gslbctl reload")
        # gslbctl returns on the control reply, which may come before the
        # log line; the next srv.reload() must not take this reload's line
        # for its own.
        self.assertIsNotNone(srv.wait_for(lambda l: "reload done" in l, line, 10 * harness.SLOW),
                             srv.log(line))

        srv.write_conf(conf.replace('type = "tcp"', 'type = "nonesuch"'))
        start = ns.count()
        before = time.monotonic_ns() // 1000
        result, text = srv.reload()
        after = time.monotonic_ns() // 1000
        self.assertEqual(result, "failed", text)
        d, f = reload_pair(start, before, after, "failed reload")
        self.assertIn("last reload failed", f.get("STATUS", ""))

        # No watchdog was asked for: no pings.
        self.assertFalse([m for m in ns.msgs if "WATCHDOG" in m[1]], ns.dump())

        # SIGTERM: STOPPING=1, and nothing after it.
        start = ns.count()
        srv.stop()
        s = ns.wait(lambda f: f.get("STOPPING") == "1", start)
        self.assertIsNotNone(s, "no STOPPING=1 on SIGTERM:\n" + ns.dump(start))
        self.assertEqual(s, ns.count() - 1, "messages after STOPPING=1:\n" + ns.dump(start))

    def watchdog_run(self, pid_expr):
        ns = NotifySocket(self.tmp)
        self.addCleanup(ns.close)
        conf = config([pool("web", ["www.lb.example.test"], [member("192.0.2.1")])])
        # The shell's own pid is gslbd's after exec, as systemd's MAINPID is.
        prefix = self.notify_env(ns) + [
            "sh", "-c", 'WATCHDOG_USEC=400000 WATCHDOG_PID=%s exec "$0" "$@"' % pid_expr]
        srv = self.start_with(ns, conf, prefix)
        self.assertIsNotNone(ns.wait(lambda f: f.get("READY") == "1", 0), ns.dump())
        t0 = time.monotonic()
        time.sleep(2.0)
        pings = [t for t, f, _ in list(ns.msgs) if f.get("WATCHDOG") == "1" and t >= t0]
        srv.stop()
        return pings, ns

    def test_watchdog(self):
        pings, ns = self.watchdog_run("$$")
        # Every 0.2 s (half of 0.4 s): about 10 in 2 s; never a gap as long
        # as the watchdog interval itself, which would get us killed.
        self.assertGreaterEqual(len(pings), 6, "WATCHDOG=1 pings in 2 s:\n" + ns.dump())
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        self.assertLess(max(gaps), 0.4 * SLOW, "gap between pings: %r" % gaps)
        self.assertGreater(min(gaps), 0.1, "pings too close (not half the interval): %r" % gaps)

    def test_watchdog_for_another_pid(self):
        pings, ns = self.watchdog_run("1")
        self.assertEqual(pings, [], "pinged for a watchdog meant for pid 1:\n" + ns.dump())


if __name__ == "__main__":
    unittest.main()
