#!/usr/bin/python3
"""TCP under abuse.

- 5,000 idle connections and slowloris connections (one byte at a time) from
  one client address leave UDP and a fresh TCP client on another loopback
  address answered within 1 s (tcp_max_per_client: one address holds at most
  that many connections per worker, the rest are reset at once).
- A connection that trickles bytes without ever completing a query is closed
  at the idle timeout; a message must be complete 2 s after its first byte
  (a 65535-byte one trickled at a byte every 3 s is closed then), while a
  client may wait as long as the idle timeout between messages.
- Attacks from many addresses, where the per-client cap cannot help: 300
  slowloris connections against 2 x 64 slots, 5,000 idle ones against
  2 x 1024, and more connections than the process has descriptors. A full
  worker sheds the connection idle longest for each new one, so a fresh TCP
  client, from another address or from one the attack uses, is answered
  within 1 s throughout.

The test process raises its own RLIMIT_NOFILE for its sockets and bounds
every wait; an attack stops by itself after FLEET_BOUND seconds."""

import errno
import os
import resource
import select
import shutil
import socket
import struct
import sys
import threading
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))
import backends as B  # noqa: E402
import harness  # noqa: E402

import dns.query  # noqa: E402

IDLE = 5000
SLOW = 40
WORKERS = 2
PER_CLIENT = 32          # the default of tcp_max_per_client
ANSWER_BOUND = 1.0
CONNECT_BOUND = 20.0

CONF = "\n".join([
    'listen = [ "127.0.0.1:0" ];',
    "threads = %d;" % WORKERS,
    # Long enough that no idle connection times out during the test: only
    # the per-client cap can keep slots free. tcp_max_clients stays at its
    # default of 1024 per worker, fewer than the 5,000 connections.
    "tcp_idle_timeout = 60;",
    B.ZONE_CONF]) + "\n"


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= want:
        return True
    new = want if hard == resource.RLIM_INFINITY else min(want, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    except (ValueError, OSError):
        return False
    return new >= want


def connect_many(addr, n, source, deadline):
    """n non-blocking connects from `source`; returns the sockets that are
    connected (or were, and got reset afterwards) by the deadline."""
    socks, pending = [], {}
    poller = select.poll()
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.bind((source, 0))
        rc = s.connect_ex(addr)
        if rc in (0, errno.EISCONN):
            socks.append(s)
        elif rc in (errno.EINPROGRESS, errno.EAGAIN):
            pending[s.fileno()] = s
            poller.register(s, select.POLLOUT)
        else:
            s.close()
    while pending and time.monotonic() < deadline:
        for fd, _ev in poller.poll(200):
            s = pending.pop(fd, None)
            if s is None:
                continue
            poller.unregister(fd)
            socks.append(s)
    for s in pending.values():
        s.close()
    return socks


def still_open(socks):
    """The sockets the server has not closed or reset."""
    alive = []
    for s in socks:
        try:
            data = s.recv(1)
        except BlockingIOError:
            alive.append(s)      # nothing to read, no FIN, no RST: held open
            continue
        except OSError:
            continue             # reset
        if data:
            alive.append(s)
    return alive


def timed_udp(srv, source):
    q = harness.make_query("static.lb.example.test", "A")
    t0 = time.monotonic()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source, 0))
        r = dns.query.udp(q, "127.0.0.1", port=srv.port, timeout=2.0, sock=s)
    return time.monotonic() - t0, r


def timed_tcp(srv, source):
    q = harness.make_query("static.lb.example.test", "A")
    t0 = time.monotonic()
    r = dns.query.tcp(q, "127.0.0.1", port=srv.port, timeout=2.0, source=source)
    return time.monotonic() - t0, r


class Slowloris(threading.Thread):
    """Connections that send a length prefix promising a large message, then
    one byte every `gap` seconds, never completing it."""

    def __init__(self, socks, gap=0.1):
        super().__init__(daemon=True)
        self.socks = socks
        self.gap = gap
        self.stop = threading.Event()

    def run(self):
        for s in self.socks:
            try:
                s.send(struct.pack("!H", 4000))
            except OSError:
                pass
        while not self.stop.wait(self.gap):
            for s in self.socks:
                try:
                    s.send(b"\0")
                except OSError:
                    pass


def wait_closed(s, limit):
    """Seconds until the server closes (FIN or RST) socket s, or None if it
    is still open after `limit` seconds."""
    t0 = time.monotonic()
    while True:
        left = limit - (time.monotonic() - t0)
        if left <= 0:
            return None
        r, _, _ = select.select([s], [], [], min(left, 0.1))
        if r:
            try:
                if s.recv(4096) == b"":
                    return time.monotonic() - t0
            except OSError:
                return time.monotonic() - t0


