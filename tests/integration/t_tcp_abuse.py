#!/usr/bin/python3
"""TCP under abuse: 5,000 idle connections and slowloris connections (one
byte at a time) from one client address leave UDP and a fresh TCP client on
another loopback address answered within 1 s (tcp_max_per_client: one
address holds at most that many connections per worker, the rest are reset
at once); a connection that trickles bytes without ever completing a query
is closed at the idle timeout.

The test process raises its own RLIMIT_NOFILE for the 5,000 sockets and
bounds every wait."""

import errno
import os
import resource
import select
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


if __name__ == "__main__":
    unittest.main()
