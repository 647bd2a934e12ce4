#!/usr/bin/python3
"""Privileges: gslbd started as root with `user = "nobody"` ends up with no
uid, gid, group or capability of root in any thread, answers, writes its
state file, runs exec checks as nobody with a clean environment and only
descriptors 0-2, and a reload says what it could not apply; started
unprivileged with only CAP_NET_BIND_SERVICE (setpriv, as systemd's
AmbientCapabilities= would) it binds a port below 1024 and sheds the
capability; as root without `user`, exec checks are refused; `gslbd -t`
reports what the user will not be able to read or write.

Every test needs root (to start gslbd as root, or to run setpriv) and says
so when skipped."""

import json
import os
import random
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

GSLBCTL = os.environ.get("GSLBCTL") or str(harness.REPO / "src" / "gslbctl")
if not os.path.isabs(GSLBCTL):
    GSLBCTL = os.path.abspath(GSLBCTL)

NOBODY = 65534
ROOT_ONLY = "needs root: gslbd must be started as root (or through setpriv) to drop privileges"
SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"

# The exec check's report: its own descriptors (the shell's, tested one by one
# with the builtin [ -e ], so nothing the report opens is counted), its ids,
# its /proc status and the environment it was started with.
REPORT_SCRIPT = r"""
fds=
for f in $(ls /proc/$$/fd); do [ -e /proc/$$/fd/$f ] && fds="$fds $f"; done
{
  echo "fds:$fds"
  grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapAmb):' /proc/$$/status
  tr '\0' '\n' < /proc/$$/environ | sed 's/^/env: /'
} > "$1/report.tmp" && mv "$1/report.tmp" "$1/report"
exit 0
"""


def conf_str(s):
    """A libconfig string literal (its escapes are JSON's for ASCII text)."""
    return json.dumps(s)


def statuses(pid):
    """{tid: {field: value}} from /proc/PID/task/*/status."""
    out = {}
    for task in Path("/proc/%d/task" % pid).iterdir():
        fields = {}
        try:
            text = (task / "status").read_text()
        except FileNotFoundError:
            continue  # the thread ended meanwhile
        for line in text.splitlines():
            k, _, v = line.partition(":")
            fields[k] = v.strip()
        out[int(task.name)] = fields
    return out


