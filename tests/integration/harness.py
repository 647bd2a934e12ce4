"""Helpers for the gslbd integration tests.

Starts the real binary (env GSLBD, default <repo>/src/gslbd) in the
foreground on loopback with kernel-chosen ports, parses its stderr, and
offers query/raw-packet/reload helpers.  Only loopback addresses are used;
every wait is bounded in time.

Run the tests with /usr/bin/python3 (it has dnspython).
"""

import ipaddress
import os
import re
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
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DATA = HERE / "data"
GSLBD = os.environ.get("GSLBD") or str(REPO / "src" / "gslbd")
if not os.path.isabs(GSLBD):
    GSLBD = os.path.abspath(GSLBD)

# A ThreadSanitizer build starts, reloads and stops several times slower:
# .ci/run sets GSLBD_TEST_SLOW there, which stretches these waits (never
# the timing bounds the health tests assert).
SLOW = float(os.environ.get("GSLBD_TEST_SLOW") or 1)
START_TIMEOUT = 10.0 * SLOW
STOP_TIMEOUT = 5.0 * SLOW
RELOAD_TIMEOUT = 10.0 * SLOW

LISTEN_RE = re.compile(r"(?<!http )listening on (\S+) port (\d+)")
HTTP_LISTEN_RE = re.compile(r"http listening on (\S+) port (\d+)")
LISTEN_SETTING_RE = re.compile(r"^[ \t]*listen[ \t]*=[ \t]*\[[^\]]*\][ \t]*;", re.M)
READY_RE = re.compile(r"\bready\b")   # not "already"
SANITIZER_RE = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:")

# ------------------------------------------------------------ loud skips
#
# A skipped test passes: automake counts the module as PASS and unittest
# prints one "s". So every skip, and every part of a test left out because
# the machine cannot do it, is announced in a line of its own on stderr
# (which lands in the module's .log):
#
#     SKIP: t_basic.py: Basic.test_ipv6_listener: ::1 not usable
#
# .ci/run prints every such line after the suite, without failing for them.

SKIP_PREFIX = "SKIP: "


def _module():
    import __main__
    return os.path.basename(getattr(__main__, "__file__", "") or "") or "?"


def note_skip(what, why):
    """Announce that `what` (a test, or a part of several) did not run, and why."""
    # On a line of its own, also when unittest's dots are running.
    print("\n%s%s: %s: %s" % (SKIP_PREFIX, _module(), what, why), file=sys.stderr, flush=True)


class LoudSkipResult(unittest.TextTestResult):
    """unittest's result, plus one SKIP line per skipped test or subtest."""

    def addSkip(self, test, reason):  # noqa: N802 (unittest's name)
        super().addSkip(test, reason)
        note_skip(test.id().split(".", 1)[-1], reason)


# unittest.main() builds its runner from TextTestRunner, whose result class
# is this documented class attribute.
unittest.TextTestRunner.resultclass = LoudSkipResult

_ipv6_ok = None


def ipv6_usable():
    """True when a socket can be bound to [::1]. The first time it is not,
    every IPv6 part of the module (listeners on [::1], v6 queries) is
    announced as skipped. GSLBD_TEST_NO_IPV6=1 pretends it is not (to test
    that path on a machine where it is)."""
    global _ipv6_ok
    if _ipv6_ok is None:
        why = None
        if os.environ.get("GSLBD_TEST_NO_IPV6"):
            why = "GSLBD_TEST_NO_IPV6 is set"
        else:
            try:
                s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
                try:
                    s.bind(("::1", 0))
                finally:
                    s.close()
            except OSError as e:
                why = "cannot bind [::1]: %s" % (e.strerror or e)
        _ipv6_ok = why is None
        if why:
            note_skip("every IPv6 part (no [::1] listener, no query over IPv6)",
                      "::1 is not usable (%s)" % why)
    return _ipv6_ok


def check_binary():
    if not os.path.isfile(GSLBD) or not os.access(GSLBD, os.X_OK):
        raise RuntimeError("gslbd binary not found or not executable: %s "
                           "(build it, or set GSLBD)" % GSLBD)


def default_listen(v6):
    return ["127.0.0.1:0"] + (["[::1]:0"] if v6 else [])


def listen_host(text):
    """The address of a `listen` entry ("ADDR:PORT", "[V6]:PORT", "ADDR") as
    gslbd logs it in "listening on ADDR port N"."""
    if text.startswith("["):
        host = text[1:text.index("]")]
    elif text.count(":") == 1:
        host = text.split(":")[0]
    else:
        host = text
    return str(ipaddress.ip_address(host))


def listen_setting(v6, listen=None):
    """The `listen` line: the entries of `listen` as given, or 127.0.0.1:0
    (and [::1]:0 with v6)."""
    addrs = listen if listen is not None else default_listen(v6)
    return "listen = [ %s ];" % ", ".join('"%s"' % a for a in addrs)


