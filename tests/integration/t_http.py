"""The operators' HTTP listener against the real gslbd: /metrics (checked by
promtool when it is installed), /status.json (the same as `gslbctl status
--json`), /healthz, bad requests (unknown paths, methods, huge headers), the
allow list, slow clients, 1,000 connections at once while DNS keeps being
answered, and reloads that change the listener or cannot.

Run with /usr/bin/python3 from the repository root."""

import http.client
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import backends as B  # noqa: E402
import harness  # noqa: E402
from backends import check, config, member, pool  # noqa: E402

import dns.message  # noqa: E402
import dns.query  # noqa: E402

GSLBCTL = os.environ.get("GSLBCTL") or str(harness.REPO / "src" / "gslbctl")
if not os.path.isabs(GSLBCTL):
    GSLBCTL = os.path.abspath(GSLBCTL)
WWW = ["www.lb.example.test"]
SLOW = harness.SLOW


def get(port, path, method="GET", host="127.0.0.1", headers=None, source=None, timeout=5.0):
    """(status, headers dict with lower-case names, body text)."""
    c = http.client.HTTPConnection(host, port, timeout=timeout * SLOW,
                                   source_address=(source, 0) if source else None)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        body = r.read().decode("utf-8", errors="replace")
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body
    finally:
        c.close()


def http_conf(extra_http="", extra=""):
    return 'http = { listen = [ "127.0.0.1:0" ]; %s };\n%s' % (extra_http, extra)


