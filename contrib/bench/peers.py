#!/usr/bin/python3
"""peers.py -- gslbd side by side with other authoritative DNS servers.

One command measures gslbd against a UDP echo floor (contrib/bench/echo.c),
gdnsd, Knot DNS, NSD and PowerDNS Authoritative (bind backend, LUA records;
twice: enable-lua-records=yes and =shared),
all serving the same zone bench.test with the same pool name www.bench.test,
each on its own loopback port, each started here and stopped here by PID:

  0. the load generator check (1 vs 2 dnsperf, -T 2, against echo and gslbd)
  1. throughput and CPU per query, one worker thread, server on core 0,
     dnsperf on core 1, runs interleaved over the servers (medians)
  2. latency percentiles at a fixed 20,000 qps (dnsperf -v, per query)
  3. RSS after load
  4. reload under load: gslbd at ~50% of its saturation, SIGHUP every second
  5. every server at its default thread count, nothing pinned
  6. failover: a health-checked member's listener closed, time until it is
     gone from the answers and back again (gslbd, gdnsd, PowerDNS)

Then a report (Markdown tables) on stdout, progress on stderr.  Packages that
are missing are installed with apt-get first.  Only 127.0.0.0/8 is contacted.
Every loop is bounded in count and time.

    /usr/bin/python3 contrib/bench/peers.py              # full run (~15 min idle)
    /usr/bin/python3 contrib/bench/peers.py --quick      # smoke run (~3 min idle)

On a shared machine it waits for other processes to go idle before each run
and redoes a run they disturbed (bounded by --quiet-budget), so it takes longer.
    /usr/bin/python3 contrib/bench/peers.py --runs 7 --seconds 15

--baseline PATH adds an older gslbd binary as one more server, "gslbd-base"
("gslbd (baseline)"), with the same config template and settings, interleaved
with the others; section 1 then ends with a line "current vs baseline: ..."
(paired per-run ratios).  --only keeps it (and gslbd):
    /usr/bin/python3 contrib/bench/peers.py --only gslbd --skip multi,failover \
        --baseline /path/to/old/gslbd

A dnsperf run that fails (non-zero exit status, killed at its time limit, no
parsable statistics, no query completed) or during which the server exited is
not counted in any median, and the report says "N of M runs of SERVER failed:
reason" under the table it would have been in.

--gslbd-listen wildcard adds the same gslbd binary bound to 0.0.0.0 with
listen_host_addresses = false (so that every query takes the any-address
socket's path, where each reply names its source from the query's
IP_PKTINFO: what a query to an address the host did not have at start-up
costs) as one more server,
"gslbd-any" ("gslbd (0.0.0.0)"), interleaved with gslbd bound to 127.0.0.1
(both queried at 127.0.0.1); section 1 then ends with a line "wildcard vs
specific: ..." (paired per-run ratios).  --only keeps it (and gslbd):
    /usr/bin/python3 contrib/bench/peers.py --quick --only gslbd --gslbd-listen wildcard

--gslbd-safety adds the same gslbd binary with what a server on the Internet
runs with, as one more server, "gslbd-safe" ("gslbd, Internet-safe"): bound
to 0.0.0.0 with the default listen_host_addresses (queried at 127.0.0.1,
which the host has: the socket gslbd binds to it beside the any-address one
answers), rate_limit { responses_per_second =
1000000; slip = 2; } (a rate no benchmark client reaches: every response goes
through the limiter's table and none is limited; the script reads gslbd's
counters to show it), cookie_secret and nsid set.  Its dnsperf runs send
every query of the same query list with EDNS, a client COOKIE option and an
empty NSID option (dnsperf 2.10 takes one -E option, and not an empty one,
so the queries are written as a binary file for dnsperf -B).  gdnsd, if
measured, runs a second time the same way, "gdnsd-safe" (0.0.0.0,
nsid_ascii, cookie_key_file; gdnsd has cookies on by default and no rate
limiting).  Section 1 then ends with a line "Internet-safe vs plain ...".
--only keeps gslbd-safe (and gslbd):
    /usr/bin/python3 contrib/bench/peers.py --only gslbd,gdnsd \
        --skip check,latency,reload,multi,failover --gslbd-safety

--qps N runs section 1 (and its warm-up) at a fixed rate, dnsperf -Q N, the
same for every server, instead of as fast as one dnsperf goes.  As fast as
it goes, dnsperf's core sets the rate, and a server that answers sooner finds
fewer queries waiting at each wake-up (more system calls per query).  At a
fixed rate below every server's limit, each server is sent the same load at
the same pace; the figures are then CPU per query at that load, where a
server wakes up for fewer queries at a time than at saturation, so what it
does per wake-up weighs more.  (The paired ratios spread about as much as
at saturation: the host's noise, not the load, sets that.)
    /usr/bin/python3 contrib/bench/peers.py --only gslbd,gdnsd --qps 150000 \
        --skip check,latency,reload,multi,failover --gslbd-safety

See BENCHMARKS.md at the top of the tree for the method and the results.
"""

import argparse
import collections
import datetime
import hashlib
import json
import os
import platform
import random
import re
import selectors
import shlex
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

try:
    import dns.message
    import dns.name
    import dns.rdatatype
    import dns.rcode
except ImportError:          # installed below (python3-dnspython) and re-imported
    dns = None

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
TEMPLATES = os.path.join(HERE, "peers")
ECHO_SRC = os.path.join(HERE, "echo.c")
DEFAULT_GSLBD = os.path.join(REPO, "src", "gslbd")

# Debian 12 packages: what each provides that we run.
PACKAGES = ["dnsperf", "gdnsd", "nsd", "knot", "pdns-server", "pdns-backend-bind",
            "gcc", "python3-dnspython"]
OPTIONAL_PACKAGES = ["python3-matplotlib"]
VERSION_PACKAGES = ["dnsperf", "gdnsd", "nsd", "knot", "pdns-server", "pdns-backend-bind",
                    "gcc", "libc6"]
DAEMON_BINARIES = {"/usr/sbin/gdnsd", "/usr/sbin/nsd", "/usr/sbin/knotd",
                   "/usr/sbin/pdns_server"}

SERVERS = ["echo", "gslbd", "gdnsd", "knot", "nsd", "pdns", "pdns-shared"]
BASE = "gslbd-base"           # --baseline: an older gslbd binary, run right after gslbd
ANY = "gslbd-any"             # --gslbd-listen wildcard: gslbd bound to 0.0.0.0
SAFE = "gslbd-safe"           # --gslbd-safety: 0.0.0.0, rate limit, cookies, NSID
GDNSD_SAFE = "gdnsd-safe"     # --gslbd-safety: gdnsd on 0.0.0.0 with cookies and NSID
SAFES = (SAFE, GDNSD_SAFE)    # queried with a client COOKIE and an NSID request
PEERS = ["gdnsd", "knot", "nsd", "pdns", "pdns-shared"]   # the DNS servers besides gslbd
FAILOVER_SERVERS = ["gslbd", BASE, "gdnsd", "pdns"]      # those that can probe
GSLBDS = ("gslbd", BASE, ANY, SAFE)  # served from contrib/bench/peers/gslbd.conf.in
GDNSDS = ("gdnsd", GDNSD_SAFE)       # served from contrib/bench/peers/gdnsd.config.in
WILDCARD = (ANY, SAFE, GDNSD_SAFE)   # bound to 0.0.0.0, queried at 127.0.0.1
LABELS = {"echo": "echo floor", "gslbd": "gslbd", BASE: "gslbd (baseline)",
          ANY: "gslbd (0.0.0.0)", SAFE: "gslbd, Internet-safe", "gdnsd": "gdnsd",
          GDNSD_SAFE: "gdnsd, cookies+NSID",
          "knot": "Knot DNS", "nsd": "NSD", "pdns": "PowerDNS",
          "pdns-shared": "PowerDNS shared Lua"}

POOL_NAME = "www.bench.test"
# --gslbd-safety: fixed, not secret (a benchmark); the same NSID for both
# servers, so it adds the same octets to both responses.
SAFE_CLIENT_COOKIE = "0102030405060708"
SAFE_COOKIE_SECRET = "000102030405060708090a0b0c0d0e0f"     # gslbd: 16 octets
GDNSD_COOKIE_KEY = bytes(range(32))                          # gdnsd: 32 octets
SAFE_NSID = "peers.py"
EDNS_PAYLOAD = 4096           # what dnsperf -e/-E sends
OPT_NSID, OPT_COOKIE = 3, 10
V4_MEMBERS = ["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"]
V6_MEMBERS = ["2001:db8:10::1", "2001:db8:10::2"]

SERVER_CORE = "0"
CLIENT_CORE = "1"
DNSPERF_BASE = ["-c", "8", "-q", "200"]
LATENCY_QPS = 20000
CLK_TCK = os.sysconf("SC_CLK_TCK")


def wait_ready(proc, log, timeout, step=0.2):
    """The UDP port a gslbd started with its output in the file @log reports
    ("listening on 127.0.0.1 port N"), once it has also logged "ready"; None
    if it exits or @timeout seconds pass first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        log.seek(0)
        text = log.read()
        m = re.search(r"listening on 127\.0\.0\.1 port (\d+)", text)
        if m and "ready" in text:
            return int(m.group(1))
        time.sleep(step)
    return None
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
POLL_PERIOD = 0.010           # failover: one query per server every 10 ms
DNS_TIMEOUT = 0.5
GONE_LIMIT = 40.0             # failover waits are bounded
BACK_LIMIT = 60.0
STABLE_POLLS = 5

# Targets gslbd must meet.
T_CPU_VS_GDNSD = 1.0
T_CPU_VS_ECHO = 1.05
T_USER_VS_GDNSD = 0.8
T_RSS_KIB = 4096
T_FAIL_MEDIAN = 0.3
T_FAIL_MAX = 0.5


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def percentile(sorted_xs, p):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_xs:
        return None
    k = max(0, min(len(sorted_xs) - 1, int(-(-p * len(sorted_xs) // 100)) - 1))
    return sorted_xs[k]


def run_quiet(argv, timeout=600, **kw):
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout, **kw)


# ------------------------------------------------------------ packages ---

def installed(pkg):
    r = run_quiet(["dpkg-query", "-W", "-f=${Status}", pkg], timeout=30)
    return r.returncode == 0 and "install ok installed" in r.stdout


def daemon_pids():
    """PIDs of processes running one of the peers' daemon binaries."""
    out = set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.readlink("/proc/%s/exe" % d) in DAEMON_BINARIES:
                    out.add(int(d))
            except OSError:
                pass
    return out


def ensure_packages():
    missing = [p for p in PACKAGES if not installed(p)]
    optional = [p for p in OPTIONAL_PACKAGES if not installed(p)]
    if not missing and not optional:
        return
    log("installing with apt-get: %s" % " ".join(missing + optional))
    before = daemon_pids()
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if not os.path.isdir("/var/lib/apt/lists") or not any(
            f.endswith("_Packages") for f in os.listdir("/var/lib/apt/lists")):
        run_quiet(["apt-get", "update", "-qq"], timeout=900, env=env)
    for group, required in ((missing, True), (optional, False)):
        if not group:
            continue
        r = run_quiet(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + group,
                      timeout=1800, env=env)
        if r.returncode != 0:
            run_quiet(["apt-get", "update", "-qq"], timeout=900, env=env)
            r = run_quiet(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + group,
                          timeout=1800, env=env)
        if r.returncode != 0 and required:
            sys.exit("apt-get install %s failed:\n%s" % (" ".join(group), r.stderr[-2000:]))
        if r.returncode != 0:
            log("optional packages not installed (%s): no chart" % " ".join(group))
    # A package may start its daemon on install (not under policy-rc.d 101 or
    # without an init system, but elsewhere it would): stop exactly those.
    for pid in sorted(daemon_pids() - before):
        log("stopping daemon PID %d started by the package install" % pid)
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    if shutil.which("systemctl") and os.path.isdir("/run/systemd/system"):
        for unit in ("gdnsd", "nsd", "knot", "pdns"):
            run_quiet(["systemctl", "disable", "--now", unit], timeout=60)


def versions():
    out = {}
    for p in VERSION_PACKAGES:
        r = run_quiet(["dpkg-query", "-W", "-f=${Version}", p], timeout=30)
        out[p] = r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else "-"
    return out


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = "%.1f GiB" % (int(f.readline().split()[1]) / 1048576)
    except (OSError, ValueError, IndexError):
        pass
    distro = "?"
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    distro = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(),
            "memory": mem, "os": distro}


