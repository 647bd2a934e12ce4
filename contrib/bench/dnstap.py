#!/usr/bin/python3
"""dnstap.py -- what dnstap logging costs gslbd: CPU per query and queries per
second with dnstap off, on at sample = 1 to a file, and on at sample = 1 to a
unix socket read by fstrm_capture, side by side.

Each run starts gslbd (one worker thread; the peer benchmark's zone, pool and
query mix, contrib/bench/peers.py) on core 0 and dnsperf on core 1 for
--seconds, and reads gslbd's CPU time (every thread, the dnstap I/O thread
included) before and after. The variants take turns within each round, so
that a machine that gets busier or quieter moves them alike; the figures are
medians over --runs rounds, and the ratios are paired medians (each round's
variant against that round's "off"). A run that fails (gslbd does not start,
dnsperf fails or completes nothing, fstrm_capture is missing) counts in no
median and is reported with its reason. gslbd's dnstap counters (`gslbctl
stats`) say how many messages were written and how many were dropped because
the writer was behind: a figure with drops is the cost of what was logged,
not of logging everything.

    /usr/bin/python3 contrib/bench/dnstap.py                 # 5 rounds of 10 s
    /usr/bin/python3 contrib/bench/dnstap.py --quick         # 3 rounds of 4 s
    /usr/bin/python3 contrib/bench/dnstap.py --gslbd OLD/src/gslbd --sample 10

Loopback only; every process started here is stopped by its PID. Needs
dnsperf, taskset, and for the socket variant fstrm_capture (fstrm-bin)."""

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import instructions  # noqa: E402  (the benchmark config and describe())
import peers  # noqa: E402  (query mix, zone, dnsperf runner, CPU ticks)


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    if not n:
        return None
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


