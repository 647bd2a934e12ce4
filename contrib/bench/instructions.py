#!/usr/bin/python3
"""instructions.py -- instructions per query of gslbd builds, side by side.

CPU time on a shared 2-core machine moves by a few percent from run to run;
instruction counts do not. This runs each given gslbd binary (one worker
thread, the peer benchmark's zone and pool, on a loopback port the kernel
picks) under `valgrind --tool=callgrind`, sends it the peer benchmark's query
mix (contrib/bench/peers.py: 60% pool A, 10% pool AAAA, 20% static, 10%
NXDOMAIN) one query at a time over UDP and TCP, and reports instructions per
query:

  - answer path: everything inside answer_query (inclusive; the DNS core);
  - counting: inside stats_count (absent in builds without counters);
  - UDP thread: everything the UDP threads run (answering, batching, the
    syscall wrappers; the kernel's work is not counted by callgrind).

    /usr/bin/python3 contrib/bench/instructions.py OLD_BINARY NEW_BINARY [...]
    /usr/bin/python3 contrib/bench/instructions.py --queries 5000 src/gslbd
    /usr/bin/python3 contrib/bench/instructions.py --cookie server --nsid src/gslbd
    /usr/bin/python3 contrib/bench/instructions.py --rate-limit 1000000 src/gslbd

--edns puts an OPT in every query (the fair baseline for the options);
--cookie client sends a client cookie with every query (the server makes a
cookie each time); --cookie server sends back the server cookie learned from
the first answer (the server checks it each time); --nsid asks for the NSID
("bench-ns1" is configured). Both need a binary that knows these settings.

--dnssec signs the zone (gslbd's `dnssec` setting, a fresh ECDSA P-256 key
made with ldns-keygen); --do sets the DO bit in every query: with both, the
signed answers (RRSIGs, NSEC proofs); --dnssec alone, what signing costs
DO=0 queries.

--rate-limit N runs each binary a second time with
`rate_limit = { responses_per_second = N; slip = 1; }` added to its config: a
high N measures what the limiter costs a query it lets through (the common
case); a low one (say 5) the path of the queries over the limit, every one
sent truncated (slip = 1, so that no query waits for a timeout).

--dnstap runs each binary a second time with dnstap on, every query and its
response logged to a file (`dnstap = { file = "dnstap.fstrm"; sample = N; }`,
N from --dnstap-sample, default 1); a further row gives what the dnstap I/O
thread (fstrm's, which writes the file) spends per query.
--policy weighted makes the pool weighted (members of weights 1 to 4, one
answer), so that the draw by effective weight is what is measured.
--agent S adds an agent check (interval S seconds) to every member, answered
by agents this script runs on 127.0.0.1 whose reported weight changes at
every probe ("up 37%", "up 81%", ...): the effective weights are rebuilt and
republished all the time while the queries run. A binary without agent
checks is reported as not knowing the setting.

Loopback only; each gslbd started here is stopped by its PID. Needs valgrind
and dnspython (python3-dnspython). Takes about a minute per binary.
"""

import argparse
import datetime
import glob
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import peers  # noqa: E402  (the query mix and zone of the peer benchmark)

CONF = """listen = [ "127.0.0.1:0" ];
threads = 1;
zones = ( { origin = "bench.test"; file = "bench.test.zone"; } );
pools = (
  { name = "www"; owners = [ "www.bench.test" ]; policy = "round-robin"; ttl = 30;
    members = ( { address = "127.0.0.11"; }, { address = "127.0.0.12"; },
                { address = "127.0.0.13"; }, { address = "127.0.0.14"; },
                { address = "2001:db8:10::1"; }, { address = "2001:db8:10::2"; } ); }
);
"""


