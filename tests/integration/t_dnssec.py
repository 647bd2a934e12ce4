#!/usr/bin/python3
"""DNSSEC, checked by real validators: a local chain of trust.

The parent zone example.test is signed with ldns-signzone and served by NSD;
it holds the DS records of two zones gslbd serves and signs itself:
lb.example.test (ECDSA P-256, a KSK and a ZSK; pools with health checks) and
ed.example.test (one Ed25519 key). Unbound resolves through both with the
parent's DS as its trust anchor (stub zones on loopback ports), and delv
validates on its own through Unbound. Every answer must be "secure" (AD from
Unbound, "fully validated" from delv), never bogus (SERVFAIL).

Also here: DO=0 answers carry no DNSSEC records, DNSKEY/CDS at the apex, TC
when a signed answer does not fit, key file errors, the pool-size limit,
and re-signing before expiry with a short validity."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))
import backends as B  # noqa: E402
import harness  # noqa: E402

import dns.dnssec  # noqa: E402
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402

TOOLS = ["ldns-keygen", "ldns-signzone", "ldns-key2ds", "nsd", "unbound", "delv"]
TOOL_PATHS = {t: shutil.which(t) or shutil.which(t, path="/usr/sbin:/usr/bin:/sbin:/bin")
              for t in TOOLS}

LB_ZONE = """$ORIGIN lb.example.test.
$TTL 300
@ IN SOA ns1 hostmaster 1 3600 600 86400 60
@ NS ns1
ns1 A 127.0.0.1
static A 192.0.2.99
txt TXT "hello"
*.w A 192.0.2.77
*.w TXT "wild"
alias CNAME www
a.b.ent A 192.0.2.5
big TXT "%s"
big TXT "%s"
big TXT "%s"
secure NS ns.secure
ns.secure A 192.0.2.53
secure DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
insecure NS ns.insecure
ns.insecure A 192.0.2.54
""" % ("a" * 200, "b" * 200, "c" * 200)

ED_ZONE = """$ORIGIN ed.example.test.
$TTL 300
@ IN SOA ns1 hostmaster 1 3600 600 86400 60
@ NS ns1
ns1 A 127.0.0.1
host A 192.0.2.150
"""

PARENT_ZONE = """$ORIGIN example.test.
$TTL 300
@ IN SOA ns hostmaster 1 3600 600 86400 60
@ NS ns
ns A 127.0.0.1
lb NS ns1.lb
ns1.lb A 127.0.0.1
ed NS ns1.ed
ns1.ed A 127.0.0.1
"""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(directory, zone, alg, ksk):
    cmd = [TOOL_PATHS["ldns-keygen"], "-a", alg] + (["-k"] if ksk else []) + [zone]
    out = subprocess.run(cmd, cwd=str(directory), capture_output=True, text=True, timeout=30,
                         check=True)
    return out.stdout.strip()  # the base name, Kzone.+alg+tag


def ds_of(directory, base):
    out = subprocess.run([TOOL_PATHS["ldns-key2ds"], "-n", "-2", base + ".key"],
                         cwd=str(directory), capture_output=True, text=True, timeout=30,
                         check=True)
    return out.stdout.strip()


def wait_answering(port, name, timeout=20.0 * harness.SLOW):
    deadline = time.monotonic() + timeout
    q = dns.message.make_query(name, "SOA")
    while time.monotonic() < deadline:
        try:
            dns.query.udp(q, "127.0.0.1", port=port, timeout=0.5)
            return True
        except Exception:  # noqa: BLE001 (not up yet)
            time.sleep(0.1)
    return False


class Chain(unittest.TestCase):
    """The chain of trust example.test -> lb/ed.example.test, validated."""

    @classmethod
    def setUpClass(cls):
        missing = [t for t, p in TOOL_PATHS.items() if not p]
        if missing:
            harness.note_skip("Chain", "missing " + ", ".join(missing))
            raise unittest.SkipTest("missing " + ", ".join(missing))
        cls.procs = []
        cls.srv = None
        cls.backends = []
        cls.tmp = Path(tempfile.mkdtemp(prefix="gslbd-dnssec-"))
        try:
            cls._setup()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def _setup(cls):
        d = cls.tmp
        lb_ksk = keygen(d, "lb.example.test", "ECDSAP256SHA256", True)
        lb_zsk = keygen(d, "lb.example.test", "ECDSAP256SHA256", False)
        ed_key = keygen(d, "ed.example.test", "ED25519", True)
        p_ksk = keygen(d, "example.test", "ECDSAP256SHA256", True)
        p_zsk = keygen(d, "example.test", "ECDSAP256SHA256", False)
        cls.a = B.TCPBackend()
        cls.b = B.TCPBackend()
        cls.backends = [cls.a, cls.b]
        files = {"lb.zone": LB_ZONE, "ed.zone": ED_ZONE}
        for base in (lb_ksk, lb_zsk, ed_key):
            for ext in (".key", ".private"):
                files["keys/" + base + ext] = d / (base + ext)
        conf = """
