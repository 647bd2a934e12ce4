#!/usr/bin/python3
"""scrape.py -- what scraping GET /metrics costs gslbd per DNS query.

One gslbd (threads = 1, on core 0 when taskset exists) with the HTTP
listener on and a pool of 50 probed members (so /metrics has something to
render), dnsperf on core 1. Each round runs dnsperf twice on the same
settings, once plain and once while a client fetches /metrics every 100 ms,
in alternating order; gslbd's CPU (run time of its threads, from /proc/PID/task/*/schedstat, before and
after each run) is divided by the queries dnsperf completed. The report
gives the median CPU per query of each mode, their ratio (scraping/plain),
the paired median of the per-round ratios and their range, the number of
scrapes, and every failed run with its reason. The target: at most +2 %.

    /usr/bin/python3 contrib/bench/scrape.py            # 7 rounds of 10 s, ~2.5 min
    /usr/bin/python3 contrib/bench/scrape.py --quick    # 3 rounds of 3 s, ~25 s

Options: --qps N (dnsperf -Q: a fixed rate, default none), --rounds N,
--seconds S, --interval MS (between scrapes, default
100), --gslbd PATH (default src/gslbd). Only loopback is used; gslbd is
stopped by its PID; every wait is bounded. Exit status 0 when every run
counted, 1 otherwise (the figures are printed either way)."""

import argparse
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
import urllib.request
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent.parent
TICK = 1e9  # cpu_ticks() counts nanoseconds
DP = {k: re.compile(v) for k, v in {
    "completed": r"Queries completed:\s+(\d+)",
    "qps": r"Queries per second:\s+([\d.]+)",
    "lost": r"Queries lost:\s+(\d+)"}.items()}

ZONE = """$ORIGIN bench.test.
$TTL 300
@ IN SOA ns hostmaster 1 3600 600 86400 60
@ IN NS ns
ns IN A 192.0.2.53
static IN A 192.0.2.54
"""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def taskset(core):
    return ["taskset", "-c", str(core)] if shutil.which("taskset") and os.cpu_count() > 1 else []


def cpu_ticks(pid):
    """CPU nanoseconds of every thread of @pid (schedstat: run time, to the
    nanosecond; /proc/PID/stat's ticks are 10 ms, too coarse for a 3 s run)."""
    total = 0
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                total += int(f.read().split()[0])
        except OSError:
            pass  # a thread that just ended
    return total


