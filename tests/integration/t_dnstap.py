#!/usr/bin/python3
"""dnstap against the real binary: queries and responses logged to a file and
to a unix socket read by fstrm_capture, read back with dnstap-ldns (message
types, addresses and ports, transport, question, rcode, identity, version);
sample = 4 logs exactly one query in four of one thread; a reload changes
what is logged without reopening the file; `gslbctl stats` counts what was
sent and dropped. A reader that never reads, and one that stops reading after
the handshake: DNS answering goes on and the dropped counter rises. On an
any-address listener the server address logged is the one asked. Config
errors name file, line and setting."""

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from harness import DATA, make_query  # noqa: E402

import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402

GSLBCTL = os.environ.get("GSLBCTL") or str(harness.REPO / "src" / "gslbctl")
if not os.path.isabs(GSLBCTL):
    GSLBCTL = os.path.abspath(GSLBCTL)
DNSTAP_LDNS = shutil.which("dnstap-ldns")
FSTRM_CAPTURE = shutil.which("fstrm_capture")
CONTENT_TYPE = b"protobuf:dnstap.Dnstap"

Z = "lb.example.test."
STATIC = "static." + Z


def scenario(extra):
    """The basic scenario with one worker (one countdown per listener), a
    control socket, and `extra`."""
    base = (DATA / "basic" / "gslbd.conf").read_text().replace("threads = 2;", "threads = 1;")
    files = {p.name: p for p in (DATA / "basic").glob("*.zone")}
    return base + '\ncontrol = { socket = "ctl.sock"; };\n' + extra, files


def ctl_json(srv, *args):
    p = subprocess.run([GSLBCTL, "-s", str(srv.path("ctl.sock"))] + list(args) + ["--json"],
                       capture_output=True, text=True, timeout=10)
    if p.returncode != 0:
        raise AssertionError("gslbctl %s: %s%s" % (args, p.stdout, p.stderr))
    return json.loads(p.stdout)


def tap_counters(srv):
    d = ctl_json(srv, "stats")["dnstap"]
    return d["sent"], d["dropped"]


def parse_dnstap_yaml(text):
    """dnstap-ldns -y output as a list of {"identity", "version", "message":
    {field: text}}; block scalars (the DNS messages) joined as text. Written
    here so that the tests need no YAML library."""
    docs, cur, block, lines = [], None, None, []

    def end_block():
        nonlocal block, lines
        if block is not None:
            cur["message"][block] = "\n".join(lines)
        block, lines = None, []

    for line in text.splitlines():
        if line == "---":
            end_block()
            cur = None
            continue
        if block is not None and (line.startswith("    ") or not line.strip()):
            lines.append(line[4:])
            continue
        end_block()
        if cur is None:
            cur = {"message": {}}
            docs.append(cur)
        if line.lstrip().startswith("#") or ":" not in line:
            continue
        key, _, value = line.strip().partition(":")
        value = value.strip().strip('"')
        if line.startswith("  "):
            if value == "|":
                block = key
            else:
                cur["message"][key] = value
        elif key != "message":
            cur[key] = value
    end_block()
    return docs


def read_tap(path):
    p = subprocess.run([DNSTAP_LDNS, "-y", "-r", str(path)], capture_output=True, text=True,
                       timeout=30)
    if p.returncode != 0:
        raise AssertionError("dnstap-ldns -r %s: %s" % (path, p.stderr))
    return parse_dnstap_yaml(p.stdout)


def header_id(text):
    for word in text.replace(",", " ").split(";; ->>HEADER<<-", 1)[-1].split("id:", 1)[1:]:
        return int(word.split()[0])
    return None


def question(text):
    lines = text.splitlines()
    for i, l in enumerate(lines):
        if l.startswith(";; QUESTION SECTION:") and i + 1 < len(lines):
            return lines[i + 1].lstrip(";").split("\t")[0]
    return None


