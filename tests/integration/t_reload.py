#!/usr/bin/python3
"""SIGHUP reload: new zone data and pools served; a broken config or zone
keeps the old data serving and the log names file and line; queries in
flight during a series of reloads are all answered."""

import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from harness import DATA, make_query  # noqa: E402

import dns.message  # noqa: E402
import dns.rcode  # noqa: E402

Z = "lb.example.test."
ZONE = "lb.example.test.zone"

CONF_NEW_POOL = """# reload scenario, with a second pool
listen = [ "127.0.0.1:0" ];
threads = 2;
zones = ( { origin = "lb.example.test"; file = "lb.example.test.zone"; } );
pools = (
  { name = "web";
    owners = [ "www.lb.example.test" ];
    members = ( { address = "192.0.2.1"; }, { address = "192.0.2.2"; } );
  },
  { name = "added";
    owners = [ "pool2.lb.example.test" ];
    members = ( { address = "192.0.2.9"; } );
  }
);
"""

CONF_UNKNOWN_SETTING = """# reload scenario, broken: unknown setting on line 4
listen = [ "127.0.0.1:0" ];
threads = 2;
no_such_setting = 1;
zones = ( { origin = "lb.example.test"; file = "lb.example.test.zone"; } );
pools = (
  { name = "web";
    owners = [ "www.lb.example.test" ];
    members = ( { address = "192.0.2.1"; }, { address = "192.0.2.2"; } );
  }
);
"""

CONF_BAD_OWNER = """# reload scenario, broken: pool owner outside the zones (line 9)
listen = [ "127.0.0.1:0" ];
threads = 2;
zones = ( { origin = "lb.example.test"; file = "lb.example.test.zone"; } );
pools = (
  { name = "web";
    owners = [ "www.lb.example.test" ];
    members = ( { address = "192.0.2.1"; }, { address = "192.0.2.2"; } ); },
  { name = "bad"; owners = [ "www.elsewhere.test" ];
    members = ( { address = "192.0.2.9"; } ); }
);
"""