listen = [ "127.0.0.1:0" ];
threads = 2;
zones = (
  { origin = "lb.example.test"; file = "lb.zone";
    dnssec = { keys = [ "keys/%s", "keys/%s" ]; }; },
  { origin = "ed.example.test"; file = "ed.zone";
    dnssec = { keys = [ "keys/%s" ]; }; }
);
checks = ( { name = "tcp"; type = "tcp"; interval = 0.1; timeout = 0.1; rise = 1; fall = 1; } );
pools = (
  { name = "web"; owners = [ "www.lb.example.test" ]; ttl = 1; ttl_degraded = 1;
    check = "tcp";
    members = ( { address = "192.0.2.1"; probe_address = "127.0.0.1"; port = %d; },
                { address = "192.0.2.2"; probe_address = "127.0.0.1"; port = %d; } ); }
);
""" % (lb_ksk, lb_zsk, ed_key, cls.a.port, cls.b.port)
        cls.srv = harness.start(conf, files=files, v6=False)
        gport = cls.srv.port
        cls.gport = gport
        # The parent: DS of both children, signed, served by NSD.
        parent = PARENT_ZONE + ds_of(d, lb_ksk) + "\n" + ds_of(d, ed_key) + "\n"
        (d / "example.test.zone").write_text(parent)
        subprocess.run([TOOL_PATHS["ldns-signzone"], "-f", str(d / "example.test.signed"),
                        str(d / "example.test.zone"), p_ksk, p_zsk], cwd=str(d), check=True,
                       capture_output=True, timeout=30)
        cls.nport = free_port()
        (d / "nsd.conf").write_text("""server:
  ip-address: 127.0.0.1@{port}
  username: ""
  chroot: ""
  zonesdir: "{d}"
  pidfile: "{d}/nsd.pid"
  xfrdfile: "{d}/xfrd.state"
  zonelistfile: "{d}/zone.list"
  database: ""
  logfile: "{d}/nsd.log"
  server-count: 1
  verbosity: 1
remote-control:
  control-enable: no
zone:
  name: "example.test"
  zonefile: "{d}/example.test.signed"
""".format(port=cls.nport, d=d))
        cls.procs.append(subprocess.Popen([TOOL_PATHS["nsd"], "-d", "-c", str(d / "nsd.conf")],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        if not wait_answering(cls.nport, "example.test"):
            raise RuntimeError("nsd did not answer: " + (d / "nsd.log").read_text()
                               if (d / "nsd.log").exists() else "nsd did not answer")
        cls.anchor_ds = ds_of(d, p_ksk)
        cls.uport = free_port()
        (d / "unbound.conf").write_text("""server:
  interface: 127.0.0.1@{uport}
  port: {uport}
  do-not-query-localhost: no
  username: ""
  chroot: ""
  directory: "{d}"
  pidfile: ""
  use-syslog: no
  logfile: "{d}/unbound.log"
  verbosity: 1
  val-log-level: 2
  module-config: "validator iterator"
  trust-anchor: "{anchor}"
  cache-max-ttl: 1
  cache-max-negative-ttl: 1
  qname-minimisation: no
  harden-referral-path: no
  access-control: 127.0.0.0/8 allow
  local-zone: "test." nodefault
  num-threads: 1
  so-reuseport: no
