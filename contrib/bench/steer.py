#!/usr/bin/python3
"""steer.py -- what steering by reported weights costs, and how fast a shift
rolls itself back.

1. CPU per query: two gslbd processes side by side, each with one worker,
   the same weighted pool of six members (weights 1 to 4): "static" with no
   checks, "agent" with an agent check every 100 ms on every member whose
   agent reports a new weight at every probe (so the effective weights are
   rebuilt and republished ten times a second). dnsperf sends each the same
   query file at the same rate, the two alternating run by run; CPU is read
   from /proc/PID/task/*/schedstat (nanoseconds on CPU of every thread:
   workers, the probe thread and the main thread that rebuilds the
   weights) and of its worker threads alone ("gslbd-udp"). Medians of the runs; the ratio
   agent / static is the figure.

2. Shift rollback: a pool of one "blue" member and two "green" ones behind
   tcp checks every 100 ms (fall 1); a shift to green (10 points a minute)
   is started, then both green backends are stopped, and the time from the
   stop until `gslbctl status --json` says rolled-back is measured (polled
   every 5 ms), and until every answer is blue. Ten cycles (three with
   --quick); median and max.

    /usr/bin/python3 contrib/bench/steer.py            # ~2 minutes
    /usr/bin/python3 contrib/bench/steer.py --quick    # ~40 s

Loopback only; every process started here is stopped by its PID. Needs
dnsperf and dnspython. Exit status 1 when a run failed (said in the report).
"""

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import dns.message
import dns.query

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import peers  # noqa: E402  (wait_ready)
TOP = os.path.dirname(os.path.dirname(HERE))

ZONE = """$ORIGIN bench.test.
$TTL 300
@ IN SOA ns1 hostmaster 1 3600 600 86400 300
@ IN NS ns1
ns1 IN A 127.0.0.1
"""


