#!/usr/bin/python3
"""Geo: EDNS Client Subnet (scope echoed, source prefix 0, no option, FORMERR,
the edns_client_subnet switch), nets files, MaxMind databases written here
with Debian's libmaxmind-db-writer-perl (order of regions, map over database,
nearest datacenters), the geo policy's health fall-through (per-datacenter
min_healthy, ttl_degraded, backup pool), explain --client/--ecs, answers per
datacenter in status, and a changed nets file swapped in (a broken one
rejected) without a lost query. Queries with dig +subnet and dnspython."""

import os
import re
import urllib.request
import shutil
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

import dns.edns  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402

HERE = Path(__file__).resolve().parent
GSLBCTL = os.path.abspath(os.environ.get("GSLBCTL") or str(harness.REPO / "src" / "gslbctl"))
DIG = shutil.which("dig")

ZONE = """$ORIGIN lb.example.test.
$TTL 300
@ IN SOA ns1 hostmaster 1 3600 600 86400 60
@ IN NS ns1
ns1 IN A 192.0.2.53
static IN A 198.51.100.1
"""

NETS = """# test networks
10.1.0.0/16   europe
10.2.0.0/16   america
10.2.5.0/24   europe      # an office inside
2001:db8:1::/48 europe
127.0.0.2/32  europe
127.0.0.3/32  america
"""

AMS = ["192.0.2.1", "192.0.2.2"]
FRA = ["192.0.2.11"]
IAD = ["198.51.100.11", "198.51.100.12"]
DR = ["203.0.113.1"]

GEO_MAP = """geo_maps = ( { name = "world"; nets = "nets.txt";
  datacenters = ( "ams", "fra", "iad" );
  regions = ( { region = "europe"; datacenters = [ "ams", "fra", "iad" ]; },
              { region = "america"; datacenters = [ "iad", "ams" ]; } );
  default = [ "iad" ]; } );
"""

POOLS = """checks = ( { name = "f"; type = "file"; path = "states"; interval = 0.1; rise = 1; fall = 1; } );
pools = (
  { name = "web"; owners = [ "www.lb.example.test" ]; policy = "geo"; geo_map = "world";
    ttl = 60; ttl_degraded = 7; check = "f"; backup = "dr";
    members = ( { address = "192.0.2.1"; }, { address = "192.0.2.2"; },
                { address = "192.0.2.11"; },
                { address = "198.51.100.11"; }, { address = "198.51.100.12"; },
                { address = "2001:db8::1"; } );
    datacenters = ( { name = "ams"; members = [ "192.0.2.1", "192.0.2.2", "2001:db8::1" ];
                      min_healthy = 2; },
                    { name = "fra"; members = [ "192.0.2.11" ]; },
                    { name = "iad"; members = [ "198.51.100.11", "198.51.100.12" ]; } ); },
  { name = "dr"; owners = [ "dr.lb.example.test" ]; members = ( { address = "203.0.113.1"; } ); }
);
"""


def config(extra="", geo_map=GEO_MAP, pools=POOLS):
    return ('listen = [ "127.0.0.1:0" ];\ncontrol = { socket = "ctl.sock"; };\n'
            'zones = ( { origin = "lb.example.test"; file = "zone"; } );\n'
            + extra + geo_map + pools)


def states(down=()):
    return "".join("%s %s\n" % (a, "down" if a in down else "up")
                   for a in AMS + FRA + IAD + ["2001:db8::1", "192.0.2.21"])


def write_states(path, down=()):
    """Rewrite the file check's file atomically (a probe never reads half of it)."""
    tmp = str(path) + ".tmp"
    with open(tmp, "w") as f:
        f.write(states(down))
    os.replace(tmp, str(path))


def dig(srv, name, *args, source=None):
    """dig's output for NAME A with ARGS (e.g. +subnet=...), from @source."""
    if not DIG:
        raise unittest.SkipTest("dig not installed (Debian: bind9-dnsutils)")
    cmd = [DIG, "@127.0.0.1", "-p", str(srv.port), "+norec", "+tries=2", "+time=2", name, "A"]
    if source:
        cmd += ["-b", source]
    p = subprocess.run(cmd + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=15)
    return p.stdout.decode()