def rcode(text):
    return text.split("rcode:", 1)[1].split(",")[0].strip()


def by_id(docs):
    """{DNS id: {"AUTH_QUERY": msg, "AUTH_RESPONSE": msg}}"""
    out = {}
    for d in docs:
        m = d["message"]
        body = m.get("query_message") or m.get("response_message")
        if body is None:
            continue
        out.setdefault(header_id(body), {})[m["type"]] = m
    return out


def udp_exchange(sock, addr, wire, timeout=2.0):
    sock.settimeout(timeout)
    sock.sendto(wire, addr)
    return sock.recv(65535)


def need(tool, name):
    if tool is None:
        raise unittest.SkipTest("%s not installed (Debian: %s)" % (name, {
            "dnstap-ldns": "dnstap-ldns", "fstrm_capture": "fstrm-bin"}[name]))


class FileOutput(unittest.TestCase):
    """One server writing to a file; every check reads the same file."""

    @classmethod
    def setUpClass(cls):
        need(DNSTAP_LDNS, "dnstap-ldns")
        cls.tmp = Path(tempfile.mkdtemp(prefix="gslbd-tap-"))
        cls.path = cls.tmp / "tap.fstrm"  # outside the server's dir: read after it stops
        text, files = scenario('dnstap = { file = "%s"; identity = "it-ns1"; };\n' % cls.path)
        srv = harness.start(text, files=files)
        try:
            cls.port = srv.port
            cls.sent = {}  # id -> (qname, transport, client port, family)
            s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s4.bind(("127.0.0.1", 0))
            for i, (name, qtype) in enumerate([(STATIC, "A"), ("www." + Z, "A"),
                                               ("nx." + Z, "A")]):
                q = make_query(name, qtype)
                q.id = 1000 + i
                r = dns.message.from_wire(udp_exchange(s4, srv.addr(), q.to_wire()))
                cls.sent[q.id] = (name, "UDP", s4.getsockname()[1], "INET", r.rcode())
            q = make_query("www." + Z, "AAAA")
            q.id = 2000
            srv.send(q, tcp=True)
            cls.sent[q.id] = ("www." + Z, "TCP", None, "INET", dns.rcode.NOERROR)
            cls.v6 = srv.v6
            if srv.v6:
                s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
                s6.bind(("::1", 0))
                q = make_query(STATIC, "TXT")
                q.id = 3000
                udp_exchange(s6, srv.addr(v6=True), q.to_wire())
                cls.sent[q.id] = (STATIC, "UDP", s6.getsockname()[1], "INET6",
                                  dns.rcode.NOERROR)
                s6.close()
            else:
                harness.note_skip("FileOutput IPv6 query", "::1 not usable")
            # A message the server drops (QR set): its query is logged alone.
            s4.sendto(harness.header(4000, flags=0x8000) + harness.question(STATIC), srv.addr())
            time.sleep(0.2)
            s4.close()
            cls.counters = tap_counters(srv)
            cls.status = ctl_json(srv, "status")["dnstap"]
        except BaseException:
            srv.stop(check=False)
            shutil.rmtree(str(cls.tmp), ignore_errors=True)
            raise
        srv.stop()  # flushes the writer
        cls.docs = read_tap(cls.path)
        cls.ids = by_id(cls.docs)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(str(cls.tmp), ignore_errors=True)

    def test_every_query_and_response(self):
        for qid, (name, proto, cport, family, rc) in self.sent.items():
            pair = self.ids.get(qid)
            self.assertIsNotNone(pair, "query id %d not in the dnstap file" % qid)
            self.assertEqual(set(pair), {"AUTH_QUERY", "AUTH_RESPONSE"}, qid)
            q, r = pair["AUTH_QUERY"], pair["AUTH_RESPONSE"]
            for m in (q, r):
                self.assertEqual(m["socket_protocol"], proto)
                self.assertEqual(m["socket_family"], family)
                addr = "::1" if family == "INET6" else "127.0.0.1"
                self.assertEqual(m["query_address"], addr)
                self.assertEqual(m["response_address"], addr)
                if cport is not None:
                    self.assertEqual(int(m["query_port"]), cport)
                self.assertIn("query_time", m)
            self.assertEqual(question(q["query_message"]), name)
            self.assertEqual(question(r["response_message"]), name)
            self.assertIn("response_time", r)
            self.assertEqual(rcode(r["response_message"]), dns.rcode.to_text(rc))
            self.assertNotIn("response_message", q)
            self.assertNotIn("query_message", r)

    def test_server_port(self):
        q = self.ids[1000]["AUTH_QUERY"]
        self.assertEqual(int(q["response_port"]), self.port)

    def test_nxdomain_logged_as_such(self):
        self.assertEqual(rcode(self.ids[1002]["AUTH_RESPONSE"]["response_message"]), "NXDOMAIN")

    def test_dropped_query_logged_without_response(self):
        self.assertEqual(set(self.ids.get(4000, {})), {"AUTH_QUERY"})

    def test_identity_and_version(self):
        for d in self.docs:
            self.assertEqual(d["type"], "MESSAGE")
            self.assertEqual(d["identity"], "it-ns1")
            self.assertRegex(d["version"], r"^gslbd \d")

    def test_counters_match_the_file(self):
        sent, dropped = self.counters
        self.assertEqual(dropped, 0)
        self.assertEqual(sent, len(self.docs))
        self.assertEqual(sent, 2 * (len(self.sent) + 1) - 1)

    def test_status(self):
        self.assertTrue(self.status["connected"])
        self.assertEqual(self.status["sample"], 1)
        self.assertTrue(self.status["destination"].startswith("file "))
        self.assertTrue(self.status["destination"].endswith("tap.fstrm"))