class HTTP(B.HealthCase, unittest.TestCase):

    def server(self, extra_http="", extra="", interval=None):
        """web: 192.0.2.11 (backend up), 192.0.2.12 (backend dead); backup dr."""
        up = self.backend(B.TCPBackend())
        dead = self.backend(B.TCPBackend())
        dead.stop()
        kw = {"interval": interval} if interval else {}
        srv = self.start(config(
            [pool("web", WWW, [member("192.0.2.11", probe_address="127.0.0.1", port=up.port),
                               member("192.0.2.12", probe_address="127.0.0.1", port=dead.port)],
                  check="tcp", backup="dr"),
             pool("dr", ["dr.lb.example.test"], [member("192.0.2.21")])],
            [check("tcp", "tcp", **kw)], http_conf(extra_http, extra)))
        self.assertIn("127.0.0.1", srv.http_ports, "no 'http listening on' line:\n" + srv.log())
        return srv, srv.http_ports["127.0.0.1"]

    def wait_json(self, port, pred, bound, what):
        deadline = time.monotonic() + bound * SLOW
        doc = None
        while time.monotonic() < deadline:
            s, _, body = get(port, "/status.json")
            self.assertEqual(s, 200)
            doc = json.loads(body)
            if pred(doc):
                return doc
            time.sleep(0.05)
        self.fail("%s: not within %.1f s; last /status.json: %s" % (what, bound, doc))

    @staticmethod
    def member_state(doc, pool_name, address):
        for p in doc["pools"]:
            if p["name"] == pool_name:
                for m in p["members"]:
                    if m["address"] == address:
                        return m
        return None

    def dns_ok(self, srv, timeout=1.0):
        r = srv.query("dr.lb.example.test", "A", timeout=timeout * SLOW)
        self.assertEqual(harness.addresses(r), ["192.0.2.21"])

    # -- /metrics
    def test_metrics(self):
        srv, port = self.server()
        self.wait_json(port, lambda d: self.member_state(d, "web", "192.0.2.12")["state"] == "down",
                       3, "192.0.2.12 down")
        for _ in range(5):
            srv.query("www.lb.example.test", "A")
        srv.query("nosuch.lb.example.test", "A")
        status, headers, text = get(port, "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/plain; version=0.0.4"))
        for want in (
                'gslbd_member_up{pool="web",member="192.0.2.11",check="tcp"} 1\n',
                'gslbd_member_up{pool="web",member="192.0.2.12",check="tcp"} 0\n',
                'gslbd_member_up{pool="dr",member="192.0.2.21",check=""} 1\n',
                'gslbd_member_admin_state{pool="web",member="192.0.2.12",check="tcp",'
                'state="none"} 1\n',
                'gslbd_member_health_changes_total{pool="web",member="192.0.2.12",check="tcp"} 1\n',
                'gslbd_pool_answers_total{pool="web",source="primary"} 5\n',
                'gslbd_query_types_total{type="A"} 6\n',
                'gslbd_responses_rcode_total{rcode="NXDOMAIN"} 1\n',
                'gslbd_queries_total{transport="udp"} 6\n',
                'gslbd_reloads_total{result="ok"} 0\n',
                '# TYPE gslbd_probe_duration_seconds histogram\n',
                'gslbd_probe_duration_seconds_bucket{check="tcp",le="+Inf"} ',
                'gslbd_probes_total{check="tcp",result="failed"} ',
                'gslbd_config_info{hash="',
                'gslbd_build_info{version="',
                'process_cpu_seconds_total ', 'process_resident_memory_bytes ',
                'process_open_fds ', 'process_start_time_seconds '):
            self.assertIn(want, text)
        # A reload is counted, and when it happened.
        self.assertEqual(srv.reload()[0], "done")
        _, _, text = get(port, "/metrics")
        self.assertIn('gslbd_reloads_total{result="ok"} 1\n', text)
        stamp = [l for l in text.splitlines()
                 if l.startswith("gslbd_config_last_reload_success_timestamp_seconds ")]
        self.assertEqual(len(stamp), 1)
        self.assertLess(abs(float(stamp[0].split()[1]) - time.time()), 30)
        promtool = shutil.which("promtool")
        if not promtool:
            harness.note_skip("HTTP.test_metrics: promtool check metrics",
                              "promtool not installed (Debian package prometheus)")
            return
        p = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        self.assertEqual(p.returncode, 0, "promtool check metrics:\n%s"
                         % p.stdout.decode(errors="replace"))

    # -- /status.json is gslbctl status --json
    def test_status_json_and_healthz(self):
        sock = str(self.tmp / "ctl.sock")
        srv, port = self.server(extra='control = { socket = "%s"; };' % sock, interval=1)
        self.wait_json(port, lambda d: all(m["probed_at"] for p in d["pools"] for m in p["members"]
                                           if m["check"]), 5, "every member probed")
        # Probes go on meanwhile: the two must agree once in a few tries.
        for attempt in range(10):
            status, headers, body = get(port, "/status.json")
            self.assertEqual(status, 200)
            self.assertEqual(headers["content-type"], "application/json")
            p = subprocess.run([GSLBCTL, "-s", sock, "status", "--json"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=10)
            self.assertEqual(p.returncode, 0, p.stderr)
            if body == p.stdout.decode():
                break
        else:
            self.assertEqual(json.loads(body), json.loads(p.stdout))
            self.assertEqual(body, p.stdout.decode())
        status, _, body = get(port, "/healthz")
        self.assertEqual((status, body), (200, "ok\n"))

    # -- bad requests
    def test_bad_requests(self):
        srv, port = self.server()
        self.assertEqual(get(port, "/nope")[0], 404)
        self.assertEqual(get(port, "/metrics/x")[0], 404)
        status, headers, _ = get(port, "/metrics", method="POST")
        self.assertEqual(status, 405)
        self.assertEqual(headers.get("allow"), "GET, HEAD")
        self.assertEqual(get(port, "/", method="PUT")[0], 405)
        status, _, body = get(port, "/metrics", method="HEAD")
        self.assertEqual((status, body), (200, ""))
        self.assertEqual(get(port, "/metrics?x=1")[0], 200)
        status = get(port, "/metrics", headers={"X-Big": "a" * 40000})[0]
        self.assertIn(status, (400, 413, 431), "a 40 kB header")
        status = get(port, "/" + "a" * 40000)[0]
        self.assertIn(status, (400, 414, 431), "a 40 kB path")
        # Garbage instead of HTTP: an error or a closed connection, never a crash.
        with socket.create_connection(("127.0.0.1", port), timeout=5 * SLOW) as s:
            s.sendall(b"\x00\xff\x16\x03\x01 not http at all\r\n\r\n")
            try:
                reply = s.recv(100)
            except (ConnectionResetError, socket.timeout):
                reply = b""
            self.assertTrue(reply == b"" or reply.startswith(b"HTTP/1.1 4"), reply)
        self.dns_ok(srv)
        self.assertEqual(get(port, "/healthz")[0], 200)

    # -- the allow list
    def test_allow(self):
        srv, port = self.server('allow = [ "127.0.0.2/32" ];')
        status, _, body = get(port, "/healthz", source="127.0.0.2")
        self.assertEqual(status, 200)
        with self.assertRaises((ConnectionError, http.client.RemoteDisconnected, OSError)):
            get(port, "/healthz", source="127.0.0.1")
        # A reload that lets 127.0.0.1 in applies without a restart, same port.
        text = srv.conf_path.read_text().replace('allow = [ "127.0.0.2/32" ];',
                                                 'allow = [ "127.0.0.0/8" ];')
        srv.conf_path.write_text(text)
        self.assertEqual(srv.reload()[0], "done")
        self.assertEqual(srv.http_ports["127.0.0.1"], port)
        self.assertEqual(get(port, "/healthz", source="127.0.0.1")[0], 200)

    # -- slow clients
    def test_slow_client_times_out(self):
        srv, port = self.server("timeout = 1;")
        s = socket.create_connection(("127.0.0.1", port), timeout=10 * SLOW)
        try:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # and never the rest
            t0 = time.monotonic()
            self.dns_ok(srv)
            try:
                data = s.recv(4096)
            except ConnectionResetError:
                data = b""
            took = time.monotonic() - t0
            self.assertFalse(data.startswith(b"HTTP/1.1 200"), data)
            self.assertLess(took, 4 * SLOW, "closed after %.1f s (timeout 1 s)" % took)
        finally:
            s.close()

    # -- 1,000 connections
    def test_thousand_connections(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 1200
        if soft < want:
            if hard != resource.RLIM_INFINITY and hard < want:
                self.skipTest("RLIMIT_NOFILE hard limit %d < %d" % (hard, want))
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        srv, port = self.server("max_clients = 20; timeout = 60;")
        fd_dir = "/proc/%d/fd" % srv.proc.pid
        before = len(os.listdir(fd_dir))
        socks = []
        try:
            for i in range(1000):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", port))
                socks.append(s)
                if i % 100 == 99:
                    self.dns_ok(srv)
            time.sleep(0.5 * SLOW)
            sent = 0
            for s in socks:
                try:
                    s.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # slowloris: never ends
                    sent += 1
                except OSError:
                    pass
            self.assertGreater(sent, 20, "connections that could send")
            # DNS is answered, promptly, while they are all open.
            for _ in range(20):
                t0 = time.monotonic()
                self.dns_ok(srv)
                self.assertLess(time.monotonic() - t0, 1.0 * SLOW)
            held = len(os.listdir(fd_dir)) - before
            self.assertLessEqual(held, 20 + 2, "descriptors gslbd holds beyond max_clients")
        finally:
            for s in socks:
                s.close()
        # Once they are gone, the listener serves again.
        deadline = time.monotonic() + 10 * SLOW
        while True:
            try:
                if get(port, "/healthz", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            self.assertLess(time.monotonic(), deadline, "the listener did not recover")
            time.sleep(0.1)
        self.dns_ok(srv)

    # -- reloads
    def test_reload_changes_and_refusals(self):
        srv, port = self.server()
        conf = srv.conf_path.read_text()
        # Another address: bound at reload; the one kept keeps its socket.
        srv.conf_path.write_text(conf.replace('http = { listen = [ "127.0.0.1:0" ];',
                                              'http = { listen = [ "127.0.0.1:0", "127.0.0.3:0" ];'))
        state, log = srv.reload()
        self.assertEqual(state, "done", log)
        self.assertIn("127.0.0.3", srv.http_ports, log)
        self.assertEqual(srv.http_ports["127.0.0.1"], port)
        self.assertEqual(get(srv.http_ports["127.0.0.3"], "/healthz", host="127.0.0.3")[0], 200)
        self.assertEqual(get(port, "/healthz")[0], 200)
        # An address that cannot be bound: the listener stays as it was.
        taken = socket.socket()
        taken.bind(("127.0.0.4", 0))
        taken.listen(1)
        try:
            srv.conf_path.write_text(conf.replace(
                'http = { listen = [ "127.0.0.1:0" ];',
                'http = { listen = [ "127.0.0.4:%d" ];' % taken.getsockname()[1]))
            state, log = srv.reload()
            self.assertEqual(state, "done", log)
            self.assertIn("http settings not applied", log)
            self.assertIn("127.0.0.4", log)
            self.assertEqual(get(port, "/healthz")[0], 200)
        finally:
            taken.close()
        # No http any more: the listener closes.
        srv.conf_path.write_text(conf.replace(http_conf().split("\n")[0], ""))
        self.assertEqual(srv.reload()[0], "done")
        with self.assertRaises(OSError):
            get(port, "/healthz", timeout=2)
        self.dns_ok(srv)

    # -- config errors name file, line and key
    def test_config_errors(self):
        conf = self.tmp / "bad.conf"
        (self.tmp / B.ZONE_NAME).write_text(B.ZONE)
        for setting, key in (('http = { listen = [ "127.0.0.1" ]; };', "http.listen[0]"),
                             ('http = { listen = [ "127.0.0.1:0" ]; allow = [ "x" ]; };',
                              "http.allow[0]"),
                             ('http = { listen = [ "127.0.0.1:0" ]; port = 1; };', "http.port"),
                             ('http = { allow = [ "127.0.0.1" ]; };', "http")):
            conf.write_text('listen = [ "127.0.0.1:0" ];\n%s\n%s\n' % (B.ZONE_CONF, setting))
            p = subprocess.run([harness.GSLBD, "-t", "-c", str(conf)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=10)
            out = p.stdout.decode(errors="replace")
            self.assertEqual(p.returncode, 1, out)
            self.assertIn("%s:3: %s:" % (conf, key), out)


if __name__ == "__main__":
    unittest.main()
