#!/usr/bin/python3
"""The state file against the real binary: a file anyone else could have
written is ignored (a forced-up in it forces nothing) and the log says why;
a file over the size bound is refused at once; pools and members a reload
removes leave the file (and a reload that brings them back brings their
drains back); links planted where the file is written are never followed.

The tests that chown files or drop to nobody need root and say so when
skipped."""

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
from backends import DOWN_BOUND, check, config, member, pool  # noqa: E402

GSLBCTL = os.environ.get("GSLBCTL") or str(harness.REPO / "src" / "gslbctl")
if not os.path.isabs(GSLBCTL):
    GSLBCTL = os.path.abspath(GSLBCTL)

NOBODY = 65534
WWW = ["www.lb.example.test"]
API = ["api.lb.example.test"]
FORCED = "admin web/127.0.1.1 forced-up\n"
SAVE_BOUND = 3.0  # the state is saved within a second of a change


def dead_port(host="127.0.1.1"):
    """A TCP port on host that refuses connections (bound once, then closed)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def probe(addr, be, **kw):
    return member(addr, probe_address="127.0.0.1", port=be.port, **kw)


def ctl(sock, *args):
    p = subprocess.run([GSLBCTL, "-s", str(sock)] + list(args), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
    return p.returncode, p.stdout.decode(errors="replace")


def wait_text(path, pred, timeout):
    """The text of path once pred(text) holds, or None after timeout s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            text = Path(path).read_text()
        except (FileNotFoundError, PermissionError):
            text = None
        if text is not None and pred(text):
            return text
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)


class Untrusted(B.HealthCase, unittest.TestCase):
    """web: 127.0.1.1 (its backend is dead, initial down) and 192.0.2.12
    (its backend is up); the state file says 127.0.1.1 is forced up."""

    def conf(self, state):
        live = self.backend(B.TCPBackend())
        return config(
            [pool("web", WWW, [member("127.0.1.1", port=dead_port()), probe("192.0.2.12", live)],
                  check="tcp")],
            [check("tcp", "tcp", initial="down")], 'state_file = "%s";' % state)

    def run_with(self, mode, uid=None):
        state = self.tmp / "gslbd.state"
        state.write_text(FORCED)
        state.chmod(mode)
        if uid is not None:
            os.chown(str(state), uid, uid)
        srv = self.start(self.conf(state))
        w = self.watch(srv)
        return srv, w, state

    def assertNotForced(self, srv, w, state, why):
        # 192.0.2.12 comes up after `rise` probes; 127.0.1.1 never does.
        self.assertWithin(w, lambda x: x.addrs == {"192.0.2.12"}, DOWN_BOUND,
                          "the live member up, alone", srv=srv)
        for x in w.during(1.0):
            self.assertAnswers(x, ["192.0.2.12"], "127.0.1.1 is not forced up")
        self.assertIn("state_file %s: %s" % (state, why), srv.log())
        self.assertIn("ignored", srv.log())
        # The next save replaces the file with one of ours.
        text = wait_text(state, lambda t: "forced-up" not in t, SAVE_BOUND)
        self.assertIsNotNone(text, "the untrusted file is replaced by the next save")
        st = state.stat()
        self.assertEqual(st.st_uid, os.geteuid())
        self.assertEqual(st.st_mode & 0o777, 0o600)

    def test_trusted_file_forces(self):
        # The control case: the same file, ours and 0600, does force.
        srv, w, state = self.run_with(0o600)
        self.assertNotIn("ignored", srv.log())
        for x in w.during(1.0):
            self.assertIn("127.0.1.1", x.addrs, "forced up by the state file: %r" % x)

    def test_world_writable_file_ignored(self):
        srv, w, state = self.run_with(0o666)
        self.assertNotForced(srv, w, state, "writable by group or others (mode 0666)")

    @unittest.skipUnless(os.geteuid() == 0, "needs root: the file is chowned to another user")
    def test_file_of_another_user_ignored(self):
        srv, w, state = self.run_with(0o600, uid=NOBODY)
        self.assertNotForced(srv, w, state, "owned by uid %d, not by gslbd's uid 0 or root"
                             % NOBODY)


class Bounded(B.HealthCase, unittest.TestCase):

    def test_million_lines_refused_quickly(self):
        state = self.tmp / "gslbd.state"
        with open(state, "w") as f:
            for i in range(1000000):
                f.write("health 10.%d.%d.%d:80/tcp up\n" % (i >> 16, (i >> 8) & 255, i & 255))
        size = state.stat().st_size
        t0 = time.monotonic()
        srv = self.start(config([pool("web", WWW, [member("192.0.2.1")])], [],
                                'state_file = "%s";' % state))
        took = time.monotonic() - t0
        self.assertIn("state_file %s: %d bytes, over the bound of 8388608 (8 MiB); ignored"
                      % (state, size), srv.log())
        self.assertLess(took, 5.0, "ready within 5 s")
        hwm = [l for l in Path("/proc/%d/status" % srv.proc.pid).read_text().splitlines()
               if l.startswith("VmHWM:")]
        kib = int(hwm[0].split()[1])
        self.assertLess(kib, 64 * 1024, "peak RSS %d KiB: the file was not read" % kib)
        r = srv.query("www.lb.example.test")
        self.assertEqual(harness.addresses(r), ["192.0.2.1"])