stub-zone:
  name: "example.test"
  stub-addr: 127.0.0.1@{nport}
stub-zone:
  name: "lb.example.test"
  stub-addr: 127.0.0.1@{gport}
stub-zone:
  name: "ed.example.test"
  stub-addr: 127.0.0.1@{gport}
""".format(uport=cls.uport, nport=cls.nport, gport=gport, d=d, anchor=cls.anchor_ds))
        cls.procs.append(subprocess.Popen(["unbound", "-d", "-c", str(d / "unbound.conf")],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        if not wait_answering(cls.uport, "example.test"):
            raise RuntimeError("unbound did not answer")
        parts = cls.anchor_ds.split()
        (d / "anchor.conf").write_text('trust-anchors {\n  %s static-ds %s %s %s "%s";\n};\n'
                                       % (parts[0], parts[4], parts[5], parts[6],
                                          "".join(parts[7:])))

    @classmethod
    def tearDownClass(cls):
        for p in getattr(cls, "procs", []):
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        for be in getattr(cls, "backends", []):
            be.stop()
        if getattr(cls, "srv", None):
            cls.srv.stop()
        if os.environ.get("KEEP_TMP"):
            sys.stderr.write("kept %s\n" % cls.tmp)
        else:
            shutil.rmtree(str(cls.tmp), ignore_errors=True)

    # -- helpers

    def validated(self, name, rdtype="A"):
        """Ask Unbound (DO, AD wanted): the response."""
        q = dns.message.make_query(name, rdtype, want_dnssec=True)
        q.flags |= dns.flags.AD
        return dns.query.udp(q, "127.0.0.1", port=self.uport, timeout=5)

    def assertSecure(self, name, rdtype="A", rcode=dns.rcode.NOERROR):
        r = self.validated(name, rdtype)
        log = (self.tmp / "unbound.log").read_text() if (self.tmp / "unbound.log").exists() else ""
        self.assertEqual(r.rcode(), rcode, "%s %s: rcode %s (bogus is SERVFAIL); unbound log:\n%s"
                         % (name, rdtype, dns.rcode.to_text(r.rcode()), log[-3000:]))
        self.assertTrue(r.flags & dns.flags.AD, "%s %s: not validated as secure: %s"
                        % (name, rdtype, r))
        return r

    def delv(self, name, rdtype="A"):
        out = subprocess.run(["delv", "@127.0.0.1", "-p", str(self.uport), "-a",
                              str(self.tmp / "anchor.conf"), "+root=example.test", name, rdtype],
                             capture_output=True, text=True, timeout=30)
        return out.stdout + out.stderr

    def assertDelvSecure(self, name, rdtype="A", negative=False):
        text = self.delv(name, rdtype)
        want = "; negative response, fully validated" if negative else "; fully validated"
        self.assertIn(want, text, "delv %s %s:\n%s" % (name, rdtype, text))
        self.assertNotIn("bogus", text.lower())
        return text

    def addrs(self, r):
        return sorted(x.address for rr in r.answer if rr.rdtype == dns.rdatatype.A for x in rr)

    # -- the tests

    def test_pool_answer_secure(self):
        r = self.assertSecure("www.lb.example.test")
        self.assertTrue(self.addrs(r))
        self.assertDelvSecure("www.lb.example.test")

    def test_static_answers_secure(self):
        self.assertSecure("static.lb.example.test")
        self.assertSecure("txt.lb.example.test", "TXT")
        self.assertDelvSecure("static.lb.example.test")
        self.assertSecure("lb.example.test", "DNSKEY")

    def test_nxdomain_secure(self):
        self.assertSecure("nothere.lb.example.test", "A", dns.rcode.NXDOMAIN)
        self.assertSecure("zzz.b.ent.lb.example.test", "A", dns.rcode.NXDOMAIN)
        self.assertDelvSecure("nothere.lb.example.test", negative=True)

    def test_nodata_secure(self):
        r = self.assertSecure("static.lb.example.test", "AAAA")
        self.assertFalse(r.answer)
        self.assertSecure("ent.lb.example.test", "A")      # empty non-terminal
        self.assertSecure("www.lb.example.test", "TXT")    # a pool owner's other types
        self.assertDelvSecure("static.lb.example.test", "AAAA", negative=True)

    def test_wildcard_secure(self):
        r = self.assertSecure("x.w.lb.example.test")
        self.assertEqual(self.addrs(r), ["192.0.2.77"])
        self.assertSecure("y.z.w.lb.example.test", "TXT")
        self.assertSecure("x.w.lb.example.test", "MX")     # wildcard NODATA
        self.assertDelvSecure("q.w.lb.example.test")

    def test_cname_into_pool_secure(self):
        r = self.assertSecure("alias.lb.example.test")
        self.assertTrue(self.addrs(r))
        self.assertDelvSecure("alias.lb.example.test")

    def test_delegations_secure(self):
        r = self.assertSecure("secure.lb.example.test", "DS")
        self.assertTrue(r.answer, "the DS of a signed delegation")
        r = self.assertSecure("insecure.lb.example.test", "DS")
        self.assertFalse(r.answer, "no DS: the NSEC proves it")
        self.assertDelvSecure("secure.lb.example.test", "DS")
        self.assertDelvSecure("insecure.lb.example.test", "DS", negative=True)

    def test_ed25519_zone_secure(self):
        self.assertSecure("host.ed.example.test")
        self.assertSecure("nope.ed.example.test", "A", dns.rcode.NXDOMAIN)
        self.assertDelvSecure("host.ed.example.test")

    def test_zz_backend_dies_new_set_secure(self):
        r = self.assertSecure("www.lb.example.test")
        self.assertEqual(self.addrs(r), ["192.0.2.1", "192.0.2.2"])
        self.a.stop()
        try:
            deadline = time.monotonic() + 5 * harness.SLOW
            seen = None
            while time.monotonic() < deadline:
                r = self.assertSecure("www.lb.example.test")  # secure at every step
                seen = self.addrs(r)
                if seen == ["192.0.2.2"]:
                    break
                time.sleep(0.2)
            self.assertEqual(seen, ["192.0.2.2"], "the dead member left the signed answer")
            self.assertDelvSecure("www.lb.example.test")
        finally:
            self.a.start()


class Server(unittest.TestCase):
    """gslbd alone: what DO=0 and DO=1 clients get."""

    @classmethod
    def setUpClass(cls):
        if not TOOL_PATHS["ldns-keygen"]:
            harness.note_skip("Server", "missing ldns-keygen")
            raise unittest.SkipTest("missing ldns-keygen")
        cls.tmp = Path(tempfile.mkdtemp(prefix="gslbd-dnssec-"))
        cls.key = keygen(cls.tmp, "lb.example.test", "ECDSAP256SHA256", True)
        cls.files = {"lb.zone": LB_ZONE}
        for ext in (".key", ".private"):
            cls.files["keys/" + cls.key + ext] = cls.tmp / (cls.key + ext)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(str(cls.tmp), ignore_errors=True)

    def conf(self, dnssec_extra="", pools=None):
        return """