def git_out(cwd, *argv):
    """git's stdout in cwd, stripped, or None."""
    try:
        r = run_quiet(["git", "-C", cwd] + list(argv), timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else None


def gslbd_desc(src, copy):
    """Which gslbd binary runs: `--version`, the path given, and, if that path
    is inside a git work tree, the tree's `git describe --always --dirty` and
    commit at the start of the run (the binary may be older than the tree:
    see its mtime); always the mtime and a sha256 prefix of the private copy
    that is run."""
    v = "?"
    try:
        r = run_quiet([copy, "--version"], timeout=10)
        v = (r.stdout or r.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        pass
    parts = ["`%s`" % v, src]
    top = git_out(os.path.dirname(src) or ".", "rev-parse", "--show-toplevel")
    if top:
        desc = git_out(top, "describe", "--always", "--dirty")
        commit = git_out(top, "rev-parse", "--short=12", "HEAD")
        parts.append("in git tree %s at `%s` (commit %s)" % (top, desc or "?", commit or "?"))
    else:
        parts.append("not in a git tree")
    h = hashlib.sha256()
    with open(copy, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    parts.append("modified %s" % datetime.datetime.fromtimestamp(
        os.path.getmtime(src)).strftime("%Y-%m-%d %H:%M:%S"))
    parts.append("sha256 %s" % h.hexdigest()[:16])
    return ", ".join(parts)


# -------------------------------------------------------------- /proc ---

def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        ppid = int(s[s.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def process_tree(pid):
    """pid and all its descendants (NSD forks its server and xfrd)."""
    kids = children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cpu_ticks(pids):
    """(utime, stime) in clock ticks summed over processes (each process's
    /proc/PID/stat already sums all of its threads)."""
    u = s = 0
    for p in pids:
        try:
            with open("/proc/%d/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        u += int(fields[11])
        s += int(fields[12])
    return u, s


def foreign_ticks():
    """A sample for foreign_delta(): (user+nice+system ticks of all cores from
    /proc/stat, ticks of this script, its live descendants and the children
    it has reaped).  Interrupt and softirq time is left out of both."""
    machine = 0
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu "):
                v = [int(x) for x in line.split()[1:4]]
                machine = v[0] + v[1] + v[2]
                break
    ours = 0
    me = os.getpid()
    for p in process_tree(me):
        try:
            with open("/proc/%d/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        ours += int(fields[11]) + int(fields[12])
        if p == me:
            ours += int(fields[13]) + int(fields[14])
    return machine, ours


def foreign_delta(a, b):
    """CPU ticks used between two samples by processes other than ours: the
    rest of the machine (someone else's build or fuzzer on a shared host)."""
    return max(0, (b[0] - a[0]) - (b[1] - a[1]))


class Quiet:
    """Waits (within a total budget) until the rest of the machine is idle."""

    def __init__(self, budget, threshold=5.0):
        self.budget = budget
        self.threshold = threshold
        self.waited = 0.0
        self.gave_up = 0

    def wait(self):
        while True:
            a = foreign_ticks()
            time.sleep(1.0)
            pct = foreign_delta(a, foreign_ticks()) * 100.0 / CLK_TCK
            if pct < self.threshold:
                return pct
            if self.waited >= self.budget:
                self.gave_up += 1
                return pct
            if self.waited == 0 or int(self.waited) % 30 == 0:
                log("  other processes use %.0f%% CPU: waiting for a quiet machine "
                    "(%.0f of %.0f s budget used)" % (pct, self.waited, self.budget))
            self.waited += 1.0


def core_stat():
    """Per-core tick counters from /proc/stat: core -> (user, nice, system,
    idle, iowait, irq, softirq, steal)."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3:4].isdigit():
                parts = line.split()
                out[parts[0][3:]] = [int(x) for x in parts[1:9]]
    return out


def core_delta(a, b, core):
    """busy %, irq+softirq ticks and steal % of one core between two core_stat()s."""
    if core not in a or core not in b:
        return None, 0, None
    d = [y - x for x, y in zip(a[core], b[core])]
    total = sum(d)
    if total <= 0:
        return None, 0, None
    busy = (total - d[3] - d[4]) * 100.0 / total
    return busy, d[5] + d[6], d[7] * 100.0 / total


def rss_kib(pids):
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def thread_count(pids):
    n = 0
    for p in pids:
        try:
            n += len(os.listdir("/proc/%d/task" % p))
        except OSError:
            pass
    return n


# --------------------------------------------------------- templates ---

def render(name, values, tags):
    """A template of contrib/bench/peers/: lines starting with @TAG@ are kept
    (tag stripped) only when TAG is in tags; @@KEY@@ is replaced by values[KEY]."""
    with open(os.path.join(TEMPLATES, name)) as f:
        lines = f.read().splitlines()
    out = []
    for line in lines:
        m = re.match(r"^@(\w+)@(?!@)", line)
        if m:
            if m.group(1) not in tags:
                continue
            line = line[m.end():]
        out.append(line)
    text = "\n".join(out) + "\n"
    for k, v in values.items():
        text = text.replace("@@%s@@" % k, str(v))
    left = re.findall(r"@@([A-Z0-9_]+)@@", text)
    if left:
        raise RuntimeError("template %s: no value for %s" % (name, ", ".join(sorted(set(left)))))
    return text


def free_port(addr="127.0.0.1"):
    """A port free for UDP and TCP on addr (the kernel's pick; "0.0.0.0":
    free on every IPv4 address)."""
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind((addr, 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind((addr, port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise RuntimeError("no free port")


# ---------------------------------------------------------- backends ---

class Listeners:
    """The pool's health-check targets: TCP listeners that accept and close.

    127.0.0.11..14 share one port (gdnsd's tcp_connect and PowerDNS's
    ifportup probe the answered address on one port); the two IPv6 members
    (documentation addresses, never contacted) are probed by gslbd at
    127.0.0.1 on two ports of their own.  close_member()/open_member() make
    one listener refuse connections (RST) and accept again.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.sel = selectors.DefaultSelector()
        self.socks = {}
        self.accepted = {}
        self.stopping = False
        for _ in range(50):
            socks = {}
            try:
                first = self._listen(V4_MEMBERS[0], 0)
                self.port = first.getsockname()[1]
                socks[V4_MEMBERS[0]] = first
                for a in V4_MEMBERS[1:]:
                    socks[a] = self._listen(a, self.port)
                break
            except OSError:
                for s in socks.values():
                    s.close()
                continue
        else:
            raise RuntimeError("no common free port on 127.0.0.11..14")
        v6a = self._listen("127.0.0.1", 0)
        v6b = self._listen("127.0.0.1", 0)
        self.v6_ports = [v6a.getsockname()[1], v6b.getsockname()[1]]
        socks["v6a"], socks["v6b"] = v6a, v6b
        self.where = {k: (s.getsockname()) for k, s in socks.items()}
        for k, s in socks.items():
            self.socks[k] = s
            self.accepted[k] = 0
            self.sel.register(s, selectors.EVENT_READ, k)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @staticmethod
    def _listen(addr, port):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(512)
        s.setblocking(False)
        return s

    def _run(self):
        while not self.stopping:
            events = self.sel.select(0.05)
            with self.lock:
                for key, _ in events:
                    s = self.socks.get(key.data)
                    if s is None or s is not key.fileobj:
                        continue
                    for _ in range(64):
                        try:
                            c, _ = s.accept()
                        except OSError:
                            break
                        c.close()
                        self.accepted[key.data] += 1

    def close_member(self, key):
        with self.lock:
            s = self.socks.pop(key)
            self.sel.unregister(s)
            s.close()          # new SYNs now get RST: connection refused
        return time.monotonic()

    def open_member(self, key):
        addr, port = self.where[key]
        with self.lock:
            s = self._listen(addr, port)
            self.socks[key] = s
            self.sel.register(s, selectors.EVENT_READ, key)
        return time.monotonic()

    def close(self):
        self.stopping = True
        self.thread.join(2.0)
        with self.lock:
            for s in self.socks.values():
                s.close()
            self.socks.clear()


# ----------------------------------------------------------------- DNS ---

def dns_query(port, qname, qtype, timeout=DNS_TIMEOUT):
    """One UDP query to 127.0.0.1:port; the parsed response or None."""
    q = dns.message.make_query(qname, qtype)
    wire = q.to_wire()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(wire, ("127.0.0.1", port))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            s.settimeout(left)
            data = s.recv(4096)
            if len(data) >= 2 and data[:2] == wire[:2]:
                try:
                    return dns.message.from_wire(data)
                except Exception:       # the echo floor: a query with QR set
                    return None
    except OSError:
        return None
    finally:
        s.close()


def answer_addresses(msg, rdtype):
    out = set()
    if msg is None:
        return None
    for rrset in msg.answer:
        if rrset.rdtype == rdtype:
            out.update(rd.address for rd in rrset)
    return out


def pool_a(port):
    return answer_addresses(dns_query(port, POOL_NAME, "A"), dns.rdatatype.A)


# ------------------------------------------------------------- servers ---

class Server:
    """One server process, a child of this script, in its own temp dir.
    binaries maps "gslbd" (and BASE, with --baseline) to the binary to run."""

    def __init__(self, name, binaries, base, mode, listeners, echo_bin, pinned, gdnsd_fast):
        self.name = name
        self.mode = mode                # "single", "default" or "fast"
        self.pinned = pinned
        self.dir = os.path.join(base, "%s-%s" % (name, mode))
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port("0.0.0.0" if name in WILDCARD else "127.0.0.1")
        self.proc = None
        self.restarts = 0
        self.log_path = os.path.join(self.dir, "server.log")
        tags = {"single" if mode in ("single", "fast") else "default",
                "fast" if mode == "fast" else "normal",
                "wildcard" if name in WILDCARD else "specific"}
        if name in SAFES:
            tags.add("safe")
        if name == ANY:
            tags.add("pktinfo")
        vals = {"DIR": self.dir, "PORT": self.port, "PROBE_PORT": listeners.port,
                "COOKIE_SECRET": SAFE_COOKIE_SECRET, "NSID": SAFE_NSID,
                "V6_PORT1": listeners.v6_ports[0], "V6_PORT2": listeners.v6_ports[1],
                "GDNSD_INTERVAL": gdnsd_fast[0], "GDNSD_TIMEOUT": gdnsd_fast[1],
                # PowerDNS: a fresh Lua state per LUA record evaluation (the
                # default, "yes") or one shared state per thread ("shared").
                "LUA_MODE": "shared" if name == "pdns-shared" else "yes"}
        pool = {"gslbd": None, BASE: None, ANY: None, SAFE: None,
                "gdnsd": "www-gdnsd.zone.in", GDNSD_SAFE: "www-gdnsd.zone.in",
                "knot": "www-static.zone.in",
                "nsd": "www-static.zone.in", "pdns": "www-pdns.zone.in",
                "pdns-shared": "www-pdns.zone.in", "echo": None}[name]
        zone = render("bench.test.zone.in", {"POOL": render(pool, vals, tags) if pool else ""},
                      tags)

        def write(rel, text):
            p = os.path.join(self.dir, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(text)
            return p

        if name == "echo":
            self.argv = [echo_bin, "127.0.0.1", str(self.port)]
        elif name in GSLBDS:
            write("bench.test.zone", zone)
            conf = write("gslbd.conf", render("gslbd.conf.in", vals, tags))
            self.argv = [binaries[name], "-c", conf]
        elif name in GDNSDS:
            write("zones/bench.test", zone)
            write("config", render("gdnsd.config.in", vals, tags))
            if "safe" in tags:
                key = os.path.join(self.dir, "cookie.key")
                with open(os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                          "wb") as f:
                    f.write(GDNSD_COOKIE_KEY)
            self.argv = ["/usr/sbin/gdnsd", "-c", self.dir, "start"]
        elif name == "knot":
            write("bench.test.zone", zone)
            os.makedirs(os.path.join(self.dir, "db"), exist_ok=True)
            conf = write("knot.conf", render("knot.conf.in", vals, tags))
            self.argv = ["/usr/sbin/knotd", "-c", conf]
        elif name == "nsd":
            write("bench.test.zone", zone)
            conf = write("nsd.conf", render("nsd.conf.in", vals, tags))
            self.argv = ["/usr/sbin/nsd", "-d", "-c", conf]
        elif name in ("pdns", "pdns-shared"):
            write("bench.test.zone", zone)
            write("named.conf", render("pdns-named.conf.in", vals, tags))
            write("pdns.conf", render("pdns.conf.in", vals, tags))
            self.argv = ["/usr/sbin/pdns_server", "--config-dir=" + self.dir]
        else:
            raise ValueError(name)
        if pinned:
            self.argv = ["taskset", "-c", SERVER_CORE] + self.argv

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def command(self):
        return " ".join(shlex.quote(a) for a in self.argv)

    def start(self):
        logf = open(self.log_path, "a")
        self.proc = subprocess.Popen(self.argv, cwd=self.dir, stdin=subprocess.DEVNULL,
                                     stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        self.wait_ready()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        want = set(V4_MEMBERS)
        while time.monotonic() < deadline:
            if not self.alive():
                break
            if self.name == "echo":
                if dns_query(self.port, "bench.test", "SOA", 0.2) is not None or \
                        self._echo_ok():
                    return
            else:
                r = dns_query(self.port, "bench.test", "SOA", 0.2)
                if r is not None and r.rcode() == dns.rcode.NOERROR and r.answer:
                    got = pool_a(self.port)
                    if got is not None and got >= want:
                        return
            time.sleep(0.1)
        tail = self.log_tail()
        self.stop()
        raise RuntimeError("%s did not start or did not answer %s A with all four members "
                           "within %.0f s (exit %s); log tail:\n%s"
                           % (self.name, POOL_NAME, START_TIMEOUT,
                              self.proc.poll() if self.proc else None, tail))

    def _echo_ok(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.settimeout(0.2)
            s.sendto(b"\x12\x34\x01\x00" + b"\x00" * 8, ("127.0.0.1", self.port))
            return s.recv(512)[:3] == b"\x12\x34\x81"
        except OSError:
            return False
        finally:
            s.close()

    def log_tail(self, n=15):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def log_count(self, text):
        try:
            with open(self.log_path, errors="replace") as f:
                return sum(1 for line in f if text in line)
        except OSError:
            return 0

    def tree(self):
        return process_tree(self.pid) if self.alive() else []

    def ensure(self):
        """Restart if the process died (counted, reported)."""
        if not self.alive():
            log("%s (%s) died (exit %s): restarting; log tail:\n%s"
                % (self.name, self.mode, self.proc.poll() if self.proc else None,
                   self.log_tail()))
            self.restarts += 1
            self.start()

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except OSError:
                pass
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                # NSD's children are in our tree only; kill them by PID too.
                for p in reversed(process_tree(self.proc.pid)):
                    try:
                        os.kill(p, signal.SIGKILL)
                    except OSError:
                        pass
                self.proc.wait(STOP_TIMEOUT)


def start_servers(names, *args, **kw):
    """Start each server; those that fail are reported and left out."""
    out, failed = {}, {}
    for n in names:
        log("starting %s" % n)
        s = Server(n, *args, **kw)
        try:
            s.start()
            out[n] = s
            log("  %s: pid %d, port %d, %d threads: %s"
                % (n, s.pid, s.port, thread_count(s.tree()), s.command()))
        except (RuntimeError, OSError) as e:
            log("  %s failed: %s" % (n, e))
            failed[n] = str(e).splitlines()[0]
    return out, failed


# ------------------------------------------------------------- dnsperf ---

DP_RE = {
    "sent": re.compile(r"Queries sent:\s+(\d+)"),
    "completed": re.compile(r"Queries completed:\s+(\d+)"),
    "lost": re.compile(r"Queries lost:\s+(\d+)"),
    "runtime": re.compile(r"Run time \(s\):\s+([\d.]+)"),
    "qps": re.compile(r"Queries per second:\s+([\d.]+)"),
    "avg_lat": re.compile(r"Average Latency \(s\):\s+([\d.]+)"),
    "max_lat": re.compile(r"Average Latency \(s\):.*max ([\d.]+)\)"),
}


def dnsperf_argv(port, qfile, seconds, extra=(), core=CLIENT_CORE):
    argv = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", qfile, "-l", str(seconds)]
    argv += list(extra)
    if core is not None:
        argv = ["taskset", "-c", core] + argv
    return argv


class Dnsperf:
    """One dnsperf process, output to a file; wait() parses its statistics."""

    def __init__(self, argv, out_path):
        self.argv = argv
        self.out_path = out_path
        self.outf = open(out_path, "w")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.outf,
                                     stderr=subprocess.STDOUT)

    def done(self):
        """True once dnsperf has exited, without reaping it (wait() does:
        Popen.poll() would reap it and leave wait4() nothing to wait for)."""
        return os.waitid(os.P_PID, self.proc.pid,
                         os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None

    def wait(self, limit):
        """Wait (at most limit s, then SIGKILL) and parse.  r["failed"] is
        None or why the run cannot be counted (see failure())."""
        deadline = time.monotonic() + limit
        killed = False
        while True:
            pid, status, ru = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                os.kill(self.proc.pid, signal.SIGKILL)
                pid, status, ru = os.wait4(self.proc.pid, 0)
                killed = True
                break
            time.sleep(0.02)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.wall = time.monotonic() - self.t0
        self.cpu = ru.ru_utime + ru.ru_stime
        self.outf.close()
        with open(self.out_path, errors="replace") as f:
            self.text = f.read()
        r = {"rc": self.proc.returncode, "wall": self.wall, "client_cpu": self.cpu}
        for k, rx in DP_RE.items():
            m = rx.search(self.text)
            r[k] = float(m.group(1)) if m else None
        r["summary"] = self.summary()
        r["failed"] = self.failure(r, killed, limit)
        return r

    def failure(self, r, killed, limit):
        """None if the run can be counted, else the reason: killed at its time
        limit, a non-zero exit status, no statistics to parse, or no query
        completed (CPU per query is undefined)."""
        lines = [x.strip() for x in self.text.splitlines() if x.strip()]
        last = (", last output line %r" % lines[-1][:160]) if lines else ", no output"
        if killed:
            return "dnsperf still running after %g s, killed%s" % (limit, last)
        if r["rc"] != 0:
            return ("dnsperf killed by signal %d%s" % (-r["rc"], last) if r["rc"] < 0 else
                    "dnsperf exit status %d%s" % (r["rc"], last))
        if r["completed"] is None or r["qps"] is None:
            return "no parsable dnsperf statistics%s" % last
        if r["completed"] == 0:
            return "dnsperf completed no queries (%s)" % r["summary"]
        return None

    def summary(self):
        keep = []
        for line in self.text.splitlines():
            line = line.strip()
            if line.startswith(("Queries sent", "Queries completed", "Queries lost",
                                "Queries per second", "Run time", "Average Latency")):
                keep.append(re.sub(r"\s{2,}", " ", line))
        return "; ".join(keep)


def measure(server, argvs, seconds, tmp, tag):
    """Run the dnsperf command lines at once against server; CPU of the
    server's process tree read just before the first starts and just after
    the last ends.  Returns per-query figures."""
    tree = server.tree()
    f0 = foreign_ticks()
    c0 = core_stat()
    u0, s0 = cpu_ticks(tree)
    t0 = time.monotonic()
    runs = [Dnsperf(a, os.path.join(tmp, "dnsperf-%s-%s-%d.txt" % (server.name, tag, i)))
            for i, a in enumerate(argvs)]
    res = [d.wait(seconds + 30) for d in runs]
    wall = time.monotonic() - t0
    alive = server.alive()
    u1, s1 = cpu_ticks(server.tree())
    c1 = core_stat()
    foreign = foreign_delta(f0, foreign_ticks()) * 100.0 / CLK_TCK / wall
    busy0, irq0, steal0 = core_delta(c0, c1, SERVER_CORE)
    busy1, _, steal1 = core_delta(c0, c1, CLIENT_CORE)
    completed = sum(r["completed"] or 0 for r in res)
    # dnsperf's own "Run time" (the sending phase): a run with lost queries
    # waits for their timeout afterwards, idle time that must not dilute "busy".
    runtime = max([r["runtime"] for r in res if r["runtime"]] or [wall])
    out = {
        "qps": sum(r["qps"] or 0 for r in res),
        "completed": completed,
        "sent": sum(r["sent"] or 0 for r in res),
        "lost": sum(r["lost"] or 0 for r in res),
        "wall": wall,
        "user_us": (u1 - u0) * 1e6 / CLK_TCK / completed if completed else None,
        "sys_us": (s1 - s0) * 1e6 / CLK_TCK / completed if completed else None,
        "busy": ((u1 - u0) + (s1 - s0)) / CLK_TCK / runtime * 100,
        # Whole-core figures from /proc/stat over the same span (wall time):
        # core 1 carries dnsperf and the kernel work it causes; interrupt and
        # softirq time (loopback delivery) is in no process's utime/stime.
        "client_busy": busy1,
        "core0_busy": busy0,
        "irq0_us": irq0 * 1e6 / CLK_TCK / completed if completed else None,
        "steal": max(x for x in (steal0, steal1, 0.0) if x is not None),
        "foreign": foreign,
        "summaries": [r["summary"] for r in res],
        "max_lat": max([r["max_lat"] for r in res if r["max_lat"] is not None] or [0]),
        "avg_lat": median([r["avg_lat"] for r in res]) or 0,
        "rc": [r["rc"] for r in res],
        "alive": alive,
    }
    out["total_us"] = (out["user_us"] + out["sys_us"]) if completed else None
    # A failed run is kept (and reported) but counted in no median.
    fails = [r["failed"] for r in res if r["failed"]]
    if not alive:
        fails.append("%s exited during the run (its CPU time is lost; restarted for the "
                     "next run)" % server.name)
    out["failed"] = "; ".join(fails) or None
    return out


FOREIGN_MAX = 10.0     # % of one core used by other processes: the run is redone
MEASURE_TRIES = 3


def measure_quiet(quiet, server, argvs, seconds, tmp, tag):
    """measure() on a quiet machine: wait for quiet, and redo a run during
    which other processes used more than FOREIGN_MAX % (at most
    MEASURE_TRIES runs; the last one counts whatever happened)."""
    for attempt in range(1, MEASURE_TRIES + 1):
        quiet.wait()
        server.ensure()
        m = measure(server, argvs, seconds, tmp, tag)
        m["attempts"] = attempt
        # A failed run is returned as it is, never redone: it must be reported.
        if m["foreign"] <= FOREIGN_MAX or attempt == MEASURE_TRIES or m["failed"]:
            return m
        log("  %s: other processes used %.0f%% CPU during the run: measuring again"
            % (server.name, m["foreign"]))
    return m


def latency_run(server, qfile, seconds, tmp, run, pre=()):
    """One dnsperf -Q LATENCY_QPS -v run: the per-query latencies (seconds,
    printed by dnsperf with 1 µs resolution) and the run's summary.  pre:
    options before the others (["-B"] for a binary query file)."""
    argv = dnsperf_argv(server.port, qfile, seconds,
                        list(pre) + DNSPERF_BASE + ["-Q", str(LATENCY_QPS), "-v"])
    d = Dnsperf(argv, os.path.join(tmp, "latency-%s-%d.txt" % (server.name, run)))
    r = d.wait(seconds + 30)
    lat, timeouts = [], 0
    for line in d.text.splitlines():
        if line.startswith("> "):
            parts = line.split()
            if parts[1] == "T":
                timeouts += 1
                continue
            try:
                lat.append(float(parts[-1]))
            except ValueError:
                pass
    os.unlink(d.out_path)          # up to ~100k lines a run
    failed = r["failed"]
    if not failed and not server.alive():
        failed = "%s exited during the run" % server.name
    if not failed and not lat:
        failed = "no per-query latency lines in dnsperf -v output"
    return {"lat": lat, "timeouts": timeouts, "qps": r["qps"], "lost": r["lost"],
            "summary": r["summary"], "argv": argv, "failed": failed}


def grouped_median(sorted_xs, step=1e-6):
    """The median of values rounded to step (dnsperf prints whole µs),
    interpolated inside the bucket that holds it (the grouped-data median):
    finer than one bucket when many samples tie."""
    n = len(sorted_xs)
    if not n:
        return None
    m = sorted_xs[(n - 1) // 2]
    below = sum(1 for x in sorted_xs if x < m - step / 2)
    inside = sum(1 for x in sorted_xs if abs(x - m) <= step / 2)
    if not inside:
        return m
    return m - step / 2 + (n / 2 - below) / inside * step


def latency_summary(runs):
    """Latencies pooled over the runs that did not fail."""
    runs = [r for r in runs if not r.get("failed")]
    lat = sorted(x for r in runs for x in r["lat"])
    return {"n": len(lat), "timeouts": sum(r["timeouts"] for r in runs),
            "qps": median([r["qps"] for r in runs]), "lost": sum(r["lost"] or 0 for r in runs),
            "p50": grouped_median(lat), "p50_raw": percentile(lat, 50),
            "p99": percentile(lat, 99), "p999": percentile(lat, 99.9),
            "max": lat[-1] if lat else None, "summaries": [r["summary"] for r in runs],
            "argv": runs[0]["argv"] if runs else None}


# ------------------------------------------------------------- queries ---

STATIC_QUERIES = [
    ("bench.test", "SOA"), ("bench.test", "NS"), ("bench.test", "MX"), ("bench.test", "TXT"),
    ("ns1.bench.test", "A"), ("mail.bench.test", "A"), ("mail.bench.test", "AAAA"),
    ("api.bench.test", "A"), ("api.bench.test", "AAAA"), ("app.bench.test", "A"),
    ("app.bench.test", "TXT"), ("cdn.bench.test", "A"), ("cdn.bench.test", "AAAA"),
    ("db.bench.test", "A"), ("git.bench.test", "AAAA"), ("img.bench.test", "A"),
    ("mx2.bench.test", "MX"), ("ntp.bench.test", "A"), ("smtp.bench.test", "TXT"),
    ("static.bench.test", "AAAA"), ("vpn.bench.test", "A"), ("wiki.bench.test", "TXT"),
]


def write_queries(path, n=20000, seed=1):
    """~60% pool A, 10% pool AAAA, 20% static, 10% NXDOMAIN (random labels)."""
    rng = random.Random(seed)
    lines = ["%s A" % POOL_NAME] * (n * 60 // 100)
    lines += ["%s AAAA" % POOL_NAME] * (n * 10 // 100)
    lines += ["%s %s" % STATIC_QUERIES[i % len(STATIC_QUERIES)] for i in range(n * 20 // 100)]
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    lines += ["%s.bench.test A" % "".join(rng.choice(alphabet) for _ in range(rng.randint(6, 14)))
              for _ in range(n - len(lines))]
    rng.shuffle(lines)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return {"total": n, "pool_a": n * 60 // 100, "pool_aaaa": n * 10 // 100,
            "static": n * 20 // 100, "nxdomain": n - n * 90 // 100}


def safe_query_wire(qname, qtype, qid=0):
    """A query as dnsperf sends a line "qname qtype" with -E (RD set, EDNS
    version 0, payload 4096, DO clear), with two options: a client COOKIE
    (8 octets, no server cookie) and an empty NSID request."""
    opts = (struct.pack("!HH", OPT_COOKIE, 8) + bytes.fromhex(SAFE_CLIENT_COOKIE) +
            struct.pack("!HH", OPT_NSID, 0))
    return (struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1) +
            dns.name.from_text(qname).to_wire() +
            struct.pack("!HH", dns.rdatatype.from_text(qtype), 1) +
            b"\x00" + struct.pack("!HHIH", 41, EDNS_PAYLOAD, 0, len(opts)) + opts)


def write_safe_queries(qfile, path):
    """The query list qfile as a dnsperf -B file (each query 2-octet length,
    then the wire form): the same queries, in the same order, each with a
    client COOKIE and an NSID request (dnsperf 2.10's -E sends one option,
    never an empty one)."""
    n = 0
    with open(qfile) as f, open(path, "wb") as out:
        for line in f:
            parts = line.split()
            if len(parts) != 2:
                continue
            w = safe_query_wire(parts[0], parts[1])
            out.write(struct.pack("!H", len(w)) + w)
            n += 1
    return n


def safety_check(server):
    """The first query of the --gslbd-safety mix (www.bench.test A, a client
    COOKIE, an NSID request) to a server: what its response carries.
    Returns (ok, text)."""
    qid = random.randrange(1, 65536)
    wire = safe_query_wire(POOL_NAME, "A", qid)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(DNS_TIMEOUT)
        s.sendto(wire, ("127.0.0.1", server.port))
        data = None
        deadline = time.monotonic() + 2 * DNS_TIMEOUT
        while time.monotonic() < deadline:
            d = s.recv(4096)
            if d[:2] == wire[:2]:
                data = d
                break
    except OSError as e:
        return False, "no response (%s)" % e
    finally:
        s.close()
    if data is None:
        return False, "no response"
    try:
        r = dns.message.from_wire(data)
    except Exception as e:
        return False, "unparsable response (%s)" % e
    opts = {}
    for o in (r.options or []):
        opts[int(o.otype)] = o.to_wire() if hasattr(o, "to_wire") else b""
    cookie, nsid = opts.get(OPT_COOKIE), opts.get(OPT_NSID)
    client = bytes.fromhex(SAFE_CLIENT_COOKIE)
    problems = []
    if r.rcode() != dns.rcode.NOERROR or sum(len(x) for x in r.answer) != len(V4_MEMBERS):
        problems.append("%s/%d instead of NOERROR/%d" % (
            dns.rcode.to_text(r.rcode()), sum(len(x) for x in r.answer), len(V4_MEMBERS)))
    if cookie is None:
        problems.append("no COOKIE option")
    elif not (cookie[:8] == client and 16 <= len(cookie) <= 40):
        problems.append("COOKIE %s is not our client cookie and a server cookie" % cookie.hex())
    if nsid is None:
        problems.append("no NSID option")
    elif nsid != SAFE_NSID.encode():
        problems.append("NSID %r instead of %r" % (nsid, SAFE_NSID))
    text = "%s/%d, %d octets, COOKIE %s, NSID %s" % (
        dns.rcode.to_text(r.rcode()), sum(len(x) for x in r.answer), len(data),
        "-" if cookie is None else "client %s + server cookie of %d octets"
        % (cookie[:8].hex(), len(cookie) - 8),
        "-" if nsid is None else repr(nsid.decode("ascii", "replace")))
    if problems:
        text += " (**%s**)" % "; ".join(problems)
    return not problems, text


def server_counters(server):
    """--gslbd-safety: the server's own counters of cookies and (gslbd) rate
    limiting, as text for the report, or None.  gslbd: the control socket
    (`stats`, as gslbctl sends it); gdnsd: `gdnsdctl stats` (JSON)."""
    if server.name == SAFE:
        path = os.path.join(server.dir, "control.sock")
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            c.settimeout(5)
            c.connect(path)
            c.sendall(b"stats\n")
            c.shutdown(socket.SHUT_WR)
            buf = b""
            while True:
                d = c.recv(65536)
                if not d:
                    break
                buf += d
        except OSError as e:
            return "control socket %s: %s" % (path, e)
        finally:
            c.close()
        lines = buf.decode("utf-8", "replace").splitlines()
        if not lines or lines[0] != "OK":
            return "control socket: unexpected reply %r" % (lines[:1],)
        keep = [x for x in lines[1:] if x.startswith(("queries:", "cookies:", "rate limit:"))]
        return "; ".join(keep) or "no counters in the reply"
    if server.name == GDNSD_SAFE:
        try:
            r = run_quiet(["gdnsdctl", "-c", server.dir, "-o", "-t", "10", "stats"], timeout=30)
        except (OSError, subprocess.SubprocessError) as e:
            return "gdnsdctl stats: %s" % e
        try:
            st = json.loads(r.stdout)
        except ValueError:
            return "gdnsdctl stats: no JSON (exit %d)" % r.returncode
        flat = {}

        def walk(o, pre=""):
            if isinstance(o, dict):
                for k, v in o.items():
                    walk(v, pre + k + ".")
            elif isinstance(o, (int, float)):
                flat[pre[:-1]] = o
        walk(st)
        keep = ["%s %d" % (k[6:] if k.startswith("stats.") else k, v) for k, v in flat.items()
                if re.search(r"(^|\.)(udp\.reqs|edns_cookie_\w+|udp_reqs|edns)$", k)]
        return ", ".join(keep) or "no cookie counters in gdnsdctl stats"
    return None


def check_answers(servers):
    """Sanity: every DNS server gives the same kind of answer to each class
    of query (rcode and answer count), so no server is measured doing less."""
    probes = [(POOL_NAME, "A"), (POOL_NAME, "AAAA"), ("bench.test", "MX"),
              ("app.bench.test", "TXT"), ("nxd-check-1.bench.test", "A")]
    rows = []
    for qn, qt in probes:
        row = [qn + " " + qt]
        for n, s in servers.items():
            if n == "echo":
                continue
            r = dns_query(s.port, qn, qt)
            row.append("%s:%s" % (n, "-" if r is None else "%s/%d" % (
                dns.rcode.to_text(r.rcode()), sum(len(x) for x in r.answer))))
        rows.append(row)
    return rows


# ------------------------------------------------------------ failover ---

def failover(servers, listeners, cycles, rng):
    """Close one v4 member's listener, poll every server every 10 ms until
    its answers lack it (gone), reopen, poll until it is back."""
    res = {n: {"gone": [], "back": [], "timeouts": 0, "noanswer": 0, "false_down": 0}
           for n in servers}
    for c in range(cycles):
        victim = V4_MEMBERS[c % len(V4_MEMBERS)]
        others = set(V4_MEMBERS) - {victim}
        time.sleep(rng.uniform(0, 1.0))      # land at a random point of the probe schedule
        for phase in ("gone", "back"):
            if phase == "gone":
                t0 = listeners.close_member(victim)
                limit = GONE_LIMIT
            else:
                time.sleep(rng.uniform(0, 1.0))
                t0 = listeners.open_member(victim)
                limit = BACK_LIMIT
            pending = set(servers)
            nxt = time.monotonic()
            while pending and time.monotonic() - t0 < limit:
                for n in sorted(pending):
                    got = pool_a(servers[n].port)
                    t = time.monotonic()
                    if got is None:
                        res[n]["noanswer"] += 1
                        continue
                    if not others <= got:
                        res[n]["false_down"] += 1
                    done = (victim not in got) if phase == "gone" else (victim in got)
                    if done:
                        res[n][phase].append(t - t0)
                        pending.discard(n)
                nxt += POLL_PERIOD
                pause = nxt - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                else:
                    nxt = time.monotonic()
            for n in pending:
                res[n]["timeouts"] += 1
                res[n][phase].append(None)
            log("  failover cycle %d/%d %s %s: %s" % (
                c + 1, cycles, victim, phase,
                ", ".join("%s %s" % (n, fmt_s(res[n][phase][-1])) for n in sorted(servers))))
        # Stable again: every server answers all four in STABLE_POLLS polls in a row.
        deadline = time.monotonic() + BACK_LIMIT
        streak = 0
        while streak < STABLE_POLLS and time.monotonic() < deadline:
            ok = all((pool_a(s.port) or set()) >= set(V4_MEMBERS) for s in servers.values())
            streak = streak + 1 if ok else 0
            time.sleep(0.05)
    return res


# ----------------------------------------------------------- reporting ---

def fmt(x, nd=2):
    return "-" if x is None else ("%.*f" % (nd, x))


def fmt_s(x):
    return "timeout" if x is None else "%.3f s" % x


def fmt_us(x, nd=0):
    return "-" if x is None else "%.*f" % (nd, x * 1e6)


def inv(r):
    """gslbd / peer from a peer / gslbd paired ratio."""
    return "-" if not r else "%.2f×" % (1 / r)


def pct(x):
    return "-" if x is None else "%.0f%%" % x


def ratio(a, b):
    return "-" if a is None or b is None or b == 0 else "%.2f×" % (a / b)


def table(headers, rows):
    out = ["| " + " | ".join(headers) + " |",
           "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(x) for x in r) + " |")
    return "\n".join(out)


def verdict(ok):
    return "PASS" if ok else "FAIL"


def failure_lines(runs, what="runs"):
    """'N of M runs of SERVER failed: reason' for each server in runs
    (server -> list of run results) with a failed run."""
    lines = []
    for n, rs in runs.items():
        bad = [r["failed"] for r in rs if r.get("failed")]
        if not bad:
            continue
        reasons = collections.Counter(bad)
        left = len(rs) - len(bad)
        lines.append("**%d of %d %s of %s failed**: %s. %s." % (
            len(bad), len(rs), what, LABELS.get(n, n),
            " / ".join(k if c == 1 else "%s (%d×)" % (k, c) for k, c in reasons.items()),
            "Its figures are over the other %d run%s" % (left, "" if left == 1 else "s")
            if left else "No figures for it"))
    return lines


def baseline_line(vs_base, med, runs):
    """The one-line summary of --baseline: current / baseline."""
    pc, pu, pq = vs_base["total_us"], vs_base["user_us"], vs_base["qps"]
    g, b = med["gslbd"], med[BASE]

    def rng(xs):
        return "" if len(xs) < 2 else ", range %.3f–%.3f" % (min(xs), max(xs))

    if not pc:
        return ("**current vs baseline: no ratio: in no run did both gslbd and the baseline "
                "complete with CPU figures.**")
    line = ("current vs baseline: CPU/q ratio %.3f (current/baseline, paired median of %d "
            "run%s%s; ratio of medians %s), user CPU/q ratio %s, qps ratio %s "
            "(paired median; ratio of medians %s)"
            % (median(pc), len(pc), "" if len(pc) == 1 else "s", rng(pc),
               "-" if not (g["total_us"] and b["total_us"]) else
               "%.3f" % (g["total_us"] / b["total_us"]),
               fmt(median(pu), 3), fmt(median(pq), 3),
               "-" if not (g["qps"] and b["qps"]) else "%.3f" % (g["qps"] / b["qps"])))
    if len(pc) < runs:
        line += " [only %d of %d runs paired: see the failed runs above]" % (len(pc), runs)
    return line


def wildcard_line(results, med, runs):
    """The one-line summary of --gslbd-listen wildcard: gslbd bound to
    0.0.0.0 / gslbd bound to 127.0.0.1, the same binary."""
    pc = paired(results[ANY], results["gslbd"], "total_us")
    if not pc:
        return ("**wildcard vs specific: no ratio: in no run did both gslbd listeners "
                "complete with CPU figures.**")
    a, g = med[ANY], med["gslbd"]
    line = ("wildcard vs specific (gslbd on 0.0.0.0 / on 127.0.0.1, same binary): CPU/q ratio "
            "%.3f (paired median of %d run%s%s), user CPU/q ratio %s, sys CPU/q ratio %s, qps "
            "ratio %s (paired medians); medians %s vs %s µs/q (user %s vs %s, sys %s vs %s), "
            "%s vs %s qps"
            % (median(pc), len(pc), "" if len(pc) == 1 else "s",
               "" if len(pc) < 2 else ", range %.3f–%.3f" % (min(pc), max(pc)),
               fmt(median(paired(results[ANY], results["gslbd"], "user_us")), 3),
               fmt(median(paired(results[ANY], results["gslbd"], "sys_us")), 3),
               fmt(median(paired(results[ANY], results["gslbd"], "qps")), 3),
               fmt(a["total_us"]), fmt(g["total_us"]), fmt(a["user_us"]), fmt(g["user_us"]),
               fmt(a["sys_us"]), fmt(g["sys_us"]), fmt(a["qps"], 0), fmt(g["qps"], 0)))
    if len(pc) < runs:
        line += " [only %d of %d runs paired: see the failed runs above]" % (len(pc), runs)
    return line


def safety_line(results, med, runs):
    """The one-line summary of --gslbd-safety: gslbd with the Internet-safe
    settings / plain gslbd (the same binary), and / gdnsd (gdnsd-safe when
    it ran: cookies and NSID too, on 0.0.0.0; else plain gdnsd)."""
    pc = paired(results[SAFE], results["gslbd"], "total_us")
    if not pc:
        return ("**Internet-safe vs plain: no ratio: in no run did both gslbd-safe and gslbd "
                "complete with CPU figures.**")
    a, g = med[SAFE], med["gslbd"]

    def rng(xs):
        return "" if len(xs) < 2 else ", range %.3f–%.3f" % (min(xs), max(xs))

    line = ("Internet-safe vs plain (gslbd-safe / gslbd, same binary): CPU/q ratio %.3f "
            "(paired median of %d run%s%s), user CPU/q ratio %s, sys CPU/q ratio %s, qps ratio "
            "%s (paired medians); medians %s vs %s µs/q (%s µs/q; user %s vs %s, sys %s vs "
            "%s), %s vs %s qps"
            % (median(pc), len(pc), "" if len(pc) == 1 else "s", rng(pc),
               fmt(median(paired(results[SAFE], results["gslbd"], "user_us")), 3),
               fmt(median(paired(results[SAFE], results["gslbd"], "sys_us")), 3),
               fmt(median(paired(results[SAFE], results["gslbd"], "qps")), 3),
               fmt(a["total_us"]), fmt(g["total_us"]),
               "-" if a["total_us"] is None or g["total_us"] is None else
               "%+.2f" % (a["total_us"] - g["total_us"]),
               fmt(a["user_us"]), fmt(g["user_us"]),
               fmt(a["sys_us"]), fmt(g["sys_us"]), fmt(a["qps"], 0), fmt(g["qps"], 0)))
    if len(pc) < runs:
        line += " [only %d of %d runs paired: see the failed runs above]" % (len(pc), runs)
    peer = GDNSD_SAFE if GDNSD_SAFE in results else "gdnsd" if "gdnsd" in results else None
    if peer is None:
        return line + "; vs gdnsd: not measured"
    pg = paired(results[SAFE], results[peer], "total_us")
    if not pg:
        return line + "; vs gdnsd: no ratio (no run where both completed)"
    line += ("; vs gdnsd (gslbd-safe / %s): CPU/q ratio %.3f (paired median of %d run%s%s), "
             "user CPU/q ratio %s, qps ratio %s"
             % (peer if peer == GDNSD_SAFE else "plain gdnsd, without cookies and NSID",
                median(pg), len(pg), "" if len(pg) == 1 else "s", rng(pg),
                fmt(median(paired(results[SAFE], results[peer], "user_us")), 3),
                fmt(median(paired(results[SAFE], results[peer], "qps")), 3)))
    if peer == GDNSD_SAFE and "gdnsd" in results:
        pd = paired(results[GDNSD_SAFE], results["gdnsd"], "total_us")
        if pd:
            line += ("; gdnsd's own cost of cookies+NSID+0.0.0.0 (gdnsd-safe / gdnsd): CPU/q "
                     "ratio %.3f (paired median%s), qps ratio %s"
                     % (median(pd), rng(pd),
                        fmt(median(paired(results[GDNSD_SAFE], results["gdnsd"], "qps")), 3)))
    return line


def paired(xs, ys, key):
    """x[key] / y[key] for each pair of runs (the same run of two servers)
    where neither run failed."""
    return [a[key] / b[key] for a, b in zip(xs, ys)
            if not a.get("failed") and not b.get("failed") and a[key] and b[key]]


def chart(path, main, order):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    names = [n for n in order if n in main and main[n]["total_us"] is not None]
    ref = min(main[n]["total_us"] for n in names)
    off = [n for n in names if main[n]["total_us"] > 5 * ref]
    names = [n for n in names if n not in off]
    user = [main[n]["user_us"] for n in names]
    sys_ = [main[n]["sys_us"] for n in names]
    qps = [main[n]["qps"] / 1000 for n in names]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.4))
    x = range(len(names))
    a1.bar(x, user, label="user", color="#4a7bb7")
    a1.bar(x, sys_, bottom=user, label="sys", color="#f0a04b")
    a1.set_xticks(list(x), [LABELS[n] for n in names], rotation=30, ha="right", fontsize=8)
    a1.set_ylabel("server CPU µs / query")
    a1.set_title("CPU per query (median, 1 thread)" + "".join(
        "\n%s off scale: %.0f µs/q, %.0f qps" % (LABELS[n], main[n]["total_us"], main[n]["qps"])
        for n in off), fontsize=9)
    a1.legend(fontsize=8)
    a2.bar(x, qps, color="#6aa56a")
    a2.set_xticks(list(x), [LABELS[n] for n in names], rotation=30, ha="right", fontsize=8)
    a2.set_ylabel("k queries / s")
    a2.set_title("throughput (median, dnsperf on the other core)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


# ---------------------------------------------------------------- main ---

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 1 run of 3 s, 2 failover cycles, short extras")
    ap.add_argument("--runs", type=int, help="interleaved runs per server (default 5; quick 1)")
    ap.add_argument("--seconds", type=float, help="dnsperf -l per run (default 10; quick 3)")
    ap.add_argument("--cycles", type=int, help="failover cycles (default 5; quick 2)")
    ap.add_argument("--gslbd", default=DEFAULT_GSLBD, help="gslbd binary (default src/gslbd)")
    ap.add_argument("--baseline", metavar="PATH",
                    help="an older gslbd binary to measure too, interleaved, as server %s "
                         "(same config template and settings as gslbd; kept by --only)" % BASE)
    ap.add_argument("--gslbd-listen", choices=["specific", "wildcard"], default="specific",
                    help="wildcard: also measure the same gslbd bound to 0.0.0.0, as server %s, "
                         "interleaved with gslbd bound to 127.0.0.1 (kept by --only)" % ANY)
    ap.add_argument("--gslbd-safety", action="store_true",
                    help="also measure the same gslbd with the Internet-safe settings "
                         "(0.0.0.0, rate_limit at 1000000/s, cookie_secret, nsid), as server "
                         "%s, queried with a client COOKIE and an NSID request; and gdnsd "
                         "(if measured) the same way, as %s (kept by --only)"
                         % (SAFE, GDNSD_SAFE))
    ap.add_argument("--only", help="comma-separated subset of: " + ",".join(SERVERS) +
                    " (with --baseline, gslbd and %s are always included; with "
                    "--gslbd-listen wildcard, gslbd and %s; with --gslbd-safety, gslbd and "
                    "%s, and %s with gdnsd)" % (BASE, ANY, SAFE, GDNSD_SAFE))
    ap.add_argument("--skip", default="",
                    help="comma-separated sections to skip: check,latency,reload,multi,failover")
    ap.add_argument("--report", help="also write the report (Markdown) to this file")
    ap.add_argument("--chart", help="write a PNG chart here (needs python3-matplotlib)")
    ap.add_argument("--quiet-budget", type=float,
                    help="seconds to wait in all for other processes on the machine to go "
                         "idle before runs (default 1200; quick 120)")
    ap.add_argument("--qps", type=int,
                    help="section 1 (main runs and warm-up) at this fixed rate (dnsperf -Q), "
                         "the same for every server, instead of as fast as one dnsperf goes")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (for debugging)")
    args = ap.parse_args()
    runs = args.runs or (1 if args.quick else 5)
    seconds = args.seconds or (3 if args.quick else 10)
    cycles = args.cycles or (2 if args.quick else 5)
    lat_seconds = 3 if args.quick else 5
    lat_runs = 1 if args.quick else 3
    reload_seconds = 5 if args.quick else 10
    multi_runs = max(1, min(runs, 3))
    every = SERVERS[:]
    if args.baseline:
        every.insert(every.index("gslbd") + 1, BASE)
    if args.gslbd_listen == "wildcard":
        every.insert(every.index("gslbd") + 1, ANY)
    if args.gslbd_safety:
        every.insert(every.index(ANY if ANY in every else "gslbd") + 1, SAFE)
        every.insert(every.index("gdnsd") + 1, GDNSD_SAFE)
    if args.only:
        only = set(x for x in args.only.split(",") if x)
        unknown = sorted(only - set(SERVERS) - {BASE, ANY, SAFE, GDNSD_SAFE})
        if unknown:
            sys.exit("--only: unknown server(s) %s (known: %s)"
                     % (",".join(unknown), ",".join(SERVERS)))
        if BASE in only and not args.baseline:
            sys.exit("--only %s needs --baseline PATH" % BASE)
        if ANY in only and args.gslbd_listen != "wildcard":
            sys.exit("--only %s needs --gslbd-listen wildcard" % ANY)
        if only & set(SAFES) and not args.gslbd_safety:
            sys.exit("--only %s needs --gslbd-safety" % ",".join(sorted(only & set(SAFES))))
        if args.baseline:
            only |= {"gslbd", BASE}     # the baseline is compared with gslbd in every run
        if args.gslbd_listen == "wildcard":
            only |= {"gslbd", ANY}      # so is the wildcard listener
        if args.gslbd_safety:
            only |= {"gslbd", SAFE}     # and the Internet-safe settings
            if "gdnsd" in only:
                only.add(GDNSD_SAFE)    # gdnsd with the same options, for a fair "vs gdnsd"
        names = [n for n in every if n in only]
    else:
        names = every
    skip = set(x for x in args.skip.split(",") if x)
    unknown = sorted(skip - {"check", "latency", "reload", "multi", "failover"})
    if unknown:
        sys.exit("--skip: unknown section(s) %s" % ",".join(unknown))
    rng = random.Random(args.seed)
    quiet = Quiet(args.quiet_budget if args.quiet_budget is not None else
                  (120 if args.quick else 1200))
    if "echo" not in names:
        names = ["echo"] + names      # the floor is always measured

    started = time.monotonic()
    ensure_packages()
    global dns
    if dns is None:
        import dns.message
        import dns.name
        import dns.rdatatype
        import dns.rcode
    if (os.cpu_count() or 1) < 2:
        sys.exit("needs 2 cores: the server on core 0, dnsperf on core 1")
    gslbd = os.path.abspath(args.gslbd)
    if "gslbd" in names and not os.access(gslbd, os.X_OK):
        sys.exit("%s is missing: build it first (make -s)" % gslbd)
    baseline = os.path.abspath(args.baseline) if args.baseline else None
    if baseline and not (os.path.isfile(baseline) and os.access(baseline, os.X_OK)):
        sys.exit("--baseline %s: not an executable file" % baseline)

    tmp = tempfile.mkdtemp(prefix="gslbd-peers-")
    listeners = None
    live = []                   # every Server started, for the finally block
    rep = []                    # the report, Markdown

    def out(s=""):
        rep.append(s)

    failed = {}
    try:
        echo_bin = os.path.join(tmp, "echo")
        r = run_quiet(["gcc", "-O2", "-Wall", "-o", echo_bin, ECHO_SRC], timeout=120)
        if r.returncode != 0:
            sys.exit("building echo.c failed:\n" + r.stderr)
        # Private copies: a rebuild of src/gslbd during the run changes nothing here.
        binaries, descs = {}, {}
        for n, src in (("gslbd", gslbd), (BASE, baseline)):
            if src and os.access(src, os.X_OK):
                os.makedirs(os.path.join(tmp, "bin"), exist_ok=True)
                binaries[n] = os.path.join(tmp, "bin", n)
                shutil.copy2(src, binaries[n])
                descs[n] = gslbd_desc(src, binaries[n])
                log("%s: %s" % (LABELS[n], descs[n]))
        if "gslbd" in binaries:
            binaries[ANY] = binaries["gslbd"]     # the same binary, another listen setting
            binaries[SAFE] = binaries["gslbd"]    # the same binary, Internet-safe settings
        qfile = os.path.join(tmp, "queries.txt")
        mix = write_queries(qfile, seed=args.seed)
        # --gslbd-safety: the same queries with a client COOKIE and an NSID
        # request, for dnsperf -B.  Every dnsperf command goes through dp().
        sfile = os.path.join(tmp, "queries-safe.bin")
        if any(n in SAFES for n in names):
            write_safe_queries(qfile, sfile)

        def qsrc(n):
            """(query file, options before the others) for server n."""
            return (sfile, ["-B"]) if n in SAFES else (qfile, [])

        main_extra = DNSPERF_BASE + (["-Q", str(args.qps)] if args.qps else [])

        def dp(n, port, secs, extra=main_extra, core=CLIENT_CORE):
            f, pre = qsrc(n)
            return dnsperf_argv(port, f, secs, pre + list(extra), core=core)
        listeners = Listeners()
        log("listeners: 127.0.0.11-14:%d, 127.0.0.1:%d, 127.0.0.1:%d"
            % (listeners.port, listeners.v6_ports[0], listeners.v6_ports[1]))

        # ---- single-thread, pinned servers: check, main, latency, RSS, reload
        srv, f1 = start_servers(names, binaries, tmp, "single", listeners, echo_bin, True,
                                (1, 1))
        live += srv.values()
        failed.update(f1)
        sanity = check_answers(srv)
        safety = {n: safety_check(srv[n]) for n in SAFES if n in srv}
        for n, (ok, text) in safety.items():
            log("%s answers the COOKIE+NSID query: %s%s"
                % (n, text, "" if ok else " -- NOT AS EXPECTED"))
        order = [n for n in names if n in srv]

        # 0. the load generator check
        gencheck = []
        if "check" not in skip:
            variants = [
                ("1 dnsperf, core 1", [DNSPERF_BASE]),
                ("2 dnsperf, core 1", [DNSPERF_BASE, DNSPERF_BASE]),
                ("1 dnsperf -T 2 -c 16 -q 400, core 1", [["-T", "2", "-c", "16", "-q", "400"]]),
                ("1 dnsperf, unpinned (may share core 0)", None),
            ]
            for n in [x for x in ("echo", "gslbd") if x in srv]:
                for label, extras in variants:
                    srv[n].ensure()
                    if extras is None:
                        argvs = [dnsperf_argv(srv[n].port, qfile, seconds, DNSPERF_BASE,
                                              core=None)]
                    else:
                        argvs = [dnsperf_argv(srv[n].port, qfile, seconds, e) for e in extras]
                    m = measure_quiet(quiet, srv[n], argvs, seconds, tmp, "check")
                    gencheck.append((n, label, m))
                    log("check %s / %s: %.0f qps, server busy %.0f%%, core 1 busy %.0f%%%s"
                        % (n, label, m["qps"], m["busy"], m["client_busy"] or 0,
                           "; FAILED: " + m["failed"] if m["failed"] else ""))

        # 1. main measurement, interleaved; each run starts one server later
        # in the order, so no server is always measured right after another.
        warmup_failed = {}
        for n in order:           # warm-up, not counted (but a failure is reported)
            srv[n].ensure()
            w = Dnsperf(dp(n, srv[n].port, 2),
                        os.path.join(tmp, "warmup-%s.txt" % n)).wait(40)
            if w["failed"]:
                warmup_failed[n] = w["failed"]
                log("warm-up %s FAILED: %s" % (n, w["failed"]))
        results = {n: [] for n in order}
        for run in range(1, runs + 1):
            k = (run - 1) % len(order)
            for n in order[k:] + order[:k]:
                srv[n].ensure()
                argv = dp(n, srv[n].port, seconds)
                m = measure_quiet(quiet, srv[n], [argv], seconds, tmp, "main%d" % run)
                results[n].append(m)
                if m["failed"]:
                    log("run %d/%d %s FAILED (not counted): %s" % (run, runs, n, m["failed"]))
                    continue
                log("run %d/%d %s: %.0f qps, %s µs/q (user %s, sys %s; core-0 irq %s), "
                    "busy %.0f%%, core 1 %.0f%%, lost %d"
                    % (run, runs, n, m["qps"], fmt(m["total_us"]), fmt(m["user_us"]),
                       fmt(m["sys_us"]), fmt(m["irq0_us"]), m["busy"], m["client_busy"] or 0,
                       m["lost"]))
        main_argv = dnsperf_argv("PORT", "QUERIES", seconds, main_extra)
        safe_argv = dnsperf_argv("PORT", "QUERIES-SAFE.bin", seconds, ["-B"] + main_extra)
        # --gslbd-safety: the servers' own counters after the warm-up and main runs.
        counters = {n: server_counters(srv[n]) for n in SAFES if n in srv}
        for n, c in counters.items():
            log("%s counters: %s" % (n, c))
        med = {}
        for n in order:
            rs = [r for r in results[n] if not r["failed"]]     # failures: reported below
            med[n] = {k: median([r[k] for r in rs])
                      for k in ("qps", "user_us", "sys_us", "total_us", "busy", "client_busy",
                                "irq0_us", "steal")}
            med[n]["ok"] = len(rs)
            med[n]["lost"] = sum(r["lost"] for r in rs)
            med[n]["max_lat"] = max([r["max_lat"] for r in rs] or [None])
            tot = [r["total_us"] for r in rs if r["total_us"] is not None]
            med[n]["spread"] = ((max(tot) - min(tot)) / med[n]["total_us"] * 100
                                if tot and med[n]["total_us"] else None)
        # Paired ratios: server / gslbd within the same run (measured minutes
        # apart at most), then the median: robust to slow drifts of the host.
        for n in order:
            for key, out_key in (("total_us", "paired"), ("user_us", "paired_user")):
                med[n][out_key] = median(paired(results[n], results.get("gslbd", []), key))
        # --baseline: current / baseline, per run, for the summary line.
        vs_base = None
        if "gslbd" in results and BASE in results:
            vs_base = {k: paired(results["gslbd"], results[BASE], k)
                       for k in ("total_us", "user_us", "qps")}

        # 2. latency at a fixed rate
        lat = {}
        lruns = {}
        if "latency" not in skip:
            lruns = {n: [] for n in order}
            for run in range(1, lat_runs + 1):
                for n in order:
                    srv[n].ensure()
                    for attempt in range(1, MEASURE_TRIES + 1):
                        quiet.wait()
                        srv[n].ensure()
                        f0, t0 = foreign_ticks(), time.monotonic()
                        lr = latency_run(srv[n], qsrc(n)[0], lat_seconds, tmp, run,
                                         qsrc(n)[1])
                        fpct = (foreign_delta(f0, foreign_ticks()) * 100.0 / CLK_TCK
                                / (time.monotonic() - t0))
                        lr["foreign"], lr["attempts"] = fpct, attempt
                        if fpct <= FOREIGN_MAX or lr["failed"]:     # a failure is kept
                            break
                        log("  %s: other processes used %.0f%% CPU during the latency run%s"
                            % (n, fpct, ": measuring again" if attempt < MEASURE_TRIES else ""))
                    lruns[n].append(lr)
                    if lr["failed"]:
                        log("latency %d/%d %s FAILED (not counted): %s"
                            % (run, lat_runs, n, lr["failed"]))
                        continue
                    ls = latency_summary([lr])
                    log("latency %d/%d %s: p50 %s p99 %s p99.9 %s µs (%d answers, %d timeouts, "
                        "%.0f qps)" % (run, lat_runs, n, fmt_us(ls["p50"], 1), fmt_us(ls["p99"]),
                                       fmt_us(ls["p999"]), ls["n"], ls["timeouts"],
                                       ls["qps"] or 0))
            lat = {n: latency_summary(lruns[n]) for n in order}

        # 3. RSS after load
        rss = {n: (rss_kib(srv[n].tree()), len(srv[n].tree()), thread_count(srv[n].tree()))
               for n in order}

        # 4. reload under load
        reload_res = None
        if "reload" not in skip and "gslbd" in srv and med.get("gslbd", {}).get("qps"):
            g = srv["gslbd"]
            g.ensure()
            rate = int(med["gslbd"]["qps"] * 0.5)
            done0 = g.log_count("reload done")
            argv = dnsperf_argv(g.port, qfile, reload_seconds, DNSPERF_BASE + ["-Q", str(rate)])
            quiet.wait()
            d = Dnsperf(argv, os.path.join(tmp, "reload.txt"))
            hups = 0
            for i in range(int(reload_seconds) - 1):
                time.sleep(1.0)
                if d.done() or not g.alive():
                    break
                os.kill(g.pid, signal.SIGHUP)
                hups += 1
            r = d.wait(reload_seconds + 30)
            time.sleep(0.5)
            reload_res = {"rate": rate, "hups": hups, "done": g.log_count("reload done") - done0,
                          "sent": r["sent"], "completed": r["completed"], "lost": r["lost"],
                          "qps": r["qps"], "summary": r["summary"], "argv": argv,
                          "alive": g.alive(), "failed": r["failed"]}
            log("reload: %d SIGHUPs, %d reloads done, %s sent, %s lost%s"
                % (hups, reload_res["done"], r["sent"], r["lost"],
                   "; dnsperf FAILED: " + r["failed"] if r["failed"] else ""))

        restarts = {n: srv[n].restarts for n in order}
        commands = {n: srv[n].command() for n in order}
        for s in srv.values():
            s.stop()

        # 5. default threads, unpinned
        multi = {}
        multi_threads = {}
        multi_raw = {}
        mres_all = {}
        if "multi" not in skip:
            mnames = [n for n in order if n != "echo"]
            msrv, f2 = start_servers(mnames, binaries, tmp, "default", listeners, echo_bin,
                                     False, (1, 1))
            live += msrv.values()
            for n, e in f2.items():
                failed.setdefault(n + " (default threads)", e)
            mres = mres_all = {n: [] for n in msrv}
            for run in range(1, multi_runs + 1):
                for n in msrv:
                    msrv[n].ensure()
                    argv = dp(n, msrv[n].port, seconds, DNSPERF_BASE, core=None)
                    m = measure_quiet(quiet, msrv[n], [argv], seconds, tmp, "multi%d" % run)
                    mres[n].append(m)
                    log("multi %d/%d %s: %.0f qps, %s µs/q, busy %.0f%%%s"
                        % (run, multi_runs, n, m["qps"], fmt(m["total_us"]), m["busy"],
                           " FAILED (not counted): " + m["failed"] if m["failed"] else ""))
            for n in msrv:
                ok = [r for r in mres[n] if not r["failed"]]     # failures: reported below
                multi[n] = {k: median([r[k] for r in ok])
                            for k in ("qps", "user_us", "sys_us", "total_us", "busy")}
                multi_threads[n] = thread_count(msrv[n].tree())
                multi_raw[n] = ["; ".join(r["summaries"]) for r in ok]
            for s in msrv.values():
                s.stop()

        # 6. failover
        fo = None
        fo_cmds = {}
        if "failover" not in skip:
            fnames = [n for n in FAILOVER_SERVERS if n in names]
            gdnsd_fast = gdnsd_fastest(tmp)
            fsrv, f3 = start_servers(fnames, binaries, tmp, "fast", listeners, echo_bin, False,
                                     gdnsd_fast)
            live += fsrv.values()
            for n, e in f3.items():
                failed.setdefault(n + " (failover)", e)
            fo_cmds = {n: fsrv[n].command() for n in fsrv}
            if fsrv:
                log("failover: %d cycles over %s" % (cycles, ", ".join(fsrv)))
                fo = failover(fsrv, listeners, cycles, rng)
            for s in fsrv.values():
                s.stop()
    finally:
        for s in live:
            try:
                s.stop()
            except Exception as e:        # keep stopping the others
                log("stopping %s: %s" % (s.name, e))
        if listeners:
            listeners.close()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log("temp dir kept: %s" % tmp)

    elapsed = time.monotonic() - started

    # ------------------------------------------------------------ report ---
    mach = machine()
    vers = versions()
    out("# gslbd side-by-side benchmark (contrib/bench/peers.py)")
    out()
    out("- date: %s" % datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"))
    out("- command: `%s`" % " ".join(shlex.quote(a) for a in ["/usr/bin/python3"] + sys.argv))
    out("- machine: %s cores, %s, %s RAM, kernel %s, %s"
        % (mach["nproc"], mach["cpu"], mach["memory"], mach["kernel"], mach["os"]))
    for n in GSLBDS:
        if n in descs or n == "gslbd":
            out("- %s: %s" % (LABELS[n], descs.get(n, "not run")))
    out("- packages: " + ", ".join("%s %s" % kv for kv in vers.items()))
    out("- settings: %d interleaved runs of %g s per server; latency runs %d s at %d qps; "
        "failover %d cycles; whole run %.0f s" % (runs, seconds, lat_seconds, LATENCY_QPS,
                                                  cycles, elapsed))
    out("- query mix (%d lines, dnsperf loops over it): %d%% %s A, %d%% AAAA, %d%% static "
        "(SOA/NS/MX/TXT/A/AAAA on 21 names), %d%% NXDOMAIN (random labels)"
        % (mix["total"], mix["pool_a"] * 100 // mix["total"], POOL_NAME,
           mix["pool_aaaa"] * 100 // mix["total"], mix["static"] * 100 // mix["total"],
           mix["nxdomain"] * 100 // mix["total"]))
    out("- main dnsperf command: `%s`; each server started with `taskset -c %s`"
        % (" ".join(main_argv), SERVER_CORE))
    if any(n in order for n in SAFES):
        out("- every dnsperf run of %s: `%s` (plus the section's options), where "
            "QUERIES-SAFE.bin holds the same queries in the same order, "
            "in dnsperf's binary format, each with EDNS (version 0, payload %d, DO clear), "
            "a client COOKIE option (%s, no server cookie) and an empty NSID option "
            "(dnsperf 2.10's -E sends only one option, and not an empty one)"
            % (" and ".join(LABELS[n] for n in SAFES if n in order), " ".join(safe_argv),
               EDNS_PAYLOAD, SAFE_CLIENT_COOKIE))
    all_runs = [m for n in results for m in results[n]] + [m for _, _, m in gencheck] + \
        [m for n in mres_all for m in mres_all[n]] + \
        [dict(foreign=r["foreign"], attempts=r["attempts"], failed=r["failed"])
         for n in lruns for r in lruns[n]]
    noisy = [m for m in all_runs if m["foreign"] > FOREIGN_MAX]
    out("- other processes on the machine: waited %.0f s in all for it to be idle; %d runs "
        "redone because other processes used > %.0f%% of a core meanwhile; %d of %d counted "
        "runs still had such load (%s)"
        % (quiet.waited, sum(m["attempts"] - 1 for m in all_runs), FOREIGN_MAX, len(noisy),
           len(all_runs), "worst %.0f%%" % max(m["foreign"] for m in noisy) if noisy else
           "none"))
    # Every dnsperf run that failed is counted in no median and listed under
    # its section's table; the total here so none goes unnoticed.
    counted = all_runs + ([reload_res] if reload_res else [])
    nfail = sum(1 for m in counted if m.get("failed"))
    out("- failed dnsperf runs (counted in no median, listed under each table): %s"
        % ("none" if not nfail else "**%d of %d**" % (nfail, len(counted))))
    for n, e in warmup_failed.items():
        out("- **the warm-up run of %s failed** (not counted anyway): %s" % (LABELS[n], e))
    notes = build_notes()
    if notes:
        out("- builds: " + "; ".join(notes))
    if failed:
        out()
        out("Servers that could not be measured:")
        for n, e in failed.items():
            out("- %s: %s" % (n, e))
    out()
    out("Answer check (rcode/answer records per server, same for all = same work):")
    out()
    for row in sanity:
        out("- %s: %s" % (row[0], ", ".join(row[1:])))
    if safety:
        out()
        out("--gslbd-safety: the first query of their mix (%s A, a client COOKIE, an NSID "
            "request) answered with:" % POOL_NAME)
        out()
        for n, (ok, text) in safety.items():
            out("- %s: %s" % (LABELS[n], text))

    if gencheck:
        out()
        out("## 0. Is the load generator the bottleneck?")
        out()
        rows = []
        for n, label, m in gencheck:
            if m["failed"]:
                rows.append([LABELS[n], label, "FAILED", "-", "-", "-", "-"])
                continue
            rows.append([LABELS[n], label, "%.0f" % m["qps"], fmt(m["total_us"]),
                         "%.0f%%" % m["busy"], pct(m["client_busy"]), "%d" % m["lost"]])
        out(table(["server", "load", "qps", "server CPU µs/q", "server busy (of core 0)",
                   "core 1 busy", "lost"], rows))
        out()
        for n, label, m in gencheck:
            if m["failed"]:
                out("- **%s, %s: the run failed**: %s" % (LABELS[n], label, m["failed"]))
        for n in ("echo", "gslbd"):
            ms = [m for x, _, m in gencheck if x == n]
            if len(ms) < 3:
                continue
            if any(m["failed"] for m in ms[:3]):
                out("- %s: no conclusion: one of the first three runs failed." % LABELS[n])
                continue
            one, two, thr = ms[0]["qps"], ms[1]["qps"], ms[2]["qps"]
            best = max(two, thr)
            rise = (best / one - 1) * 100 if one else 0
            sat = ms[0]["busy"] >= 90
            out("- %s: 1 dnsperf %.0f qps; 2 dnsperf %.0f (%+.0f%%); -T 2 %.0f (%+.0f%%). "
                "Server busy %.0f%% of its core with one dnsperf. %s"
                % (LABELS[n], one, two, (two / one - 1) * 100 if one else 0, thr,
                   (thr / one - 1) * 100 if one else 0, ms[0]["busy"],
                   ("The server's core is saturated and more load generation does not raise "
                    "qps: the server is the bottleneck." if sat and rise < 5 else
                    "More load generation raises qps by %.0f%%: one dnsperf is a limit here."
                    % rise if rise >= 5 else
                    "The server's core is NOT saturated and more generator processes on core 1 "
                    "do not help: core 1 (dnsperf plus the kernel's loopback delivery it "
                    "carries) is the bottleneck, so this server's qps is generator-bound; its "
                    "CPU per query is still measured at that rate.")))

    out()
    out("## 1. Throughput and CPU per query (one worker thread, server on core %s, dnsperf "
        "on core %s)" % (SERVER_CORE, CLIENT_CORE))
    out()
    g = med.get("gslbd")
    rows = []
    for n in order:
        m = med[n]
        rows.append([LABELS[n], fmt(m["qps"], 0), fmt(m["user_us"]), fmt(m["sys_us"]),
                     fmt(m["total_us"]), ratio(m["total_us"], g and g["total_us"]),
                     "-" if m.get("paired") is None else "%.2f×" % m["paired"],
                     ratio(m["qps"], g and g["qps"]), pct(m["busy"]),
                     pct(m["client_busy"]), fmt(m["irq0_us"]),
                     "-" if m["spread"] is None else fmt(m["spread"], 0) + "%",
                     "%d" % m["lost"],
                     "-" if m["max_lat"] is None else "%.1f" % (m["max_lat"] * 1000)])
    out(table(["server", "qps", "user µs/q", "sys µs/q", "total µs/q", "CPU/q vs gslbd",
               "paired CPU/q vs gslbd", "qps vs gslbd", "server busy", "core 1 busy", "core-0 irq µs/q",
               "CPU/q spread", "lost", "max latency ms"], rows))
    out()
    out("Medians over %d runs. µs/q = server CPU (utime, stime of /proc/PID/stat over its "
        "whole process tree) from just before dnsperf starts to just after it exits, divided "
        "by the queries dnsperf completed. 'server busy' = that CPU time / dnsperf's run "
        "time (100%% = core %s saturated). 'core 1 busy' = non-idle share of core %s (dnsperf "
        "and the kernel work it causes) from /proc/stat. 'core-0 irq µs/q' = hardirq+softirq "
        "time on core %s per query (loopback delivery of the server's replies, which the "
        "kernel charges to no process: not in total µs/q). 'CPU/q spread' = (max - min) / "
        "median of total µs/q over the runs; 'paired' = the median over runs of "
        "(server's total µs/q / gslbd's in the same run); 'lost' is summed and 'max latency' (dnsperf's) "
        "is the largest over the runs." % (runs, SERVER_CORE, CLIENT_CORE, SERVER_CORE))
    fl = failure_lines(results)
    if fl:
        out()
        for line in fl:
            out("- " + line)
    dbound = [LABELS[n] for n in order if med[n]["busy"] is not None and med[n]["busy"] < 90]
    if dbound:
        out()
        out("Not saturated (server busy < 90%%, so qps is set by dnsperf/core %s, not by the "
            "server): %s." % (CLIENT_CORE, ", ".join(dbound)))
    if vs_base is not None:
        out()
        out(baseline_line(vs_base, med, runs))
    if "gslbd" in results and ANY in results:
        out()
        out(wildcard_line(results, med, runs))
    if "gslbd" in results and SAFE in results:
        out()
        out("Internet-safe settings (--gslbd-safety): \"%s\" is the same binary as gslbd, "
            "bound to 0.0.0.0 (queried at "
            "127.0.0.1), `rate_limit = { responses_per_second = 1000000; slip = 2; };`, "
            "`cookie_secret`, `nsid = \"%s\";`; every query carries a client COOKIE and an "
            "NSID request, so every response is counted in the limiter's table, gets a fresh "
            "server cookie (one SipHash-2-4) and the NSID. 1,000,000 responses a second per "
            "bucket is a rate no client here reaches: nothing is limited, so this is the "
            "limiter's cost on the path every response takes, not the cost of limiting. %s"
            % (LABELS[SAFE], SAFE_NSID,
               "\"%s\" is gdnsd bound to 0.0.0.0 with `nsid_ascii` and `cookie_key_file` "
               "(cookies are on by default in gdnsd 3; it has no response rate limiting), "
               "queried the same way." % LABELS[GDNSD_SAFE] if GDNSD_SAFE in results else
               "gdnsd was not run with these options."))
        for n, c in counters.items():
            out("- %s counters after the warm-up and main runs: %s" % (n, c))
        out()
        out(safety_line(results, med, runs))

    if lat:
        out()
        out("## 2. Latency at a fixed %d qps (dnsperf -Q %d -v, per-query latencies, 1 µs "
            "resolution)" % (LATENCY_QPS, LATENCY_QPS))
        out()
        rows = [[LABELS[n], fmt_us(lat[n]["p50"], 1), fmt_us(lat[n]["p99"]),
                 fmt_us(lat[n]["p999"]), fmt_us(lat[n]["max"]), "%d" % lat[n]["n"],
                 "%d" % lat[n]["timeouts"], fmt(lat[n]["qps"], 0)] for n in order]
        out(table(["server", "p50 µs", "p99 µs", "p99.9 µs", "max µs", "answers", "timeouts",
                   "qps reached"], rows))
        out()
        out("%d interleaved runs of %g s per server, latencies pooled. dnsperf prints each "
            "latency in whole µs; p50 is the grouped-data median (interpolated inside its 1 µs "
            "bucket), p99/p99.9 are nearest-rank. Command: `%s`."
            % (lat_runs, lat_seconds, " ".join(dnsperf_argv("PORT", "QUERIES", lat_seconds,
                                                          DNSPERF_BASE + ["-Q", str(LATENCY_QPS),
                                                                          "-v"]))))
        for line in failure_lines(lruns, "latency runs"):
            out()
            out(line)
        slow = [LABELS[n] for n in order
                if lat[n]["n"] and (lat[n]["qps"] or 0) < 0.95 * LATENCY_QPS]
        if slow:
            out()
            out("Could not sustain %d qps (their figures are queueing delay, not service "
                "time): %s." % (LATENCY_QPS, ", ".join(slow)))

    out()
    out("## 3. Memory after load (VmRSS summed over the process tree)")
    out()
    out(table(["server", "RSS KiB", "RSS MiB", "processes", "threads"],
              [[LABELS[n], "%d" % rss[n][0], "%.1f" % (rss[n][0] / 1024), rss[n][1], rss[n][2]]
               for n in order]))

    if reload_res:
        out()
        out("## 4. Reload under load (gslbd, one thread, pinned)")
        out()
        r = reload_res
        out("dnsperf at %d qps (50%% of the median saturation) for %d s, SIGHUP every second: "
            "%d SIGHUPs sent, %d `reload done` logged; %s sent, %s completed, **%s lost**."
            % (r["rate"], reload_seconds, r["hups"], r["done"], fmt(r["sent"], 0),
               fmt(r["completed"], 0), fmt(r["lost"], 0)))
        if r["failed"]:
            out()
            out("**1 of 1 runs of gslbd failed**: %s; the figures above are not a result."
                % r["failed"])
        out("Command: `%s`" % " ".join(r["argv"]))

    if multi:
        out()
        out("## 5. Default thread counts, nothing pinned (dnsperf shares the 2 cores)")
        out()
        gm = multi.get("gslbd")
        rows = [[LABELS[n], multi_threads[n], fmt(multi[n]["qps"], 0), fmt(multi[n]["user_us"]),
                 fmt(multi[n]["sys_us"]), fmt(multi[n]["total_us"]),
                 ratio(multi[n]["total_us"], gm and gm["total_us"]),
                 ratio(multi[n]["qps"], gm and gm["qps"]), pct(multi[n]["busy"])]
                for n in multi]
        out(table(["server", "threads", "qps", "user µs/q", "sys µs/q", "total µs/q",
                   "CPU/q vs gslbd", "qps vs gslbd", "server CPU (of 2 cores: 200%)"], rows))
        out()
        out("Medians over %d runs of `%s`." % (
            multi_runs, " ".join(dnsperf_argv("PORT", "QUERIES", seconds, DNSPERF_BASE,
                                              core=None))))
        for line in failure_lines(mres_all):
            out()
            out(line)

    if fo:
        out()
        out("## 6. Failover (a member's TCP listener closed: connects refused)")
        out()
        settings = {"gslbd": "tcp check, interval 0.1 s, timeout 0.1 s, fall 2, rise 2",
                    "gdnsd": "tcp_connect, interval %s s, timeout %s s, down_thresh 2, "
                             "ok_thresh 2, up_thresh 2" % gdnsd_fast,
                    "pdns": "ifportup, lua-health-checks-interval=1 (no thresholds), "
                            "default caches"}
        settings[BASE] = settings[ANY] = settings["gslbd"]
        rows = []
        for n in fo:
            gone = [x for x in fo[n]["gone"] if x is not None]
            back = [x for x in fo[n]["back"] if x is not None]
            rows.append([LABELS[n], settings.get(n, ""), fmt(median(gone), 3),
                         fmt(max(gone) if gone else None, 3), fmt(median(back), 3),
                         fmt(max(back) if back else None, 3), fo[n]["timeouts"],
                         fo[n]["false_down"], fo[n]["noanswer"]])
        out(table(["server", "probe settings", "gone median s", "gone max s", "back median s",
                   "back max s", "waits timed out", "answers missing a healthy member",
                   "unanswered polls"], rows))
        out()
        out("%d cycles, members 127.0.0.11..14 in turn; a random 0-1 s pause before each "
            "close and each reopen; one `%s A` query per server every 10 ms. Gone = close -> "
            "first answer without the member; back = reopen -> first answer with it."
            % (cycles, POOL_NAME))
        for n in fo:
            out("- %s: `%s`" % (LABELS[n], fo_cmds.get(n, "")))

    # targets
    out()
    out("## Targets (gslbd)")
    out()
    trows = []

    def target(name, ok, detail):
        trows.append([name, "-" if ok is None else verdict(ok), detail])

    def measured(n):        # None unless at least one main run of n completed
        m = med.get(n)
        return m if m and m["total_us"] is not None and m["user_us"] is not None else None

    gm = measured("gslbd")
    gd = measured("gdnsd")
    ec = measured("echo")
    if gm and gd:
        target("total CPU/query ≤ %.2f× gdnsd" % T_CPU_VS_GDNSD,
               gm["total_us"] <= T_CPU_VS_GDNSD * gd["total_us"],
               "%.2f vs %.2f µs (%s; paired per run %s)"
               % (gm["total_us"], gd["total_us"], ratio(gm["total_us"], gd["total_us"]),
                  inv(gd.get("paired"))))
        target("user CPU/query ≤ %.2f× gdnsd" % T_USER_VS_GDNSD,
               gm["user_us"] <= T_USER_VS_GDNSD * gd["user_us"],
               "%.2f vs %.2f µs (%s; paired per run %s)"
               % (gm["user_us"], gd["user_us"], ratio(gm["user_us"], gd["user_us"]),
                  inv(gd.get("paired_user"))))
    else:
        target("total/user CPU vs gdnsd", None, "%s not measured" % (
            "gdnsd" if gm else "gslbd"))
    if gm and ec:
        target("total CPU/query ≤ %.2f× echo floor" % T_CPU_VS_ECHO,
               gm["total_us"] <= T_CPU_VS_ECHO * ec["total_us"],
               "%.2f vs %.2f µs (%s; paired per run %s)"
               % (gm["total_us"], ec["total_us"], ratio(gm["total_us"], ec["total_us"]),
                  inv(ec.get("paired"))))
    if lat.get("gslbd") and lat["gslbd"]["p50"] is not None:
        peers = [n for n in PEERS if n in lat and lat[n]["p50"] is not None]
        if peers:
            best = min(peers, key=lambda n: lat[n]["p50"])
            target("p50 latency at %d qps ≤ best peer" % LATENCY_QPS,
                   lat["gslbd"]["p50"] <= lat[best]["p50"],
                   "%s µs vs %s %s µs" % (fmt_us(lat["gslbd"]["p50"], 1), LABELS[best],
                                         fmt_us(lat[best]["p50"], 1)))
    if "gslbd" in rss:
        target("RSS ≤ %d MiB" % (T_RSS_KIB // 1024), rss["gslbd"][0] <= T_RSS_KIB,
               "%d KiB" % rss["gslbd"][0])
    if fo and "gslbd" in fo:
        gone = fo["gslbd"]["gone"]
        ok_vals = [x for x in gone if x is not None]
        ok = bool(ok_vals) and None not in gone and median(ok_vals) <= T_FAIL_MEDIAN \
            and max(ok_vals) <= T_FAIL_MAX
        target("failover (100 ms probes): median ≤ %.1f s, every cycle ≤ %.1f s"
               % (T_FAIL_MEDIAN, T_FAIL_MAX), ok,
               "median %s s, max %s s over %d cycles%s"
               % (fmt(median(ok_vals), 3), fmt(max(ok_vals) if ok_vals else None, 3), len(gone),
                  ", %d timed out" % gone.count(None) if None in gone else ""))
    if reload_res and reload_res["failed"]:
        target("reload every second under load: 0 queries lost", None,
               "not measured: dnsperf failed (%s)" % reload_res["failed"])
    elif reload_res:
        target("reload every second under load: 0 queries lost",
               reload_res["lost"] == 0 and reload_res["done"] >= reload_res["hups"] > 0
               and reload_res["alive"],
               "%s lost, %d/%d reloads done" % (fmt(reload_res["lost"], 0), reload_res["done"],
                                               reload_res["hups"]))
    out(table(["target", "verdict", "measured"], trows))

    anomalies = []
    for n in order:
        if restarts.get(n):
            anomalies.append("%s died and was restarted %d times" % (LABELS[n], restarts[n]))
        if med[n]["lost"]:
            anomalies.append("%s: %d queries lost in the main runs" % (LABELS[n], med[n]["lost"]))
        if med[n]["spread"] is not None and med[n]["spread"] > 15:
            anomalies.append("%s: CPU/query varies %.0f%% across runs" % (LABELS[n],
                                                                         med[n]["spread"]))
    for n in order:
        if (med[n].get("steal") or 0) > 1:
            anomalies.append("%s: %.1f%% steal time (the hypervisor ran something else on "
                             "these vCPUs)" % (LABELS[n], med[n]["steal"]))
    if anomalies:
        out()
        out("Anomalies: " + "; ".join(anomalies) + ".")

    out()
    out("## Raw dnsperf summaries (main runs)")
    out()
    out("```")
    for n in order:
        for i, r in enumerate(results[n], 1):
            out("%-11s run %d: %s%s" % (n, i, "FAILED (%s) " % r["failed"] if r["failed"] else "",
                                         "; ".join(r["summaries"])))
    for n, label, m in gencheck:
        out("%-11s check [%s]: %s%s" % (n, label,
                                        "FAILED (%s) " % m["failed"] if m["failed"] else "",
                                        " || ".join(m["summaries"])))
    for n in lat:
        for i, sm in enumerate(lat[n]["summaries"], 1):
            out("%-11s latency %d: %s" % (n, i, sm))
    for n in multi_raw:
        for i, sm in enumerate(multi_raw[n], 1):
            out("%-11s multi %d: %s" % (n, i, sm))
    if reload_res:
        out("gslbd  reload: %s" % reload_res["summary"])
    out("```")
    out()
    out("Server command lines (each in its own temp dir; configs from contrib/bench/peers/):")
    out()
    for n in order:
        out("- %s: `%s`" % (LABELS[n], commands[n]))

    text = "\n".join(rep) + "\n"
    sys.stdout.write(text)
    sys.stdout.flush()
    if args.report:
        with open(args.report, "w") as f:
            f.write(text)
    if args.chart:
        if chart(args.chart, med, order):
            log("chart written to %s" % args.chart)
        else:
            log("no chart: python3-matplotlib is missing")
    log("done in %.0f s" % elapsed)
    return 0


def build_notes():
    """Build options of the Debian packages that bear on these figures."""
    notes = []
    try:
        r = run_quiet(["/usr/sbin/nsd", "-v"], timeout=10)
        text = r.stdout + r.stderr
        flags = [f for f in ("--disable-recvmmsg", "--enable-checking") if f in text]
        if flags:
            notes.append("Debian's NSD is configured with %s (no recvmmsg batching; internal "
                         "assertions on)" % " ".join(flags))
    except (OSError, subprocess.SubprocessError):
        pass
    return notes


def gdnsd_fastest(tmp):
    """gdnsd's smallest accepted (interval, timeout): try 1/1 … 2/1 with checkconf."""
    for interval, timeout in ((1, 1), (2, 1)):
        d = os.path.join(tmp, "gdnsd-probe-%d-%d" % (interval, timeout))
        os.makedirs(os.path.join(d, "zones"), exist_ok=True)
        tags = {"single", "fast", "specific"}
        vals = {"DIR": d, "PORT": free_port(), "PROBE_PORT": 9, "V6_PORT1": 9, "V6_PORT2": 9,
                "GDNSD_INTERVAL": interval, "GDNSD_TIMEOUT": timeout}
        with open(os.path.join(d, "config"), "w") as f:
            f.write(render("gdnsd.config.in", vals, tags))
        with open(os.path.join(d, "zones", "bench.test"), "w") as f:
            f.write(render("bench.test.zone.in",
                           {"POOL": render("www-gdnsd.zone.in", vals, tags)}, tags))
        r = run_quiet(["/usr/sbin/gdnsd", "-c", d, "checkconf"], timeout=60)
        if r.returncode == 0:
            return interval, timeout
    return 2, 1


if __name__ == "__main__":
    sys.exit(main())