class Sampling(unittest.TestCase):
    def test_one_in_four_then_reload_to_responses_only(self):
        need(DNSTAP_LDNS, "dnstap-ldns")
        tmp = Path(tempfile.mkdtemp(prefix="gslbd-tap-"))
        self.addCleanup(shutil.rmtree, str(tmp), True)
        path = tmp / "tap.fstrm"
        extra = 'dnstap = { file = "%s"; sample = 4; };\n' % path
        text, files = scenario(extra)
        with harness.start(text, files=files) as srv:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))  # one socket: one UDP thread, one countdown
            for i in range(40):
                q = make_query(STATIC, "A")
                q.id = i
                udp_exchange(s, srv.addr(), q.to_wire())
            self.assertEqual(tap_counters(srv), (20, 0))
            # Same destination: the writer (and the file) stays; the rest applies.
            srv.write_conf(text.replace("sample = 4;", "sample = 4; log_queries = false;"))
            result, log = srv.reload()
            self.assertEqual(result, "done", log)
            for i in range(40, 48):
                q = make_query(STATIC, "A")
                q.id = i
                udp_exchange(s, srv.addr(), q.to_wire())
            s.close()
            self.assertEqual(tap_counters(srv), (22, 0))
            srv.stop()
            docs = read_tap(path)
        ids = by_id(docs)
        kinds = [d["message"]["type"] for d in docs]
        self.assertEqual(kinds.count("AUTH_QUERY"), 10)
        self.assertEqual(kinds.count("AUTH_RESPONSE"), 12)
        # The first query is logged, then every fourth.
        self.assertEqual(sorted(i for i in ids if i < 40), list(range(0, 40, 4)))
        self.assertEqual(sorted(i for i in ids if i >= 40), [40, 44])
        for i in (40, 44):
            self.assertEqual(set(ids[i]), {"AUTH_RESPONSE"})