def describe(binary):
    st = os.stat(binary)
    h = hashlib.sha256(open(binary, "rb").read()).hexdigest()[:16]
    where = ""
    top = os.path.dirname(os.path.dirname(os.path.abspath(binary)))
    if os.path.isdir(os.path.join(top, ".git")) or os.path.isfile(os.path.join(top, ".git")):
        r = subprocess.run(["git", "-C", top, "describe", "--always", "--dirty"],
                           capture_output=True, text=True)
        if r.returncode == 0:
            where = ", tree %s" % r.stdout.strip()
    return "%s (sha256 %s, modified %s%s)" % (
        binary, h, datetime.datetime.fromtimestamp(st.st_mtime).strftime("%Y-%m-%d %H:%M"),
        where)


def options_for(cookie, nsid, port):
    """The EDNS options each query carries, or None for none."""
    import dns.edns
    opts = []
    if nsid:
        opts.append(dns.edns.GenericOption(dns.edns.NSID, b""))
    if cookie:
        client = bytes.fromhex("0102030405060708")
        data = client
        if cookie == "server":
            q = dns.message.make_query("www.bench.test", "A", use_edns=0, options=[
                dns.edns.GenericOption(dns.edns.COOKIE, client)])
            r = dns.query.udp(q, "127.0.0.1", port=port, timeout=5)
            data = next(o.data for o in r.options if o.otype == dns.edns.COOKIE)
        opts.append(dns.edns.GenericOption(dns.edns.COOKIE, data))
    return opts or None


# An agent-check responder whose reported weight changes at every probe
# (10% to 100%, in a fixed pseudo-random order): steer.py's.
from steer import Agent as ChangingAgent  # noqa: E402


def pool_conf(policy, agents, interval):
    """The benchmark's pool with @policy; with @agents (one per member), an
    agent check probing them every @interval s."""
    if policy == "round-robin" and not agents:
        return CONF
    addrs = ["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14", "2001:db8:10::1",
             "2001:db8:10::2"]
    members = []
    for i, a in enumerate(addrs):
        m = 'address = "%s"; weight = %d;' % (a, 1 + i % 4)
        if agents:
            m += ' probe_address = "127.0.0.1"; port = %d;' % agents[i].port
        members.append("{ %s }" % m)
    text = CONF.split("pools = (")[0]
    if agents:
        text += ('checks = ( { name = "agent"; type = "agent"; interval = %g; timeout = 0.5; '
                 'rise = 1; fall = 3; } );\n' % interval)
    text += ('pools = (\n  { name = "www"; owners = [ "www.bench.test" ]; policy = "%s"; '
             'ttl = 30;%s\n    members = ( %s ); }\n);\n'
             % (policy, ' check = "agent";' if agents else "", ", ".join(members)))
    return text


def run_one(binary, queries, tcp_every, workdir, cookie=None, nsid=False, edns=False,
            extra_conf="", dnssec=False, do=False, policy="round-robin", agent=None):
    agents = [ChangingAgent() for _ in range(6)] if agent else []
    try:
        return run_one_with(binary, queries, tcp_every, workdir, cookie, nsid, edns,
                            extra_conf, pool_conf(policy, agents, agent), agents, dnssec, do)
    finally:
        for a in agents:
            a.close()


