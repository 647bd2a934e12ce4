"""Fake backends for the gslbd health-check integration tests, and the helpers
those tests share (t_health.py, t_failover.py, t_control.py).

Every backend is a real listener on a loopback address (all of 127/8 is local
on Linux) bound to port 0 the first time; `.port` is what the kernel chose,
`.stop()` closes the listener (connections are refused from then on) and
`.start()` opens it again on the same port.  No mocks: gslbd probes these
sockets for real.

    TCPBackend      accepts and closes
    HTTPBackend     http.server in a thread; `.status` (200 <-> 503) and
                    `.body` switchable at run time; `tls=(cert, key)` -> HTTPS
    HungBackend     accepts and never answers (connections held open)
    DNSBackend      UDP responder (dnspython): A 192.0.2.1, or SERVFAIL
    ExecCheck       a /bin/sh check script: exit 1 while a flag file exists
    StateFile       the file a `file` check reads ("ADDRESS up|down" lines)
    self_signed()   a throwaway certificate made with openssl

Run with /usr/bin/python3 (it has dnspython).  Every wait is bounded.
"""

import http.server
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdataclass  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.rrset  # noqa: E402

JOIN_TIMEOUT = 3.0


def _listen_socket(host, port, kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    if kind == socket.SOCK_STREAM:
        s.listen(128)
    return s


class _ThreadBackend:
    """A listener served by one thread that polls a stop flag every 50 ms."""
    kind = socket.SOCK_STREAM

    def __init__(self, host="127.0.0.1", start=True):
        self.host = host
        self.port = 0
        self.sock = None
        self._thread = None
        self._stop = threading.Event()
        if start:
            self.start()

    @property
    def running(self):
        return self.sock is not None

    @property
    def target(self):
        return "%s:%d" % (self.host, self.port)

    def start(self):
        if self.sock is not None:
            return
        self.sock = _listen_socket(self.host, self.port, self.kind)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(self.sock, self._stop),
                                        daemon=True)
        self._thread.start()

    def stop(self):
        if self.sock is None:
            return
        self._stop.set()
        self._thread.join(JOIN_TIMEOUT)
        self.sock.close()
        self.sock = None
        self._closed()

    def _closed(self):
        pass

    def _serve(self, sock, stop):
        raise NotImplementedError


class TCPBackend(_ThreadBackend):
    """Accepts connections and closes them at once."""

    def __init__(self, host="127.0.0.1", start=True):
        self.accepted = 0
        super().__init__(host, start)

    def _serve(self, sock, stop):
        while not stop.is_set():
            try:
                c, _ = sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            c.close()


class AgentBackend(_ThreadBackend):
    """An agent for the `agent` check (HAProxy's agent-check protocol): each
    connection gets `.reply` and a newline, then is closed.  Tests change
    `.reply` while gslbd probes it ("up 75%", "drain", "junk"...).  With
    `.expect` set, the reply goes only to connections that sent it first."""

    def __init__(self, host="127.0.0.1", reply="up 100%", start=True):
        self.reply = reply
        self.expect = None
        self.accepted = 0
        self.received = b""
        super().__init__(host, start)

    def _serve(self, sock, stop):
        while not stop.is_set():
            try:
                c, _ = sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            try:
                c.settimeout(0.5)
                if self.expect is not None:
                    got = c.recv(256)
                    self.received = got
                    if got != self.expect:
                        c.close()
                        continue
                c.sendall((self.reply + "\n").encode())
            except OSError:
                pass
            c.close()


class HungBackend(_ThreadBackend):
    """Accepts connections and never answers; they stay open until stop()."""

    def __init__(self, host="127.0.0.1", start=True):
        self.conns = []
        self._lock = threading.Lock()
        super().__init__(host, start)

    def _serve(self, sock, stop):
        while not stop.is_set():
            try:
                c, _ = sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.conns.append(c)

    @property
    def accepted(self):
        with self._lock:
            return len(self.conns)

    def _closed(self):
        with self._lock:
            for c in self.conns:
                c.close()
            self.conns = []