class Fleet(threading.Thread):
    """Keeps `n` attacking connections open from `sources` (round robin) for
    at most `duration` seconds; each one sends `prefix` once connected, then
    `trickle` every `gap` seconds (nothing if trickle is empty). With
    `replace`, a connection the server closes is replaced at once (up to
    REPLACE_RATE a second, enough to take back every slot within
    milliseconds, without the test hogging a core), so the attack holds its
    ground for as long as the server lets it. Non-blocking throughout; every
    wait bounded by the duration."""

    def __init__(self, addr, sources, n, duration, prefix=b"", trickle=b"", gap=3.0,
                 replace=True):
        super().__init__(daemon=True)
        self.addr, self.sources, self.n = addr, sources, n
        self.duration, self.prefix, self.trickle, self.gap = duration, prefix, trickle, gap
        self.replace = replace
        self.stop = threading.Event()
        self.opened = 0     # connects started
        self.connected = 0  # connects completed
        self.closed = 0     # connections the server closed or reset
        self.up = threading.Event()  # n connections completed

    def wait_up(self, limit, stall=2.0):
        """Until all n connections are made, or none more was made for
        `stall` seconds (the server takes no more), at most `limit`."""
        t0 = last = time.monotonic()
        seen = self.connected
        while not self.up.wait(0.1):
            now = time.monotonic()
            if self.connected != seen:
                seen, last = self.connected, now
            if now - last > stall or now - t0 > limit:
                break

    def run(self):
        poller = select.poll()
        conns = {}  # fd -> [socket, connected, next send]
        k = 0

        def open_one():
            nonlocal k
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.bind((self.sources[k % len(self.sources)], 0))
            k += 1
            s.connect_ex(self.addr)
            conns[s.fileno()] = [s, False, 0.0]
            poller.register(s, select.POLLOUT)
            self.opened += 1

        def drop(fd):
            s = conns.pop(fd)[0]
            poller.unregister(fd)
            s.close()

        end = time.monotonic() + self.duration
        for _ in range(self.n):
            open_one()
        owed, tokens, last = 0, 0.0, time.monotonic()
        try:
            while not self.stop.is_set() and time.monotonic() < end:
                dead = []
                for fd, ev in poller.poll(50):
                    c = conns.get(fd)
                    if c is None:
                        continue
                    s = c[0]
                    if not c[1]:
                        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                            dead.append(fd)
                            continue
                        c[1] = True
                        self.connected += 1
                        c[2] = time.monotonic() + self.gap
                        poller.modify(s, select.POLLIN)
                        try:
                            if self.prefix:
                                s.send(self.prefix)
                        except OSError:
                            dead.append(fd)
                        continue
                    try:
                        if s.recv(4096) == b"":
                            dead.append(fd)
                    except BlockingIOError:
                        pass
                    except OSError:
                        dead.append(fd)
                now = time.monotonic()
                if self.trickle:
                    for fd, c in conns.items():
                        if c[1] and c[2] <= now:
                            c[2] = now + self.gap
                            try:
                                c[0].send(self.trickle)
                            except BlockingIOError:
                                pass
                            except OSError:
                                dead.append(fd)
                for fd in set(dead):
                    drop(fd)
                    self.closed += 1
                    if self.replace:
                        owed += 1
                tokens = min(float(self.n), tokens + (now - last) * REPLACE_RATE)
                last = now
                while owed and tokens >= 1.0:
                    open_one()
                    owed -= 1
                    tokens -= 1.0
                if self.connected >= self.n:
                    self.up.set()
        finally:
            for c in conns.values():
                c[0].close()


