#!/usr/bin/python3
"""probes.py -- health-probe benchmark for gslbd.

Measures two things against the real binary (see contrib/bench/README):

1. Detection time: how long after a backend dies (connection refused, or
   accepts and never answers an http check) until DNS answers stop naming it
   ("gone"), and after it comes back until answers name it again ("back").
2. Probe engine cost: CPU of the probe thread with 1,000 and 10,000
   TCP-checked members at interval = 1.0, against local listeners.

Only loopback addresses are contacted (127.0.0.1 and 127.0.0.11..14).
Every loop is bounded in count and time; only processes started here are
stopped, by PID.  Run with /usr/bin/python3 (needs dnspython):

    /usr/bin/python3 contrib/bench/probes.py            # full run
    /usr/bin/python3 contrib/bench/probes.py --quick    # smoke run
"""

import argparse
import collections
import datetime
import math
import os
import platform
import random
import re
import resource
import select
import selectors
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import dns.exception
import dns.message
import dns.query
import dns.rdatatype

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_GSLBD = os.path.join(REPO, "src", "gslbd")

LISTEN_RE = re.compile(r"listening on (\S+) port (\d+)")
READY_RE = re.compile(r"\bready\b")
PROBES_RE = re.compile(r"\b(\d+) probes\b")

# The check defaults documented in the README (used only for the model
# column; the "defaults" runs do not set these in the config).
DEF_INTERVAL, DEF_TIMEOUT, DEF_RISE, DEF_FALL = 0.3, 0.25, 2, 2

BACKEND_ADDRS = ["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"]
POLL_PERIOD = 0.010          # one DNS query every 10 ms
DNS_TIMEOUT = 1.0            # per query
START_TIMEOUT = 60.0         # gslbd start-up (10,000 members included)
STOP_TIMEOUT = 5.0
MAX_HELD = 2000              # hanging connections held at most
HOLD_SECONDS = 30.0          # a hanging connection is dropped after this
CPU_LISTENERS = 100          # local listeners for the cost test (<= 200)
POOL_SIZE = 100              # members per pool in the cost test
CPU_WARMUP = 10.0            # seconds after start-up before the window
CPU_WINDOW = 10.0            # the measured steady window
CPU_TARGET = 25.0            # % of one core, 10,000 members at 1 s
CPU_RATE_MIN = 0.90          # the probe rate must reach 90% of nominal

ZONE = """$ORIGIN bench.test.
$TTL 300
@   IN SOA ns1 hostmaster ( 1 3600 600 604800 60 )
    IN NS  ns1
ns1 IN A   127.0.0.1
"""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- gslbd ---

def raise_nofile():
    """Raise RLIMIT_NOFILE's soft limit to the hard limit (also in children)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    elif hard == resource.RLIM_INFINITY and soft < 1048576:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1048576, hard))


class Gslbd:
    """One gslbd process in the foreground; stderr collected by a thread."""

    def __init__(self, binary, conf, raise_limit=False):
        self.lines = []
        self.port = None
        self.ready_at = None
        self.cond = threading.Condition()
        self.proc = subprocess.Popen(
            [binary, "-c", conf], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, preexec_fn=raise_nofile if raise_limit else None)
        self.pid = self.proc.pid
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                self.lines.append((time.monotonic(), line))
                m = LISTEN_RE.search(line)
                if m and m.group(1) == "127.0.0.1" and self.port is None:
                    self.port = int(m.group(2))
                if READY_RE.search(line) and self.ready_at is None:
                    self.ready_at = time.monotonic()
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_ready(self, timeout=START_TIMEOUT):
        """Wait for the port and the 'ready' line; returns the port."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.port is None or self.ready_at is None:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    break
                self.cond.wait(min(left, 0.5))
            if self.port is None:
                tail = "\n".join(l for _, l in self.lines[-20:])
                raise RuntimeError("gslbd did not start (exit %s):\n%s" % (self.proc.poll(), tail))
            if self.ready_at is None:     # no 'ready' line: take the listen time
                self.ready_at = time.monotonic()
            return self.port

    def count(self, text):
        with self.cond:
            return sum(1 for _, l in self.lines if text in l)

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(STOP_TIMEOUT)
        self.reader.join(2.0)


def gslbd_version(binary):
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, timeout=10, text=True)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError) as e:
        return "unknown (%s)" % e