class DNSBackend(_ThreadBackend):
    """UDP DNS responder: A queries get 192.0.2.1 (mode "ok") or SERVFAIL
    (mode "servfail"); other types get NOERROR with no answer."""
    kind = socket.SOCK_DGRAM
    ANSWER = "192.0.2.1"

    def __init__(self, host="127.0.0.1", start=True):
        self.mode = "ok"
        self.queries = 0
        super().__init__(host, start)

    def _serve(self, sock, stop):
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                q = dns.message.from_wire(data)
            except Exception:  # noqa: BLE001 -- junk is ignored
                continue
            self.queries += 1
            r = dns.message.make_response(q)
            r.flags |= dns.flags.AA
            if self.mode == "servfail":
                r.set_rcode(dns.rcode.SERVFAIL)
            elif q.question and q.question[0].rdtype == dns.rdatatype.A:
                qn = q.question[0].name
                r.answer.append(dns.rrset.from_text(qn, 30, "IN", "A", self.ANSWER))
            try:
                sock.sendto(r.to_wire(), peer)
            except OSError:
                pass


class _Handler(http.server.BaseHTTPRequestHandler):
    backend = None  # set per server class

    def _reply(self, with_body):
        b = self.backend
        with b.lock:
            b.requests += 1
            b.hosts.append(self.headers.get("Host"))
            b.paths.append(self.path)
            status, body = b.status, b.body
            extra = dict(getattr(b, "extra_headers", {}))
        data = body.encode()
        self.send_response(status)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        if with_body:
            self.wfile.write(data)

    def do_GET(self):  # noqa: N802
        self._reply(True)

    def do_HEAD(self):  # noqa: N802
        self._reply(False)

    def log_message(self, *args):
        pass

    def log_error(self, *args):
        pass


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    tls_context = None

    def finish_request(self, request, client_address):
        # TLS handshake in the per-connection thread, so a client that
        # aborts the handshake (certificate rejected) cannot stall accept.
        if self.tls_context is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(5.0)
        try:
            tls = self.tls_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            tls.close()

    def handle_error(self, request, client_address):
        pass


class HTTPBackend:
    """http.server in a thread. `status` and `body` can be changed at any time;
    with tls=(certfile, keyfile) it speaks HTTPS."""

    def __init__(self, host="127.0.0.1", status=200, body="OK\n", tls=None, start=True):
        self.host = host
        self.port = 0
        self.status = status
        self.body = body
        self.tls = tls
        self.lock = threading.Lock()
        self.requests = 0
        self.hosts = []
        self.paths = []
        self.httpd = None
        self._thread = None
        if start:
            self.start()

    @property
    def running(self):
        return self.httpd is not None

    @property
    def target(self):
        return "%s:%d" % (self.host, self.port)

    def set_status(self, status):
        with self.lock:
            self.status = status

    def set_body(self, body):
        with self.lock:
            self.body = body

    def start(self):
        if self.httpd is not None:
            return
        handler = type("Handler", (_Handler,), {"backend": self})
        srv = _HTTPServer((self.host, self.port), handler)
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.tls[0], self.tls[1])
            srv.tls_context = ctx
        self.port = srv.server_address[1]
        self.httpd = srv
        self._thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def stop(self):
        if self.httpd is None:
            return
        self.httpd.shutdown()
        self._thread.join(JOIN_TIMEOUT)
        self.httpd.server_close()
        self.httpd = None


def self_signed(directory):
    """A throwaway self-signed certificate for CN=localhost: (certfile, keyfile)."""
    d = Path(directory)
    key, cert = d / "key.pem", d / "cert.pem"
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-subj", "/CN=localhost", "-days", "1",
                        "-keyout", str(key), "-out", str(cert)],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("openssl req failed: %s" % p.stdout.decode(errors="replace"))
    return str(cert), str(key)