class TcpAbuse(unittest.TestCase):

    def setUp(self):
        if not raise_nofile(IDLE + SLOW + 200):
            self.skipTest("cannot raise RLIMIT_NOFILE to %d for the test's own sockets"
                          % (IDLE + SLOW + 200))
        self.srv = harness.start(CONF, v6=False, files={B.ZONE_NAME: B.ZONE})
        self.socks = []

    def tearDown(self):
        for s in self.socks:
            s.close()
        self.srv.stop()

    def test_one_address_cannot_take_every_slot(self):
        srv = self.srv
        addr = ("127.0.0.1", srv.port)
        deadline = time.monotonic() + CONNECT_BOUND
        slow = connect_many(addr, SLOW, "127.0.0.1", deadline)
        self.socks += slow
        loris = Slowloris(slow)
        loris.start()
        try:
            idle = connect_many(addr, IDLE, "127.0.0.1", deadline)
            self.socks += idle
            self.assertGreater(len(idle), IDLE // 2, "most connects completed in the kernel")
            time.sleep(0.5)  # let the workers accept and reset what is over the cap
            for source in ("127.0.0.2", "127.0.0.3"):
                for _ in range(3):
                    took, r = timed_udp(srv, source)
                    self.assertEqual(harness.addresses(r), ["198.51.100.1"])
                    self.assertLess(took, ANSWER_BOUND, "UDP from %s answered in %.3fs"
                                    % (source, took))
                    took, r = timed_tcp(srv, source)
                    self.assertEqual(harness.addresses(r), ["198.51.100.1"])
                    self.assertLess(took, ANSWER_BOUND, "a fresh TCP client from %s answered "
                                    "in %.3fs" % (source, took))
            held = still_open(idle + slow)
            self.assertLessEqual(len(held), PER_CLIENT * WORKERS,
                                 "127.0.0.1 holds at most tcp_max_per_client connections per "
                                 "worker; the rest were reset")
        finally:
            loris.stop.set()
            loris.join(5.0)


class SlowlorisTimeout(unittest.TestCase):

    def test_trickling_bytes_is_idle(self):
        with harness.start(CONF.replace("tcp_idle_timeout = 60;", "tcp_idle_timeout = 1;"),
                           v6=False, files={B.ZONE_NAME: B.ZONE}) as srv:
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=2.0)
            try:
                s.send(struct.pack("!H", 4000))
                t0 = time.monotonic()
                closed = None
                while time.monotonic() - t0 < 4.0:
                    try:
                        s.send(b"\0")
                    except OSError:
                        closed = time.monotonic() - t0
                        break
                    r, _, _ = select.select([s], [], [], 0.2)
                    if r:
                        try:
                            if s.recv(1) == b"":
                                closed = time.monotonic() - t0
                                break
                        except OSError:
                            closed = time.monotonic() - t0
                            break
                self.assertIsNotNone(closed, "a connection sending a byte every 0.2 s but no "
                                     "complete query is closed at the 1 s idle timeout")
                self.assertLess(closed, 2.5)
            finally:
                s.close()
            # A client that completes queries is not idle.
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=2.0)
            try:
                q = harness.make_query("static.lb.example.test", "A").to_wire()
                for _ in range(8):
                    s.sendall(struct.pack("!H", len(q)) + q)
                    self.assertIsNotNone(harness.read_framed(s))
                    time.sleep(0.25)
            finally:
                s.close()


REPLACE_RATE = 2000.0  # connections a second an attack replaces, at most
# The message deadline of src/daemon/server.c (TCP_MESSAGE_DEADLINE).
DEADLINE = 2.0
PROBE_EVERY = 1.0
ATTACK = 10.0
FLEET_BOUND = 60.0  # an attack stops by itself after this, whatever happens


class MessageDeadline(unittest.TestCase):
    """A message must be complete within the deadline from its first byte,
    however long the idle timeout; the time between messages is the idle
    timeout's business."""

    def test_slow_message_is_closed_at_the_deadline(self):
        with harness.start(CONF, v6=False, files={B.ZONE_NAME: B.ZONE}) as srv:
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=2.0)
            try:
                # A 65535-byte message promised, then one byte every 3 s.
                s.send(b"\xff\xff")
                t0 = time.monotonic()
                closed = None
                while time.monotonic() - t0 < 7.0 and closed is None:
                    closed = wait_closed(s, 3.0)
                    if closed is None:
                        try:
                            s.send(b"\0")
                        except OSError:
                            closed = 0.0
                took = time.monotonic() - t0
                self.assertIsNotNone(closed, "a 65535-byte message trickled at one byte "
                                     "every 3 s is closed (idle timeout 60 s)")
                self.assertGreater(took, DEADLINE - 0.3)
                self.assertLess(took, DEADLINE + 1.0, "closed %.2f s after its first byte"
                                % took)
            finally:
                s.close()

    def test_slow_but_legitimate_clients_are_served(self):
        with harness.start(CONF, v6=False, files={B.ZONE_NAME: B.ZONE}) as srv:
            q = harness.make_query("static.lb.example.test", "A").to_wire()
            msg = struct.pack("!H", len(q)) + q
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=3.0)
            try:
                # Idle longer than the deadline before each query: the
                # deadline counts from a message's first byte only.
                for _ in range(2):
                    time.sleep(DEADLINE + 0.5)
                    s.sendall(msg)
                    self.assertIsNotNone(harness.read_framed(s))
                # A query split in three parts, well within the deadline.
                s.sendall(msg[:1])
                time.sleep(0.4)
                s.sendall(msg[1:5])
                time.sleep(0.4)
                s.sendall(msg[5:])
                self.assertIsNotNone(harness.read_framed(s))
            finally:
                s.close()