def wait_file(path, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return True
        time.sleep(0.05)
    return path.exists()


class Unprivileged:
    """Assertions on the /proc status of every thread of a server."""

    def assertThreadsUnprivileged(self, srv, min_threads):
        tasks = statuses(srv.proc.pid)
        self.assertGreaterEqual(len(tasks), min_threads,
                                "workers, UDP threads and the probe thread are running: %r"
                                % sorted(tasks))
        for tid, st in tasks.items():
            what = "thread %d (%s)" % (tid, st.get("Name"))
            self.assertEqual(st["Uid"].split(), [str(NOBODY)] * 4, "%s: real, effective, saved "
                             "and filesystem uid" % what)
            self.assertEqual(st["Gid"].split(), [str(NOBODY)] * 4, "%s: every gid" % what)
            self.assertNotIn("0", st["Groups"].split(), "%s: no supplementary group 0" % what)
            # No uid 0 anywhere (saved included) and no capability: setuid(0)
            # can only fail, so the process cannot regain root.
            for cap in ("CapPrm", "CapEff", "CapAmb", "CapInh"):
                self.assertEqual(int(st[cap], 16), 0, "%s: %s" % (what, cap))


@unittest.skipUnless(os.geteuid() == 0, ROOT_ONLY)
class DropToNobody(Unprivileged, unittest.TestCase):
    """Started as root with user nobody and group nogroup."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="gslbd-privs-"))
        cls.tmp.chmod(0o755)
        cls.state = cls.tmp / "state"
        cls.report = cls.tmp / "report-dir"
        cls.ctl_dir = cls.tmp / "ctl"          # root's: nobody cannot create a socket here
        for d in (cls.state, cls.report, cls.ctl_dir):
            d.mkdir()
        os.chown(str(cls.state), NOBODY, NOBODY)
        os.chown(str(cls.report), NOBODY, NOBODY)
        cls.sock = cls.ctl_dir / "gslbd.sock"
        cls.server = harness.start(cls.conf("192.0.2.1", cls.sock), v6=False,
                                   files={B.ZONE_NAME: B.ZONE}, dir_mode=0o755)

    @classmethod
    def conf(cls, address, sock):
        return "\n".join([
            'listen = [ "127.0.0.1:0" ];',
            'user = "nobody"; group = "nogroup";',
            "threads = 2;",
            B.ZONE_CONF,
            "state_file = %s;" % conf_str(str(cls.state / "gslbd.state")),
            "control = { socket = %s; };" % conf_str(str(sock)),
            "checks = ( { name = \"report\"; type = \"exec\"; interval = 0.3; command = [ "
            "\"/bin/sh\", \"-c\", %s, \"report\", %s ]; } );"
            % (conf_str(REPORT_SCRIPT), conf_str(str(cls.report))),
            "pools = ( { name = \"web\"; owners = [ \"www.lb.example.test\" ]; check = \"report\";"
            " members = ( { address = \"%s\"; port = 80; } ); } );" % address,
        ]) + "\n"

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.server is not None:
                cls.server.stop()
        finally:
            if not os.environ.get("KEEP_TMP"):
                shutil.rmtree(cls.tmp, ignore_errors=True)

    def ctl(self, *args, sock=None):
        p = subprocess.run([GSLBCTL, "-s", str(sock or self.sock)] + list(args),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=15)
        return p.returncode, p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")

    def test_1_every_thread_unprivileged(self):
        # UDP threads and TCP loops (2 workers x 1 listener) and the probe thread.
        self.assertThreadsUnprivileged(self.server, 5)
        self.assertIn("running as user nobody (uid 65534), group nogroup", self.server.log())

    def test_2_answers(self):
        for tcp in (False, True):
            r = self.server.query("www.lb.example.test", "A", tcp=tcp)
            self.assertEqual(harness.addresses(r), ["192.0.2.1"], "tcp=%s" % tcp)

    def test_3_state_file_written_by_nobody(self):
        f = self.state / "gslbd.state"
        self.assertTrue(wait_file(f, 5.0), "state file written within 5 s; log:\n%s"
                        % self.server.log())
        self.assertEqual(f.stat().st_uid, NOBODY, "written after the drop, by nobody")
        self.assertIn("health 192.0.2.1:80/report", f.read_text())

    def test_4_exec_check_as_nobody_clean(self):
        rep = self.report / "report"
        self.assertTrue(wait_file(rep, 5.0), "the exec check ran within 5 s; log:\n%s"
                        % self.server.log())
        text = rep.read_text()
        fields, env = {}, {}
        for line in text.splitlines():
            k, _, v = line.partition(":")
            if k == "env":
                name, _, value = v.strip().partition("=")
                env[name] = value
            else:
                fields[k] = v.strip()
        self.assertEqual(fields["fds"].split(), ["0", "1", "2"],
                         "only stdin, stdout and stderr are inherited:\n%s" % text)
        self.assertEqual(fields["Uid"].split(), [str(NOBODY)] * 4, text)
        self.assertEqual(fields["Gid"].split(), [str(NOBODY)] * 4, text)
        self.assertEqual(fields["Groups"].split(), [], text)
        for cap in ("CapPrm", "CapEff", "CapAmb"):
            self.assertEqual(int(fields[cap], 16), 0, "%s of the check:\n%s" % (cap, text))
        self.assertEqual(env.get("GSLBD_ADDRESS"), "192.0.2.1")
        self.assertEqual(env.get("GSLBD_PORT"), "80")
        self.assertEqual(env.get("GSLBD_CHECK"), "report")
        self.assertLessEqual(set(env), {"GSLBD_ADDRESS", "GSLBD_PORT", "GSLBD_CHECK", "PATH"},
                             "a clean environment: nothing of gslbd's own but PATH:\n%s" % text)

    def test_5_reload_keeps_what_it_cannot_apply(self):
        srv = self.server
        # A control socket path nobody may not create, a listener it may not
        # add, and a new member: the member applies, the rest is reported.
        new_sock = self.ctl_dir / "moved.sock"
        text = self.conf("192.0.2.2", new_sock).replace(
            'listen = [ "127.0.0.1:0" ];', 'listen = [ "127.0.0.1:0", "127.0.0.2:0" ];')
        srv.conf_path.write_text(text)
        rc, out = self.ctl("reload")
        self.assertEqual(rc, 0, "the reload itself succeeds:\n%s" % out)
        self.assertIn("reload done", out)
        self.assertIn("not applied", out)
        self.assertRegex(out, r"listen \(", "the result names the listener change")
        self.assertIn("control socket %s (" % new_sock, out)
        self.assertIn("Permission denied", out, "and says why")
        self.assertIn("%s stays" % self.sock, out)
        r = srv.query("www.lb.example.test", "A")
        self.assertEqual(harness.addresses(r), ["192.0.2.2"], "the rest of the reload applied")
        log = srv.log()
        self.assertIn("reload: listen changed: not applied", log)
        self.assertRegex(log, r"reload: control socket .*moved\.sock not applied")
        self.assertFalse(new_sock.exists())
        rc, out = self.ctl("status")
        self.assertEqual(rc, 0, "the old control socket still answers:\n%s" % out)
        # Somewhere nobody may write: the socket moves.
        free_sock = self.state / "ctl.sock"
        srv.conf_path.write_text(self.conf("192.0.2.3", free_sock))
        rc, out = self.ctl("reload")
        self.assertEqual(rc, 0, out)
        self.assertNotIn("control socket", out)
        rc, out = self.ctl("status", sock=free_sock)
        self.assertEqual(rc, 0, "gslbctl on the new socket:\n%s" % out)
        self.assertIn("192.0.2.3", out)
        # Back, for whatever runs next: root's directory again is refused.
        srv.conf_path.write_text(self.conf("192.0.2.1", self.sock))
        rc, out = self.ctl("reload", sock=free_sock)
        self.assertIn("not applied", out)


def free_low_port():
    """(address, port): a port below 1024 on some 127.0.0.x that nothing uses
    for UDP or TCP, or None."""
    rnd = random.Random()
    for _ in range(40):
        addr = "127.0.0.%d" % rnd.randint(100, 250)
        port = rnd.randint(600, 1023)
        socks = []
        try:
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(socket.AF_INET, kind)
                socks.append(s)
                s.bind((addr, port))
            return addr, port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    return None


@unittest.skipUnless(os.geteuid() == 0, ROOT_ONLY)
class StartedUnprivileged(Unprivileged, unittest.TestCase):
    """Started as nobody holding only CAP_NET_BIND_SERVICE (ambient), as a
    service manager would: binds a privileged port, needs no `user`, is not
    refused an exec check, and sheds the capability once bound."""

    PREFIX = [SETPRIV, "--reuid=nobody", "--regid=nogroup", "--init-groups",
              "--inh-caps=+net_bind_service", "--ambient-caps=+net_bind_service"]

    def test_low_port_with_ambient_capability(self):
        if not os.access(SETPRIV, os.X_OK):
            self.skipTest("setpriv (util-linux) not found")
        p = subprocess.run(self.PREFIX + ["test", "-x", harness.GSLBD],
                           stdin=subprocess.DEVNULL, timeout=10)
        if p.returncode != 0:
            self.skipTest("nobody cannot execute %s (a directory on its path is closed)"
                          % harness.GSLBD)
        found = free_low_port()
        if found is None:
            self.skipTest("no free port below 1024 on 127.0.0.100-250 after 40 tries")
        addr, port = found
        tmp = Path(tempfile.mkdtemp(prefix="gslbd-privs-"))
        try:
            tmp.chmod(0o755)
            script = "#!/bin/sh\nexit 0\n"
            (tmp / "ok.sh").write_text(script)
            (tmp / "ok.sh").chmod(0o755)
            conf = "\n".join([
                'listen = [ "127.0.0.1:0" ];', B.ZONE_CONF,
                'checks = ( { name = "ok"; type = "exec"; command = [ %s ]; } );'
                % conf_str(str(tmp / "ok.sh")),
                'pools = ( { name = "web"; owners = [ "www.lb.example.test" ]; check = "ok";'
                ' members = ( { address = "192.0.2.9"; } ); } );']) + "\n"
            with harness.start(conf, v6=False, files={B.ZONE_NAME: B.ZONE},
                               prefix=self.PREFIX, listen=["%s:%d" % (addr, port)],
                               dir_mode=0o755) as srv:
                self.assertEqual(srv.ports.get(addr), port,
                                 "listening on %s port %d; log:\n%s" % (addr, port, srv.log()))
                for tcp in (False, True):
                    q = harness.make_query("www.lb.example.test", "A")
                    r = (harness.dns.query.tcp if tcp else harness.dns.query.udp)(
                        q, addr, port=port, timeout=2.0)
                    self.assertEqual(harness.addresses(r), ["192.0.2.9"], "tcp=%s" % tcp)
                self.assertThreadsUnprivileged(srv, 4)
                self.assertNotIn("error", srv.log())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


@unittest.skipUnless(os.geteuid() == 0, ROOT_ONLY)
class ExecRefusedAsRoot(unittest.TestCase):

    CONF = "\n".join([
        'listen = [ "127.0.0.1:0" ];', B.ZONE_CONF,
        "checks = (",
        '  { name = "t"; type = "tcp"; port = 80; },',
        '  { name = "x"; type = "exec"; command = [ "/bin/true" ]; }',
        ");",
        'pools = ( { name = "web"; owners = [ "www.lb.example.test" ]; check = "x";'
        ' members = ( { address = "192.0.2.9"; } ); } );']) + "\n"

    def test_refused_at_start_and_by_check(self):
        tmp = Path(tempfile.mkdtemp(prefix="gslbd-privs-"))
        try:
            (tmp / B.ZONE_NAME).write_text(B.ZONE)
            conf = tmp / "gslbd.conf"
            conf.write_text(self.CONF)
            want = "%s:5: checks[1]: exec check \"x\" would run its command as root" % conf
            for args in (["-c", str(conf)], ["-t", "-c", str(conf)]):
                rc, _out, err = harness.run(args, timeout=10)
                self.assertEqual(rc, 1, "gslbd %s: exit 1; stderr:\n%s" % (" ".join(args), err))
                self.assertIn(want, err)
                self.assertIn("set 'user'", err)
                self.assertNotIn("ready", err)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


@unittest.skipUnless(os.geteuid() == 0, ROOT_ONLY)
class CheckReportsAccess(unittest.TestCase):
    """gslbd -t run as root checks files as the configured user, in a child
    that drops to it: what a reload or a probe would fail on is a warning,
    a state file it could never save is an error."""

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="gslbd-privs-"))   # 0700, root's
        (self.tmp / B.ZONE_NAME).write_text(B.ZONE)
        (self.tmp / "check.sh").write_text("#!/bin/sh\nexit 0\n")
        (self.tmp / "check.sh").chmod(0o755)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def check(self, extra):
        conf = self.tmp / "gslbd.conf"
        conf.write_text("\n".join([
            'listen = [ "127.0.0.1:0" ];', 'user = "nobody";', B.ZONE_CONF,
            'checks = ( { name = "x"; type = "exec"; command = [ %s ]; } );'
            % conf_str(str(self.tmp / "check.sh")),
            'pools = ( { name = "web"; owners = [ "www.lb.example.test" ]; check = "x";'
            ' members = ( { address = "192.0.2.9"; } ); } );', extra]) + "\n")
        return harness.run_check(conf), conf

    def test_unreadable_files_are_warnings(self):
        (rc, err), conf = self.check("")
        self.assertEqual(rc, 0, "warnings only:\n%s" % err)
        self.assertIn("%s: config file not readable by user nobody" % conf, err)
        self.assertIn("%s: zone file not readable by user nobody" % (self.tmp / B.ZONE_NAME), err)
        self.assertRegex(err, r"checks\[0\]\.command: .*check\.sh: not executable by user nobody")
        self.assertIn("configuration OK", err)

    def test_state_dir_not_writable_is_an_error(self):
        (rc, err), _conf = self.check('state_file = "gslbd.state";')
        self.assertEqual(rc, 1, err)
        self.assertIn("directory %s not writable by user nobody" % self.tmp, err)
        self.assertIn("install -d -o nobody -g nogroup", err)

    def test_all_reachable_is_quiet(self):
        self.tmp.chmod(0o755)
        state = self.tmp / "state"
        state.mkdir()
        os.chown(str(state), NOBODY, NOBODY)
        (rc, err), _conf = self.check('state_file = "state/gslbd.state";')
        self.assertEqual(rc, 0, err)
        self.assertNotIn("warning", err)


if __name__ == "__main__":
    unittest.main()
