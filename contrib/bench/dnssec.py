#!/usr/bin/python3
"""dnssec.py -- what DNSSEC costs gslbd, and how fast a signed answer follows health.

Three measurements, in one run, each repeated and reported as medians:

 1. CPU per query, DO=0 against DO=1, for the same pool, in the same gslbd
    process (one worker thread): dnsperf sends N queries for the pool's A
    records without and then with the DO bit (dnsperf -D), alternating,
    and the CPU time the gslbd process used (/proc/PID/task/*/schedstat)
    is divided by the queries answered.
 2. Failover to a signed answer: a pool of two members probed every 100 ms
    (tcp check, fall 1); a member's listener is closed and DO=1 queries are
    sent every 5 ms until an answer holds only the other member *with its
    RRSIG*; the time from the close, median and max over the cycles.
 3. Load time and memory of a signed zone of N names (one A each; ECDSA
    P-256), gslbd against Knot DNS with automatic signing of the same zone,
    in one run: wall time from the start of the process until the apex SOA
    is answered with an RRSIG, and the process's peak resident memory
    (VmHWM) then.

    /usr/bin/python3 contrib/bench/dnssec.py --short    # 3 runs, 20,000 names, 10 cycles
    /usr/bin/python3 contrib/bench/dnssec.py            # 5 runs, 1,000,000 names

Loopback only; every process started here is stopped by its PID. Needs
dnsperf, ldns-keygen (ldnsutils), knotd (knot) and dnspython. A run that
fails is reported as failed and counts in no median.
"""

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import dns.flags
import dns.message
import dns.query
import dns.rdatatype

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

ZONE_HEAD = """$ORIGIN bench.test.
$TTL 300
@ IN SOA ns1 hostmaster 1 3600 600 86400 60
@ NS ns1
ns1 A 127.0.0.1
"""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(d, zone, ksk):
    out = subprocess.run(["ldns-keygen", "-a", "ECDSAP256SHA256"] + (["-k"] if ksk else [])
                         + [zone], cwd=d, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def cpu_seconds(pid):
    """CPU time of every thread of @pid, in seconds (schedstat: nanoseconds)."""
    total = 0
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total / 1e9


def vm_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def ask(port, name, rdtype="A", do=True, timeout=1.0):
    q = dns.message.make_query(name, rdtype, want_dnssec=do)
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=timeout)


def wait_signed(port, name, proc, timeout):
    """Seconds until @name's SOA comes with an RRSIG, or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            return None
        try:
            r = ask(port, name, "SOA", timeout=0.2)
            if any(rr.rdtype == dns.rdatatype.RRSIG for rr in r.answer):
                return time.monotonic() - t0
        except Exception:  # noqa: BLE001 (not serving yet)
            pass
        time.sleep(0.02)
    return None


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def gslbd_conf(port, keys, pools, extra=""):
    return """listen = [ "127.0.0.1:%d" ];
threads = 1;
zones = ( { origin = "bench.test"; file = "bench.test.zone";
            dnssec = { keys = [ %s ]; }; } );