def gslbd_check(binary, conf):
    """gslbd -t: returns (ok, number of probes or None, output)."""
    out = subprocess.run([binary, "-t", "-c", conf], capture_output=True, timeout=120, text=True)
    text = out.stdout + out.stderr
    m = PROBES_RE.search(text)
    return out.returncode == 0, (int(m.group(1)) if m else None), text.strip()


# ------------------------------------------------- detection: backends ---

class Backends:
    """Loopback backends served by one selector thread.

    Each backend is ADDR:PORT in one of three modes:
      ok     -- listening; tcp: accept and close; http: answer 200 to a request
      refuse -- the listening socket is closed: connects are refused
      hang   -- listening and accepting, but never a byte of answer
    A connection keeps the mode it was accepted in.  Mode changes are done in
    the selector thread; set_mode() returns the monotonic time they took effect.
    """

    RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
                b"Connection: close\r\n\r\nok\n")

    def __init__(self, addrs, http):
        self.http = http
        self.sel = selectors.DefaultSelector()
        self.cmds = collections.deque()
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.sel.register(self.wake_r, selectors.EVENT_READ, ("wake", None))
        self.backends = {}     # addr -> dict(port, mode, lsock)
        self.conns = {}        # sock -> dict(hang, buf, since)
        self.accepted = 0
        self.stopping = False
        for a in addrs:
            ls = self._listen(a, 0)
            self.backends[a] = {"port": ls.getsockname()[1], "mode": "ok", "lsock": ls}
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _listen(self, addr, port):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((addr, port))
        ls.listen(256)
        ls.setblocking(False)
        self.sel.register(ls, selectors.EVENT_READ, ("listen", addr))
        return ls

    def port(self, addr):
        return self.backends[addr]["port"]

    def set_mode(self, addr, mode, timeout=5.0):
        done = threading.Event()
        box = {}
        self.cmds.append((addr, mode, done, box))
        self.wake_w.send(b"x")
        if not done.wait(timeout):
            raise RuntimeError("backend thread did not apply %s %s" % (addr, mode))
        if "error" in box:
            raise box["error"]
        return box["t"]

    def _apply(self, addr, mode):
        b = self.backends[addr]
        if mode == "refuse":
            if b["lsock"] is not None:
                self.sel.unregister(b["lsock"])
                b["lsock"].close()    # the backlog is reset; new SYNs get RST
                b["lsock"] = None
        elif b["lsock"] is None:
            b["lsock"] = self._listen(addr, b["port"])
        b["mode"] = mode

    def _close(self, s):
        self.sel.unregister(s)
        s.close()
        del self.conns[s]

    def _run(self):
        while not self.stopping:
            for key, _ in self.sel.select(0.05):
                kind, data = key.data
                if kind == "wake":
                    try:
                        self.wake_r.recv(256)
                    except BlockingIOError:
                        pass
                    while self.cmds:
                        addr, mode, done, box = self.cmds.popleft()
                        try:
                            self._apply(addr, mode)
                        except OSError as e:
                            box["error"] = e
                        box["t"] = time.monotonic()
                        done.set()
                elif kind == "listen":
                    self._accept(key.fileobj, data)
                else:
                    self._readable(key.fileobj)
            now = time.monotonic()
            for s in [s for s, c in self.conns.items() if now - c["since"] > HOLD_SECONDS]:
                self._close(s)
        for s in list(self.conns):
            self._close(s)
        for b in self.backends.values():
            if b["lsock"] is not None:
                b["lsock"].close()

    def _accept(self, ls, addr):
        for _ in range(64):
            try:
                s, _ = ls.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self.accepted += 1
            hang = self.backends[addr]["mode"] == "hang"
            if not hang and not self.http:
                s.close()            # tcp check: the connect is the whole probe
                continue
            if len(self.conns) >= MAX_HELD:
                s.close()
                continue
            s.setblocking(False)
            self.conns[s] = {"hang": hang, "buf": b"", "since": time.monotonic()}
            self.sel.register(s, selectors.EVENT_READ, ("conn", None))

    def _readable(self, s):
        c = self.conns[s]
        try:
            data = s.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close(s)
            return
        if c["hang"]:
            return                   # read and ignore; never answer
        c["buf"] = (c["buf"] + data)[-8192:]
        if b"\r\n\r\n" in c["buf"]:
            try:
                s.sendall(self.RESPONSE)
            except OSError:
                pass
            self._close(s)

    def close(self):
        self.stopping = True
        self.wake_w.send(b"x")
        self.thread.join(5.0)
        self.wake_r.close()
        self.wake_w.close()