class ExecCheck:
    """A check script in `directory`: exits 1 while the flag file
    down-$GSLBD_ADDRESS exists, else 0.  Each run appends
    "ADDRESS PORT CHECK" to calls.log."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "check.sh"
        self.calls = self.dir / "calls.log"
        self.path.write_text(
            "#!/bin/sh\n"
            "# gslbd integration tests: exec check, down while the flag file exists\n"
            'echo "$GSLBD_ADDRESS $GSLBD_PORT $GSLBD_CHECK" >> "%s"\n'
            'if [ -e "%s/down-$GSLBD_ADDRESS" ]; then exit 1; fi\n'
            "exit 0\n" % (self.calls, self.dir))
        self.path.chmod(0o755)

    def set_down(self, address, down=True):
        flag = self.dir / ("down-" + address)
        if down:
            flag.write_text("down\n")
        elif flag.exists():
            flag.unlink()

    def call_lines(self):
        try:
            return [l.split() for l in self.calls.read_text().splitlines() if l.strip()]
        except FileNotFoundError:
            return []


class StateFile:
    """The file a `file` check reads: one "KEY up|down" line per entry,
    rewritten atomically (temporary file + rename) by `set`."""

    def __init__(self, path, states=None):
        self.path = Path(path)
        self.states = dict(states or {})
        self.write()

    def write(self):
        lines = ["# written by the gslbd integration tests"]
        lines += ["%s %s" % (k, v) for k, v in self.states.items()]
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        os.replace(tmp, self.path)

    def set(self, key, state):
        self.states[key] = state
        self.write()


# ------------------------------------------------------------ shared test helpers

ZONE_NAME = "lb.example.test.zone"
ZONE = """; zone for the health-check tests
$ORIGIN lb.example.test.
$TTL 300
@        IN SOA ns1.lb.example.test. hostmaster.lb.example.test. 2024010101 3600 600 86400 60
         IN NS  ns1