class Run:
    """gslbd with one variant's config, and its fstrm_capture if any."""

    def __init__(self, binary, gslbctl, variant, sample, tmp):
        self.dir = tempfile.mkdtemp(prefix="dnstap-", dir=tmp)
        self.proc = self.cap = None
        self.gslbctl = gslbctl
        self.capture = os.path.join(self.dir, "cap.fstrm")
        with open(os.path.join(self.dir, "bench.test.zone"), "w") as f:
            f.write(peers.render("bench.test.zone.in", {"POOL": ""}, set()))
        extra = 'control = { socket = "ctl.sock"; };\n'
        if variant == "file":
            extra += 'dnstap = { file = "out.fstrm"; sample = %d; };\n' % sample
        elif variant == "socket":
            sock = os.path.join(self.dir, "tap.sock")
            extra += 'dnstap = { socket = "%s"; sample = %d; };\n' % (sock, sample)
            self.cap = subprocess.Popen(["fstrm_capture", "-t", "protobuf:dnstap.Dnstap",
                                         "-u", sock, "-w", self.capture],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while not os.path.exists(sock) and time.monotonic() < deadline:
                time.sleep(0.05)
        with open(os.path.join(self.dir, "gslbd.conf"), "w") as f:
            f.write(instructions.CONF + extra)
        self.log = open(os.path.join(self.dir, "gslbd.log"), "w+")
        self.proc = subprocess.Popen(["taskset", "-c", peers.SERVER_CORE, binary, "-c",
                                      os.path.join(self.dir, "gslbd.conf")],
                                     stdout=self.log, stderr=subprocess.STDOUT, cwd=self.dir)
        self.port = peers.wait_ready(self.proc, self.log, 20, 0.1)
        if variant == "socket" and self.port:
            # Measure with the reader connected, not while it connects.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not self.counters().get("connected"):
                time.sleep(0.1)

    def failed(self):
        if self.port is None:
            self.log.seek(0)
            return "gslbd did not start: %s" % self.log.read()[-300:].replace("\n", " | ")
        if self.cap is not None and self.cap.poll() is not None:
            return "fstrm_capture exited (status %s)" % self.cap.returncode
        return None

    def counters(self):
        """dnstap sent and dropped, and whether the writer is connected."""
        out = {}
        for cmd in ("stats", "status"):
            p = subprocess.run([self.gslbctl, "-s", os.path.join(self.dir, "ctl.sock"), cmd,
                                "--json"], capture_output=True, text=True, timeout=10)
            if p.returncode != 0:
                return out
            d = json.loads(p.stdout).get("dnstap")
            if d:
                out.update(d)
        return out

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.cap and self.cap.poll() is None:
            self.cap.send_signal(signal.SIGTERM)
            try:
                self.cap.wait(10)
            except subprocess.TimeoutExpired:
                self.cap.kill()
                self.cap.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def measure(run, qfile, seconds, tmp, tag):
    before = run.counters()
    u0, s0 = peers.cpu_ticks([run.proc.pid])
    dp = peers.Dnsperf(peers.dnsperf_argv(run.port, qfile, seconds),
                       os.path.join(tmp, "dnsperf-%s.txt" % tag))
    r = dp.wait(seconds + 30)
    u1, s1 = peers.cpu_ticks([run.proc.pid])
    after = run.counters()
    if r["failed"]:
        return {"failed": r["failed"]}
    if run.proc.poll() is not None:
        return {"failed": "gslbd exited during the run"}
    n = r["completed"]
    return {"failed": None, "qps": r["qps"], "completed": n,
            "cpu_us": ((u1 - u0) + (s1 - s0)) * 1e6 / peers.CLK_TCK / n,
            "sent": after.get("sent", 0) - before.get("sent", 0),
            "dropped": after.get("dropped", 0) - before.get("dropped", 0)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gslbd", default=os.path.join(TOP, "src", "gslbd"))
    ap.add_argument("--gslbctl", default=None, help="default: next to --gslbd")
    ap.add_argument("--runs", type=int, default=5, help="rounds (default 5)")
    ap.add_argument("--seconds", type=float, default=10, help="dnsperf run length (default 10)")
    ap.add_argument("--sample", type=int, default=1, help="dnstap sample (default 1)")
    ap.add_argument("--quick", action="store_true", help="3 rounds of 4 s")
    args = ap.parse_args()
    if args.quick:
        args.runs, args.seconds = 3, 4
    binary = os.path.abspath(args.gslbd)
    gslbctl = os.path.abspath(args.gslbctl or os.path.join(os.path.dirname(binary), "gslbctl"))
    for tool in ("dnsperf", "taskset"):
        if not shutil.which(tool):
            raise SystemExit("needs %s" % tool)
    variants = ["off", "file"]
    if shutil.which("fstrm_capture"):
        variants.append("socket")
    tmp = tempfile.mkdtemp(prefix="gslbd-dnstap-bench-")
    qfile = os.path.join(tmp, "queries")
    peers.write_queries(qfile)
    print("# dnstap cost (contrib/bench/dnstap.py)\n")
    print("- date: %s UTC" % datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"))
    print("- command: `%s`" % " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:]))
    print("- gslbd: %s" % instructions.describe(binary))
    print("- %d rounds of %g s; gslbd (1 worker) on core %s, dnsperf on core %s; "
          "dnstap sample = %d%s" % (args.runs, args.seconds, peers.SERVER_CORE,
                                    peers.CLIENT_CORE, args.sample,
                                    "" if "socket" in variants
                                    else "; no fstrm_capture: socket variant not run"))
    m = peers.machine()
    print("- machine: %s CPUs, %s, kernel %s\n" % (m["nproc"], m["cpu"], m["kernel"]))
    results = {v: [] for v in variants}
    fails = {v: [] for v in variants}
    try:
        for rnd in range(args.runs):
            order = variants[rnd % len(variants):] + variants[:rnd % len(variants)]
            for v in order:
                run = Run(binary, gslbctl, v, args.sample, tmp)
                try:
                    why = run.failed()
                    r = {"failed": why} if why else measure(run, qfile, args.seconds, tmp,
                                                            "%s-%d" % (v, rnd))
                finally:
                    run.stop()
                r["round"] = rnd
                (fails if r["failed"] else results)[v].append(r)
                print("  round %d %-6s %s" % (rnd + 1, v, r["failed"] or
                      "%.0f q/s, %.3f us CPU/q, dnstap sent %d dropped %d"
                      % (r["qps"], r["cpu_us"], r["sent"], r["dropped"])),
                      file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("| dnstap | runs ok | qps (median) | CPU µs/q (median) | CPU/q vs off "
          "(paired median) | messages written | dropped |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    off = {r["round"]: r for r in results["off"]}
    for v in variants:
        rs = results[v]
        if not rs:
            print("| %s | 0/%d | | | | | |" % (v, args.runs))
            continue
        paired = [r["cpu_us"] / off[r["round"]]["cpu_us"] for r in rs if r["round"] in off]
        sent, dropped = sum(r["sent"] for r in rs), sum(r["dropped"] for r in rs)
        print("| %s | %d/%d | %.0f | %.3f | %s | %d | %d (%.1f%%) |" % (
            {"off": "off", "file": "sample %d to a file" % args.sample,
             "socket": "sample %d to fstrm_capture" % args.sample}[v],
            len(rs), args.runs, median([r["qps"] for r in rs]),
            median([r["cpu_us"] for r in rs]),
            "%.3f× (range %.3f–%.3f)" % (median(paired), min(paired), max(paired))
            if paired and v != "off" else "", sent, dropped,
            100.0 * dropped / (sent + dropped) if sent + dropped else 0))
    for v in variants:
        for r in fails[v]:
            print("\n- round %d, %s: run failed: %s" % (r["round"] + 1, v, r["failed"]))
    return 0 if all(results[v] for v in variants) else 1


if __name__ == "__main__":
    sys.exit(main())