listen = [ "127.0.0.1:0" ];
zones = ( { origin = "lb.example.test"; file = "lb.zone";
            dnssec = { keys = [ "keys/%s" ]; %s }; } );
pools = ( %s );
""" % (self.key, dnssec_extra, pools or """{ name = "web"; owners = [ "www.lb.example.test" ];
    answers = 2; members = ( { address = "192.0.2.1"; }, { address = "192.0.2.2"; },
    { address = "192.0.2.3"; } ); }""")

    def ask(self, srv, name, rdtype="A", do=True, payload=1232, tcp=False):
        q = dns.message.make_query(name, rdtype, want_dnssec=do, use_edns=0, payload=payload)
        q.flags |= dns.flags.AD | dns.flags.CD
        return srv.send(q, tcp=tcp)

    def types(self, r, section="answer"):
        return sorted({dns.rdatatype.to_text(rr.rdtype) for rr in getattr(r, section)})

    def test_do0_unchanged_do1_signed(self):
        with harness.start(self.conf(), files=self.files, v6=False) as srv:
            r = self.ask(srv, "www.lb.example.test", do=False)
            self.assertEqual(self.types(r), ["A"])
            self.assertEqual(len(r.answer[0]), 2)
            r = self.ask(srv, "www.lb.example.test", do=True)
            self.assertEqual(self.types(r), ["A", "RRSIG"])
            self.assertFalse(r.flags & dns.flags.AD, "an authoritative server never sets AD")
            self.assertTrue(r.flags & dns.flags.CD, "CD copied")
            r = self.ask(srv, "nx.lb.example.test", do=False)
            self.assertEqual(self.types(r, "authority"), ["SOA"])
            r = self.ask(srv, "nx.lb.example.test", do=True)
            self.assertEqual(self.types(r, "authority"), ["NSEC", "RRSIG", "SOA"])
            # Every set of 2 of the 3 members was signed ahead: any rotation validates.
            seen = set()
            for _ in range(12):
                r = self.ask(srv, "www.lb.example.test")
                self.assertEqual(self.types(r), ["A", "RRSIG"])
                seen.add(tuple(sorted(x.address for x in r.answer[0])))
            self.assertGreater(len(seen), 1)

    def test_apex_dnskey_cds(self):
        with harness.start(self.conf(), files=self.files, v6=False) as srv:
            r = self.ask(srv, "lb.example.test", "DNSKEY")
            self.assertIn("DNSKEY", self.types(r))
            r = self.ask(srv, "lb.example.test", "CDS", do=False)
            self.assertEqual(self.types(r), ["CDS"])
            r = self.ask(srv, "lb.example.test", "CDNSKEY", do=False)
            self.assertEqual(self.types(r), ["CDNSKEY"])

    def test_tc_when_signed_answer_does_not_fit(self):
        with harness.start(self.conf(), files=self.files, v6=False) as srv:
            r = self.ask(srv, "big.lb.example.test", "TXT", payload=512)
            self.assertTrue(r.flags & dns.flags.TC)
            r = self.ask(srv, "big.lb.example.test", "TXT", tcp=True)
            self.assertFalse(r.flags & dns.flags.TC)
            self.assertEqual(self.types(r), ["RRSIG", "TXT"])

    def test_resign_before_expiry(self):
        """validity 8 s, refresh 5 s: a new set of signatures within 3 s + the build."""
        with harness.start(self.conf("validity = 8; refresh = 5; inception = 60;"),
                           files=self.files, v6=False) as srv:
            def expiry():
                r = self.ask(srv, "static.lb.example.test")
                sigs = [x for rr in r.answer if rr.rdtype == dns.rdatatype.RRSIG for x in rr]
                self.assertTrue(sigs)
                return sigs[0].expiration, sigs[0].inception
            e0, i0 = expiry()
            now = time.time()
            self.assertLessEqual(abs(e0 - (now + 8)), 3, "expiration: signing time + validity")
            self.assertLessEqual(abs(i0 - (now - 60)), 3, "inception: 60 s before")
            deadline = time.monotonic() + 10 * harness.SLOW
            e1 = e0
            while time.monotonic() < deadline and e1 == e0:
                time.sleep(0.2)
                e1, _ = expiry()
            self.assertGreater(e1, e0, "signed again before the signatures expired")
            self.assertGreater(e0, time.time() - 0.5, "... and before the old ones ran out")

    def test_zsk_rollover_by_prepublication(self):
        """publish = a key in the DNSKEY RRset that does not sign; a reload moves it."""
        zsk = keygen(self.tmp, "lb.example.test", "ECDSAP256SHA256", False)
        files = dict(self.files)
        for ext in (".key", ".private"):
            files["keys/" + zsk + ext] = self.tmp / (zsk + ext)
        ksk_tag, zsk_tag = int(self.key.split("+")[-1]), int(zsk.split("+")[-1])

        def conf(keys, publish):
            return self.conf().replace('keys = [ "keys/%s" ];' % self.key,
                                       "keys = [ %s ]; publish = [ %s ];" % (
                                           ", ".join('"keys/%s"' % k for k in keys),
                                           ", ".join('"keys/%s"' % k for k in publish)))

        def state(srv):
            r = self.ask(srv, "lb.example.test", "DNSKEY")
            tags = sorted(dns.dnssec.key_id(k) for rr in r.answer
                          if rr.rdtype == dns.rdatatype.DNSKEY for k in rr)
            r = self.ask(srv, "static.lb.example.test")
            signers = sorted(x.key_tag for rr in r.answer
                             if rr.rdtype == dns.rdatatype.RRSIG for x in rr)
            return tags, signers

        with harness.start(conf([self.key], [zsk]), files=files, v6=False) as srv:
            self.assertEqual(state(srv), (sorted([ksk_tag, zsk_tag]), [ksk_tag]),
                             "the new ZSK is published, the KSK alone signs")
            srv.write_conf(conf([self.key, zsk], []))
            self.assertEqual(srv.reload()[0], "done")
            self.assertEqual(state(srv), (sorted([ksk_tag, zsk_tag]), [zsk_tag]),
                             "after the reload the ZSK signs the zone's data")
            r = self.ask(srv, "lb.example.test", "DNSKEY")
            signers = [x.key_tag for rr in r.answer if rr.rdtype == dns.rdatatype.RRSIG for x in rr]
            self.assertEqual(signers, [ksk_tag], "the KSK signs the DNSKEY RRset")

    def test_dump_verifies_with_ldns_verify_zone(self):
        verify = shutil.which("ldns-verify-zone")
        if not verify:
            harness.note_skip("Server.test_dump_verifies_with_ldns_verify_zone",
                              "missing ldns-verify-zone")
            self.skipTest("missing ldns-verify-zone")
        d = Path(tempfile.mkdtemp(prefix="gslbd-dnssec-"))
        try:
            for name, src in self.files.items():
                p = d / name
                p.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(str(src), str(p)) if isinstance(src, Path) else p.write_text(src)
            (d / "gslbd.conf").write_text(self.conf())
            rc, out, err = harness.run(["-c", str(d / "gslbd.conf"), "--dump-signed",
                                        "lb.example.test"])
            self.assertEqual(rc, 0, err)
            (d / "signed.zone").write_text(out)
            for t in ("SOA", "NSEC", "DNSKEY", "CDS", "RRSIG"):
                self.assertRegex(out, r"\s%s\s" % t)
            self.assertRegex(out, r"www\.lb\.example\.test\.\s+\d+\s+IN\s+A\s")
            v = subprocess.run([verify, str(d / "signed.zone")], capture_output=True, text=True,
                               timeout=60)
            self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
            # The check can fail: the chain without one NSEC is not complete.
            broken = "\n".join(l for l in out.splitlines()
                               if not re.match(r"static\.lb\.example\.test\.\s.*\sNSEC\s", l))
            (d / "broken.zone").write_text(broken + "\n")
            v = subprocess.run([verify, str(d / "broken.zone")], capture_output=True, text=True,
                               timeout=60)
            self.assertNotEqual(v.returncode, 0)
            rc, _, err = harness.run(["-c", str(d / "gslbd.conf"), "--dump-signed", "other.test"])
            self.assertEqual(rc, 1)
            self.assertIn('no signed zone "other.test"', err)
        finally:
            shutil.rmtree(str(d), ignore_errors=True)

    def test_status_shows_signatures(self):
        gslbctl = os.environ.get("GSLBCTL") or str(harness.REPO / "src" / "gslbctl")
        conf = self.conf("validity = 86400; inception = 600;") + \
            'control = { socket = "ctl.sock"; };\n'
        with harness.start(conf, files=self.files, v6=False) as srv:
            out = subprocess.run([gslbctl, "-c", str(srv.conf_path), "status", "--json"],
                                 capture_output=True, text=True, timeout=10)
            self.assertEqual(out.returncode, 0, out.stderr)
            z = json.loads(out.stdout)["dnssec"]
            self.assertEqual([x["zone"] for x in z], ["lb.example.test"])
            self.assertGreater(z[0]["nsec_names"], 5)
            self.assertTrue(z[0]["expiration"] > z[0]["resign_at"] > z[0]["inception"])
            out = subprocess.run([gslbctl, "-c", str(srv.conf_path), "status"],
                                 capture_output=True, text=True, timeout=10)
            self.assertRegex(out.stdout, r"zone lb.example.test: signed, signatures from \S+ "
                             r"to \S+, signed again at \S+")

    def test_nodata_last_resort_servfail_for_do(self):
        """A pool in its `nodata` last resort: NODATA for DO=0; SERVFAIL, never an
        unprovable NODATA, for DO=1."""
        with socket.socket() as s:  # a port nothing listens on: the member is down
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        pools = ('{ name = "web"; owners = [ "www.lb.example.test" ]; check = "tcp"; '
                 'last_resort = "nodata"; members = ( { address = "192.0.2.1"; '
                 'probe_address = "127.0.0.1"; port = %d; } ); }' % port)
        conf = self.conf(pools=pools) + ('checks = ( { name = "tcp"; type = "tcp"; '
                                         'interval = 0.1; timeout = 0.1; rise = 1; fall = 1; '
                                         'initial = "down"; } );\n')
        with harness.start(conf, files=self.files, v6=False) as srv:
            deadline = time.monotonic() + 5 * harness.SLOW
            r = self.ask(srv, "www.lb.example.test", do=False)
            while r.answer and time.monotonic() < deadline:
                time.sleep(0.1)
                r = self.ask(srv, "www.lb.example.test", do=False)
            self.assertEqual((r.rcode(), r.answer), (dns.rcode.NOERROR, []), "DO=0: NODATA")
            r = self.ask(srv, "www.lb.example.test", do=True)
            self.assertEqual(r.rcode(), dns.rcode.SERVFAIL, "DO=1: SERVFAIL")
            self.assertEqual(r.answer, [])

    def test_pool_too_large_refused(self):
        members = ", ".join('{ address = "192.0.2.%d"; }' % i for i in range(1, 14))
        conf = self.conf(pools='{ name = "big"; owners = [ "www.lb.example.test" ]; '
                               'members = ( %s ); }' % members)
        d = Path(tempfile.mkdtemp(prefix="gslbd-dnssec-"))
        try:
            for name, src in self.files.items():
                p = d / name
                p.parent.mkdir(parents=True, exist_ok=True)
                if isinstance(src, Path):
                    shutil.copy(str(src), str(p))
                else:
                    p.write_text(src)
            (d / "gslbd.conf").write_text(conf)
            rc, err = harness.run_check(d / "gslbd.conf")
            self.assertNotEqual(rc, 0)
            self.assertIn("more than 4096 possible A answer sets", err)
        finally:
            shutil.rmtree(str(d), ignore_errors=True)

    def test_bad_key_file_named(self):
        d = Path(tempfile.mkdtemp(prefix="gslbd-dnssec-"))
        try:
            (d / "lb.zone").write_text(LB_ZONE)
            (d / "keys").mkdir()
            shutil.copy(str(self.tmp / (self.key + ".key")), str(d / "keys"))
            (d / "keys" / (self.key + ".private")).write_text(
                "Private-key-format: v1.2\nAlgorithm: 13 (ECDSAP256SHA256)\nPrivateKey: !!!\n")
            (d / "gslbd.conf").write_text(self.conf())
            rc, err = harness.run_check(d / "gslbd.conf")
            self.assertNotEqual(rc, 0)
            self.assertRegex(err, r"gslbd\.conf:\d+: zones\[0\]\.dnssec\.keys: .*"
                             + re.escape(self.key) + r"\.private")
            (d / "keys" / (self.key + ".private")).unlink()
            rc, err = harness.run_check(d / "gslbd.conf")
            self.assertNotEqual(rc, 0)
            self.assertIn("cannot open", err)
        finally:
            shutil.rmtree(str(d), ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
