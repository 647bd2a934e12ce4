#!/usr/bin/python3
"""large_zone.py -- gslbd with a large zone and many pools: load time and memory.

Generates, in a temporary directory, one zone `large.test` with N names
(`h<i> IN A 10.x.y.z`, i = 0..N-1, x.y.z the three low octets of i) and a
config with P pools `p<i>` (owner `p<i>.large.test`, M members each, all
distinct addresses 10.128.0.0 upwards), every pool naming one of C checks of
type `none` (never probed: nothing outside the machine is contacted, but
every member's check is looked up as for a real one). Then:

1. `gslbd -t -c gslbd.conf`: wall time, the child's peak RSS (wait4's
   ru_maxrss), and the snapshot size gslbd reports ("... MiB").
2. A real start, `gslbd -c gslbd.conf` on 127.0.0.1 with a port the kernel
   picks: exec to the `ready` line, VmRSS once ready, a check that it answers
   the first and last name and a pool, then one reload (SIGHUP to `reload
   done`) and VmRSS after it.
3. NSD, if /usr/sbin/nsd is installed, on the same zone file (`nsd -d -c`):
   exec to the first answer for the last name, and VmRSS of each of its
   processes.

Every figure is printed with the command line and the commit of the tree
that holds the gslbd binary (`git describe --always --dirty`), so that it can
be quoted as it is. Progress goes to stderr, the report to stdout.

    /usr/bin/python3 contrib/bench/large_zone.py            # 1,000,000 names, 10,000 pools (~2 min, ~600 MB RAM with NSD)
    /usr/bin/python3 contrib/bench/large_zone.py --quick    # 100,000 names, 10,000 pools (~15 s)
    /usr/bin/python3 contrib/bench/large_zone.py --names 1000 --pools 100000 --no-start --no-nsd

Only processes started here are stopped, by PID (SIGTERM, then SIGKILL after
10 s). Every wait is bounded. Needs dnspython (Debian's python3-dnspython).
"""

import argparse
import datetime
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import dns.message
import dns.query
import dns.rdatatype

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_GSLBD = os.path.join(REPO, "src", "gslbd")
NSD = "/usr/sbin/nsd"
ORIGIN = "large.test"

OK_RE = re.compile(r"configuration OK \((\d+) zones, (\d+) pools, (\d+) names, (\d+) probes, "
                   r"([0-9.]+) MiB\)")
LISTEN_RE = re.compile(r"listening on 127\.0\.0\.1 port (\d+)")
READY_RE = re.compile(r"\bready\b")
RELOAD_RE = re.compile(r"reload done")
START_TIMEOUT = 600.0
STOP_TIMEOUT = 10.0


def log(msg):
    print("large_zone: " + msg, file=sys.stderr, flush=True)


