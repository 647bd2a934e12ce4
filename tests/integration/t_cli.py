#!/usr/bin/python3
"""Command line: --version, --help, unknown options, missing config;
SIGTERM/SIGINT stop a running server."""

import re
import shutil
import signal
import subprocess
import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from harness import DATA  # noqa: E402


class Cli(unittest.TestCase):
    def test_version(self):
        rc, out, err = harness.run(["--version"], timeout=5)
        self.assertEqual(rc, 0, err)
        self.assertRegex(out + err, r"\d+\.\d+", "a version number is printed")

    def test_help(self):
        rc, out, err = harness.run(["--help"], timeout=5)
        self.assertEqual(rc, 0, err)
        text = out + err
        self.assertIn("-c", text)
        self.assertIn("-t", text)

    def test_unknown_option(self):
        for args in (["--no-such-option"], ["-Z"], ["--no-such-option", "-c", str(DATA / "basic" / "gslbd.conf")]):
            rc, out, err = harness.run(args, timeout=5)
            self.assertIsNotNone(rc, "%s: did not exit" % args)
            self.assertNotEqual(rc, 0, "%s must fail" % args)
            self.assertNotRegex(out + err, harness.READY_RE)

    def test_no_arguments(self):
        rc, out, err = harness.run([], timeout=5)
        self.assertIsNotNone(rc, "gslbd without arguments did not exit")
        self.assertNotEqual(rc, 0)

    def test_missing_config_file(self):
        path = "/nonexistent-gslbd-dir/gslbd.conf"
        for args in (["-t", "-c", path], ["-c", path]):
            rc, out, err = harness.run(args, timeout=5)
            self.assertIsNotNone(rc)
            self.assertNotEqual(rc, 0, args)
            self.assertIn(path, err, "the message names the missing file")

    def stop_with(self, sig):
        srv = harness.start(DATA / "minimal")
        try:
            self.assertTrue(srv.alive())
            srv.proc.send_signal(sig)
            try:
                rc = srv.proc.wait(harness.STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.fail("server did not stop within %g s of %s"
                          % (harness.STOP_TIMEOUT, sig.name))
            self.assertIn(rc, (0, -sig), "exit status after %s: %s" % (sig.name, rc))
        finally:
            srv.stopped = True
            if srv.proc.poll() is None:
                srv.proc.kill()
                srv.proc.wait(harness.STOP_TIMEOUT)
            srv._reader.join(2.0)
            srv.proc.stdout.close()
            log = srv.log()
            shutil.rmtree(srv.workdir, ignore_errors=True)
        self.assertIsNone(harness.SANITIZER_RE.search(log), log)

    def test_sigterm_stops(self):
        self.stop_with(signal.SIGTERM)

    def test_sigint_stops(self):
        self.stop_with(signal.SIGINT)

    def test_listening_line_and_ready(self):
        with harness.start(DATA / "minimal") as srv:
            log = srv.log()
            self.assertRegex(log, r"listening on 127\.0\.0\.1 port \d+")
            self.assertGreater(srv.port, 0)
            if harness.ipv6_usable():
                self.assertRegex(log, r"listening on \[?::1\]? port \d+")
            # the one logged port serves both UDP and TCP
            self.assertEqual(srv.query("static.min.test.", "A").rcode(), 0)
            self.assertEqual(srv.query("static.min.test.", "A", tcp=True).rcode(), 0)


if __name__ == "__main__":
    unittest.main()