def with_listen(conf_text, v6, listen=None):
    """Replace (or add) the top-level `listen` setting."""
    new = listen_setting(v6, listen)
    if LISTEN_SETTING_RE.search(conf_text):
        return LISTEN_SETTING_RE.sub(lambda m: new, conf_text, count=1)
    return new + "\n" + conf_text


def run(args, timeout=10.0, cwd="/"):
    """Run gslbd with args; returns (rc, stdout, stderr). rc None on timeout."""
    check_binary()
    try:
        p = subprocess.run([GSLBD] + list(args), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired as e:
        return None, (e.stdout or b"").decode(errors="replace"), (e.stderr or b"").decode(errors="replace")
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def run_check(conf, timeout=10.0):
    """`gslbd -t -c CONF` -> (rc, stderr)."""
    rc, _out, err = run(["-t", "-c", str(conf)], timeout=timeout)
    return rc, err


def error_line(path, marker="<-- error"):
    """1-based number of the line of `path` that carries `marker`."""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if marker in line:
                return n
    raise ValueError("no marker %r in %s" % (marker, path))


# ---------------------------------------------------------------- wire helpers

def header(id_, flags=0, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", id_, flags, qd, an, ns, ar)


def wire_name(name):
    return dns.name.from_text(name).to_wire()


def question(name, rdtype=1, rdclass=1):
    return wire_name(name) + struct.pack("!HH", rdtype, rdclass)


def parse_header(data):
    id_, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", data[:12])
    return {"id": id_, "flags": flags, "qr": bool(flags & 0x8000),
            "opcode": (flags >> 11) & 0xF, "aa": bool(flags & 0x0400),
            "tc": bool(flags & 0x0200), "rd": bool(flags & 0x0100),
            "ra": bool(flags & 0x0080), "rcode": flags & 0xF,
            "qd": qd, "an": an, "ns": ns, "ar": ar}


def make_query(qname, rdtype="A", rdclass="IN", *, rd=True, cd=False, edns=None,
               payload=None, do=False, ednsflags=0, options=None, id_=None):
    """A dns.message query. edns=None -> no OPT unless payload/do/options given."""
    if isinstance(rdtype, str):
        rdtype = dns.rdatatype.from_text(rdtype)
    if isinstance(rdclass, str):
        rdclass = dns.rdataclass.from_text(rdclass)
    use_edns = edns
    if use_edns is None and (payload is not None or do or ednsflags or options):
        use_edns = 0
    if use_edns is None:
        use_edns = False
    flags = (dns.flags.RD if rd else 0) | (dns.flags.CD if cd else 0)
    q = dns.message.make_query(qname, rdtype, rdclass, use_edns=use_edns,
                               want_dnssec=do, ednsflags=ednsflags,
                               payload=payload if payload is not None else 1232,
                               options=options, id=id_)
    q.flags = flags
    if use_edns is not False:
        # set version and flags explicitly (dnspython 2.3's make_query drops
        # the version when it applies want_dnssec)
        fl = (ednsflags & 0xFF00FFFF & ~int(dns.flags.DO)) | (int(use_edns) << 16)
        if do:
            fl |= int(dns.flags.DO)
        q.ednsflags = fl
    return q


# ---------------------------------------------------------------- server

class Server:
    def __init__(self, workdir, conf_path, v6, prefix=None, listen=None):
        self.workdir = Path(workdir)
        self.conf_path = Path(conf_path)
        self.dir = self.conf_path.parent
        self.v6 = v6
        self.prefix = list(prefix or [])
        self.listen = listen
        self.proc = None
        self.lines = []
        self._cv = threading.Condition()
        self._reader = None
        self.ports = {}
        self.http_ports = {}   # the HTTP listener's, from "http listening on ADDR port N"
        self.stopped = False

    # -- process management
    def _read(self):
        f = self.proc.stdout
        for raw in iter(f.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            with self._cv:
                self.lines.append(line)
                self._cv.notify_all()
        with self._cv:
            self._cv.notify_all()

    def _start(self):
        check_binary()
        self.proc = subprocess.Popen(self.prefix + [GSLBD, "-c", str(self.conf_path)],
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT,
                                     cwd=str(self.workdir))
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        idx = self.wait_for(lambda l: READY_RE.search(l) is not None, 0, START_TIMEOUT)
        if idx is None:
            log = self.log()
            rc = self.proc.poll()
            self.stop(check=False)
            if rc is not None:
                raise RuntimeError("gslbd exited (rc=%s) before logging 'ready'; log:\n%s" % (rc, log))
            raise RuntimeError("gslbd did not log 'ready' within %ss; log:\n%s"
                               % (START_TIMEOUT, log))
        self._parse_ports(0, idx + 1)
        for host in (listen_host(a) for a in self.listen or default_listen(self.v6)):
            if host not in self.ports:
                log = self.log()
                self.stop(check=False)
                raise RuntimeError("no 'listening on %s port N' line; log:\n%s" % (host, log))

    def _parse_ports(self, start, end=None):
        with self._cv:
            lines = self.lines[start:end]
        for l in lines:
            m = LISTEN_RE.search(l)
            if m:
                addr = m.group(1).strip("[]")
                self.ports[addr] = int(m.group(2))
            m = HTTP_LISTEN_RE.search(l)
            if m:
                self.http_ports[m.group(1).strip("[]")] = int(m.group(2))

    def wait_for(self, pred, start, timeout):
        """Index of the first log line >= start satisfying pred, or None."""
        deadline = time.monotonic() + timeout
        i = start
        with self._cv:
            while True:
                while i < len(self.lines):
                    if pred(self.lines[i]):
                        return i
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    return None
                self._cv.wait(min(left, 0.2))

    def log(self, start=0):
        with self._cv:
            return "\n".join(self.lines[start:])

    def nlines(self):
        with self._cv:
            return len(self.lines)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, check=True):
        """SIGTERM, SIGKILL after 5 s. With check, raise if the server had died
        on its own, did not stop on SIGTERM, crashed, or logged a sanitizer error."""
        if self.stopped:
            return
        self.stopped = True
        problems = []
        if self.proc.poll() is not None:
            problems.append("server exited on its own (rc=%s) before stop" % self.proc.returncode)
        else:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                problems.append("server did not stop within %ss of SIGTERM" % STOP_TIMEOUT)
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)
            else:
                rc = self.proc.returncode
                if rc not in (0, -signal.SIGTERM):
                    problems.append("server exit status after SIGTERM: %s" % rc)
        if self._reader:
            self._reader.join(2.0)
        if self.proc.stdout:
            self.proc.stdout.close()
        log = self.log()
        if SANITIZER_RE.search(log):
            problems.append("sanitizer report in server log")
        try:
            (self.workdir / "gslbd.log").write_text(log + "\n")
        except OSError:
            pass
        if not os.environ.get("KEEP_TMP"):
            shutil.rmtree(self.workdir, ignore_errors=True)
        if check and problems:
            raise AssertionError("; ".join(problems) + "\n--- server log ---\n" + log[-6000:])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop(check=exc[0] is None)

    # -- files
    def path(self, name):
        return self.dir / name

    def write_file(self, name, text):
        p = self.dir / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        return p

    def read_file(self, name):
        return (self.dir / name).read_text()

    def write_conf(self, text):
        """Write a new config; its `listen` is set as at start so sockets are unchanged."""
        self.conf_path.write_text(with_listen(text, self.v6, self.listen))

    # -- reload
    def reload(self, timeout=RELOAD_TIMEOUT):
        """SIGHUP; returns ('done'|'failed'|None, log text since the signal)."""
        start = self.nlines()
        self.proc.send_signal(signal.SIGHUP)
        idx = self.wait_for(lambda l: "reload done" in l or "reload failed" in l, start, timeout)
        text = self.log(start)
        if idx is None:
            return None, text
        with self._cv:
            line = self.lines[idx]
        self._parse_ports(start)
        return ("done" if "reload done" in line else "failed"), text

    # -- addresses
    def addr(self, v6=False):
        if v6:
            return ("::1", self.ports["::1"])
        return ("127.0.0.1", self.ports["127.0.0.1"])

    @property
    def port(self):
        return self.ports["127.0.0.1"]

    # -- queries
    def send(self, q, tcp=False, v6=False, timeout=2.0):
        host, port = self.addr(v6)
        if tcp:
            return dns.query.tcp(q, host, port=port, timeout=timeout)
        return dns.query.udp(q, host, port=port, timeout=timeout)

    def query(self, qname, rdtype="A", rdclass="IN", *, tcp=False, v6=False,
              timeout=2.0, **kw):
        return self.send(make_query(qname, rdtype, rdclass, **kw), tcp=tcp, v6=v6,
                         timeout=timeout)

    def raw_udp(self, data, timeout=1.0, v6=False):
        """Send bytes over UDP; return the response bytes or None on timeout."""
        host, port = self.addr(v6)
        fam = socket.AF_INET6 if v6 else socket.AF_INET
        with socket.socket(fam, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.sendto(data, (host, port))
            try:
                resp, _ = s.recvfrom(65535)
                return resp
            except socket.timeout:
                return None

    def tcp_connect(self, v6=False, timeout=3.0):
        host, port = self.addr(v6)
        fam = socket.AF_INET6 if v6 else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect((host, port))
        return s

    def raw_tcp(self, data, timeout=2.0):
        """Send one length-framed message over a new TCP connection; response bytes or None."""
        with self.tcp_connect(timeout=timeout) as s:
            s.sendall(struct.pack("!H", len(data)) + data)
            return read_framed(s)


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        try:
            chunk = s.recv(n - len(buf))
        except (socket.timeout, ConnectionResetError):
            return None
        if not chunk:
            return None
        buf += chunk
    return buf


def read_framed(s):
    """One 2-byte-length-framed DNS message from a TCP socket, or None."""
    hdr = recv_exact(s, 2)
    if hdr is None:
        return None
    (n,) = struct.unpack("!H", hdr)
    return recv_exact(s, n)


def start(source, *, v6=None, files=None, conf_name="gslbd.conf", prefix=None, listen=None,
          dir_mode=None):
    """Start gslbd.

    source: a scenario directory (its files are copied into a temp dir and
    its `conf_name` is used), or the text of a config.  `files` maps extra
    relative file names to text (written next to the config).  The `listen`
    setting is replaced by 127.0.0.1:0 (and [::1]:0 when ::1 is usable), or
    by the entries of `listen` (e.g. ["0.0.0.0:0", "[::]:0"]); each entry's
    port is then in srv.ports under its address as logged ("0.0.0.0", "::").
    `prefix` is put before the command (e.g. setpriv ...); `dir_mode` is
    given to the temp dir (mkdtemp makes it 0700: 0o755 lets a user other
    than root read the config, as a reload after dropping root must).
    The server runs with the temp root as working directory, so relative
    names resolved against the cwd instead of the config's folder fail.
    """
    if v6 is None:
        v6 = ipv6_usable()
    workdir = Path(tempfile.mkdtemp(prefix="gslbd-it-"))
    if dir_mode is not None:
        workdir.chmod(dir_mode)
    confdir = workdir / "etc"
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source
                                    and os.path.isdir(source)):
        shutil.copytree(str(source), str(confdir))
        conf_path = confdir / conf_name
        text = conf_path.read_text()
    else:
        confdir.mkdir()
        conf_path = confdir / conf_name
        text = source
    for name, content in (files or {}).items():
        p = confdir / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copy(str(content), str(p))
        else:
            p.write_text(content)
    conf_path.write_text(with_listen(text, v6, listen))
    srv = Server(workdir, conf_path, v6, prefix=prefix, listen=listen)
    try:
        srv._start()
    except BaseException:
        if not srv.stopped:
            srv.stop(check=False)
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return srv


class ServerTestCase:
    """Mixin: one server per TestCase class, started from `scenario`."""
    scenario = None
    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = start(DATA / cls.scenario)

    @classmethod
    def tearDownClass(cls):
        if cls.server is not None:
            srv, cls.server = cls.server, None
            srv.stop()

    # assertion helpers
    def assertRcode(self, r, rcode):
        self.assertEqual(dns.rcode.to_text(r.rcode()), dns.rcode.to_text(rcode),
                         "rcode; response:\n%s" % r)

    def assertAlive(self):
        r = self.server.query("static.lb.example.test", "A")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertEqual(len(r.answer), 1)


def rrset(r, section, name, rdtype):
    """The RRset in section (list) with owner name and type, or None."""
    n = dns.name.from_text(name)
    t = dns.rdatatype.from_text(rdtype) if isinstance(rdtype, str) else rdtype
    for rs in section:
        if rs.name == n and rs.rdtype == t:
            return rs
    return None


def addresses(r, rdtype="A"):
    """Addresses (as text, wire order) of all A or AAAA records in the answer."""
    t = dns.rdatatype.from_text(rdtype)
    out = []
    for rs in r.answer:
        if rs.rdtype == t:
            out.extend(rd.address for rd in rs)
    return out


def answer_addresses_raw(data):
    """A/AAAA addresses of the answer section parsed straight from the wire,
    keeping duplicates (dnspython merges identical records)."""
    import ipaddress
    h = parse_header(data)
    off = 12
    for _ in range(h["qd"]):
        off = _skip_name(data, off) + 4
    out = []
    for _ in range(h["an"]):
        off = _skip_name(data, off)
        t, _c, _ttl, rdlen = struct.unpack("!HHIH", data[off:off + 10])
        off += 10
        rd = data[off:off + rdlen]
        off += rdlen
        if t == 1:
            out.append(str(ipaddress.IPv4Address(rd)))
        elif t == 28:
            out.append(str(ipaddress.IPv6Address(rd)))
    return out


def _skip_name(data, off):
    for _ in range(128):
        n = data[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n
    raise ValueError("name too long")


def names_file_line(text, path, line):
    """True when `text` contains PATH:LINE (PATH as given or its realpath)
    with LINE not followed by another digit."""
    for p in {str(path), os.path.realpath(str(path))}:
        if re.search(re.escape(p) + r":" + str(line) + r"(?!\d)", text):
            return True
    return False