ns1      IN A   192.0.2.53
static   IN A   198.51.100.1
"""
ZONE_CONF = 'zones = ( { origin = "lb.example.test"; file = "%s"; } );' % ZONE_NAME


class Answer:
    def __init__(self, msg, latency, t):
        self.msg = msg
        self.latency = latency
        self.t = t
        self.rcode = msg.rcode()
        self.addrs = frozenset(harness.addresses(msg, "A")) | frozenset(harness.addresses(msg, "AAAA"))
        self.ttl = msg.answer[0].ttl if msg.answer else None

    def __repr__(self):
        return "<%s %s ttl=%s>" % (dns.rcode.to_text(self.rcode), sorted(self.addrs), self.ttl)


class Watch:
    """Queries one name over UDP from one socket (ids matched, late answers
    skipped) and polls answers until a predicate holds, within a bound."""

    def __init__(self, server, name, rdtype="A"):
        self.server = server
        self.name = name
        self.rdtype = rdtype
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect(server.addr())
        self.next_id = int(time.monotonic() * 1000) & 0xFFFF
        self.history = []

    def close(self):
        self.sock.close()

    def ask(self, name=None, rdtype=None, timeout=1.0):
        self.next_id = (self.next_id + 1) & 0xFFFF
        q = harness.make_query(name or self.name, rdtype or self.rdtype, id_=self.next_id)
        wire = q.to_wire()
        for _attempt in range(3):
            t0 = time.monotonic()
            self.sock.send(wire)
            deadline = t0 + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.sock.settimeout(left)
                try:
                    data = self.sock.recv(65535)
                except socket.timeout:
                    break
                except ConnectionRefusedError:
                    raise AssertionError("gslbd is not listening any more")
                r = dns.message.from_wire(data)
                if r.id == q.id:
                    a = Answer(r, time.monotonic() - t0, time.monotonic())
                    self.history.append(a)
                    if len(self.history) > 2000:
                        del self.history[:1000]
                    return a
        raise AssertionError("no answer for %s %s within 3 x %.1fs" % (name or self.name,
                                                                        rdtype or self.rdtype, timeout))

    def until(self, pred, bound, every=0.02, t0=None):
        """Poll every `every` s until pred(answer); returns (elapsed since t0,
        answer, every answer seen) -- elapsed None once `bound` s have passed
        since t0 without pred holding."""
        t0 = time.monotonic() if t0 is None else t0
        seen = []
        for _ in range(int(bound / every) + 200):
            a = self.ask()
            seen.append(a)
            # the answer reflects the server's state at some point between
            # sending and receiving: count from the send
            at = a.t - a.latency - t0
            if pred(a):
                return max(at, 0.0), a, seen
            if at > bound:
                return None, a, seen
            time.sleep(every)
        return None, seen[-1], seen

    def during(self, seconds, every=0.02):
        """Every answer seen for `seconds` s."""
        out = []
        t0 = time.monotonic()
        for _ in range(int(seconds / every) + 200):
            out.append(self.ask())
            if time.monotonic() - t0 >= seconds:
                break
            time.sleep(every)
        return out

    def recent(self, n=12):
        return "\n".join("  %+.3fs %r" % (a.t - self.history[-1].t, a) for a in self.history[-n:])


def find_line(server, start, *needles, timeout=1.0, nocase=()):
    """Index and text of the first log line from `start` containing every
    needle (those also in `nocase` compared case-insensitively), or (None, None)."""
    def ok(line):
        for n in needles:
            if n in nocase:
                if n.lower() not in line.lower():
                    return False
            elif n not in line:
                return False
        return True
    idx = server.wait_for(ok, start, timeout)
    if idx is None:
        return None, None
    with server._cv:
        return idx, server.lines[idx]


class HealthCase:
    """Mixin for unittest.TestCase: a temp dir, backends and servers cleaned
    up after each test, and the timing assertions of the health tests."""

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="gslbd-ht-"))
        self._backends = []
        self._servers = []
        self._watches = []

    def tearDown(self):
        problems = []
        for w in self._watches:
            w.close()
        for s in self._servers:
            try:
                s.stop()
            except AssertionError as e:
                problems.append(str(e))
        for b in self._backends:
            try:
                b.stop()
            except Exception as e:  # noqa: BLE001
                problems.append("backend stop: %s" % e)
        if not os.environ.get("KEEP_TMP"):
            shutil.rmtree(self.tmp, ignore_errors=True)
        if problems:
            raise AssertionError("\n".join(problems))

    def backend(self, b):
        self._backends.append(b)
        return b

    def start(self, conf, files=None):
        fs = {ZONE_NAME: ZONE}
        fs.update(files or {})
        srv = harness.start(conf, v6=False, files=fs)
        self._servers.append(srv)
        return srv

    def watch(self, srv, name="www.lb.example.test.", rdtype="A"):
        w = Watch(srv, name, rdtype)
        self._watches.append(w)
        return w

    # -- assertions
    def assertAnswers(self, a, addrs, what=""):
        self.assertEqual(a.rcode, dns.rcode.NOERROR, "%s: rcode; %r" % (what, a))
        self.assertEqual(set(a.addrs), set(addrs), "%s: answered addresses" % what)

    def assertWithin(self, w, pred, bound, desc, t0=None, lower=None, srv=None):
        """pred must hold within `bound` s of t0 (and not before `lower` s)."""
        t0 = time.monotonic() if t0 is None else t0
        elapsed, a, seen = w.until(pred, bound, t0=t0)
        if elapsed is None:
            log = ("\n--- server log (tail) ---\n" + srv.log()[-3000:]) if srv else ""
            self.fail("%s: not within %.2fs (last answer %r)\nrecent answers:\n%s%s"
                      % (desc, bound, a, w.recent(), log))
        if lower is not None:
            self.assertGreaterEqual(elapsed, lower, "%s: after %.3fs, sooner than the %.3fs "
                                    "that rise/fall/timeout allow" % (desc, elapsed, lower))
        return elapsed, a, seen


def json_member_dicts(obj, address):
    """Every dict inside `obj` (parsed JSON) with a string value equal to
    `address` or starting with "address:" / "address/"."""
    out = []

    def walk(o):
        if isinstance(o, dict):
            for v in o.values():
                if isinstance(v, str) and (v == address or v.startswith(address + ":")
                                           or v.startswith(address + "/")):
                    out.append(o)
                    break
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(obj)
    return out


def json_state(d):
    """'up' / 'down' from a member dict of `status --json`, or None."""
    for k in ("state", "status", "health", "effective", "effective_state"):
        v = d.get(k)
        if isinstance(v, str) and v.lower() in ("up", "down", "drained"):
            return v.lower()
    if isinstance(d.get("up"), bool):
        return "up" if d["up"] else "down"
    return None


def dumps(obj):
    return json.dumps(obj, indent=1, sort_keys=True)[:3000]


STATE_LINE_RE = re.compile(r"^\S+ \S+ \S+$")


# ------------------------------------------------------------ config text

# Aggressive checks keep the suite fast.  Bounds used by the tests:
#   going down:  at most INTERVAL x FALL + TIMEOUT + SLACK after the break
#                (the probe after the break may start up to one interval
#                later, FALL failures an interval apart, the last one may
#                take TIMEOUT to fail; SLACK = 0.5 s absorbs scheduling and
#                the 20 ms polling);
#   coming up:   at most INTERVAL x RISE + TIMEOUT + SLACK after the repair;
#   not sooner than (FALL - 1) x INTERVAL x 0.5 (resp. RISE): consecutive
#                probes are an interval apart, halved for timer jitter.
INTERVAL = 0.2
TIMEOUT = 0.2
RISE = 2
FALL = 2
SLACK = 0.5
DOWN_BOUND = INTERVAL * FALL + TIMEOUT + SLACK
UP_BOUND = INTERVAL * RISE + TIMEOUT + SLACK
DOWN_LOWER = (FALL - 1) * INTERVAL * 0.5
UP_LOWER = (RISE - 1) * INTERVAL * 0.5
# long enough for FALL failed probes: healthy members must stay answered
STABLE = INTERVAL * FALL + TIMEOUT + 0.2


def _value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[ " + ", ".join(_value(x) for x in v) + " ]"
    return '"%s"' % str(v).replace("\\", "\\\\").replace('"', '\\"')


def group(**kw):
    return "{ " + " ".join("%s = %s;" % (k, _value(v)) for k, v in kw.items()) + " }"


def check(name, type_, **kw):
    """A check group with the aggressive timing unless overridden."""
    base = {"name": name, "type": type_, "interval": INTERVAL, "timeout": TIMEOUT,
            "rise": RISE, "fall": FALL}
    base.update(kw)
    return group(**base)


def member(address, **kw):
    return group(address=address, **kw)


def pool(name, owners, members, **kw):
    parts = ["name = %s;" % _value(name), "owners = %s;" % _value(owners)]
    parts += ["%s = %s;" % (k, _value(v)) for k, v in kw.items()]
    parts.append("members = ( %s );" % ", ".join(members))
    return "{ " + " ".join(parts) + " }"


def config(pools, checks=(), extra=""):
    text = ['# generated by the gslbd health-check integration tests',
            'listen = [ "127.0.0.1:0" ];', "threads = 2;", ZONE_CONF]
    if checks:
        text.append("checks = (\n  " + ",\n  ".join(checks) + "\n);")
    text.append("pools = (\n  " + ",\n  ".join(pools) + "\n);")
    if extra:
        text.append(extra)
    return "\n".join(text) + "\n"