class Stale(B.HealthCase, unittest.TestCase):
    """Drains of a pool and a member a reload removes leave the state file;
    a reload that names them again brings the drains back."""

    def conf(self, state, sock, a, b, c, full):
        members = [probe("192.0.2.11", a), probe("192.0.2.12", b)] if full \
            else [probe("192.0.2.12", b)]
        pools = [pool("web", WWW, members, check="tcp")]
        if full:
            pools.append(pool("api", API, [probe("192.0.2.31", c)], check="tcp"))
        return config(pools, [check("tcp", "tcp")],
                      'state_file = "%s";\ncontrol = { socket = "%s"; };' % (state, sock))

    def test_removed_entries_leave_the_file(self):
        state = self.tmp / "gslbd.state"
        sock = self.tmp / "ctl.sock"
        a, b, c = (self.backend(B.TCPBackend()) for _ in range(3))
        srv = self.start(self.conf(state, sock, a, b, c, True))
        for pool_, addr in (("web", "192.0.2.11"), ("api", "192.0.2.31")):
            rc, out = ctl(sock, "drain", pool_, addr)
            self.assertEqual(rc, 0, out)
        text = wait_text(state, lambda t: "admin web/192.0.2.11 drained" in t
                         and "admin api/192.0.2.31 drained" in t, SAVE_BOUND)
        self.assertIsNotNone(text, "both drains saved")

        srv.write_conf(self.conf(state, sock, a, b, c, False))
        status, log = srv.reload()
        self.assertEqual(status, "done", log)
        text = wait_text(state, lambda t: "192.0.2.11" not in t and "api/" not in t, SAVE_BOUND)
        self.assertIsNotNone(text, "the removed pool and member leave the file:\n%s"
                             % state.read_text())
        self.assertIn("health 127.0.0.1:%d/tcp" % b.port, text, "what stays, stays")

        # Undo: named again, drained again (the process remembers).
        srv.write_conf(self.conf(state, sock, a, b, c, True))
        status, log = srv.reload()
        self.assertEqual(status, "done", log)
        w = self.watch(srv)
        for x in w.during(0.5):
            self.assertAnswers(x, ["192.0.2.12"], "192.0.2.11 is drained again")
        text = wait_text(state, lambda t: "admin web/192.0.2.11 drained" in t, SAVE_BOUND)
        self.assertIsNotNone(text, "and saved again")


@unittest.skipUnless(os.geteuid() == 0, "needs root: gslbd drops to nobody, whose directory "
                     "holds the state file, and the links are planted as nobody")
class PlantedLinks(unittest.TestCase):
    """gslbd runs as nobody with a state directory of its own; links to a
    file of nobody's are planted at the names the state was once written
    through (STATE.tmp.PID): saves never write through them."""

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="gslbd-plant-"))
        self.tmp.chmod(0o755)
        self.state_dir = self.tmp / "state"
        self.state_dir.mkdir()
        self.state_dir.chmod(0o755)
        os.chown(str(self.state_dir), NOBODY, NOBODY)
        self.victim = self.tmp / "victim"
        self.victim.write_text("precious\n")
        os.chown(str(self.victim), NOBODY, NOBODY)
        self.sock = self.tmp / "ctl.sock"
        self.srv = None

    def tearDown(self):
        if self.srv is not None:
            self.srv.stop()
        if not os.environ.get("KEEP_TMP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def test_links_never_followed(self):
        state = self.state_dir / "gslbd.state"
        conf = "\n".join([
            'listen = [ "127.0.0.1:0" ];', 'user = "nobody"; group = "nogroup";', B.ZONE_CONF,
            'state_file = "%s";' % state, 'control = { socket = "%s"; };' % self.sock,
            'pools = ( { name = "web"; owners = [ "www.lb.example.test" ];'
            ' members = ( { address = "192.0.2.1"; } ); } );']) + "\n"
        self.srv = harness.start(conf, v6=False, files={B.ZONE_NAME: B.ZONE}, dir_mode=0o755)
        pid = self.srv.proc.pid
        for p in range(pid - 2, pid + 3):
            link = self.state_dir / ("gslbd.state.tmp.%d" % p)
            os.symlink(str(self.victim), str(link))
            os.lchown(str(link), NOBODY, NOBODY)
        for cmd in ("drain", "undrain", "drain"):
            rc, out = ctl(self.sock, cmd, "web", "192.0.2.1")
            self.assertEqual(rc, 0, out)   # each one saves at once
        text = wait_text(state, lambda t: "admin web/192.0.2.1 drained" in t, SAVE_BOUND)
        self.assertIsNotNone(text, "the drain is saved; log:\n%s" % self.srv.log())
        self.assertEqual(self.victim.read_text(), "precious\n", "the victim is untouched")
        st = os.lstat(str(state))
        self.assertTrue(os.path.isfile(str(state)) and not os.path.islink(str(state)))
        self.assertEqual(st.st_uid, NOBODY)
        self.assertEqual(st.st_mode & 0o777, 0o600)
        for p in range(pid - 2, pid + 3):
            link = self.state_dir / ("gslbd.state.tmp.%d" % p)
            self.assertTrue(os.path.islink(str(link)), "%s left alone" % link)
        self.assertNotIn("cannot save", self.srv.log())


if __name__ == "__main__":
    unittest.main()