class Reload(unittest.TestCase):
    def setUp(self):
        self.server = harness.start(DATA / "reload")

    def tearDown(self):
        srv, self.server = self.server, None
        srv.stop()

    def a(self, name, rdtype="A"):
        r = self.server.query(name, rdtype)
        return dns.rcode.to_text(r.rcode()), sorted(harness.addresses(r, rdtype))

    def assertOldData(self):
        self.assertEqual(self.a("static." + Z), ("NOERROR", ["198.51.100.1"]))
        self.assertEqual(self.a("old." + Z), ("NOERROR", ["198.51.100.2"]))
        self.assertEqual(self.a("www." + Z), ("NOERROR", ["192.0.2.1", "192.0.2.2"]))

    def add_record_to_zone(self, extra=""):
        z = self.server.read_file(ZONE)
        z = z.replace("2024010101", "2024010102")
        z = z.replace("old      IN A   198.51.100.2\n", "")
        z += "new      IN A   198.51.100.3\n" + extra
        self.server.write_file(ZONE, z)

    def test_reload_new_record_and_pool(self):
        self.assertOldData()
        self.assertEqual(self.a("new." + Z)[0], "NXDOMAIN")
        self.assertEqual(self.a("pool2." + Z)[0], "NXDOMAIN")
        port = self.server.port
        self.add_record_to_zone()
        self.server.write_conf(CONF_NEW_POOL)
        status, log = self.server.reload()
        self.assertEqual(status, "done", "reload result; log:\n" + log)
        self.assertEqual(self.server.port, port)
        self.assertEqual(self.a("new." + Z), ("NOERROR", ["198.51.100.3"]))
        self.assertEqual(self.a("old." + Z)[0], "NXDOMAIN", "removed record must be gone")
        self.assertEqual(self.a("pool2." + Z), ("NOERROR", ["192.0.2.9"]))
        self.assertEqual(self.a("www." + Z), ("NOERROR", ["192.0.2.1", "192.0.2.2"]))
        r = self.server.query(Z, "SOA")
        self.assertEqual(list(r.answer[0])[0].serial, 2024010102)
        # over TCP as well
        r = self.server.query("pool2." + Z, "A", tcp=True)
        self.assertEqual(harness.addresses(r), ["192.0.2.9"])

    def test_open_tcp_connection_sees_new_data(self):
        q1 = make_query("new." + Z, "A", id_=1)
        q2 = make_query("new." + Z, "A", id_=2)
        with self.server.tcp_connect(timeout=5.0) as s:
            s.sendall(struct.pack("!H", len(q1.to_wire())) + q1.to_wire())
            r = dns.message.from_wire(harness.read_framed(s))
            self.assertEqual(r.rcode(), dns.rcode.NXDOMAIN)
            self.add_record_to_zone()
            status, log = self.server.reload()
            self.assertEqual(status, "done", log)
            s.sendall(struct.pack("!H", len(q2.to_wire())) + q2.to_wire())
            resp = harness.read_framed(s)
            self.assertIsNotNone(resp, "open TCP connection must survive a reload")
            r = dns.message.from_wire(resp)
            self.assertEqual(r.id, 2)
            self.assertEqual(harness.addresses(r), ["198.51.100.3"])

    def test_reload_adds_and_removes_zones(self):
        self.server.write_file("second.test.zone",
                               "$ORIGIN second.test.\n$TTL 300\n"
                               "@ IN SOA ns.second.test. h.second.test. 1 3600 600 86400 60\n"
                               "  IN NS ns\nns IN A 192.0.2.1\nhost IN A 198.51.100.50\n")
        self.assertEqual(self.a("host.second.test.")[0], "REFUSED")
        conf = CONF_NEW_POOL.replace(
            'zones = ( { origin = "lb.example.test"; file = "lb.example.test.zone"; } );',
            'zones = ( { origin = "lb.example.test"; file = "lb.example.test.zone"; },\n'
            '          { origin = "second.test"; file = "second.test.zone"; } );')
        self.server.write_conf(conf)
        status, log = self.server.reload()
        self.assertEqual(status, "done", log)
        self.assertEqual(self.a("host.second.test."), ("NOERROR", ["198.51.100.50"]))
        # now drop the first zone (and its pools)
        self.server.write_conf('listen = [ "127.0.0.1:0" ];\n'
                               'zones = ( { origin = "second.test"; file = "second.test.zone"; } );\n')
        status, log = self.server.reload()
        self.assertEqual(status, "done", log)
        self.assertEqual(self.a("static." + Z)[0], "REFUSED", "removed zone is no longer served")
        self.assertEqual(self.a("www." + Z)[0], "REFUSED")
        self.assertEqual(self.a("host.second.test."), ("NOERROR", ["198.51.100.50"]))

    def check_failed_reload(self, path, line):
        status, log = self.server.reload()
        self.assertEqual(status, "failed", "reload of a broken file must fail; log:\n" + log)
        self.assertTrue(harness.names_file_line(log, path, line),
                        "log must name %s:%d; log:\n%s" % (path, line, log))
        self.assertTrue(self.server.alive())
        self.assertOldData()
        return log

    def test_broken_config_keeps_old_data(self):
        self.server.write_conf(CONF_UNKNOWN_SETTING)
        log = self.check_failed_reload(self.server.conf_path, 4)
        self.assertIn("no_such_setting", log, "the log names the setting")
        # fixing the config makes the next reload succeed
        self.server.write_conf(CONF_NEW_POOL)
        status, log = self.server.reload()
        self.assertEqual(status, "done", log)
        self.assertEqual(self.a("pool2." + Z), ("NOERROR", ["192.0.2.9"]))

    def test_broken_pool_keeps_old_data(self):
        self.server.write_conf(CONF_BAD_OWNER)
        log = self.check_failed_reload(self.server.conf_path, 9)
        self.assertIn("pools[1].owners", log, "the log names the setting")
        self.assertEqual(self.a("pool2." + Z)[0], "NXDOMAIN")

    def test_broken_zone_keeps_old_data(self):
        good = self.server.read_file(ZONE)
        nlines = good.count("\n")
        # line nlines+1: new record (must not appear), nlines+2: broken
        self.add_record_to_zone("broken   IN A   300.1.1.1\n")
        text = self.server.read_file(ZONE)
        broken_line = text.splitlines().index("broken   IN A   300.1.1.1") + 1
        self.assertEqual(broken_line, nlines + 1)  # 'old' line removed, 'new' added
        self.check_failed_reload(self.server.path(ZONE), broken_line)
        self.assertEqual(self.a("new." + Z)[0], "NXDOMAIN", "half-loaded zone must not be served")
        r = self.server.query(Z, "SOA")
        self.assertEqual(list(r.answer[0])[0].serial, 2024010101)
        # repair
        self.server.write_file(ZONE, good + "new      IN A   198.51.100.3\n")
        status, log = self.server.reload()
        self.assertEqual(status, "done", log)
        self.assertEqual(self.a("new." + Z), ("NOERROR", ["198.51.100.3"]))

    def test_queries_during_reloads(self):
        addr = self.server.addr()
        expect = {"static." + Z: ["198.51.100.1"], "www." + Z: ["192.0.2.1", "192.0.2.2"]}
        names = list(expect)
        stop = threading.Event()
        result = {"sent": 0, "bad": []}

        def worker():
            deadline = time.monotonic() + 30
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(0.5)
            s.connect(addr)
            try:
                i = 0
                while time.monotonic() < deadline and i < 20000:
                    if i >= 2000 and stop.is_set():
                        break
                    name = names[i % 2]
                    q = make_query(name, "A", id_=i & 0xFFFF)
                    got = None
                    for _attempt in range(2):
                        s.send(q.to_wire())
                        try:
                            for _stale in range(50):  # skip late answers to earlier queries
                                r = dns.message.from_wire(s.recv(65535))
                                if r.id == q.id:
                                    got = r
                                    break
                        except socket.timeout:
                            continue
                        break
                    if got is None:
                        result["bad"].append((i, name, "timeout"))
                    elif got.rcode() != dns.rcode.NOERROR or sorted(harness.addresses(got)) != expect[name]:
                        result["bad"].append((i, name, got.to_text()))
                    i += 1
                    if i % 200 == 0:
                        time.sleep(0.005)
                result["sent"] = i
            finally:
                s.close()

        start_line = self.server.nlines()
        t = threading.Thread(target=worker)
        t.start()
        time.sleep(0.05)
        for _ in range(10):
            self.server.proc.send_signal(1)  # SIGHUP
            time.sleep(0.05)
        stop.set()
        t.join(40)
        self.assertFalse(t.is_alive())
        # let the last reload finish
        idx = self.server.wait_for(lambda l: "reload done" in l or "reload failed" in l, start_line, 10)
        self.assertIsNotNone(idx, "no reload result logged")
        time.sleep(0.5)
        log = self.server.log(start_line)
        self.assertNotIn("reload failed", log)
        self.assertTrue(self.server.alive())
        self.assertGreaterEqual(result["sent"], 2000)
        self.assertEqual(result["bad"][:5], [], "%d of %d queries failed" % (len(result["bad"]), result["sent"]))
        self.assertOldData()