def git_out(*argv):
    try:
        r = subprocess.run(["git", "-C", REPO] + list(argv), capture_output=True, text=True,
                           timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def binary_origin(path):
    """Which tree built @path: the commit and `describe --dirty` of the work
    tree that holds it, if it is in one; else say that it is unknown."""
    d = os.path.dirname(os.path.abspath(path))
    try:
        top = subprocess.run(["git", "-C", d, "rev-parse", "--show-toplevel"],
                             capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        top = ""
    if not top:
        return "unknown (the binary is not inside a git work tree)"
    commit = subprocess.run(["git", "-C", top, "rev-parse", "--short=12", "HEAD"],
                            capture_output=True, text=True, timeout=30).stdout.strip()
    desc = subprocess.run(["git", "-C", top, "describe", "--always", "--dirty"],
                          capture_output=True, text=True, timeout=30).stdout.strip()
    mtime = datetime.datetime.fromtimestamp(os.stat(path).st_mtime, datetime.timezone.utc)
    return "%s (`git describe --always --dirty`: %s; tree %s; binary modified %s UTC)" % (
        commit, desc, top, mtime.strftime("%Y-%m-%d %H:%M:%S"))


def addr10(base, i):
    """10.x.y.z: @base added to the top octet's offset, i in the low 24 bits."""
    return "10.%d.%d.%d" % (base + ((i >> 16) & 0xFF), (i >> 8) & 0xFF, i & 0xFF)


def write_data(d, names, pools, members, checks):
    zone = os.path.join(d, ORIGIN + ".zone")
    with open(zone, "w") as f:
        f.write("$ORIGIN %s.\n$TTL 3600\n" % ORIGIN)
        f.write("@ IN SOA ns hostmaster 1 3600 600 86400 60\n@ IN NS ns\nns IN A 192.0.2.53\n")
        chunk = []
        for i in range(names):
            chunk.append("h%d IN A %s\n" % (i, addr10(0, i)))
            if len(chunk) == 65536:
                f.write("".join(chunk))
                chunk = []
        f.write("".join(chunk))
    conf = os.path.join(d, "gslbd.conf")
    with open(conf, "w") as f:
        f.write('listen = [ "127.0.0.1:0" ];\n')
        f.write('zones = ( { origin = "%s"; file = "%s.zone"; } );\n' % (ORIGIN, ORIGIN))
        if checks:
            f.write("checks = (\n")
            f.write(",\n".join('  { name = "c%d"; type = "none"; }' % k for k in range(checks)))
            f.write("\n);\n")
        if pools:
            f.write("pools = (\n")
            out = []
            for i in range(pools):
                ms = ", ".join('{ address = "%s"; }' % addr10(128, i * members + j)
                               for j in range(members))
                check = ' check = "c%d";' % (i % checks) if checks else ""
                out.append('%s  { name = "p%d"; owners = [ "p%d.%s" ];%s members = ( %s ); }'
                           % (",\n" if i else "", i, i, ORIGIN, check, ms))
                if len(out) == 16384:
                    f.write("".join(out))
                    out = []
            f.write("".join(out) + "\n);\n")
    return conf, zone


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def children(pid):
    out = []
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % e) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        if ppid == pid:
            out.append(int(e))
    return out


def stop(p):
    if p.poll() is not None:
        return
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(STOP_TIMEOUT)


def ask(port, qname, rdtype, timeout=2.0):
    q = dns.message.make_query(qname, rdtype)
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=timeout)


def answers(r):
    return sorted(rd.to_text() for rrset in r.answer for rd in rrset)


def mib(kib):
    return "%.0f MiB" % (kib / 1024.0) if kib is not None else "n/a"