class Agent:
    """An agent-check responder whose reported weight changes at every probe."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.served = 0
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop_ev.is_set():
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.served += 1
            try:
                c.sendall(b"up %d%%\n" % (10 + (self.served * 37) % 91))
            except OSError:
                pass
            c.close()

    def close(self):
        self.stop_ev.set()
        self.thread.join(2)
        self.sock.close()


class Listener:
    """A TCP listener for tcp checks; stop() closes it (connections refused)."""

    def __init__(self):
        self.port = 0
        self.sock = None
        self.start()

    def start(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(512)  # the kernel completes handshakes: no accept needed
        self.port = self.sock.getsockname()[1]

    def stop(self):
        self.sock.close()


class Gslbd:
    def __init__(self, binary, workdir, name, conf):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir)
        with open(os.path.join(self.dir, "bench.test.zone"), "w") as f:
            f.write(ZONE)
        self.conf = os.path.join(self.dir, "gslbd.conf")
        self.sock = os.path.join(self.dir, "ctl.sock")
        with open(self.conf, "w") as f:
            f.write(conf.replace("@CTL@", self.sock))
        self.log = open(os.path.join(self.dir, "gslbd.log"), "w+")
        self.proc = subprocess.Popen([binary, "-c", self.conf], stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=self.dir)
        self.port = peers.wait_ready(self.proc, self.log, 20, 0.05)
        if self.port is not None:
            return
        self.stop()
        self.log.seek(0)
        raise SystemExit("gslbd %s did not start:\n%s" % (name, self.log.read()[-2000:]))

    def cpu_ns(self):
        """CPU time of the process's threads by kind, in ns, from
        /proc/PID/task/TID/schedstat (nanoseconds, not ticks): "worker"
        (gslbd-udp), "probe" (gslbd-probe), "main" (the rest: the main
        thread, which rebuilds the weights, and the TCP loop)."""
        out = {"worker": 0, "probe": 0, "main": 0}
        for tid in os.listdir("/proc/%d/task" % self.proc.pid):
            try:
                with open("/proc/%d/task/%s/comm" % (self.proc.pid, tid)) as f:
                    comm = f.read().strip()
                with open("/proc/%d/task/%s/schedstat" % (self.proc.pid, tid)) as f:
                    ns = int(f.read().split()[0])
            except OSError:
                continue
            out["worker" if comm == "gslbd-udp" else "probe" if comm == "gslbd-probe"
                else "main"] += ns
        return out

    def ctl(self, *args):
        p = subprocess.run([os.path.join(TOP, "src", "gslbctl"), "-s", self.sock] + list(args),
                           capture_output=True, text=True, timeout=10)
        return p.returncode, p.stdout

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def pool_conf(agents, kind="agent"):
    """The weighted pool; with @agents, a check of @kind (agent, or tcp
    against the same listeners: probes, but weights that never change)."""
    members = []
    for i in range(6):
        m = 'address = "127.0.0.%d"; weight = %d;' % (11 + i, 1 + i % 4)
        if agents:
            m += ' probe_address = "127.0.0.1"; port = %d;' % agents[i].port
        members.append("{ %s }" % m)
    text = ('listen = [ "127.0.0.1:0" ];\nthreads = 1;\n'
            'zones = ( { origin = "bench.test"; file = "bench.test.zone"; } );\n')
    if agents:
        text += ('checks = ( { name = "agent"; type = "%s"; interval = 0.1; timeout = 0.5; '
                 'rise = 1; fall = 3; } );\n' % kind)
    text += ('pools = ( { name = "www"; owners = [ "www.bench.test" ]; policy = "weighted"; '
             '%s members = ( %s ); } );\n' % ('check = "agent";' if agents else "",
                                               ", ".join(members)))
    return text


def dnsperf(port, qfile, seconds, rate):
    p = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", qfile, "-l",
                        str(seconds), "-Q", str(rate), "-c", "1", "-q", "200"],
                       capture_output=True, text=True, timeout=seconds + 30)
    m = re.search(r"Queries completed:\s+(\d+)", p.stdout)
    lost = re.search(r"Queries lost:\s+(\d+)", p.stdout)
    if p.returncode != 0 or not m or int(m.group(1)) == 0:
        return None, "dnsperf exit %d: %s" % (p.returncode, (p.stdout + p.stderr)[-300:])
    return (int(m.group(1)), int(lost.group(1)) if lost else 0), None


def cpu_part(binary, workdir, runs, seconds, rate):
    print("## 1. CPU per query: weighted pool, agents changing every probe vs static\n")
    print("- %d runs of %d s each per server, alternating, dnsperf -Q %d (one client)"
          % (runs, seconds, rate))
    qfile = os.path.join(workdir, "queries")
    with open(qfile, "w") as f:
        f.write("www.bench.test A\n" * 1000)
    agents = [Agent() for _ in range(6)]
    listeners = [Agent() for _ in range(6)]
    names = ("static", "tcp", "agent")
    servers = {"static": Gslbd(binary, workdir, "static", pool_conf(None)),
               "tcp": Gslbd(binary, workdir, "tcp", pool_conf(listeners, "tcp")),
               "agent": Gslbd(binary, workdir, "agent", pool_conf(agents))}
    res = {k: {"all": [], "worker": [], "probe": [], "main": []} for k in servers}
    failures = []
    served0 = sum(a.served for a in agents)
    try:
        for r in range(runs):
            order = list(names) if r % 2 == 0 else list(reversed(names))
            for name in order:
                s = servers[name]
                c0 = s.cpu_ns()
                got, err = dnsperf(s.port, qfile, seconds, rate)
                c1 = s.cpu_ns()
                if got is None:
                    failures.append("run %d of %s failed: %s" % (r + 1, name, err))
                    continue
                n = got[0]
                for k in ("worker", "probe", "main"):
                    res[name][k].append((c1[k] - c0[k]) / n / 1e3)
                res[name]["all"].append(sum(c1[k] - c0[k] for k in c1) / n / 1e3)
        probes = sum(a.served for a in agents) - served0
    finally:
        for s in servers.values():
            s.stop()
        for a in agents + listeners:
            a.close()
    print("- agent replies during the runs: %d (each a new weight)" % probes)
    print("- static: no checks; tcp: tcp checks every 100 ms on the same members (probes, "
          "weights that never change); agent: agent checks every 100 ms, a new weight at "
          "every probe\n")
    print("| server | CPU µs/query, whole process: median (range) | worker thread | "
          "probe thread | main thread (weights) |")
    print("|---|---:|---:|---:|---:|")
    med = {}
    for name in names:
        a = res[name]["all"]
        if not a:
            print("| %s | no run succeeded | | | |" % name)
            continue
        med[name] = {k: statistics.median(v) for k, v in res[name].items()}
        print("| %s | %.2f (%.2f-%.2f) | %.2f | %.3f | %.3f |"
              % (name, med[name]["all"], min(a), max(a), med[name]["worker"],
                 med[name]["probe"], med[name]["main"]))
    if "agent" in med and "static" in med:
        print("\nagent / static: whole process %.3f×, worker thread %.3f× (target: within 3 %%)"
              % (med["agent"]["all"] / med["static"]["all"],
                 med["agent"]["worker"] / med["static"]["worker"]))
    if "agent" in med and "tcp" in med:
        print("agent / tcp (the same probing, weights changing or not): whole process %.3f×, "
              "worker thread %.3f×" % (med["agent"]["all"] / med["tcp"]["all"],
                                       med["agent"]["worker"] / med["tcp"]["worker"]))
    for f in failures:
        print("\n**%s**" % f)
    print()
    return not failures and len(med) == 2


def rollback_part(binary, workdir, cycles):
    print("## 2. Shift rollback after the destination fails (100 ms tcp probes)\n")
    blue, g1, g2 = Listener(), Listener(), Listener()
    conf = ('listen = [ "127.0.0.1:0" ];\nthreads = 1;\n'
            'zones = ( { origin = "bench.test"; file = "bench.test.zone"; } );\n'
            'control = { socket = "@CTL@"; };\n'
            'checks = ( { name = "tcp"; type = "tcp"; interval = 0.1; timeout = 0.1; rise = 1; '
            'fall = 1; } );\n'
            'pools = ( { name = "www"; owners = [ "www.bench.test" ]; policy = "weighted"; '
            'check = "tcp"; members = ( '
            '{ address = "127.0.0.11"; probe_address = "127.0.0.1"; port = %d; }, '
            '{ address = "127.0.0.12"; probe_address = "127.0.0.1"; port = %d; group = "green"; }, '
            '{ address = "127.0.0.13"; probe_address = "127.0.0.1"; port = %d; group = "green"; } '
            '); } );\n' % (blue.port, g1.port, g2.port))
    s = Gslbd(binary, workdir, "shift", conf)
    to_state, to_answers, failures = [], [], []

    def state():
        rc, out = s.ctl("status", "--json")
        if rc != 0:
            return None
        sh = json.loads(out)["pools"][0]["shift"]
        return sh["state"] if sh else None

    def ask():
        q = dns.message.make_query("www.bench.test", "A")
        r = dns.query.udp(q, "127.0.0.1", port=s.port, timeout=1)
        return {rr.address for rrset in r.answer for rr in rrset}

    try:
        for c in range(cycles):
            rc, out = s.ctl("shift", "www", "--to", "green", "--step", "10", "--every", "60s")
            if rc != 0:
                failures.append("cycle %d: shift refused: %s" % (c + 1, out.strip()))
                break
            time.sleep(0.3)
            g1.stop()
            g2.stop()
            t0 = time.monotonic()
            t_state = t_ans = None
            while time.monotonic() - t0 < 5 and (t_state is None or t_ans is None):
                if t_state is None and state() == "rolled-back":
                    t_state = time.monotonic() - t0
                if t_ans is None and all(ask() == {"127.0.0.11"} for _ in range(3)):
                    t_ans = time.monotonic() - t0
                time.sleep(0.005)
            if t_state is None:
                failures.append("cycle %d: not rolled back within 5 s" % (c + 1))
            else:
                to_state.append(t_state)
            if t_ans is not None:
                to_answers.append(t_ans)
            g1.start()
            g2.start()
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                rc, out = s.ctl("status", "--json")
                ms = json.loads(out)["pools"][0]["members"]
                if all(m["state"] == "up" for m in ms):
                    break
                time.sleep(0.02)
    finally:
        s.stop()
        for b in (blue, g1, g2):
            b.stop()
    print("| measured from stopping both green backends | cycles | median | max |")
    print("|---|---:|---:|---:|")
    for label, v in (("until status says rolled-back", to_state),
                     ("until every answer is blue (health failover, before the rollback)",
                      to_answers)):
        if v:
            print("| %s | %d | %.0f ms | %.0f ms |" % (label, len(v), statistics.median(v) * 1e3,
                                                       max(v) * 1e3))
    for f in failures:
        print("\n**%s**" % f)
    print()
    return not failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gslbd", default=os.path.join(TOP, "src", "gslbd"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--seconds", type=int)
    ap.add_argument("--rate", type=int, default=5000)
    ap.add_argument("--cycles", type=int)
    args = ap.parse_args()
    runs = args.runs or (3 if args.quick else 7)
    seconds = args.seconds or (3 if args.quick else 5)
    cycles = args.cycles or (3 if args.quick else 10)
    if not shutil.which("dnsperf"):
        raise SystemExit("needs dnsperf")
    binary = os.path.abspath(args.gslbd)
    desc = subprocess.run(["git", "-C", TOP, "describe", "--always", "--dirty"],
                          capture_output=True, text=True).stdout.strip()
    print("# steer.py: effective weights and shifts\n")
    print("- date: %s UTC" % datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"))
    print("- command: `%s`" % " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:]))
    print("- gslbd: %s (tree %s); %d CPUs\n" % (binary, desc or "?", os.cpu_count()))
    workdir = tempfile.mkdtemp(prefix="gslbd-steer-")
    try:
        ok = cpu_part(binary, workdir, runs, seconds, args.rate)
        ok = rollback_part(binary, workdir, cycles) and ok
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