class SocketCapture(unittest.TestCase):
    def test_fstrm_capture_reads_queries_and_responses(self):
        need(DNSTAP_LDNS, "dnstap-ldns")
        need(FSTRM_CAPTURE, "fstrm_capture")
        tmp = Path(tempfile.mkdtemp(prefix="gslbd-tap-"))
        sock, out = tmp / "tap.sock", tmp / "cap.fstrm"
        cap = subprocess.Popen([FSTRM_CAPTURE, "-t", CONTENT_TYPE.decode(), "-u", str(sock),
                                "-w", str(out)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10 * harness.SLOW
            while not sock.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertTrue(sock.exists(), "fstrm_capture made no socket")
            text, files = scenario('dnstap = { socket = "%s"; };\n' % sock)
            with harness.start(text, files=files) as srv:
                while not ctl_json(srv, "status")["dnstap"]["connected"]:
                    self.assertLess(time.monotonic(), deadline, "never connected")
                    time.sleep(0.05)
                for i in range(6):
                    q = make_query(STATIC if i % 2 else "www." + Z, "A")
                    q.id = 500 + i
                    srv.send(q, tcp=i >= 4)
                self.assertEqual(tap_counters(srv), (12, 0))
                srv.stop()  # STOP frame; fstrm_capture then closes its file
            cap.send_signal(signal.SIGTERM)
            cap.wait(10)
            docs = read_tap(out)
        finally:
            if cap.poll() is None:
                cap.kill()
                cap.wait()
            shutil.rmtree(str(tmp), ignore_errors=True)
        ids = by_id(docs)
        self.assertEqual(sorted(ids), list(range(500, 506)))
        for i in range(500, 506):
            self.assertEqual(set(ids[i]), {"AUTH_QUERY", "AUTH_RESPONSE"})
            self.assertEqual(ids[i]["AUTH_QUERY"]["socket_protocol"], "TCP" if i >= 504 else "UDP")
            self.assertEqual(question(ids[i]["AUTH_RESPONSE"]["response_message"]),
                             STATIC if i % 2 else "www." + Z)


class AnyAddress(unittest.TestCase):
    """On an any-address listener (0.0.0.0) the server's address logged is
    the one each query was sent to (IP_PKTINFO over UDP, the connection's
    own address over TCP), not 0.0.0.0. 127.0.0.0/8 is all on lo."""

    def test_response_address_is_where_the_query_went(self):
        need(DNSTAP_LDNS, "dnstap-ldns")
        tmp = Path(tempfile.mkdtemp(prefix="gslbd-tap-"))
        self.addCleanup(shutil.rmtree, str(tmp), True)
        path = tmp / "tap.fstrm"
        text, files = scenario('dnstap = { file = "%s"; };\n' % path)
        with harness.start(text, files=files, listen=["0.0.0.0:0"]) as srv:
            port = srv.ports["0.0.0.0"]
            q = make_query(STATIC, "A")
            q.id = 7001
            dns.query.udp(q, "127.0.0.2", port=port, timeout=2)
            q = make_query(STATIC, "A")
            q.id = 7002
            dns.query.tcp(q, "127.0.0.3", port=port, timeout=2)
            srv.stop()
        ids = by_id(read_tap(path))
        for qid, dest, proto in ((7001, "127.0.0.2", "UDP"), (7002, "127.0.0.3", "TCP")):
            for kind in ("AUTH_QUERY", "AUTH_RESPONSE"):
                m = ids[qid][kind]
                self.assertEqual(m["socket_protocol"], proto)
                self.assertEqual(m["response_address"], dest, (qid, kind))
                self.assertEqual(int(m["response_port"]), port)


def frame(ctype, fields=b""):
    payload = struct.pack(">I", ctype) + fields
    return struct.pack(">II", 0, len(payload)) + payload


def read_control(conn):
    head = harness.recv_exact(conn, 8)
    escape, length = struct.unpack(">II", head)
    assert escape == 0, "expected a control frame"
    return struct.unpack(">I", harness.recv_exact(conn, length)[:4])[0]


class SlowReader(unittest.TestCase):
    """Readers that do not keep up: answers never wait for the log."""

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="gslbd-tap-"))
        self.path = self.tmp / "slow.sock"
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(self.path))
        self.listener.listen(16)
        self.conns = []

    def tearDown(self):
        for c in self.conns:
            c.close()
        self.listener.close()
        shutil.rmtree(str(self.tmp), ignore_errors=True)

    def handshake_then_stall(self):
        """Accept one writer, answer its READY with ACCEPT, take its START,
        then read nothing more (the connection stays open)."""
        self.listener.settimeout(10)
        conn, _ = self.listener.accept()
        self.conns.append(conn)
        conn.settimeout(10)
        self.assertEqual(read_control(conn), 0x04)  # READY
        conn.sendall(frame(0x01, struct.pack(">II", 1, len(CONTENT_TYPE)) + CONTENT_TYPE))
        self.assertEqual(read_control(conn), 0x02)  # START

    def flood(self, srv, until, rounds=200, batch=100):
        """Send UDP queries in batches until until() holds; every query must
        be answered. Returns how many were sent."""
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.bind(("127.0.0.1", 0))
        wire = make_query(STATIC, "A").to_wire()
        n = 0
        try:
            for _ in range(rounds):
                for _ in range(batch):
                    s.sendto(wire, srv.addr())
                s.settimeout(5 * harness.SLOW)
                for _ in range(batch):
                    r = dns.message.from_wire(s.recv(65535))
                    self.assertEqual(r.rcode(), dns.rcode.NOERROR)
                n += batch
                if until():
                    break
        finally:
            s.close()
        return n

    def test_reader_that_never_reads(self):
        """Connects (the backlog takes it) but never accepts or reads: the
        handshake times out, nothing is ever open; every message is dropped
        without being packed."""
        text, files = scenario('dnstap = { socket = "%s"; };\n'
                               'http = { listen = [ "127.0.0.1:0" ]; };\n' % self.path)
        with harness.start(text, files=files) as srv:
            n = self.flood(srv, lambda: True, rounds=3)
            sent, dropped = tap_counters(srv)
            self.assertEqual((sent, dropped), (0, 2 * n))
            # The same counters in /metrics.
            url = "http://127.0.0.1:%d/metrics" % srv.http_ports["127.0.0.1"]
            with urllib.request.urlopen(url, timeout=5) as r:
                metrics = r.read().decode()
            self.assertIn('gslbd_dnstap_messages_total{result="sent"} 0\n', metrics)
            self.assertIn('gslbd_dnstap_messages_total{result="dropped"} %d\n' % (2 * n),
                          metrics)
            n2 = self.flood(srv, lambda: True, batch=100)
            self.assertEqual(tap_counters(srv), (0, 2 * (n + n2)))
            self.assertFalse(ctl_json(srv, "status")["dnstap"]["connected"])
            t0 = time.monotonic()
            srv.stop()  # within the harness's stop timeout, with the reader stuck
            self.assertLess(time.monotonic() - t0, 4 * harness.SLOW)

    def test_reader_that_stops_reading(self):
        """Takes the handshake, then stalls: the socket buffer fills, then
        the writer's queue; from there on messages are dropped and counted
        while every query is still answered."""
        text, files = scenario('dnstap = { socket = "%s"; };\n' % self.path)
        with harness.start(text, files=files) as srv:
            self.handshake_then_stall()
            deadline = time.monotonic() + 10 * harness.SLOW
            while not ctl_json(srv, "status")["dnstap"]["connected"]:
                self.assertLess(time.monotonic(), deadline, "never connected")
                time.sleep(0.05)
            n = self.flood(srv, lambda: tap_counters(srv)[1] > 0)
            sent, dropped = tap_counters(srv)
            self.assertGreater(dropped, 0, "nothing dropped after %d queries" % n)
            self.assertGreater(sent, 0)
            self.assertEqual(sent + dropped, 2 * n)
            n2 = self.flood(srv, lambda: tap_counters(srv)[1] > dropped, rounds=50)
            sent2, dropped2 = tap_counters(srv)
            self.assertGreater(dropped2, dropped, "the dropped counter must keep rising "
                               "(sent %d -> %d after %d more queries)" % (sent, sent2, n2))
            self.assertEqual(sent2 + dropped2, 2 * (n + n2))
            t0 = time.monotonic()
            srv.stop()
            self.assertLess(time.monotonic() - t0, 4 * harness.SLOW)