def run_check(gslbd, conf, d):
    errpath = os.path.join(d, "check.log")
    with open(errpath, "w") as err:
        t0 = time.monotonic()
        p = subprocess.Popen([gslbd, "-t", "-c", conf], stdin=subprocess.DEVNULL,
                             stdout=err, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    text = open(errpath).read()
    m = OK_RE.search(text)
    if p.returncode != 0 or not m:
        raise SystemExit("gslbd -t failed (exit %d):\n%s" % (p.returncode, text[-4000:]))
    return {"wall": wall, "user": ru.ru_utime, "sys": ru.ru_stime, "maxrss": ru.ru_maxrss,
            "snapshot": float(m.group(5)), "names": int(m.group(3)), "pools": int(m.group(2))}


def read_until(p, lines, pattern, deadline):
    """Lines of @p's stderr until one matches @pattern; the match or None."""
    while time.monotonic() < deadline:
        line = p.stderr.readline()
        if not line:
            return None
        lines.append(line)
        m = pattern.search(line)
        if m:
            return m
    return None


def run_start(gslbd, conf, names, pools, members):
    lines = []
    t0 = time.monotonic()
    p = subprocess.Popen([gslbd, "-c", conf], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, bufsize=1)
    try:
        port = None
        ready = None
        deadline = t0 + START_TIMEOUT
        while ready is None and time.monotonic() < deadline:
            line = p.stderr.readline()
            if not line:
                break
            lines.append(line)
            m = LISTEN_RE.search(line)
            if m:
                port = int(m.group(1))
            if READY_RE.search(line):
                ready = time.monotonic() - t0
        if not port or ready is None:
            raise SystemExit("gslbd did not get ready:\n%s" % "".join(lines[-40:]))
        rss = rss_kib(p.pid)
        last = "h%d.%s" % (names - 1, ORIGIN)
        checks = [("h0.%s" % ORIGIN, [addr10(0, 0)]), (last, [addr10(0, names - 1)])]
        if pools:
            checks.append(("p0.%s" % ORIGIN, [addr10(128, j) for j in range(members)]))
        for qname, want in checks:
            got = answers(ask(port, qname, "A"))
            if got != sorted(want):
                raise SystemExit("%s A: got %s, want %s" % (qname, got, sorted(want)))
        t1 = time.monotonic()
        p.send_signal(signal.SIGHUP)
        if not read_until(p, lines, RELOAD_RE, t1 + START_TIMEOUT):
            raise SystemExit("no 'reload done' after SIGHUP:\n%s" % "".join(lines[-40:]))
        reload_s = time.monotonic() - t1
        rss_after = rss_kib(p.pid)
        got = answers(ask(port, last, "A"))
        if got != [addr10(0, names - 1)]:
            raise SystemExit("%s A after the reload: got %s" % (last, got))
        return {"ready": ready, "rss": rss, "reload": reload_s, "rss_reload": rss_after}
    finally:
        stop(p)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nsd_version():
    try:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "nsd"], capture_output=True,
                           text=True, timeout=30)
        return r.stdout.strip() or "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def run_nsd(d, zone, names):
    port = free_port()
    nd = os.path.join(d, "nsd")
    os.makedirs(nd)
    conf = os.path.join(nd, "nsd.conf")
    with open(conf, "w") as f:
        f.write("""server:
    ip-address: 127.0.0.1@%d
    do-ip6: no
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "%s"
    database: ""
    zonelistfile: "%s/zone.list"
    xfrdfile: "%s/xfrd.state"
    xfrdir: "%s"
    pidfile: "%s/nsd.pid"
    logfile: "%s/nsd.log"
    verbosity: 1
    rrl-ratelimit: 0
    zonefiles-check: no
    zonefiles-write: 0
remote-control:
    control-enable: no
zone:
    name: %s
    zonefile: "%s"
""" % (port, nd, nd, nd, nd, nd, nd, ORIGIN, zone))
    last = "h%d.%s" % (names - 1, ORIGIN)
    t0 = time.monotonic()
    p = subprocess.Popen([NSD, "-d", "-c", conf], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ready = None
        while time.monotonic() < t0 + START_TIMEOUT and p.poll() is None:
            try:
                if answers(ask(port, last, "A", timeout=0.2)) == [addr10(0, names - 1)]:
                    ready = time.monotonic() - t0
                    break
            except Exception:
                time.sleep(0.05)
        if ready is None:
            log("NSD did not answer %s within %.0f s (exit %s); see %s/nsd.log"
                % (last, START_TIMEOUT, p.poll(), nd))
            return None
        time.sleep(1.0)  # let the server child settle after its first answers
        # NSD forks (server children, xfrd, and the process started may
        # itself be one of them): each process by PID, the first the one
        # started here.
        procs = [("process %d (started here)" % p.pid, p.pid, rss_kib(p.pid))]
        todo = children(p.pid)
        while todo:
            c = todo.pop(0)
            todo.extend(children(c))
            try:
                comm = open("/proc/%d/cmdline" % c).read().replace("\0", " ").strip()
            except OSError:
                comm = "?"
            procs.append(("process %d (%s)" % (c, comm.split(" ")[0]), c, rss_kib(c)))
        return {"ready": ready, "procs": procs}
    finally:
        # NSD's main process stops its children on SIGTERM.
        stop(p)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="100,000 names instead of 1,000,000 (unless --names is given)")
    ap.add_argument("--names", type=int, help="names in the zone (default 1,000,000)")
    ap.add_argument("--pools", type=int, default=10000, help="pools (default 10,000)")
    ap.add_argument("--members", type=int, default=4, help="members per pool (default 4)")
    ap.add_argument("--checks", type=int, default=100,
                    help="checks of type none the pools name, round-robin (default 100; 0: none)")
    ap.add_argument("--gslbd", default=DEFAULT_GSLBD, help="the binary (default src/gslbd)")
    ap.add_argument("--runs", type=int, default=3,
                    help="runs of gslbd -t; the median is reported, with the range (default 3)")
    ap.add_argument("--no-start", action="store_true", help="only gslbd -t, no real start")
    ap.add_argument("--no-nsd", action="store_true", help="do not run NSD even if installed")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    a = ap.parse_args()
    names = a.names if a.names is not None else (100000 if a.quick else 1000000)
    if names < 1 or a.pools < 0 or not 1 <= a.members <= 512 or a.checks < 0 or a.runs < 1:
        ap.error("need --names >= 1, --pools >= 0, --members 1..512, --checks >= 0, --runs >= 1")
    if a.pools * a.members >= 1 << 23:
        ap.error("at most %d members in all (10.128.0.0/9)" % ((1 << 23) - 1))
    if names >= 1 << 23:
        ap.error("at most %d names (10.0.0.0/9)" % ((1 << 23) - 1))
    gslbd = os.path.abspath(a.gslbd)
    command = "/usr/bin/python3 contrib/bench/large_zone.py" + \
        "".join(" " + shlex.quote(x) for x in sys.argv[1:])
    origin = binary_origin(gslbd)
    version = subprocess.run([gslbd, "--version"], capture_output=True, text=True,
                             timeout=30).stdout.strip()
    d = tempfile.mkdtemp(prefix="gslbd-large-")
    try:
        log("writing %d names and %d pools of %d members to %s" % (names, a.pools, a.members, d))
        t0 = time.monotonic()
        conf, zone = write_data(d, names, a.pools, a.members, a.checks)
        log("written in %.1f s; gslbd -t" % (time.monotonic() - t0))
        runs = [run_check(gslbd, conf, d) for _ in range(a.runs)]
        chk = sorted(runs, key=lambda r: r["wall"])[len(runs) // 2]
        st = None
        if not a.no_start:
            log("gslbd -t took %.2f s (median); starting gslbd" % chk["wall"])
            st = run_start(gslbd, conf, names, a.pools, a.members)
        nsd = None
        if not a.no_nsd and os.path.exists(NSD):
            log("starting NSD on the same zone")
            nsd = run_nsd(d, zone, names)
        elif not a.no_nsd:
            log("%s is not installed: NSD not measured" % NSD)

        print("## large_zone.py: %s names, %s pools of %d members" % (
            format(names, ","), format(a.pools, ","), a.members))
        print()
        print("- command: `%s`" % command)
        print("- commit: %s" % origin)
        print("- gslbd: %s, %s" % (version, gslbd))
        print("- date: %s" % datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"))
        cpu = "?"
        try:
            for line in open("/proc/cpuinfo"):
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        print("- machine: %d cores, %s, kernel %s" % (os.cpu_count(), cpu, platform.release()))
        print("- data: zone %s with %s names (`h<i> IN A 10.x.y.z`, %.1f MB), config with %s "
              "pools `p<i>` of %d members and %d checks of type none (%.1f MB)" % (
                  ORIGIN, format(names, ","), os.path.getsize(zone) / 1e6,
                  format(a.pools, ","), a.members, a.checks, os.path.getsize(conf) / 1e6))
        print()
        print("| what | figure |")
        print("|---|---|")
        walls = [r["wall"] for r in runs]
        print("| `gslbd -t` (load, build the snapshot, free it) | %.2f s wall (user %.2f, sys "
              "%.2f), peak RSS %s%s |" % (
                  chk["wall"], chk["user"], chk["sys"], mib(chk["maxrss"]),
                  "; median of %d runs, %.2f-%.2f s" % (len(runs), min(walls), max(walls))
                  if len(runs) > 1 else ""))
        print("| snapshot size (as `gslbd -t` reports it) | %.1f MiB, %s names |" % (
            chk["snapshot"], format(chk["names"], ",")))
        if st:
            print("| gslbd start: exec to `ready` | %.2f s |" % st["ready"])
            print("| gslbd VmRSS once ready | %s |" % mib(st["rss"]))
            print("| reload (SIGHUP to `reload done`) | %.2f s, VmRSS after %s |" % (
                st["reload"], mib(st["rss_reload"])))
        if nsd:
            print("| NSD %s (`nsd -d -c`, same zone file): exec to first answer | %.2f s |" % (
                nsd_version(), nsd["ready"]))
            for what, _, kib in nsd["procs"]:
                print("| NSD VmRSS, %s | %s |" % (what, mib(kib)))
            print("| NSD VmRSS, all its processes | %s |" % mib(sum(k or 0 for _, _, k in nsd["procs"])))
        elif not a.no_nsd:
            print("| NSD | not measured (not installed, or it did not answer) |")
        return 0
    finally:
        if a.keep:
            log("kept %s" % d)
        else:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
