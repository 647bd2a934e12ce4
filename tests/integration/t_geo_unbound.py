#!/usr/bin/python3
"""End to end through a real resolver: Unbound (Debian package) with its
subnetcache module sends each client's address as EDNS Client Subnet to
gslbd (a stub zone on loopback); clients on 127.0.0.2 and 127.0.0.3 get their
own datacenter through it, each cached apart (gslbd's scope /32), and when
one datacenter's backends die its clients move to the next datacenter of
their list. Unbound runs as this test's own process, stopped by PID."""

import os
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

import dns.message  # noqa: E402
import dns.query  # noqa: E402

UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"

ZONE = """$ORIGIN lb.example.test.
$TTL 300
@ IN SOA ns1 hostmaster 1 3600 600 86400 60
@ IN NS ns1
ns1 IN A 127.0.0.1
"""

NETS = """127.0.0.2/32 europe
127.0.0.3/32 america
"""

AMS, IAD = ["192.0.2.1"], ["198.51.100.11"]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThroughUnbound(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if not os.access(UNBOUND, os.X_OK):
            harness.note_skip("ThroughUnbound", "unbound not installed (Debian: unbound)")
            raise unittest.SkipTest("unbound not installed")
        cls.ams = B.TCPBackend()
        cls.iad = B.TCPBackend()
        conf = """listen = [ "127.0.0.1:0" ];
zones = ( { origin = "lb.example.test"; file = "zone"; } );
geo_maps = ( { name = "world"; nets = "nets.txt"; datacenters = ( "ams", "iad" );
  regions = ( { region = "europe"; datacenters = [ "ams", "iad" ]; },
              { region = "america"; datacenters = [ "iad", "ams" ]; } ); } );
checks = ( { name = "tcp"; type = "tcp"; interval = 0.2; timeout = 0.2; rise = 1; fall = 1; } );
pools = ( { name = "web"; owners = [ "www.lb.example.test" ]; policy = "geo";
  geo_map = "world"; ttl = 1; ttl_degraded = 1; check = "tcp";
  members = ( { address = "192.0.2.1"; probe_address = "127.0.0.1"; port = %d; },
              { address = "198.51.100.11"; probe_address = "127.0.0.1"; port = %d; } );
  datacenters = ( { name = "ams"; members = [ "192.0.2.1" ]; },
                  { name = "iad"; members = [ "198.51.100.11" ]; } ); } );
""" % (cls.ams.port, cls.iad.port)
        cls.srv = harness.start(conf, v6=False, files={"zone": ZONE, "nets.txt": NETS})
        cls.tmp = Path(tempfile.mkdtemp(prefix="gslbd-unbound-"))
        cls.unbound = None
        try:
            cls.start_unbound()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def start_unbound(cls):
        for _attempt in range(3):
            cls.port = free_port()
            (cls.tmp / "unbound.conf").write_text("""server:
  interface: 127.0.0.1
  port: %d
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "%s"
  pidfile: ""
  use-syslog: no
  logfile: "%s/unbound.log"
  verbosity: 1
  do-ip6: no
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  qname-minimisation: no
  module-config: "subnetcache iterator"
  send-client-subnet: 127.0.0.1
  client-subnet-always-forward: yes
  max-client-subnet-ipv4: 32
  num-threads: 1
  # "test." is one of the names Unbound answers itself (RFC 6761): not here.
  local-zone: "test." nodefault
stub-zone:
  name: "lb.example.test"
  stub-addr: 127.0.0.1@%d
remote-control:
  control-enable: no
""" % (cls.port, cls.tmp, cls.tmp, cls.srv.port))
            cls.unbound = subprocess.Popen([UNBOUND, "-d", "-c", str(cls.tmp / "unbound.conf")],
                                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and cls.unbound.poll() is None:
                try:
                    q = dns.message.make_query("www.lb.example.test", "A")
                    dns.query.udp(q, "127.0.0.1", port=cls.port, timeout=0.5)
                    return
                except (OSError, dns.exception.Timeout):
                    time.sleep(0.1)
            cls.stop_unbound()
        log = cls.tmp / "unbound.log"
        raise AssertionError("unbound did not start:\n" + (log.read_text() if log.exists() else ""))

    @classmethod
    def stop_unbound(cls):
        if cls.unbound and cls.unbound.poll() is None:
            cls.unbound.terminate()
            try:
                cls.unbound.wait(5)
            except subprocess.TimeoutExpired:
                cls.unbound.kill()
                cls.unbound.wait(5)
        cls.unbound = None

    @classmethod
    def tearDownClass(cls):
        cls.stop_unbound()
        for attr in ("srv",):
            if getattr(cls, attr, None):
                getattr(cls, attr).stop()
        for be in (getattr(cls, "ams", None), getattr(cls, "iad", None)):
            if be:
                be.stop()
        if getattr(cls, "tmp", None) and not os.environ.get("KEEP_TMP"):
            shutil.rmtree(str(cls.tmp), ignore_errors=True)

    def resolve(self, source):
        q = dns.message.make_query("www.lb.example.test", "A")
        r = dns.query.udp(q, "127.0.0.1", port=self.port, timeout=3, source=source)
        return sorted(rd.address for rs in r.answer for rd in rs)

    def until(self, source, want, timeout):
        deadline = time.monotonic() + timeout
        got = None
        while time.monotonic() < deadline:
            got = self.resolve(source)
            if got == want:
                return
            time.sleep(0.1)
        self.fail("%s: %s through unbound after %.0f s, wanted %s" % (source, got, timeout, want))

    def test_each_client_its_datacenter_and_failover(self):
        # Both backends must be seen up first (rise 1, interval 0.2 s).
        self.until("127.0.0.2", AMS, 5)
        self.until("127.0.0.3", IAD, 5)
        # Cached apart: asking again in turn keeps each client's answer.
        for _ in range(3):
            self.assertEqual(self.resolve("127.0.0.2"), AMS)
            self.assertEqual(self.resolve("127.0.0.3"), IAD)
        # Amsterdam's backends die: its clients move to iad once the probe
        # sees it (0.4 s) and the resolver's copy expires (ttl 1).
        self.ams.stop()
        self.until("127.0.0.2", IAD, 8)
        self.assertEqual(self.resolve("127.0.0.3"), IAD)
        # Back up: back home.
        self.ams.start()
        self.until("127.0.0.2", AMS, 8)


if __name__ == "__main__":
    unittest.main()