def run_one_with(binary, queries, tcp_every, workdir, cookie, nsid, edns, extra_conf, conf,
                 agents, dnssec, do):
    d = tempfile.mkdtemp(prefix="instr-", dir=workdir)
    zone = peers.render("bench.test.zone.in", {"POOL": ""}, set())
    with open(os.path.join(d, "bench.test.zone"), "w") as f:
        f.write(zone)
    if dnssec:  # the zone signed by gslbd with a fresh ECDSA P-256 key
        key = subprocess.run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", "bench.test"],
                             cwd=d, capture_output=True, text=True, check=True).stdout.strip()
        conf = conf.replace('file = "bench.test.zone"; }',
                            'file = "bench.test.zone"; dnssec = { keys = [ "%s" ]; }; }' % key)
    with open(os.path.join(d, "gslbd.conf"), "w") as f:
        f.write(conf + ('nsid = "bench-ns1";\n' if nsid else "") + extra_conf)
    out = os.path.join(d, "callgrind.out")
    log = open(os.path.join(d, "gslbd.log"), "w+")
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                             "--separate-threads=yes", "--dump-instr=no",
                             binary, "-c", os.path.join(d, "gslbd.conf")],
                            stdout=log, stderr=subprocess.STDOUT, cwd=d)
    port = peers.wait_ready(proc, log, 60)
    if port is None:
        proc.kill()
        proc.wait()
        log.seek(0)
        text = log.read()
        if (extra_conf or dnssec or agents) and ("unknown setting" in text or
                                                 '"agent"' in text):
            shutil.rmtree(d, ignore_errors=True)
            return None  # a build from before the setting
        raise SystemExit("%s did not start:\n%s" % (binary, text[-2000:]))
    qfile = os.path.join(d, "queries")
    peers.write_queries(qfile, n=queries)
    lines = [l.split() for l in open(qfile).read().splitlines() if l.strip()]
    answered = 0
    opts = options_for(cookie, nsid, port)
    for i, (name, qtype) in enumerate(lines):
        q = dns.message.make_query(name, qtype, use_edns=0 if opts or edns or do else None,
                                   options=opts, want_dnssec=do)
        try:
            if tcp_every and i % tcp_every == 0:
                r = dns.query.tcp(q, "127.0.0.1", port=port, timeout=5)
            else:
                r = dns.query.udp(q, "127.0.0.1", port=port, timeout=5)
            answered += r.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN) and \
                not (r.flags & dns.flags.TC and not r.answer and not r.authority)
        except (dns.exception.Timeout, OSError):
            pass
    probes = sum(a.served for a in agents)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    totals = {"answer_query": 0, "stats_count": 0, "udp": 0, "iothr": 0}
    for f in glob.glob(out + "*"):
        text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", f],
                              capture_output=True, text=True).stdout
        for fn in ("answer_query", "stats_count"):
            m = re.search(r"^\s*([\d,]+) \([^)]*\)\s+\S*:%s\b" % fn, text, re.M)
            if m:
                totals[fn] += int(m.group(1).replace(",", ""))
        m = re.search(r"^\s*([\d,]+) \([^)]*\)\s+\S*:udp_main\b", text, re.M)
        if m:
            totals["udp"] += int(m.group(1).replace(",", ""))
        # The dnstap I/O thread (libfstrm's; its thread function is not
        # exported): the thread that writes frames and runs no gslbd loop.
        m = re.search(r"^\s*([\d,]+) \([^)]*\)\s+PROGRAM TOTALS", text, re.M)
        if m and "fstrm_writer_writev" in text and not re.search(
                r":(udp_main|worker_main|main)\b", text):
            totals["iothr"] += int(m.group(1).replace(",", ""))
    if os.environ.get("INSTR_KEEP"):  # a directory to keep the callgrind profiles in
        keep = tempfile.mkdtemp(prefix="profile-", dir=os.environ["INSTR_KEEP"])
        for f in glob.glob(out + "*"):
            shutil.copy(f, keep)
        print("callgrind profiles kept in %s" % keep, file=sys.stderr)
    shutil.rmtree(d, ignore_errors=True)
    if agents:
        print("  (%s: %d agent replies, each a new weight, during the run)"
              % (os.path.basename(binary), probes), file=sys.stderr)
    return len(lines), answered, totals


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("binaries", nargs="+")
    ap.add_argument("--queries", type=int, default=10000)
    ap.add_argument("--tcp-every", type=int, default=10,
                    help="every Nth query over TCP (default 10; 0: UDP only)")
    ap.add_argument("--cookie", choices=("client", "server"),
                    help="a COOKIE option in every query: client cookie only, or the "
                         "server cookie learned first sent back")
    ap.add_argument("--nsid", action="store_true", help="ask for the NSID in every query")
    ap.add_argument("--edns", action="store_true",
                    help="an OPT in every query (implied by --cookie and --nsid)")
    ap.add_argument("--dnssec", action="store_true",
                    help="the zone signed by gslbd (a fresh key; needs ldns-keygen)")
    ap.add_argument("--do", action="store_true",
                    help="the DO bit in every query (implies an OPT): signed answers")
    ap.add_argument("--rate-limit", type=int, metavar="N",
                    help="run each binary also with rate_limit = "
                    "{ responses_per_second = N; slip = 1; } in its config")
    ap.add_argument("--dnstap", action="store_true",
                    help="run each binary also with dnstap logging every query to a file")
    ap.add_argument("--dnstap-sample", type=int, default=1, metavar="N",
                    help="with --dnstap: log one query in N (default 1)")
    ap.add_argument("--policy", choices=("round-robin", "weighted"), default="round-robin",
                    help="the pool's policy (weighted: members of weight 1 to 4)")
    ap.add_argument("--agent", type=float, metavar="S",
                    help="an agent check every S s on each member, whose reported weight "
                    "changes at every probe")
    args = ap.parse_args()
    if not shutil.which("valgrind") or not shutil.which("callgrind_annotate"):
        raise SystemExit("needs valgrind (apt-get install valgrind)")
    workdir = tempfile.mkdtemp(prefix="gslbd-instr-")
    print("# instructions per query (contrib/bench/instructions.py)\n")
    print("- date: %s UTC" % datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"))
    print("- command: `%s`" % " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:]))
    print("- %d queries of the peer benchmark's mix, one at a time, every %s over TCP%s\n"
          % (args.queries, "%dth" % args.tcp_every if args.tcp_every else "none",
             "".join([", cookie: " + args.cookie if args.cookie else "",
                      ", NSID asked" if args.nsid else "",
                      ", EDNS" if args.edns else "",
                      ", zone signed" if args.dnssec else "",
                      ", DO=1" if args.do else "",
                      ", pool policy " + args.policy,
                      ", agents changing weight every %g s" % args.agent if args.agent else ""])))
    print("| binary | answered | answer_query Ir/q | stats_count Ir/q | UDP thread Ir/q |")
    print("|---|---:|---:|---:|---:|")
    base = None
    runs = [(b, "", "") for b in args.binaries]
    if args.rate_limit is not None:
        runs = [r for b in args.binaries for r in (
            (b, "", ", rate_limit off"),
            (b, "rate_limit = { responses_per_second = %d; slip = 1; };\n" % args.rate_limit,
             ", rate_limit %d/s" % args.rate_limit))]
    if args.dnstap:
        runs = [r for b in args.binaries for r in (
            (b, "", ", dnstap off"),
            (b, 'dnstap = { file = "dnstap.fstrm"; sample = %d; };\n' % args.dnstap_sample,
             ", dnstap sample %d to a file" % args.dnstap_sample))]
    for b, extra, label in runs:
        got = run_one(os.path.abspath(b), args.queries, args.tcp_every, workdir,
                     args.cookie, args.nsid, args.edns, extra, args.dnssec, args.do,
                     args.policy, args.agent)
        if got is None:
            print("| %s%s | (the build does not know the setting) | | | |" % (describe(b), label))
            continue
        n, ok, t = got
        udp_q = n - (n // args.tcp_every + (1 if n % args.tcp_every else 0)) if args.tcp_every \
            else n
        row = (t["answer_query"] / n, t["stats_count"] / n, t["udp"] / max(udp_q, 1))
        print("| %s%s | %d/%d | %.0f | %.0f | %.0f |" % (describe(b), label, ok, n, *row))
        if "dnstap =" in extra:
            print("|  + dnstap I/O thread | | | | %.0f |" % (t["iothr"] / n))
        if base is None:
            base = row
        else:
            print("|  vs first | | %.3f× | | %.3f× |" % (row[0] / base[0], row[2] / base[2]))
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