def dig_answer(out):
    """(sorted addresses, ttl or None, ECS "addr/source/scope" or None, status)."""
    addrs, ttl = [], None
    for line in out.splitlines():
        f = line.split()
        if len(f) == 5 and not line.startswith(";") and f[3] == "A":
            addrs.append(f[4])
            ttl = int(f[1])
    m = re.search(r"; CLIENT-SUBNET: (\S+)", out)
    st = re.search(r"status: (\w+)", out)
    return sorted(addrs), ttl, m.group(1) if m else None, st.group(1) if st else None


def ask(srv, name, options=None, source="127.0.0.1", edns=True):
    """dnspython query over UDP from @source; the response."""
    q = dns.message.make_query(name, "A", use_edns=0 if edns else False,
                               options=options or [])
    return dns.query.udp(q, "127.0.0.1", port=srv.port, timeout=3, source=source)


def addrs_of(r):
    return sorted(rd.address for rs in r.answer for rd in rs)


def ecs_of(r):
    for o in r.options:
        if o.otype == dns.edns.ECS:
            return o
    return None


class GeoCase(unittest.TestCase):
    extra = ""
    geo_map = GEO_MAP
    files = {}

    @classmethod
    def setUpClass(cls):
        files = {"zone": ZONE, "nets.txt": NETS, "states": states()}
        files.update(cls.files)
        cls.srv = harness.start(config(cls.extra, cls.geo_map), v6=False, files=files)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def ctl(self, *args):
        p = subprocess.run([GSLBCTL, "-s", str(self.srv.path("ctl.sock"))] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        return p.stdout.decode()

    def wait_answer(self, want, timeout=3.0, **kw):
        """Poll www until its addresses are @want; the last response."""
        deadline = time.monotonic() + timeout
        while True:
            r = ask(self.srv, "www.lb.example.test", **kw)
            if addrs_of(r) == sorted(want) or time.monotonic() > deadline:
                self.assertEqual(addrs_of(r), sorted(want))
                return r
            time.sleep(0.05)


class ClientSubnet(GeoCase):

    def test_scope_is_the_network_that_decided(self):
        a, ttl, ecs, _ = dig_answer(dig(self.srv, "www.lb.example.test", "+subnet=10.1.7.0/24"))
        self.assertEqual(a, AMS)
        self.assertEqual(ttl, 60)
        self.assertEqual(ecs, "10.1.7.0/24/16")
        # 10.2.0.0/16 minus the European 10.2.5.0/24: 10.2.0.0/22 decides.
        a, _, ecs, _ = dig_answer(dig(self.srv, "www.lb.example.test", "+subnet=10.2.0.0/24"))
        self.assertEqual(a, IAD)
        self.assertEqual(ecs, "10.2.0.0/24/22")
        a, _, ecs, _ = dig_answer(dig(self.srv, "www.lb.example.test", "+subnet=10.2.5.0/24"))
        self.assertEqual(a, AMS)
        self.assertEqual(ecs, "10.2.5.0/24/24")
        # Never wider than the source prefix.
        _, _, ecs, _ = dig_answer(dig(self.srv, "www.lb.example.test", "+subnet=10.2.0.0/20"))
        self.assertEqual(ecs, "10.2.0.0/20/20")

    def test_ipv6_subnet(self):
        a, _, ecs, _ = dig_answer(dig(self.srv, "www.lb.example.test",
                                      "+subnet=2001:db8:1:ff00::/56"))
        self.assertEqual(a, AMS)
        self.assertEqual(ecs, "2001:db8:1:ff00::/56/48")
        a, _, _, _ = dig_answer(dig(self.srv, "www.lb.example.test", "+subnet=2001:db8:2::/56"))
        self.assertEqual(a, IAD, "outside every network: the default")

    def test_source_prefix_zero_uses_the_source_address(self):
        a, _, ecs, _ = dig_answer(dig(self.srv, "www.lb.example.test", "+subnet=0.0.0.0/0",
                                      source="127.0.0.2"))
        self.assertEqual(a, AMS)
        self.assertEqual(ecs, "0.0.0.0/0/0")
        a, _, ecs, _ = dig_answer(dig(self.srv, "www.lb.example.test", "+subnet=0.0.0.0/0",
                                      source="127.0.0.3"))
        self.assertEqual(a, IAD)
        self.assertEqual(ecs, "0.0.0.0/0/0")

    def test_no_option_no_echo(self):
        r = ask(self.srv, "www.lb.example.test", source="127.0.0.2")
        self.assertEqual(addrs_of(r), AMS)
        self.assertIsNone(ecs_of(r))
        r = ask(self.srv, "www.lb.example.test", source="127.0.0.3", edns=False)
        self.assertEqual(addrs_of(r), IAD)
        self.assertEqual(r.edns, -1)

    def test_answers_not_by_location_have_scope_zero(self):
        for name in ("static.lb.example.test", "dr.lb.example.test", "nothere.lb.example.test"):
            _, _, ecs, _ = dig_answer(dig(self.srv, name, "+subnet=10.1.7.0/24"))
            self.assertEqual(ecs, "10.1.7.0/24/0", name)

    def test_malformed_option_formerr(self):
        cases = [(b"\x00\x03\x18\x00\x0a\x01\x07", "unknown family"),
                 (b"\x00\x01\x21\x00\x0a\x01\x07\x00\x00", "source prefix 33 for IPv4"),
                 (b"\x00\x01\x17\x00\x0a\x01\x07", "bits past a /23"),
                 (b"\x00\x01\x18\x00\x0a\x01", "address shorter than the prefix")]
        for data, why in cases:
            r = ask(self.srv, "www.lb.example.test",
                    options=[dns.edns.GenericOption(dns.edns.ECS, data)])
            self.assertEqual(r.rcode(), dns.rcode.FORMERR, why)
            self.assertEqual(r.edns, -1, "a FORMERR carries no OPT: " + why)

    def test_explain_client_and_ecs(self):
        out = self.ctl("explain", "www.lb.example.test", "A", "--client", "127.0.0.2")
        self.assertIn('region "europe" (network of the nets file)', out)
        self.assertIn("datacenters in order: ams, fra, iad", out)
        self.assertIn("datacenter ams, ttl 60", out)
        out = self.ctl("explain", "www.lb.example.test", "A", "--client", "127.0.0.2",
                       "--ecs", "10.2.0.0/24")
        self.assertIn('region "america"', out)
        self.assertIn("datacenter iad", out)
        self.assertIn("client subnet 10.2.0.0/24: echoed with scope /22", out)
        out = self.ctl("explain", "www.lb.example.test", "A", "--ecs", "8.8.8.0/24")
        self.assertIn("region \"default\"", out)
        p = subprocess.run([GSLBCTL, "-s", str(self.srv.path("ctl.sock")), "explain",
                            "www.lb.example.test", "A", "--ecs", "10.2.5.1/24"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("bits are set past the prefix", p.stderr.decode())

    def test_status_counts_datacenters(self):
        before = self.ctl("status")
        m = re.search(r"datacenters: ams (\d+), fra (\d+), iad (\d+)", before)
        self.assertIsNotNone(m, before)
        for _ in range(3):
            ask(self.srv, "www.lb.example.test", source="127.0.0.3")
        after = self.ctl("status")
        m2 = re.search(r"datacenters: ams (\d+), fra (\d+), iad (\d+)", after)
        self.assertEqual(int(m2.group(3)) - int(m.group(3)), 3)
        self.assertEqual(m2.group(1), m.group(1))
        self.assertIn('"datacenters"', self.ctl("stats", "--json"))


class Metrics(GeoCase):
    """Answers per datacenter reach /metrics too."""
    extra = 'http = { listen = [ "127.0.0.1:0" ]; };'

    def metric(self, dc):
        port = self.srv.http_ports["127.0.0.1"]
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
            text = r.read().decode()
        m = re.search(r'^gslbd_datacenter_answers_total\{pool="([^"]+)",datacenter="%s"\} (\d+)$'
                      % dc, text, re.M)
        self.assertIsNotNone(m, text[:3000])
        return int(m.group(2))

    def test_metrics_count_datacenters(self):
        iad, ams = self.metric("iad"), self.metric("ams")
        for _ in range(3):
            ask(self.srv, "www.lb.example.test", source="127.0.0.3")
        self.assertEqual(self.metric("iad") - iad, 3)
        self.assertEqual(self.metric("ams"), ams)


class FallThrough(GeoCase):

    def set_down(self, *down):
        write_states(self.srv.path("states"), down)

    def tearDown(self):
        self.set_down()
        self.wait_answer(AMS, source="127.0.0.2")

    def test_datacenter_order_and_min_healthy(self):
        r = self.wait_answer(AMS, source="127.0.0.2")
        self.assertEqual(r.answer[0].ttl, 60)
        # ams has min_healthy 2: one member down takes all of ams out.
        self.set_down("192.0.2.1")
        r = self.wait_answer(FRA, source="127.0.0.2")
        self.assertEqual(r.answer[0].ttl, 7, "not the first choice: ttl_degraded")
        out = self.ctl("explain", "www.lb.example.test", "A", "--client", "127.0.0.2")
        self.assertIn("ams: 1 of 2 up, below min_healthy 2: skipped", out)
        self.assertIn("fra: 1 of 1 up, min_healthy 1: answers (not the first choice", out)
        # The American client's list is iad, ams: unaffected.
        r = self.wait_answer(IAD, source="127.0.0.3")
        self.assertEqual(r.answer[0].ttl, 60)
        self.set_down("192.0.2.1", "192.0.2.11")
        self.wait_answer(IAD, source="127.0.0.2")
        # A datacenter partly down but above its min_healthy: degraded TTL.
        self.set_down("198.51.100.12")
        r = self.wait_answer(["198.51.100.11"], source="127.0.0.3")
        self.assertEqual(r.answer[0].ttl, 7)

    def test_every_listed_datacenter_down_backup_answers(self):
        self.set_down("192.0.2.1", "198.51.100.11", "198.51.100.12")
        # america lists iad, ams only: both out -> the backup pool.
        r = self.wait_answer(DR, source="127.0.0.3")
        self.assertEqual(r.answer[0].ttl, 7)
        # europe still has fra.
        self.wait_answer(FRA, source="127.0.0.2")
        out = self.ctl("explain", "www.lb.example.test", "A", "--client", "127.0.0.3")
        self.assertIn("no listed datacenter has enough members up", out)
        self.assertIn("backup dr in force", out)


class SwitchedOff(GeoCase):
    extra = "edns_client_subnet = false;\n"

    def test_source_address_decides_scope_zero(self):
        a, _, ecs, _ = dig_answer(dig(self.srv, "www.lb.example.test", "+subnet=10.2.0.0/24",
                                      source="127.0.0.2"))
        self.assertEqual(a, AMS, "the source (europe) decides, not the option (america)")
        self.assertEqual(ecs, "10.2.0.0/24/0")


class Watch(GeoCase):

    def test_changed_file_swapped_broken_file_rejected(self):
        nets = self.srv.path("nets.txt")
        r = ask(self.srv, "www.lb.example.test", options=[dns.edns.ECSOption("10.3.0.0", 24)])
        self.assertEqual(addrs_of(r), IAD)
        start = self.srv.nlines()
        lost = 0
        with open(str(nets), "a") as f:
            f.write("10.3.0.0/16 europe\n")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                r = ask(self.srv, "www.lb.example.test",
                        options=[dns.edns.ECSOption("10.3.0.0", 24)])
            except dns.exception.Timeout:
                lost += 1
                continue
            if addrs_of(r) == AMS:
                break
        self.assertEqual(addrs_of(r), AMS, "the changed nets file answers")
        self.assertEqual(ecs_of(r).scopelen, 16)
        self.assertEqual(lost, 0, "no query lost while the map was swapped")
        self.srv.wait_for(lambda t: "reload done" in t, start, 5)
        # A broken file: the reload fails with the line, the old map answers.
        start = self.srv.nlines()
        with open(str(nets), "a") as f:
            f.write("10.4.0.0/33 europe\n")
        self.srv.wait_for(lambda t: "reload failed" in t, start, 5)
        self.assertIn("nets.txt:9:", self.srv.log(start))
        r = ask(self.srv, "www.lb.example.test", options=[dns.edns.ECSOption("10.3.0.0", 24)])
        self.assertEqual(addrs_of(r), AMS)


MMDB_NETS = """# NETWORK CONTINENT COUNTRY SUBDIVISION LAT LON
10.5.0.0/16 NA US CA 37.4 -122.1
10.6.0.0/16 NA US TX 30.3 -97.7
10.7.0.0/16 EU DE - 50.1 8.7
10.8.0.0/16 AS JP - 35.7 139.7
10.1.0.0/16 NA US CA 37.4 -122.1
10.10.0.0/16 - - - - -
2001:db8:7::/48 EU DE - 50.1 8.7
"""


def make_mmdb(path, family=None, nets=None):
    nets = nets or MMDB_NETS
    if family == "ipv4":
        nets = "".join(line for line in nets.splitlines(True) if ":" not in line)
    p = subprocess.run(["perl", str(HERE / "make_mmdb.pl"), str(path)] + ([family] if family else []),
                       input=nets.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    if p.returncode == 2:
        raise unittest.SkipTest(p.stderr.decode().strip())
    if p.returncode != 0:
        raise AssertionError("make_mmdb.pl: " + p.stderr.decode())


MMDB_ORDER = """geo_maps = ( { name = "world"; nets = "nets.txt"; geoip2 = "city.mmdb";
  datacenters = ( "ams", "fra", "iad", "sfo" );
  regions = ( { region = "europe"; datacenters = [ "ams" ]; },
              { region = "america"; datacenters = [ "iad" ]; },
              { region = "US/CA"; datacenters = [ "sfo", "iad" ]; },
              { region = "US"; datacenters = [ "iad", "sfo" ]; },
              { region = "EU"; datacenters = [ "fra", "ams" ]; } );
  default = [ "iad" ]; } );
"""

SFO_POOLS = POOLS.replace(
    '{ address = "2001:db8::1"; } );',
    '{ address = "2001:db8::1"; }, { address = "192.0.2.21"; } );').replace(
    '{ name = "iad"; members = [ "198.51.100.11", "198.51.100.12" ]; } ); },',
    '{ name = "iad"; members = [ "198.51.100.11", "198.51.100.12" ]; },\n'
    '                    { name = "sfo"; members = [ "192.0.2.21" ]; } ); },')


class MaxMindOrder(GeoCase):
    geo_map = MMDB_ORDER

    @classmethod
    def setUpClass(cls):
        tmp = Path(harness.tempfile.mkdtemp(prefix="gslbd-geo-"))
        try:
            make_mmdb(tmp / "city.mmdb")
            files = {"zone": ZONE, "nets.txt": NETS, "states": states(), "city.mmdb": tmp / "city.mmdb"}
            cls.srv = harness.start(config("", cls.geo_map, SFO_POOLS), v6=False, files=files)
        finally:
            shutil.rmtree(str(tmp), ignore_errors=True)

    def client(self, subnet):
        addr, bits = subnet.split("/")
        r = ask(self.srv, "www.lb.example.test", options=[dns.edns.ECSOption(addr, int(bits))])
        return addrs_of(r), ecs_of(r).scopelen

    def test_most_specific_region_wins(self):
        self.assertEqual(self.client("10.5.1.0/24"), (["192.0.2.21"], 16))  # US/CA: sfo
        self.assertEqual(self.client("10.6.1.0/24")[0], IAD)                # US: iad
        self.assertEqual(self.client("10.7.1.0/24")[0], FRA)                # EU: fra
        self.assertEqual(self.client("10.8.1.0/24")[0], IAD)                # JP, AS: default
        self.assertEqual(self.client("10.10.1.0/24")[0], IAD)               # a record without data
        self.assertEqual(self.client("2001:db8:7:1::/64"), (FRA, 48))       # IPv6 network

    def test_nets_file_wins_over_database(self):
        # 10.1.0.0/16 is US/CA in the database and "europe" in the nets file.
        self.assertEqual(self.client("10.1.1.0/24")[0], AMS)

    def test_ipv4_mapped_ipv6_subnet(self):
        self.assertEqual(self.client("::ffff:10.5.1.0/120")[0], ["192.0.2.21"])

    def test_replaced_database_swapped(self):
        """A new database file (renamed over the old, as updaters do) is
        compiled and swapped in by itself: Texas becomes California."""
        self.assertEqual(self.client("10.6.1.0/24")[0], IAD)
        db = self.srv.path("city.mmdb")
        tmp = Path(str(db) + ".new")
        make_mmdb(tmp, nets=MMDB_NETS.replace("NA US TX 30.3 -97.7", "NA US CA 37.4 -122.1"))
        start = self.srv.nlines()
        os.replace(str(tmp), str(db))
        try:
            deadline = time.monotonic() + 10
            while self.client("10.6.1.0/24")[0] != ["192.0.2.21"] and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertEqual(self.client("10.6.1.0/24")[0], ["192.0.2.21"])
            self.assertIn("city.mmdb changed", self.srv.log(start))
        finally:
            # The other tests of the class expect the first database.
            make_mmdb(tmp)
            os.replace(str(tmp), str(db))
            deadline = time.monotonic() + 10
            while self.client("10.6.1.0/24")[0] != IAD and time.monotonic() < deadline:
                time.sleep(0.1)

    def test_explain_names_the_source(self):
        out = self.ctl("explain", "www.lb.example.test", "A", "--ecs", "10.5.1.0/24")
        self.assertIn('region "US/CA" (GeoIP country/subdivision)', out)
        out = self.ctl("explain", "www.lb.example.test", "A", "--ecs", "10.7.1.0/24")
        self.assertIn('region "EU" (GeoIP continent)', out)


MMDB_NEAREST = """geo_maps = ( { name = "world"; nets = "nets.txt"; geoip2 = "city.mmdb"; mode = "nearest";
  datacenters = ( { name = "ams"; coordinates = [ 52.37, 4.89 ]; },
                  { name = "fra"; coordinates = [ 50.11, 8.68 ]; },
                  { name = "iad"; coordinates = [ 38.95, -77.45 ]; },
                  { name = "sfo"; coordinates = [ 37.62, -122.38 ]; } );
  regions = ( { region = "europe"; datacenters = [ "ams" ]; },
              { region = "america"; datacenters = [ "iad" ]; } );
  default = [ "iad" ]; } );
"""


class MaxMindNearest(MaxMindOrder):
    geo_map = MMDB_NEAREST

    def test_most_specific_region_wins(self):
        self.assertEqual(self.client("10.5.1.0/24")[0], ["192.0.2.21"])  # near San Francisco
        self.assertEqual(self.client("10.6.1.0/24")[0], IAD)             # Austin: iad before sfo
        self.assertEqual(self.client("10.7.1.0/24")[0], FRA)             # Frankfurt
        self.assertEqual(self.client("10.8.1.0/24")[0], ["192.0.2.21"])  # Tokyo: sfo nearest
        self.assertEqual(self.client("10.10.1.0/24")[0], IAD)            # no location: default

    def test_explain_names_the_source(self):
        out = self.ctl("explain", "www.lb.example.test", "A", "--ecs", "10.7.1.0/24")
        self.assertIn("datacenters in order: fra, ams, iad, sfo", out)
        self.assertIn("GeoIP location, nearest datacenters first", out)

    def test_nearest_falls_through_in_distance_order(self):
        p = self.srv.path("states")
        try:
            write_states(p, ("192.0.2.11",))
            deadline = time.monotonic() + 3
            while self.client("10.7.1.0/24")[0] != AMS and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertEqual(self.client("10.7.1.0/24")[0], AMS, "Frankfurt down: Amsterdam next")
        finally:
            write_states(p)
            deadline = time.monotonic() + 3
            while self.client("10.7.1.0/24")[0] != FRA and time.monotonic() < deadline:
                time.sleep(0.05)


class MaxMindIPv4Only(GeoCase):

    @classmethod
    def setUpClass(cls):
        tmp = Path(harness.tempfile.mkdtemp(prefix="gslbd-geo-"))
        try:
            make_mmdb(tmp / "city.mmdb", "ipv4")
            files = {"zone": ZONE, "nets.txt": NETS, "states": states(), "city.mmdb": tmp / "city.mmdb"}
            cls.srv = harness.start(config("", MMDB_ORDER, SFO_POOLS), v6=False, files=files)
        finally:
            shutil.rmtree(str(tmp), ignore_errors=True)

    def test_ipv4_database(self):
        r = ask(self.srv, "www.lb.example.test", options=[dns.edns.ECSOption("10.5.1.0", 24)])
        self.assertEqual(addrs_of(r), ["192.0.2.21"])
        self.assertEqual(ecs_of(r).scopelen, 16)
        r = ask(self.srv, "www.lb.example.test", options=[dns.edns.ECSOption("10.7.1.0", 24)])
        self.assertEqual(addrs_of(r), FRA)
        # No IPv6 in an IPv4 database: the default.
        r = ask(self.srv, "www.lb.example.test",
                options=[dns.edns.ECSOption("2001:db8:7::", 48)])
        self.assertEqual(addrs_of(r), IAD)


if __name__ == "__main__":
    unittest.main()