def legit_probes(test, srv, sources, fleet, seconds):
    """A fresh TCP client from each of `sources` every PROBE_EVERY seconds
    while `fleet` attacks; each must be answered within ANSWER_BOUND."""
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        t0 = time.monotonic()
        for source in sources:
            try:
                took, r = timed_tcp(srv, source)
            except Exception as e:  # noqa: BLE001 - a timeout is the failure shown
                test.fail("a TCP client from %s got no answer during the attack (%s: %s); "
                          "the attack had made %d connections, the server had closed %d"
                          % (source, type(e).__name__, e, fleet.connected, fleet.closed))
            test.assertEqual(harness.addresses(r), ["198.51.100.1"])
            test.assertLess(took, ANSWER_BOUND, "a TCP client from %s answered in %.3f s "
                            "during the attack" % (source, took))
            n += 1
        time.sleep(max(0.0, PROBE_EVERY - (time.monotonic() - t0)))
    return n


class Shedding(unittest.TestCase):
    """When a worker holds tcp_max_clients connections, a new one is taken
    and the connection idle longest is closed: attackers from many
    addresses (so that the per-client cap does not help) cannot keep a
    legitimate TCP client out."""

    def setUp(self):
        if not raise_nofile(IDLE + 1000):
            self.skipTest("cannot raise RLIMIT_NOFILE to %d for the test's own sockets"
                          % (IDLE + 1000))

    def test_slowloris_fleet(self):
        # 300 connections, each promising a 65535-byte message and sending
        # one byte of it every 3 s, from 30 addresses (10 each: under the
        # per-client cap); 2 workers of 64 slots, so the attack alone would
        # hold every slot.
        conf = CONF.replace("tcp_idle_timeout = 60;", "tcp_max_clients = 64;")
        sources = ["127.0.1.%d" % i for i in range(1, 31)]
        with harness.start(conf, v6=False, files={B.ZONE_NAME: B.ZONE}) as srv:
            fleet = Fleet(("127.0.0.1", srv.port), sources, 300, FLEET_BOUND,
                          prefix=b"\xff\xff", trickle=b"\0", gap=3.0)
            fleet.start()
            try:
                fleet.wait_up(5.0)
                time.sleep(0.5)
                # From another address, and from one the attack uses.
                n = legit_probes(self, srv, ["127.0.0.2", sources[0]], fleet, ATTACK)
                self.assertGreaterEqual(n, 10)
                self.assertGreater(fleet.closed, 0, "the server closed attacking "
                                   "connections (deadline, shedding)")
            finally:
                fleet.stop.set()
                fleet.join(5.0)
            self.assertTrue(srv.alive())

    def test_idle_flood_from_many_addresses(self):
        # 5,000 idle connections, 20 from each of 250 addresses: over the 2 x
        # 1024 slots, under the per-client cap. The idle timeout (60 s)
        # frees nothing during the test.
        sources = ["127.0.2.%d" % i for i in range(1, 251)]
        with harness.start(CONF, v6=False, files={B.ZONE_NAME: B.ZONE}) as srv:
            fleet = Fleet(("127.0.0.1", srv.port), sources, IDLE, FLEET_BOUND, replace=False)
            fleet.start()
            try:
                fleet.wait_up(CONNECT_BOUND)
                time.sleep(0.5)
                n = legit_probes(self, srv, ["127.0.0.2", sources[0]], fleet, ATTACK / 2)
                self.assertGreaterEqual(n, 8)
            finally:
                fleet.stop.set()
                fleet.join(5.0)
            self.assertTrue(srv.alive())

    def test_out_of_descriptors(self):
        # The process runs out of descriptors long before tcp_max_clients:
        # accept() fails with EMFILE, and the worker sheds as when full
        # (rather than spinning on a listener that stays readable).
        if shutil.which("prlimit") is None:
            self.skipTest("prlimit (util-linux) is not installed")
        sources = ["127.0.3.%d" % i for i in range(1, 51)]
        with harness.start(CONF, v6=False, files={B.ZONE_NAME: B.ZONE},
                           prefix=["prlimit", "--nofile=200:200"]) as srv:
            fleet = Fleet(("127.0.0.1", srv.port), sources, 500, FLEET_BOUND, replace=False)
            fleet.start()
            try:
                fleet.wait_up(CONNECT_BOUND)
                time.sleep(0.5)
                n = legit_probes(self, srv, ["127.0.0.2", sources[0]], fleet, 3.0)
                self.assertGreaterEqual(n, 4)
            finally:
                fleet.stop.set()
                fleet.join(5.0)
            self.assertTrue(srv.alive())
            self.assertIn("shed", srv.log())


if __name__ == "__main__":
    unittest.main()
