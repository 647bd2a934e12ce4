#!/usr/bin/python3
"""Any-address listeners ("0.0.0.0:PORT", "[::]:PORT"): every UDP reply
leaves from the address the query was sent to, so a client that accepts
replies only from the address it asked (a connected UDP socket: the kernel
drops datagrams from any other source) gets every answer; also for a batch
of queries to different addresses that one recvmmsg takes in; TCP too.

Linux answers the whole of 127.0.0.0/8 on lo, so 127.0.0.2 and others are
destinations on the same wildcard socket whose replies, without
IP_PKTINFO, would leave from 127.0.0.1.  For IPv6 there is only ::1 on lo;
when the test may (root, unshare(CLONE_NEWNET), iproute2) it runs in a
private network namespace of its own, brings lo up there and gives it two
more addresses (2001:db8:53::1 and ::2), which vanish with the process.
Nothing outside loopback is contacted either way.

By default (listen_host_addresses) an any-address listener's UDP port is
also bound to each address the host has at start-up, so 127.0.0.1, ::1 and
the namespace's extra addresses are answered by those sockets, and the
rest of 127.0.0.0/8 (and addresses added later) by the any-address socket
with IP_PKTINFO; every class runs a second time with the setting off, where
every query takes the IP_PKTINFO path."""

import collections
import ctypes
import ctypes.util
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from harness import make_query  # noqa: E402

import dns.message  # noqa: E402
import dns.rcode  # noqa: E402

CONF = """
zones = ( { origin = "any.test"; file = "any.test.zone"; } );
"""
ZONE = """$ORIGIN any.test.
$TTL 300
@       IN SOA ns.any.test. hostmaster.any.test. 1 3600 600 86400 60
        IN NS  ns
ns      IN A   192.0.2.1
www     IN A   198.51.100.7
"""
FILES = {"any.test.zone": ZONE}
QNAME = "www.any.test."

# The client's own address: not one of the destinations below, so a reply
# from a wildcard socket without IP_PKTINFO (the kernel's choice of source
# for 127.0.0.1 is 127.0.0.1) is dropped by the client for every
# destination but 127.0.0.1.
V4_CLIENT = "127.0.0.1"
V4_DESTS = ["127.0.0.1", "127.0.0.2", "127.0.0.53", "127.1.2.3", "127.255.255.254"]
V6_CLIENT = "::1"
V6_EXTRA = ["2001:db8:53::1", "2001:db8:53::2"]   # on lo in our own namespace only

CLONE_NEWNET = 0x40000000
NETNS = None      # None: not tried; else (True, "") or (False, why not)