# ----------------------------------------------------- detection: DNS ---

class Poller:
    """UDP A queries for one name, one every POLL_PERIOD, each answer parsed."""

    def __init__(self, port, qname):
        self.port = port
        self.qname = qname
        self.queries = 0
        self.failures = 0

    def addresses(self):
        q = dns.message.make_query(self.qname, "A")
        self.queries += 1
        try:
            r = dns.query.udp(q, "127.0.0.1", port=self.port, timeout=DNS_TIMEOUT)
        except (dns.exception.Timeout, OSError, dns.exception.DNSException):
            self.failures += 1
            return None
        out = set()
        for rrset in r.answer:
            if rrset.rdtype == dns.rdatatype.A:
                out.update(rd.address for rd in rrset)
        return out

    def wait(self, pred, limit, watch=None):
        """Poll until pred(addresses) holds; returns (monotonic time of that
        answer, answers missing a member of @watch on the way) or (None, n)."""
        deadline = time.monotonic() + limit
        nxt = time.monotonic()
        spurious = 0
        while time.monotonic() < deadline:
            got = self.addresses()
            t = time.monotonic()
            if got is not None:
                if pred(got):
                    return t, spurious
                if watch and not watch <= got:
                    spurious += 1
            nxt += POLL_PERIOD
            pause = nxt - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            else:
                nxt = time.monotonic()
        return None, spurious


def write_detect_conf(d, kind, backends, params):
    members = ",\n".join(
        '      { address = "%s"; port = %d; }' % (a, backends.port(a)) for a in BACKEND_ADDRS)
    extra = "".join(" %s = %s;" % (k, v) for k, v in params.items())
    check = '{ name = "hc"; type = "%s";%s%s }' % (
        kind, ' path = "/health";' if kind == "http" else "", extra)
    conf = """listen = [ "127.0.0.1:0" ];
zones = ( { origin = "bench.test"; file = "bench.test.zone"; } );
checks = ( %s );
pools = (
  { name = "det"; owners = [ "det.bench.test" ]; policy = "round-robin"; ttl = 5;
    check = "hc";
    members = (
%s
    ); }
);
""" % (check, members)
    path = os.path.join(d, "detect-%s.conf" % kind)
    with open(path, "w") as f:
        f.write(conf)
    return path


JITTER = 0.10   # the engine starts a probe every interval +-10%


def model(kind, mode, interval, timeout, rise, fall):
    """Expected (lo, hi) seconds for an engine that starts a probe every
    interval +-JITTER (start to start) and skips a start while the previous
    run is still in flight; ignores probe latency and the 10 ms polling."""
    short, long_ = (1 - JITTER) * interval, (1 + JITTER) * interval
    if kind == "hang":
        # A hanging run lasts the timeout; the next one starts at the first
        # tick after it ended.
        step_lo = short * max(1, math.ceil(timeout / long_ - 1e-9))
        step_hi = long_ * max(1, math.ceil(timeout / short - 1e-9))
        if mode == "gone":
            return (fall - 1) * step_lo + timeout, long_ + (fall - 1) * step_hi + timeout
        return (rise - 1) * short, max(long_, step_hi) + (rise - 1) * long_
    if mode == "gone":
        return (fall - 1) * short, fall * long_
    return (rise - 1) * short, rise * long_