%s
pools = ( %s );
""" % (port, ", ".join('"%s"' % k for k in keys), extra, pools)


class Listener:
    def __init__(self):
        self.sock = None
        self.port = 0
        self.open()

    def open(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()


def bench_cpu(binary, d, keys, runs, queries):
    port = free_port()
    with open(os.path.join(d, "gslbd.conf"), "w") as f:
        f.write(gslbd_conf(port, keys, """{ name = "web"; owners = [ "www.bench.test" ];
            answers = 2; members = ( { address = "192.0.2.1"; }, { address = "192.0.2.2"; },
            { address = "192.0.2.3"; } ); }"""))
    with open(os.path.join(d, "q.txt"), "w") as f:
        f.write("www.bench.test A\n")
    proc = subprocess.Popen([binary, "-c", "gslbd.conf"], cwd=d, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    res = {"DO=0": [], "DO=1": []}
    failed = []
    try:
        if wait_signed(port, "bench.test", proc, 60) is None:
            return res, ["gslbd did not start"]
        for i in range(runs):
            for label, flag in (("DO=0", []), ("DO=1", ["-D"])):
                c0 = cpu_seconds(proc.pid)
                out = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d",
                                      os.path.join(d, "q.txt"), "-n", str(queries), "-c", "1",
                                      "-q", "100", "-t", "2"] + flag + ["-e"],
                                     capture_output=True, text=True, timeout=300)
                c1 = cpu_seconds(proc.pid)
                done = None
                for line in out.stdout.splitlines():
                    if "Queries completed:" in line:
                        done = int(line.split()[2])
                if out.returncode != 0 or not done:
                    failed.append("%s run %d: dnsperf rc %d" % (label, i, out.returncode))
                    continue
                res[label].append((c1 - c0) / done * 1e6)
    finally:
        stop(proc)
    return res, failed


def bench_failover(binary, d, keys, cycles):
    a, b = Listener(), Listener()
    port = free_port()
    with open(os.path.join(d, "gslbd.conf"), "w") as f:
        f.write(gslbd_conf(port, keys, """{ name = "web"; owners = [ "www.bench.test" ];
            check = "tcp"; ttl = 30; ttl_degraded = 10;
            members = ( { address = "192.0.2.1"; probe_address = "127.0.0.1"; port = %d; },
                        { address = "192.0.2.2"; probe_address = "127.0.0.1"; port = %d; } ); }"""
                           % (a.port, b.port),
                           'checks = ( { name = "tcp"; type = "tcp"; interval = 0.1; '
                           'timeout = 0.1; rise = 1; fall = 1; } );'))
    log = open(os.path.join(d, "gslbd-failover.log"), "w+")
    proc = subprocess.Popen([binary, "-c", "gslbd.conf"], cwd=d, stdout=subprocess.DEVNULL,
                            stderr=log)
    times, failed = [], []

    def signed_addrs():
        r = ask(port, "www.bench.test", timeout=0.5)
        addrs = sorted(x.address for rr in r.answer if rr.rdtype == dns.rdatatype.A for x in rr)
        sig = any(rr.rdtype == dns.rdatatype.RRSIG for rr in r.answer)
        return addrs, sig, r.rcode()

    try:
        if wait_signed(port, "bench.test", proc, 60) is None:
            log.seek(0)
            return times, ["gslbd did not start: " + " / ".join(log.read().splitlines()[-3:])]
        for i in range(cycles):
            t0 = time.monotonic()
            while time.monotonic() - t0 < 5:
                addrs, sig, _ = signed_addrs()
                if addrs == ["192.0.2.1", "192.0.2.2"] and sig:
                    break
                time.sleep(0.02)
            else:
                failed.append("cycle %d: both members never up" % i)
                continue
            time.sleep(0.05 + 0.1 * (i % 3) / 3)  # not in step with the probes
            a.close()
            t0 = time.monotonic()
            ok = False
            while time.monotonic() - t0 < 5:
                addrs, sig, rcode = signed_addrs()
                if rcode == 0 and addrs == ["192.0.2.2"] and sig:
                    times.append(time.monotonic() - t0)
                    ok = True
                    break
                time.sleep(0.005)
            if not ok:
                failed.append("cycle %d: no signed answer without the dead member in 5 s" % i)
            a.open()
    finally:
        stop(proc)
        a.close()
        b.close()
    return times, failed


def write_zone(path, names):
    with open(path, "w") as f:
        f.write(ZONE_HEAD)
        for i in range(names):
            f.write("h%d A 198.18.%d.%d\n" % (i, (i >> 8) & 255, i & 255))


def bench_load(binary, d, keys, names, runs):
    zone = os.path.join(d, "bench.test.zone")
    write_zone(zone, names)
    res = {"gslbd": [], "knot": []}
    failed = []
    for i in range(runs):
        # gslbd
        port = free_port()
        with open(os.path.join(d, "gslbd.conf"), "w") as f:
            f.write(gslbd_conf(port, keys, """{ name = "web"; owners = [ "www.bench.test" ];
                members = ( { address = "192.0.2.1"; } ); }"""))
        proc = subprocess.Popen([binary, "-c", "gslbd.conf"], cwd=d, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            t = wait_signed(port, "bench.test", proc, 3600)
            if t is None:
                failed.append("gslbd run %d: not serving a signed SOA" % i)
            else:
                res["gslbd"].append((t, vm_hwm_kib(proc.pid) / 1024))
        finally:
            stop(proc)
        # Knot DNS, automatic signing of the same zone, fresh keys each run
        kd = os.path.join(d, "knot%d" % i)
        os.mkdir(kd)
        shutil.copy(zone, os.path.join(kd, "bench.test.zone"))
        port = free_port()
        with open(os.path.join(kd, "knot.conf"), "w") as f:
            f.write("""server:
    listen: 127.0.0.1@{port}
    rundir: {kd}
    background-workers: 1
    udp-workers: 1
    tcp-workers: 1
