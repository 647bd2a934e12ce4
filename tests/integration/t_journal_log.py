#!/usr/bin/python3
"""Under systemd, log lines carry syslog priority prefixes ("<3>" error,
"<4>" warning, "<6>" info) so journald stores each line's priority: when
JOURNAL_STREAM names gslbd's stderr (device:inode, as systemd sets it), and
only then (a stderr redirected elsewhere keeps the plain "gslbd: info:"
lines, as systemd.exec(5) asks)."""

import os
import re
import subprocess
import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import backends as B  # noqa: E402
import harness  # noqa: E402
from backends import config, member, pool  # noqa: E402

PREFIX_RE = re.compile(r"^<([0-7])>(emerg|alert|crit|error|warning|notice|info|debug): ")
LEVELS = {"3": "error", "4": "warning", "6": "info", "7": "debug"}
# JOURNAL_STREAM from what stderr is at exec time, as systemd computes it.
JOURNAL_PREFIX = ["sh", "-c", 'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec "$0" "$@"']


def conf():
    return config([pool("web", ["www.lb.example.test"], [member("192.0.2.1")])])


class JournalLog(unittest.TestCase):

    def run_server(self, prefix):
        srv = harness.start(conf(), files={B.ZONE_NAME: B.ZONE}, prefix=prefix)
        try:
            result, text = srv.reload()
            self.assertEqual(result, "done", text)
        finally:
            srv.stop()
        return srv.log().splitlines()

    def test_prefixes_on_the_journal_stream(self):
        lines = self.run_server(["env", "-u", "JOURNAL_STREAM"] + JOURNAL_PREFIX)
        self.assertTrue(lines)
        for l in lines:
            m = PREFIX_RE.match(l)
            self.assertIsNotNone(m, "line without a priority prefix: %r" % l)
            self.assertEqual(LEVELS.get(m.group(1)), m.group(2), l)
        self.assertTrue(any(l.startswith("<6>info: ready:") for l in lines), lines)
        self.assertTrue(any(l.startswith("<6>info: reload done") for l in lines), lines)

    def test_plain_when_stderr_is_not_the_stream(self):
        lines = self.run_server(["env", "JOURNAL_STREAM=1:1"])
        self.assertTrue(lines)
        for l in lines:
            self.assertFalse(l.startswith("<"), "prefix although stderr is not the stream: %r" % l)
        self.assertTrue(any(l.startswith("gslbd: info: ready:") for l in lines), lines)

    def test_errors_are_priority_3(self):
        r, w = os.pipe()
        st = os.fstat(w)
        bad = Path(os.environ.get("TMPDIR", "/tmp")) / ("gslbd-jl-%d.conf" % os.getpid())
        bad.write_text('listen = [ "127.0.0.1:0" ];\nthreads = "many";\n')
        try:
            env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
            p = subprocess.Popen([harness.GSLBD, "-t", "-c", str(bad)], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=w, env=env)
            os.close(w)
            with os.fdopen(r, "rb") as f:
                out = f.read().decode(errors="replace")
            self.assertEqual(p.wait(10), 1, out)
        finally:
            bad.unlink()
        self.assertRegex(out, r"(?m)^<3>error: \S+:2: threads: expected an integer")


if __name__ == "__main__":
    unittest.main()