def run_detection(binary, d, variant, cycles, rng):
    """One variant: returns a dict of results."""
    label, kind, fail_mode, params = variant
    interval = params.get("interval", DEF_INTERVAL)
    timeout = params.get("timeout", DEF_TIMEOUT)
    limit = 10.0 + 4 * (DEF_FALL + DEF_RISE) * (interval + timeout)
    # "gone" and "back" hold measured times only. A wait that timed out is
    # counted, never folded into them; and when the member never left, the
    # "back" of that cycle is not measured at all (its answers had the member
    # all along, so "back" would read as ~0 ms).
    res = {"label": label, "gone": [], "back": [], "gone_timeouts": 0, "back_timeouts": 0,
           "back_unmeasured": 0, "cycles": cycles, "limit": limit, "spurious": 0,
           "queries": 0, "qfail": 0,
           "model_gone": model(fail_mode, "gone", interval, timeout, DEF_RISE, DEF_FALL),
           "model_back": model(fail_mode, "back", interval, timeout, DEF_RISE, DEF_FALL)}
    be = Backends(BACKEND_ADDRS, http=(kind == "http"))
    srv = None
    try:
        conf = write_detect_conf(d, kind, be, params)
        srv = Gslbd(binary, conf)
        port = srv.wait_ready()
        poll = Poller(port, "det.bench.test")
        everyone = set(BACKEND_ADDRS)
        t, _ = poll.wait(lambda s: s == everyone, limit)
        if t is None:
            raise RuntimeError("%s: answers never held all 4 members" % label)
        # Let the first probes (spread over one interval) all finish.
        time.sleep(max(interval, timeout) * (DEF_RISE + 1))
        for i in range(cycles):
            victim = BACKEND_ADDRS[i % len(BACKEND_ADDRS)]
            others = everyone - {victim}
            time.sleep(rng.uniform(0, interval))      # random probe phase
            t0 = be.set_mode(victim, fail_mode)
            tg, sp = poll.wait(lambda s, v=victim: v not in s and s, limit, watch=others)
            res["spurious"] += sp
            if tg is None:
                res["gone_timeouts"] += 1
            else:
                res["gone"].append(tg - t0)
            time.sleep(rng.uniform(0, interval))
            t1 = be.set_mode(victim, "ok")
            tb, sp = poll.wait(lambda s, v=victim: v in s, limit, watch=others)
            res["spurious"] += sp
            if tg is None:
                res["back_unmeasured"] += 1
            elif tb is None:
                res["back_timeouts"] += 1
            else:
                res["back"].append(tb - t1)
            t, _ = poll.wait(lambda s: s == everyone, limit)
            if t is None:
                raise RuntimeError("%s: cycle %d: members did not all come back" % (label, i))
            log("  %s cycle %d/%d (%s): gone %s back %s" % (
                label, i + 1, cycles, victim, fmt_s(tg - t0 if tg else None),
                fmt_s(tb - t1 if tb else None)))
        res["queries"], res["qfail"] = poll.queries, poll.failures
        res["downs"] = srv.count("DOWN after")
    finally:
        if srv:
            srv.stop()
        be.close()
    return res


def detection_summary(r):
    """Medians and maxima of the measured times only (None when there is
    none), and notes that report every timed-out or unmeasured wait apart."""
    out = {}
    for what in ("gone", "back"):
        v = r[what]
        out[what + "_median"] = statistics.median(v) if v else None
        out[what + "_max"] = max(v) if v else None
    notes = []
    if r["gone_timeouts"]:
        notes.append("gone: %d of %d waits timed out (> %.1f s), not in the figures"
                     % (r["gone_timeouts"], r["cycles"], r["limit"]))
    if r["back_unmeasured"]:
        notes.append("back: %d of %d not measured (the member never left)"
                     % (r["back_unmeasured"], r["cycles"]))
    if r["back_timeouts"]:
        notes.append("back: %d of %d waits timed out (> %.1f s), not in the figures"
                     % (r["back_timeouts"], r["cycles"], r["limit"]))
    if r["spurious"]:
        notes.append("%d answers lacked a healthy member" % r["spurious"])
    if r["qfail"]:
        notes.append("%d/%d queries unanswered" % (r["qfail"], r["queries"]))
    out["notes"] = notes
    out["timeouts"] = r["gone_timeouts"] + r["back_timeouts"]
    return out


def fmt_s(v):
    return "timeout" if v is None else "%.3f" % v


def fmt_ms(v):
    return "-" if v is None else "%d" % round(v * 1000)


# -------------------------------------------------------- probe cost ---

class AcceptSink:
    """CPU_LISTENERS listening sockets on 127.0.0.1: accept and close."""

    def __init__(self, n):
        self.ep = select.epoll()
        self.socks = {}
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            s.listen(4096)
            s.setblocking(False)
            self.socks[s.fileno()] = s
            self.ep.register(s.fileno(), select.EPOLLIN)
        self.ports = [s.getsockname()[1] for s in self.socks.values()]
        self.accepted = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            for fd, _ in self.ep.poll(0.1):
                s = self.socks[fd]
                for _ in range(256):
                    try:
                        c, _ = s.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:
                        break
                    c.close()
                    self.accepted += 1

    def close(self):
        self.stopping = True
        self.thread.join(5.0)
        for s in self.socks.values():
            s.close()
        self.ep.close()