log:
  - target: stderr
    any: warning
database:
    storage: {kd}
policy:
  - id: p
    algorithm: ecdsap256sha256
    single-type-signing: on
template:
  - id: default
    storage: {kd}
    dnssec-signing: on
    dnssec-policy: p
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: bench.test
    file: {kd}/bench.test.zone
""".format(port=port, kd=kd))
        klog = open(os.path.join(d, "knot.log"), "w")
        proc = subprocess.Popen(["knotd", "-c", os.path.join(kd, "knot.conf")],
                                stdout=klog, stderr=klog)
        klog.close()
        try:
            t = wait_signed(port, "bench.test", proc, 3600)
            if t is None:
                with open(os.path.join(d, "knot.log")) as f:
                    failed.append("knot run %d: not serving a signed SOA: %s"
                                  % (i, f.read()[-500:]))
            else:
                res["knot"].append((t, vm_hwm_kib(proc.pid) / 1024))
        finally:
            stop(proc)
            shutil.rmtree(kd, ignore_errors=True)
    return res, failed


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--short", action="store_true", help="3 runs, 20,000 names")
    ap.add_argument("--binary", default=os.path.join(REPO, "src", "gslbd"))
    ap.add_argument("--names", type=int)
    ap.add_argument("--runs", type=int)
    ap.add_argument("--queries", type=int, default=50000)
    ap.add_argument("--cycles", type=int, default=10)
    args = ap.parse_args()
    names = args.names or (20000 if args.short else 1000000)
    runs = args.runs or (3 if args.short else 5)
    for tool in ("dnsperf", "ldns-keygen", "knotd"):
        if not shutil.which(tool):
            sys.exit("dnssec.py: %s is missing" % tool)
    d = tempfile.mkdtemp(prefix="gslbd-bench-dnssec-")
    try:
        keys = [keygen(d, "bench.test", True), keygen(d, "bench.test", False)]
        write_zone(os.path.join(d, "bench.test.zone"), 10)
        print("gslbd: %s" % args.binary)
        print("\n1. CPU per pool query, one worker, %d queries per run, %d runs" %
              (args.queries, runs))
        res, failed = bench_cpu(args.binary, d, keys, runs, args.queries)
        for label in ("DO=0", "DO=1"):
            print("   %s: median %.2f us/query  (runs: %s)" % (
                label, med(res[label]), ", ".join("%.2f" % x for x in res[label])))
        if res["DO=0"] and res["DO=1"]:
            print("   DO=1 / DO=0: %.2f" % (med(res["DO=1"]) / med(res["DO=0"])))
        for f in failed:
            print("   FAILED: " + f)
        print("\n2. backend death -> signed answer without it (100 ms tcp probes, fall 1), "
              "%d cycles" % args.cycles)
        times, failed = bench_failover(args.binary, d, keys, args.cycles)
        if times:
            print("   median %.3f s, max %.3f s  (all: %s)" % (
                med(times), max(times), ", ".join("%.3f" % t for t in times)))
        for f in failed:
            print("   FAILED: " + f)
        print("\n3. load and sign %d names (ECDSA P-256), %d runs: until a signed SOA is "
              "served; peak RSS" % (names, runs))
        res, failed = bench_load(args.binary, d, keys, names, runs)
        for label in ("gslbd", "knot"):
            xs = res[label]
            print("   %-5s: median %.2f s, %.1f MiB  (runs: %s)" % (
                label, med([x[0] for x in xs]), med([x[1] for x in xs]),
                ", ".join("%.2f s/%.0f MiB" % x for x in xs)))
        for f in failed:
            print("   FAILED: " + f)
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