def enter_private_netns():
    """Move this process into a new network namespace with lo up and the
    V6_EXTRA addresses on it.  (ok, why not)."""
    if os.geteuid() != 0:
        return False, "not root"
    ip = "/usr/sbin/ip" if os.path.exists("/usr/sbin/ip") else "/sbin/ip"
    if not os.path.exists(ip):
        return False, "no ip(8)"
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        return False, "unshare(CLONE_NEWNET): %s" % os.strerror(ctypes.get_errno())
    # From here on we are in the new namespace; lo is down until we bring it up.
    cmds = [[ip, "link", "set", "lo", "up"]]
    cmds += [[ip, "-6", "addr", "add", a + "/128", "dev", "lo", "nodad"] for a in V6_EXTRA]
    for c in cmds:
        r = subprocess.run(c, stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
        if r.returncode != 0:
            raise RuntimeError("in the private network namespace, %s failed: %s"
                     % (" ".join(c), r.stderr.decode(errors="replace").strip()))
    return True, ""


def setUpModule():
    global NETNS
    NETNS = enter_private_netns()


def extra_v6():
    """V6_EXTRA when they are on lo (our own namespace), else []."""
    return V6_EXTRA if NETNS and NETNS[0] and harness.ipv6_usable() else []


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def connected_udp(dest, port, timeout=2.0):
    """A UDP socket bound to the client address of dest's family and
    connected to (dest, port): it receives only what comes from there."""
    fam = family(dest)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.bind((V6_CLIENT if fam == socket.AF_INET6 else V4_CLIENT, 0))
    s.connect((dest, port))
    return s


def check_reply(tc, data, src, q, dest):
    tc.assertEqual(src[0], dest, "reply from %s, not from the address queried" % src[0])
    r = dns.message.from_wire(data)
    tc.assertEqual(r.id, q.id)
    tc.assertEqual(r.rcode(), dns.rcode.NOERROR)
    tc.assertEqual([rd.address for rs in r.answer for rd in rs], ["198.51.100.7"])


def udp_ask(tc, dest, port):
    q = make_query(QNAME, "A")
    with connected_udp(dest, port) as s:
        s.send(q.to_wire())
        try:
            data, src = s.recvfrom(65535)
        except socket.timeout:
            tc.fail("no reply from %s port %d over UDP: none came back, or it came "
                    "from another address and the connected socket dropped it" % (dest, port))
    check_reply(tc, data, src, q, dest)


def tcp_ask(tc, dest, port):
    q = make_query(QNAME, "A")
    with socket.socket(family(dest), socket.SOCK_STREAM) as s:
        s.settimeout(3.0)
        s.connect((dest, port))
        wire = q.to_wire()
        s.sendall(struct.pack("!H", len(wire)) + wire)
        data = harness.read_framed(s)
        tc.assertIsNotNone(data, "no reply from %s port %d over TCP" % (dest, port))
        check_reply(tc, data, s.getpeername(), q, dest)


class AnyAddress(unittest.TestCase):
    """0.0.0.0 and :: side by side, with a specific address beside them;
    default worker count (several SO_REUSEPORT sockets per listener)."""

    EXTRA = ""      # settings before CONF

    @classmethod
    def setUpClass(cls):
        cls.v6 = harness.ipv6_usable()
        listen = ["0.0.0.0:0", "127.0.0.1:0"] + (["[::]:0"] if cls.v6 else [])
        cls.server = harness.start(cls.EXTRA + CONF, files=FILES, listen=listen)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_udp_v4_reply_from_each_address_queried(self):
        port = self.server.ports["0.0.0.0"]
        for dest in V4_DESTS:
            with self.subTest(dest=dest):
                udp_ask(self, dest, port)

    def test_udp_v6_loopback(self):
        if not self.v6:
            self.skipTest("IPv6 not usable")
        udp_ask(self, "::1", self.server.ports["::"])

    def test_udp_v6_other_addresses(self):
        """Addresses other than ::1 (the one the kernel would pick anyway)."""
        if not extra_v6():
            self.skipTest("no private network namespace: %s" % (NETNS and NETNS[1]))
        port = self.server.ports["::"]
        for dest in extra_v6():
            with self.subTest(dest=dest):
                udp_ask(self, dest, port)

    def test_tcp_reply_from_each_address_queried(self):
        dests = [(d, self.server.ports["0.0.0.0"]) for d in V4_DESTS]
        if self.v6:
            dests += [(d, self.server.ports["::"]) for d in ["::1"] + extra_v6()]
        for dest, port in dests:
            with self.subTest(dest=dest):
                tcp_ask(self, dest, port)

    def test_specific_listener_beside_wildcard(self):
        udp_ask(self, "127.0.0.1", self.server.ports["127.0.0.1"])
        tcp_ask(self, "127.0.0.1", self.server.ports["127.0.0.1"])

    def test_v6_wildcard_is_v6_only(self):
        """"[::]" is IPv6 only (IPV6_V6ONLY): IPv4 is served by "0.0.0.0"."""
        if not self.v6:
            self.skipTest("IPv6 not usable")
        port = self.server.ports["::"]
        if port == self.server.ports["0.0.0.0"]:
            self.skipTest("the kernel gave both wildcards the same port")
        with connected_udp("127.0.0.1", port, timeout=0.5) as s:
            s.send(make_query(QNAME, "A").to_wire())
            with self.assertRaises(OSError):   # timeout, or refused (ICMP unreachable)
                s.recv(65535)


class Batch(unittest.TestCase):
    """Many queries to different addresses taken in by one recvmmsg: one
    worker (one socket per listener), the server stopped (SIGSTOP, by PID)
    while the whole burst is queued, then continued."""

    N = 96     # three batches of UDP_BATCH (32)
    EXTRA = ""

    @classmethod
    def setUpClass(cls):
        cls.v6 = harness.ipv6_usable()
        listen = ["0.0.0.0:0"] + (["[::]:0"] if cls.v6 else [])
        cls.server = harness.start("threads = 1;\n" + cls.EXTRA + CONF, files=FILES,
                                   listen=listen)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def burst(self, dests, port, extra=None):
        """N queries from N connected sockets, to dests in turn; extra(i) is
        called before the i-th is sent, to slip in datagrams of its own."""
        socks, queries = [], []
        pid = self.server.proc.pid
        try:
            for i in range(self.N):
                dest = dests[i % len(dests)]
                socks.append(connected_udp(dest, port))
                queries.append(make_query(QNAME, "A"))
            os.kill(pid, signal.SIGSTOP)
            try:
                for i, (s, q) in enumerate(zip(socks, queries)):
                    if extra:
                        extra(i)
                    s.send(q.to_wire())
            finally:
                os.kill(pid, signal.SIGCONT)
            pending = {s.fileno(): (s, q) for s, q in zip(socks, queries)}
            deadline = time.monotonic() + 5.0
            while pending and time.monotonic() < deadline:
                ready, _, _ = select.select(list(pending), [], [], 0.2)
                for fd in ready:
                    s, q = pending.pop(fd)
                    data, src = s.recvfrom(65535)
                    check_reply(self, data, src, q, s.getpeername()[0])
            missing = collections.Counter(s.getpeername()[0] for s, _ in pending.values())
            self.assertFalse(missing, "%d of %d replies missing, by address queried: %s"
                             % (sum(missing.values()), self.N, dict(missing)))
        finally:
            for s in socks:
                s.close()

    def test_v4_batch_alternating_destinations(self):
        self.burst(["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.9.8.7"],
                   self.server.ports["0.0.0.0"])

    def test_unsendable_reply_drops_only_itself(self):
        """A query from source port 0 (spoofed: a raw socket) gets an answer
        the kernel refuses to send (EINVAL); the other replies of its batch
        must still go out."""
        try:
            raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
        except PermissionError:
            self.skipTest("no raw socket (not root)")
        port = self.server.ports["0.0.0.0"]

        def port0(i):
            if i % 32 == 2:     # early in each batch of 32: most replies come after it
                wire = make_query(QNAME, "A").to_wire()
                raw.sendto(struct.pack("!HHHH", 0, port, 8 + len(wire), 0) + wire,
                           ("127.0.0.2", 0))
        with raw:
            self.burst(["127.0.0.1", "127.0.0.2"], port, port0)

    def test_v6_batch_alternating_destinations(self):
        if not extra_v6():
            self.skipTest("no private network namespace: %s" % (NETNS and NETNS[1]))
        self.burst(["::1"] + extra_v6(), self.server.ports["::"])


PKTINFO_ONLY = "listen_host_addresses = false;\n"


class AnyAddressPktinfoOnly(AnyAddress):
    """AnyAddress with listen_host_addresses off: every query to 0.0.0.0
    and :: through the any-address socket and IP_PKTINFO."""
    EXTRA = PKTINFO_ONLY


class BatchPktinfoOnly(Batch):
    """Batch with listen_host_addresses off."""
    EXTRA = PKTINFO_ONLY


def bound_udp(port):
    """The local addresses UDP sockets on this port are bound to, from
    /proc/net/udp and udp6 (the port is the kernel's pick for the server
    under test: nobody else holds it)."""
    found = set()
    for path, fam in (("/proc/net/udp", socket.AF_INET), ("/proc/net/udp6", socket.AF_INET6)):
        try:
            lines = Path(path).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            addr, hport = line.split()[1].split(":")
            if int(hport, 16) != port:
                continue
            raw = bytes.fromhex(addr)
            # the kernel prints each 32-bit word in host order (little-endian here)
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            found.add(socket.inet_ntop(fam, raw))
    return found


class HostAddresses(unittest.TestCase):
    """listen_host_addresses: which sockets are bound, and an address added
    after start-up (no socket of its own) answered through the any-address
    socket, from that address."""

    def start(self, extra=""):
        v6 = harness.ipv6_usable()
        listen = ["0.0.0.0:0"] + (["[::]:0"] if v6 else [])
        server = harness.start("threads = 2;\n" + extra + CONF, files=FILES, listen=listen)
        self.addCleanup(server.stop)
        return server, v6

    def test_local_addresses_bound_beside_the_wildcard(self):
        server, v6 = self.start()
        v4 = bound_udp(server.ports["0.0.0.0"])
        self.assertIn("0.0.0.0", v4)
        self.assertIn("127.0.0.1", v4, "no UDP socket bound to 127.0.0.1: %s" % sorted(v4))
        self.assertNotIn("127.0.0.2", v4)   # not an address of the host's: the wildcard's
        if v6:
            a6 = bound_udp(server.ports["::"])
            self.assertIn("::", a6)
            self.assertIn("::1", a6)
            for a in extra_v6():
                self.assertIn(a, a6)
            for dest in ["::1"] + extra_v6():
                with self.subTest(dest=dest):
                    udp_ask(self, dest, server.ports["::"])
        for dest in V4_DESTS:
            with self.subTest(dest=dest):
                udp_ask(self, dest, server.ports["0.0.0.0"])
        self.assertIn("udp also bound to the", server.log())

    def test_off_binds_only_the_wildcard(self):
        server, v6 = self.start(PKTINFO_ONLY)
        self.assertEqual(bound_udp(server.ports["0.0.0.0"]), {"0.0.0.0"})
        if v6:
            self.assertEqual(bound_udp(server.ports["::"]), {"::"})

    def test_address_added_after_start(self):
        if not extra_v6():
            self.skipTest("no private network namespace: %s" % (NETNS and NETNS[1]))
        server, _ = self.start()
        late = "2001:db8:53::99"
        ip = "/usr/sbin/ip" if os.path.exists("/usr/sbin/ip") else "/sbin/ip"
        subprocess.run([ip, "-6", "addr", "add", late + "/128", "dev", "lo", "nodad"],
                       check=True, stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
        try:
            self.assertNotIn(late, bound_udp(server.ports["::"]))
            udp_ask(self, late, server.ports["::"])
        finally:
            subprocess.run([ip, "-6", "addr", "del", late + "/128", "dev", "lo"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=10)


def reply_ip_header(server_port, ask):
    """The IPv4 header of the first UDP datagram from server_port seen on
    lo while ask() runs (an AF_PACKET socket: root only)."""
    ETH_P_IP = 0x0800
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP)) as sniff:
        sniff.bind(("lo", ETH_P_IP))
        sniff.settimeout(0.2)
        ask()
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            try:
                frame = sniff.recv(65535)
            except socket.timeout:
                continue
            ip = frame[14:]
            ihl = (ip[0] & 0x0F) * 4
            if ip[0] >> 4 != 4 or ip[9] != 17:
                continue
            sport = struct.unpack("!H", ip[ihl:ihl + 2])[0]
            if sport == server_port:
                return ip[:ihl]
    return None


class DontFragment(unittest.TestCase):
    """While udp_size fits a 1500-byte MTU, IPv4 replies carry DF (RFC 9715
    3.1) and the socket never fragments (IP_PMTUDISC_PROBE), which shows as
    IP ID 0: Linux draws an ID only for a datagram it may fragment. Above
    1472 the kernel's default stays (IP_PMTUDISC_WANT: DF set too while the
    path MTU allows, but fragmented here when an ICMP message lowers it),
    and it draws an ID for every datagram."""

    def df_and_id(self, extra, listen):
        if os.geteuid() != 0:
            self.skipTest("no AF_PACKET socket (not root)")
        server = harness.start(extra + CONF, files=FILES, listen=[listen])
        self.addCleanup(server.stop)
        port = server.ports[listen.rsplit(":", 1)[0]]
        hdr = reply_ip_header(port, lambda: udp_ask(self, "127.0.0.1", port))
        self.assertIsNotNone(hdr, "no reply seen on lo")
        frag = struct.unpack("!H", hdr[6:8])[0]
        return bool(frag & 0x4000), struct.unpack("!H", hdr[4:6])[0]

    def test_df_set_by_default(self):
        for listen in ("127.0.0.1:0", "0.0.0.0:0"):
            with self.subTest(listen=listen):
                df, ident = self.df_and_id("", listen)
                self.assertTrue(df, "reply without DF")
                self.assertEqual(ident, 0)

    def test_df_on_the_pktinfo_path(self):
        df, _ = self.df_and_id(PKTINFO_ONLY, "0.0.0.0:0")
        self.assertTrue(df, "reply without DF")

    def test_kernel_default_above_1472(self):
        ids = [self.df_and_id("udp_size = 4096;\n", "127.0.0.1:0")[1] for _ in range(2)]
        self.assertNotEqual(ids, [0, 0], "IP ID 0: the socket never fragments, although "
                            "udp_size is above 1472")


if __name__ == "__main__":
    unittest.main()