def write_cost_conf(d, nmembers, ports):
    npools = nmembers // POOL_SIZE
    checks, pools = [], []
    for k in range(npools):
        # One check per pool: the health key is "ADDR:PORT/CHECK", so members
        # probing the same listener stay distinct probes under distinct checks.
        checks.append('  { name = "t%d"; type = "tcp"; interval = 1.0; }' % k)
        members = ",\n".join(
            '      { address = "10.%d.%d.%d"; probe_address = "127.0.0.1"; port = %d; }'
            % (k // 256, k % 256, j + 1, ports[j % len(ports)]) for j in range(POOL_SIZE))
        pools.append('  { name = "p%d"; owners = [ "p%d.bench.test" ]; check = "t%d";\n'
                      '    members = (\n%s\n    ); }' % (k, k, k, members))
    conf = 'listen = [ "127.0.0.1:0" ];\n' \
           'zones = ( { origin = "bench.test"; file = "bench.test.zone"; } );\n' \
           'checks = (\n%s\n);\npools = (\n%s\n);\n' % (",\n".join(checks), ",\n".join(pools))
    path = os.path.join(d, "cost-%d.conf" % nmembers)
    with open(path, "w") as f:
        f.write(conf)
    return path


def task_times(pid):
    """{tid: (comm, utime+stime ticks)} for every thread of @pid."""
    out = {}
    base = "/proc/%d/task" % pid
    for tid in os.listdir(base):
        try:
            with open("%s/%s/stat" % (base, tid)) as f:
                stat = f.read()
            with open("%s/%s/comm" % (base, tid)) as f:
                comm = f.read().strip()
        except OSError:
            continue
        rest = stat[stat.rindex(")") + 2:].split()
        out[int(tid)] = (comm, int(rest[11]) + int(rest[12]))   # utime, stime
    return out


def proc_times(pid):
    with open("/proc/%d/stat" % pid) as f:
        stat = f.read()
    rest = stat[stat.rindex(")") + 2:].split()
    return int(rest[11]) + int(rest[12])


def run_cost(binary, d, nmembers):
    hz = os.sysconf("SC_CLK_TCK")
    sink = AcceptSink(CPU_LISTENERS)
    srv = None
    res = {"members": nmembers}
    try:
        conf = write_cost_conf(d, nmembers, sink.ports)
        ok, nprobes, text = gslbd_check(binary, conf)
        if not ok:
            raise RuntimeError("gslbd -t rejected the cost config:\n" + text[-2000:])
        res["probes"] = nprobes
        t_start = time.monotonic()
        srv = Gslbd(binary, conf, raise_limit=True)
        srv.wait_ready()
        res["startup"] = srv.ready_at - t_start
        t_ready = srv.ready_at
        time.sleep(max(0.0, t_ready + CPU_WARMUP - time.monotonic()))
        a0, w0, p0, th0 = sink.accepted, time.monotonic(), proc_times(srv.pid), task_times(srv.pid)
        time.sleep(max(0.0, t_ready + CPU_WARMUP + CPU_WINDOW - time.monotonic()))
        a1, w1, p1, th1 = sink.accepted, time.monotonic(), proc_times(srv.pid), task_times(srv.pid)
        wall = w1 - w0
        if srv.proc.poll() is not None:
            raise RuntimeError("gslbd exited during the cost test (status %s)" % srv.proc.poll())
        threads = []
        for tid, (comm, ticks) in sorted(th1.items()):
            before = th0.get(tid, (comm, 0))[1]
            threads.append((tid, comm, 100.0 * (ticks - before) / hz / wall))
        res["threads"] = threads
        res["process"] = 100.0 * (p1 - p0) / hz / wall
        probe = [t for t in threads if "probe" in t[1].lower()]
        if probe:
            res["cpu"] = sum(t[2] for t in probe)
            res["source"] = "probe thread (%s)" % ", ".join("%s/%d" % (t[1], t[0]) for t in probe)
        else:
            res["cpu"] = res["process"]
            res["source"] = "whole process (no thread named *probe*; DNS idle)"
        res["rate"] = (a1 - a0) / wall
        res["nominal"] = (nprobes if nprobes is not None else nmembers) / 1.0
        res["downs"] = srv.count("DOWN after")
        res["wall"] = wall
    finally:
        if srv:
            srv.stop()
        sink.close()
    return res


# -------------------------------------------------------------- main ---

def binary_commit(binary):
    """The commit of the work tree holding @binary, with `git describe
    --always --dirty` (the tree's state now; the binary may be older: its
    mtime says when it was built), or why there is none."""
    d = os.path.dirname(binary)
    try:
        top = subprocess.run(["git", "-C", d, "rev-parse", "--show-toplevel"], capture_output=True,
                             text=True, timeout=30).stdout.strip()
        if not top:
            return "unknown (the binary is not inside a git work tree)"
        commit = subprocess.run(["git", "-C", top, "rev-parse", "--short=12", "HEAD"],
                                capture_output=True, text=True, timeout=30).stdout.strip()
        desc = subprocess.run(["git", "-C", top, "describe", "--always", "--dirty"],
                              capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return "unknown (%s)" % e
    mtime = datetime.datetime.fromtimestamp(os.stat(binary).st_mtime, datetime.timezone.utc)
    return "%s (describe %s; binary built %s UTC)" % (commit, desc,
                                                      mtime.strftime("%Y-%m-%d %H:%M:%S"))


def machine_info():
    model_name = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model_name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return os.cpu_count(), model_name, platform.release()


def main():
    ap = argparse.ArgumentParser(description="gslbd health-probe benchmark")
    ap.add_argument("--cycles", type=int, default=None,
                    help="kill/restart cycles per detection variant (default 10, 3 with --quick)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 3 cycles, cost test with 1,000 members only")
    ap.add_argument("--gslbd", default=DEFAULT_GSLBD, help="binary (default %(default)s)")
    ap.add_argument("--seed", type=int, default=1, help="random probe-phase seed")
    args = ap.parse_args()
    cycles = args.cycles if args.cycles is not None else (3 if args.quick else 10)
    if not 1 <= cycles <= 1000:
        ap.error("--cycles must be 1..1000")
    binary = os.path.abspath(args.gslbd)
    if not os.access(binary, os.X_OK):
        ap.error("%s: not an executable (build with: cd %s && make -s)" % (binary, REPO))
    raise_nofile()
    rng = random.Random(args.seed)
    command = " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv)
    ncpu, cpu_model, kernel = machine_info()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)

    header = [
        "gslbd health-probe benchmark",
        "  command : %s" % command,
        "  date    : %s" % datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "  gslbd   : %s (%s)" % (gslbd_version(binary), binary),
        "  commit  : %s" % binary_commit(binary),
        "  machine : nproc %s, %s, kernel %s, RLIMIT_NOFILE %s/%s" % (
            ncpu, cpu_model, kernel, soft, hard),
    ]
    print("\n".join(header), flush=True)

    variants = [
        ("tcp refused, defaults", "tcp", "refuse", {}),
        ("tcp refused, 0.1/0.1", "tcp", "refuse", {"interval": 0.1, "timeout": 0.1}),
        ("http hang, defaults", "http", "hang", {}),
        ("http hang, 0.1/0.1", "http", "hang", {"interval": 0.1, "timeout": 0.1}),
    ]
    sizes = [1000] if args.quick else [1000, 10000]
    d = tempfile.mkdtemp(prefix="gslbd-bench-")
    failures = 0
    try:
        with open(os.path.join(d, "bench.test.zone"), "w") as f:
            f.write(ZONE)
        det = []
        for v in variants:
            log("detection: %s" % v[0])
            try:
                det.append(run_detection(binary, d, v, cycles, rng))
            except RuntimeError as e:
                failures += 1
                log("  error: %s" % e)
                det.append({"label": v[0], "error": str(e)})
        cost = []
        for n in sizes:
            log("probe cost: %d members (%.0f s)" % (n, CPU_WARMUP + CPU_WINDOW))
            try:
                cost.append(run_cost(binary, d, n))
            except RuntimeError as e:
                failures += 1
                log("  error: %s" % e)
                cost.append({"members": n, "error": str(e)})
    finally:
        shutil.rmtree(d, ignore_errors=True)

    print()
    print("1. Detection time, ms (%d cycles each; DNS polled every %d ms over UDP; "
          "pool of 4, round-robin, all answered)" % (cycles, POLL_PERIOD * 1000))
    print("   defaults = interval %.1f, timeout %.2f, rise %d, fall %d (not set in the config)"
          % (DEF_INTERVAL, DEF_TIMEOUT, DEF_RISE, DEF_FALL))
    row = "   %-22s %7s %7s %11s | %7s %7s %11s | %s"
    print(row % ("variant", "gone", "gone", "gone", "back", "back", "back", "notes"))
    print(row % ("", "median", "max", "model", "median", "max", "model", ""))
    for r in det:
        if "error" in r:
            print("   %-22s ERROR: %s" % (r["label"], r["error"].splitlines()[0]))
            continue
        sm = detection_summary(r)
        if sm["timeouts"]:
            failures += 1
        print(row % (r["label"],
                     fmt_ms(sm["gone_median"]), fmt_ms(sm["gone_max"]),
                     "%s-%s" % (fmt_ms(r["model_gone"][0]), fmt_ms(r["model_gone"][1])),
                     fmt_ms(sm["back_median"]), fmt_ms(sm["back_max"]),
                     "%s-%s" % (fmt_ms(r["model_back"][0]), fmt_ms(r["model_back"][1])),
                     "; ".join(sm["notes"]) or "ok"))
    print("   model: the range expected when a probe starts every interval +-10% and a start is")
    print("   skipped while the previous run is in flight (probe latency and polling ignored);")
    print("   refused: gone = (fall-1)*0.9*iv .. fall*1.1*iv; hang adds the timeout per failing run.")
    print("   median/max are over the cycles measured; a wait that timed out is in the notes only")
    print("   (and makes the exit status 1), and a cycle whose member never left has no 'back'.")

    print()
    print("2. Probe engine cost: tcp checks at interval 1.0, %d local listeners on 127.0.0.1,"
          % CPU_LISTENERS)
    print("   CPU %% of one core over a steady %.0f s window starting %.0f s after start-up"
          % (CPU_WINDOW, CPU_WARMUP))
    row = "   %7s %7s %9s %10s %10s %12s %6s  %s"
    print(row % ("members", "probes", "start-up", "probe CPU", "process", "probes/s", "DOWNs",
                 "measured on"))
    verdict = None
    for r in cost:
        if "error" in r:
            print("   %7d ERROR: %s" % (r["members"], r["error"].splitlines()[0]))
            if r["members"] == 10000:
                verdict = "FAIL (the 10,000-member run did not complete)"
            continue
        print(row % (r["members"], r["probes"] if r["probes"] is not None else "?",
                     "%.2f s" % r["startup"], "%.1f%%" % r["cpu"], "%.1f%%" % r["process"],
                     "%.0f/%.0f" % (r["rate"], r["nominal"]), r["downs"], r["source"]))
        print("           threads: " + ", ".join(
            "%s/%d %.1f%%" % (comm, tid, pct) for tid, comm, pct in r["threads"]))
        if r["members"] == 10000:
            why = []
            if r["cpu"] >= CPU_TARGET:
                why.append("%.1f%% >= %.0f%%" % (r["cpu"], CPU_TARGET))
            if r["rate"] < CPU_RATE_MIN * r["nominal"]:
                why.append("only %.0f of %.0f probes/s" % (r["rate"], r["nominal"]))
            if r["probes"] is not None and r["probes"] < 10000:
                why.append("only %d distinct probes" % r["probes"])
            verdict = ("FAIL (%s)" % "; ".join(why)) if why else \
                "PASS (%.1f%% < %.0f%% at %.0f probes/s)" % (r["cpu"], CPU_TARGET, r["rate"])
    print("   probes/s: connections the listeners accepted in the window / nominal (probes / interval)")
    if verdict is None:
        verdict = "n/a (--quick: 10,000 members not measured)"
    print("   target: 10,000 members at 1 s under %.0f%% of one core: %s" % (CPU_TARGET, verdict))
    sys.stdout.flush()
    return 1 if failures or verdict.startswith("FAIL") else 0


if __name__ == "__main__":
    sys.exit(main())
