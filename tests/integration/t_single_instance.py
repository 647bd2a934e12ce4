#!/usr/bin/python3
"""One gslbd per state file, control socket and listener: a second gslbd
given the same config (or sharing any one of the three) exits non-zero at
once with a message saying what is taken, and leaves the first one alone:
it keeps answering on its port and its control socket, which the second one
neither replaces nor removes. A socket file and a lock left by a process
that was killed do not stop the next start."""

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))
import backends as B  # noqa: E402
import harness  # noqa: E402

GSLBCTL = os.environ.get("GSLBCTL") or str(harness.REPO / "src" / "gslbctl")
if not os.path.isabs(GSLBCTL):
    GSLBCTL = os.path.abspath(GSLBCTL)

SECOND_TIMEOUT = 5.0  # the second gslbd must give up well within this


def free_port():
    """A port on 127.0.0.1 free for both UDP and TCP right now."""
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise RuntimeError("no free port")


def conf_text(state, sock, listen):
    return "\n".join([
        'listen = [ "%s" ];' % listen, "threads = 2;", B.ZONE_CONF,
        'pools = ( { name = "web"; owners = [ "www.lb.example.test" ];'
        ' members = ( { address = "192.0.2.1"; } ); } );',
        'state_file = "%s";' % state if state else "",
        'control = { socket = "%s"; };' % sock if sock else ""]) + "\n"


class SecondInstance(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.listen = "127.0.0.1:%d" % cls.port
        cls.first = harness.start(conf_text("gslbd.state", "ctl.sock", cls.listen), v6=False,
                                  files={B.ZONE_NAME: B.ZONE}, listen=[cls.listen])
        cls.dir = cls.first.dir
        cls.sock = cls.dir / "ctl.sock"
        cls.state = cls.dir / "gslbd.state"
        cls.sock_ino = os.lstat(str(cls.sock)).st_ino

    @classmethod
    def tearDownClass(cls):
        cls.first.stop()

    def second(self, conf_path):
        """Run a second gslbd on conf_path; (rc, stderr). rc None if it kept running."""
        rc, _out, err = harness.run(["-c", str(conf_path)], timeout=SECOND_TIMEOUT)
        return rc, err

    def write(self, name, text):
        p = self.dir / name
        p.write_text(text)
        return p

    def assertFirstUntouched(self):
        first = self.first
        self.assertTrue(first.alive(), "the first gslbd runs on; log:\n%s" % first.log())
        for tcp in (False, True):
            r = first.query("www.lb.example.test", tcp=tcp)
            self.assertEqual(harness.addresses(r), ["192.0.2.1"], "answers, tcp=%s" % tcp)
        st = os.lstat(str(self.sock))
        self.assertEqual(st.st_ino, self.sock_ino, "the first one's control socket, not replaced")
        p = subprocess.run([GSLBCTL, "-s", str(self.sock), "status"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
        self.assertEqual(p.returncode, 0, p.stdout.decode(errors="replace"))
        self.assertIn("192.0.2.1", p.stdout.decode(errors="replace"))

    def test_same_config(self):
        before = self.state.read_bytes() if self.state.exists() else None
        mtime = self.state.stat().st_mtime_ns if self.state.exists() else None
        rc, err = self.second(self.first.conf_path)
        self.assertIsNotNone(rc, "the second gslbd kept running:\n%s" % err)
        self.assertNotEqual(rc, 0, err)
        self.assertIn("state_file %s is in use by another gslbd (pid %d"
                      % (self.state, self.first.proc.pid), err)
        self.assertNotIn("ready", err)
        self.assertFirstUntouched()
        if before is not None:
            self.assertEqual(self.state.stat().st_mtime_ns, mtime, "the state file not written")

    def test_same_listener(self):
        conf = self.write("listener.conf", conf_text(None, None, self.listen))
        rc, err = self.second(conf)
        self.assertIsNotNone(rc, "the second gslbd kept running:\n%s" % err)
        self.assertNotEqual(rc, 0, err)
        self.assertIn("cannot listen on %s: address in use by another process" % self.listen, err)
        self.assertFirstUntouched()

    def test_covering_listener(self):
        # 0.0.0.0 on the same port covers 127.0.0.1: not shared either.
        conf = self.write("any.conf", conf_text(None, None, "0.0.0.0:%d" % self.port))
        rc, err = self.second(conf)
        self.assertIsNotNone(rc, "the second gslbd kept running:\n%s" % err)
        self.assertNotEqual(rc, 0, err)
        self.assertIn("address in use by another process", err)
        self.assertFirstUntouched()

    def test_same_control_socket(self):
        conf = self.write("socket.conf", conf_text("other.state", "ctl.sock", "127.0.0.1:0"))
        rc, err = self.second(conf)
        self.assertIsNotNone(rc, "the second gslbd kept running:\n%s" % err)
        self.assertNotEqual(rc, 0, err)
        self.assertIn("control socket %s: in use: a process answers on it" % self.sock, err)
        self.assertFalse((self.dir / "other.state").exists(),
                         "a gslbd that did not start writes no state file")
        self.assertFirstUntouched()


class AfterACrash(unittest.TestCase):
    """Killed with SIGKILL, gslbd leaves its control socket file (and its
    lock file): the next start with the same files replaces the dead socket
    and takes the lock."""

    def test_restart_after_kill(self):
        tmp = Path(tempfile.mkdtemp(prefix="gslbd-crash-"))
        try:
            sock, state = tmp / "ctl.sock", tmp / "gslbd.state"
            listen = "127.0.0.1:%d" % free_port()
            conf = conf_text(state, sock, listen)
            srv = harness.start(conf, v6=False, files={B.ZONE_NAME: B.ZONE}, listen=[listen])
            srv.proc.send_signal(signal.SIGKILL)
            srv.proc.wait(5)
            srv.stop(check=False)
            self.assertTrue(sock.exists(), "a dead socket left behind")
            self.assertTrue((tmp / "gslbd.state.lock").exists())
            with harness.start(conf, v6=False, files={B.ZONE_NAME: B.ZONE},
                               listen=[listen]) as again:
                r = again.query("www.lb.example.test")
                self.assertEqual(harness.addresses(r), ["192.0.2.1"])
                self.assertIn("control socket %s" % sock, again.log())
                self.assertTrue(stat.S_ISSOCK(os.lstat(str(sock)).st_mode))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