GSLBCTL = os.environ.get("GSLBCTL") or str(harness.REPO / "src" / "gslbctl")
BIG_NAMES = 200000
BUILD_BOUND = 90.0   # the big build, however slow the build (sanitizers)
STATUS_BOUND = 0.5   # gslbctl status while it builds


def big_zone(n):
    lines = ["$ORIGIN big.test.", "$TTL 300", "@ IN SOA ns hostmaster 1 3600 600 86400 60",
             "@ IN NS ns", "ns IN A 192.0.2.53"]
    lines += ["h%d IN A 198.51.%d.%d" % (i, (i >> 8) & 255, i & 255) for i in range(n)]
    return "\n".join(lines) + "\n"


class BackgroundReload(unittest.TestCase):
    """A reload builds in a thread of its own: the control socket answers
    while a big zone (200,000 names, seconds to build) loads; a second
    `gslbctl reload` is told one is in progress; `gslbctl reload` still waits
    for its result; a SIGHUP during a build queues one more reload."""

    def setUp(self):
        # IPv4 only: with_listen cannot replace a listen list holding "[::1]:0".
        self.server = harness.start(DATA / "reload", v6=False)
        self.sock = str(self.server.path("ctl.sock"))
        conf = self.server.read_file("gslbd.conf")
        self.server.write_conf(conf + 'control = { socket = "%s"; };\n' % self.sock)
        status, text = self.server.reload()
        self.assertEqual(status, "done", text)
        # The next reload adds the big zone.
        self.server.write_file("big.zone", big_zone(BIG_NAMES))
        self.server.write_conf(self.server.read_file("gslbd.conf").replace(
            'zones = ( {', 'zones = ( { origin = "big.test"; file = "big.zone"; }, {'))

    def tearDown(self):
        srv, self.server = self.server, None
        srv.stop()

    def ctl(self, *args, timeout=BUILD_BOUND):
        p = subprocess.run([GSLBCTL, "-s", self.sock] + list(args), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    def building(self, start):
        srv = self.server
        idx = srv.wait_for(lambda l: "reloading" in l, start, 10.0)
        self.assertIsNotNone(idx, "the reload starts; log:\n%s" % srv.log(start))
        return idx

    def done(self, start):
        return self.server.wait_for(lambda l: "reload done" in l or "reload failed" in l,
                                    start, 0)

    def test_control_socket_answers_while_a_reload_builds(self):
        srv = self.server
        start = srv.nlines()
        result = {}
        first = threading.Thread(target=lambda: result.update(r=self.ctl("reload")))
        first.start()
        try:
            self.building(start)
            t_end = time.monotonic() + BUILD_BOUND
            statuses = 0
            refused = None
            while self.done(start) is None and time.monotonic() < t_end:
                t0 = time.monotonic()
                rc, out, err = self.ctl("status", timeout=5.0)
                took = time.monotonic() - t0
                if self.done(start) is not None:
                    break  # it may have waited for the swap: not a build-time answer
                self.assertEqual(rc, 0, err)
                self.assertLess(took, STATUS_BOUND,
                                "gslbctl status answered in %.2f s during the build" % took)
                statuses += 1
                if refused is None:
                    rc, out, err = self.ctl("reload", timeout=5.0)
                    if self.done(start) is None:
                        refused = (rc, out + err)
                time.sleep(0.1)
            self.assertGreaterEqual(statuses, 3, "the build took long enough to be asked "
                                    "during it (%d answers)" % statuses)
            self.assertIsNotNone(refused)
            self.assertNotEqual(refused[0], 0)
            self.assertIn("reload in progress", refused[1])
        finally:
            first.join(BUILD_BOUND)
        rc, out, err = result["r"]
        self.assertEqual(rc, 0, "gslbctl reload: %s %s" % (out, err))
        self.assertRegex(out, r"reload done: 2 zones, 1 pools, 2000\d\d names",
                         "gslbctl reload waits for the result and prints it")
        r = srv.query("h12345.big.test")
        self.assertEqual(harness.addresses(r), ["198.51.48.57"])
        self.assertEqual(len([l for l in srv.log(start).splitlines() if "reload done" in l]), 1,
                         "the refused reload did not run")

    def test_sighup_during_a_build_queues_one_more(self):
        srv = self.server
        start = srv.nlines()
        srv.proc.send_signal(signal.SIGHUP)
        self.building(start)
        srv.proc.send_signal(signal.SIGHUP)
        srv.proc.send_signal(signal.SIGHUP)  # still one more, not two
        idx = srv.wait_for(lambda l: "another follows it" in l, start, 5.0)
        self.assertIsNotNone(idx, "queued; log:\n%s" % srv.log(start))
        self.assertIsNone(self.done(start), "asked during the build")
        t_end = time.monotonic() + 2 * BUILD_BOUND
        while time.monotonic() < t_end:
            n = len([l for l in srv.log(start).splitlines() if "reload done" in l])
            if n >= 2:
                break
            time.sleep(0.2)
        time.sleep(0.5)
        lines = srv.log(start).splitlines()
        self.assertEqual(len([l for l in lines if "reload done" in l]), 2, "\n".join(lines))
        self.assertEqual(len([l for l in lines if "reloading" in l]), 2, "\n".join(lines))
        self.assertEqual(harness.addresses(srv.query("h7.big.test")), ["198.51.0.7"])

    def test_stop_during_a_build(self):
        # SIGTERM while a reload builds: the build is waited for (it uses the
        # health table) and dropped, and the process exits cleanly (under
        # the sanitizers: nothing leaked). A smaller zone keeps the wait
        # within the harness's 5 s.
        srv = self.server
        srv.write_file("big.zone", big_zone(50000))
        start = srv.nlines()
        srv.proc.send_signal(signal.SIGHUP)
        self.building(start)
        srv.stop()  # raises on a bad exit status, a timeout or a sanitizer report
        log = srv.log(start)
        self.assertNotIn("reload done", log)
        self.assertIn("waiting for the reload being built", log)


if __name__ == "__main__":
    unittest.main()