class Backend:
    """A TCP listener that accepts and closes: what the members' probes hit."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
                c.close()
            except OSError:
                pass

    def close(self):
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


class Gslbd:
    def __init__(self, binary, tmp, backend_port):
        members = ", ".join('{ address = "192.0.2.%d"; probe_address = "127.0.0.1"; }' % (i + 1)
                            for i in range(50))
        (tmp / "bench.zone").write_text(ZONE)
        conf = tmp / "gslbd.conf"
        conf.write_text(
            'listen = [ "127.0.0.1:0" ];\nthreads = 1;\n'
            'http = { listen = [ "127.0.0.1:0" ]; };\n'
            'zones = ( { origin = "bench.test"; file = "bench.zone"; } );\n'
            'checks = ( { name = "tcp"; type = "tcp"; port = %d; interval = 1.0; } );\n'
            'pools = ( { name = "www"; owners = [ "www.bench.test" ]; check = "tcp"; answers = 2;'
            ' members = ( %s ); } );\n' % (backend_port, members))
        self.log = open(tmp / "gslbd.log", "w+")
        self.proc = subprocess.Popen(taskset(0) + [binary, "-c", str(conf)], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.dns = self.http = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self.proc.poll() is None:
            self.log.seek(0)
            text = self.log.read()
            m = re.search(r"(?<!http )listening on 127\.0\.0\.1 port (\d+)", text)
            h = re.search(r"http listening on 127\.0\.0\.1 port (\d+)", text)
            if m and h and re.search(r"\bready\b", text):
                self.dns, self.http = int(m.group(1)), int(h.group(1))
                break
            time.sleep(0.05)
        if not self.http:
            self.stop()
            raise RuntimeError("gslbd did not start; log:\n" + text)
        self.pid = self.proc.pid
        if taskset(0):  # the threads it started since: all on core 0
            subprocess.run(["taskset", "-a", "-p", "-c", "0", str(self.pid)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


class Scraper:
    """GET /metrics every @interval s until stopped; counts and failures."""

    def __init__(self, port, interval):
        self.url = "http://127.0.0.1:%d/metrics" % port
        self.interval = interval
        self.ok = self.failed = 0
        self.bytes = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        nxt = time.monotonic()
        while not self.stop.is_set():
            try:
                with urllib.request.urlopen(self.url, timeout=2) as r:
                    self.bytes += len(r.read())
                self.ok += 1
            except OSError:
                self.failed += 1
            nxt += self.interval
            self.stop.wait(max(0, nxt - time.monotonic()))

    def close(self):
        self.stop.set()
        self.thread.join(5)


def scrape_cost(g, n=300):
    """gslbd's CPU seconds per GET /metrics, with no DNS load: n scrapes back
    to back, and the same time idle subtracted."""
    url = "http://127.0.0.1:%d/metrics" % g.http
    t0, w0 = cpu_ticks(g.pid), time.monotonic()
    size = 0
    for _ in range(n):
        with urllib.request.urlopen(url, timeout=5) as r:
            size = len(r.read())
    busy, wall = (cpu_ticks(g.pid) - t0) / TICK, time.monotonic() - w0
    t1 = cpu_ticks(g.pid)
    time.sleep(wall)
    idle = (cpu_ticks(g.pid) - t1) / TICK
    return max(busy - idle, 0) / n, size


QPS = None  # --qps


def run_once(g, qfile, seconds, scrape_ms):
    """One dnsperf run; returns a dict, with "failed" set to why it cannot count."""
    scraper = Scraper(g.http, scrape_ms / 1000.0) if scrape_ms else None
    t0 = cpu_ticks(g.pid)
    argv = taskset(1) + ["dnsperf", "-s", "127.0.0.1", "-p", str(g.dns), "-d", qfile,
                         "-l", str(seconds), "-c", "4", "-q", "200"]
    if QPS:
        argv += ["-Q", str(QPS)]  # a fixed rate: both modes answer the same load
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=seconds + 30)
        out, rc = p.stdout.decode(errors="replace"), p.returncode
    except subprocess.TimeoutExpired:
        out, rc = "", "timeout"
    t1 = cpu_ticks(g.pid)
    if scraper:
        scraper.close()
    r = {k: (float(m.group(1)) if (m := rx.search(out)) else None) for k, rx in DP.items()}
    r["cpu"] = (t1 - t0) / TICK
    r["scrapes"] = scraper.ok if scraper else 0
    r["scrape_failed"] = scraper.failed if scraper else 0
    r["failed"] = None
    if rc != 0:
        r["failed"] = "dnsperf exit %s: %s" % (rc, out.strip().splitlines()[-1:] or "no output")
    elif not r["completed"]:
        r["failed"] = "no queries completed"
    elif g.proc.poll() is not None:
        r["failed"] = "gslbd exited"
    elif scraper and scraper.failed:
        r["failed"] = "%d scrapes failed" % scraper.failed
    if not r["failed"]:
        r["cpu_q"] = r["cpu"] / r["completed"]
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--interval", type=float, default=100, help="ms between scrapes")
    ap.add_argument("--gslbd", default=str(TOP / "src" / "gslbd"))
    ap.add_argument("--qps", type=int, help="dnsperf -Q: a fixed query rate below what "
                    "the machine saturates at, so that runs differ less (default: as fast "
                    "as dnsperf goes)")
    a = ap.parse_args()
    global QPS
    QPS = a.qps
    rounds = a.rounds or (3 if a.quick else 7)
    seconds = a.seconds or (3 if a.quick else 10)
    if not shutil.which("dnsperf"):
        print("scrape.py: dnsperf not found (Debian package dnsperf)")
        return 1
    describe = subprocess.run(["git", "-C", str(TOP), "describe", "--always", "--dirty"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode().strip()
    print("# %s" % " ".join([sys.executable] + sys.argv))
    print("# %s, gslbd %s (tree %s), %d CPUs, %s" % (
        time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), a.gslbd, describe or "?",
        os.cpu_count(), " ".join(os.uname()[2:3])))
    print("# %d rounds x 2 runs of %g s, /metrics every %g ms while scraping; "
          "gslbd threads = 1%s" % (rounds, seconds, a.interval,
                                   ", core 0; dnsperf core 1" if taskset(0) else ""))
    tmp = Path(tempfile.mkdtemp(prefix="gslbd-scrape-"))
    backend = Backend()
    g = None
    per_scrape = (float("nan"), 0)
    results = {"plain": [], "scraping": []}
    failures = []
    try:
        qfile = str(tmp / "queries")
        Path(qfile).write_text("www.bench.test A\nstatic.bench.test A\nnx.bench.test A\n" * 100)
        try:
            g = Gslbd(a.gslbd, tmp, backend.port)
        except (OSError, RuntimeError) as e:
            print("failed: gslbd %s did not start: %s" % (a.gslbd, str(e).strip()[:2000]))
            return 1
        time.sleep(1.5)  # every member probed once
        # The scraper (a thread of this process) stays off gslbd's core,
        # as a Prometheus server would be on another machine.
        if taskset(1):
            os.sched_setaffinity(0, {1})
        per_scrape = scrape_cost(g)
        run_once(g, qfile, 1, 0)  # warm-up, not counted
        for i in range(rounds):
            order = ["plain", "scraping"] if i % 2 == 0 else ["scraping", "plain"]
            pair = {}
            for mode in order:
                r = run_once(g, qfile, seconds, a.interval if mode == "scraping" else 0)
                log("round %d %s: %s" % (i + 1, mode, r))
                if r["failed"]:
                    failures.append("round %d, %s: %s" % (i + 1, mode, r["failed"]))
                else:
                    results[mode].append(r)
                    pair[mode] = r
            if len(pair) == 2:
                results.setdefault("pairs", []).append(
                    pair["scraping"]["cpu_q"] / pair["plain"]["cpu_q"])
    finally:
        if g:
            g.stop()
        backend.close()
        shutil.rmtree(tmp, ignore_errors=True)

    def med(mode, key):
        xs = [r[key] for r in results[mode]]
        return statistics.median(xs) if xs else float("nan")

    print("%-9s %5s %12s %12s %9s" % ("mode", "runs", "CPU/q (us)", "qps", "scrapes"))
    for mode in ("plain", "scraping"):
        print("%-9s %5d %12.3f %12.0f %9s" % (
            mode, len(results[mode]), med(mode, "cpu_q") * 1e6, med(mode, "qps"),
            "%.0f/run" % med(mode, "scrapes") if mode == "scraping" else "-"))
    pairs = results.get("pairs", [])
    ratio = med("scraping", "cpu_q") / med("plain", "cpu_q")
    print("scraping/plain CPU per query: %.4f (medians), paired median %.4f over %d rounds "
          "(range %.4f .. %.4f); target <= 1.02: %s" % (
              ratio, statistics.median(pairs) if pairs else float("nan"), len(pairs),
              min(pairs) if pairs else float("nan"), max(pairs) if pairs else float("nan"),
              "met" if pairs and statistics.median(pairs) <= 1.02 else "NOT met"))
    cost, size = per_scrape
    plain_cpu_s = med("plain", "cpu_q") * med("plain", "qps")
    print("one scrape (%d bytes) costs gslbd %.0f us of CPU (%d back to back, idle time "
          "subtracted): every %g ms, %.2f %% of gslbd's CPU at the plain runs' rate" % (
              size, cost * 1e6, 300, a.interval, 100 * cost * 1000 / a.interval / plain_cpu_s
              if plain_cpu_s == plain_cpu_s and plain_cpu_s > 0 else float("nan")))
    for f in failures:
        print("failed: %s" % f)
    if not failures:
        print("every run counted")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