BAD = [
    # (dnstap group, setting named in the message, text in the message)
    ('dnstap = { sample = 2; };', "dnstap", "missing its destination"),
    ('dnstap = { file = "a"; socket = "b"; };', "dnstap.file", "not both"),
    ('dnstap = { file = "a"; sample = 0; };', "dnstap.sample", "from 1 to"),
    ('dnstap = { file = "a"; log_queries = "yes"; };', "dnstap.log_queries", "true or false"),
    ('dnstap = { file = "a"; colour = 1; };', "dnstap.colour", "unknown setting"),
]


class ConfigErrors(unittest.TestCase):
    def test_errors_name_file_line_setting(self):
        tmp = Path(tempfile.mkdtemp(prefix="gslbd-tap-"))
        try:
            shutil.copy(str(DATA / "bad" / "ok.zone"), str(tmp / "ok.zone"))
            for group, setting, words in BAD:
                conf = tmp / "gslbd.conf"
                conf.write_text('listen = [ "127.0.0.1:0" ];\n'
                                'zones = ( { origin = "lb.example.test"; file = "ok.zone"; } );\n'
                                + group + "\n")
                rc, err = harness.run_check(conf)
                self.assertEqual(rc, 1, group)
                self.assertIn("%s:3: %s" % (conf, setting), err, group)
                self.assertIn(words, err, group)
        finally:
            shutil.rmtree(str(tmp), ignore_errors=True)

    def test_unwritable_file_refuses_start_and_keeps_writer_on_reload(self):
        need(DNSTAP_LDNS, "dnstap-ldns")
        text, files = scenario('dnstap = { file = "no/such/dir/tap.fstrm"; };\n')
        with self.assertRaises(RuntimeError) as cm:
            harness.start(text, files=files)
        self.assertRegex(str(cm.exception), r"gslbd\.conf:\d+: dnstap\.file: cannot open .*"
                         r"no/such/dir/tap\.fstrm")
        tmp = Path(tempfile.mkdtemp(prefix="gslbd-tap-"))
        self.addCleanup(shutil.rmtree, str(tmp), True)
        path = tmp / "tap.fstrm"
        group = 'dnstap = { file = "%s"; };' % path
        text, files = scenario(group + "\n")
        with harness.start(text, files=files) as srv:
            srv.query(STATIC, "A")
            srv.write_conf(text.replace(str(path), str(tmp / "no/such/dir/tap.fstrm")))
            result, log = srv.reload()
            self.assertEqual(result, "done", log)
            self.assertIn("dnstap.file: cannot open", log)
            self.assertIn("stays", log)
            srv.query(STATIC, "A")
            self.assertEqual(tap_counters(srv), (4, 0))
            st = ctl_json(srv, "status")["dnstap"]
            self.assertEqual(st["destination"], "file %s" % path)
            # Removing the group turns it off.
            srv.write_conf(text.replace(group, ""))
            result, log = srv.reload()
            self.assertEqual(result, "done", log)
            self.assertIsNone(ctl_json(srv, "status")["dnstap"])
            srv.query(STATIC, "A")
            self.assertEqual(tap_counters(srv), (4, 0))
            srv.stop()
            self.assertEqual(len(read_tap(path)), 4)


if __name__ == "__main__":
    unittest.main(verbosity=2)
