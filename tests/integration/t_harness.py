#!/usr/bin/python3
"""The harness's own promise: nothing is skipped silently. A skipped test
and every IPv6 part left out where ::1 is unusable print a line
"SKIP: MODULE: WHAT: WHY" of their own on stderr (the module's .log), which
.ci/run collects; the module still passes."""

import os
import subprocess
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import harness  # noqa: E402,F401  (its skip reporting is what is tested)

MODULE = textwrap.dedent('''\
    import sys
    import unittest
    sys.dont_write_bytecode = True
    sys.path.insert(0, %r)
    import harness

    class Mod(unittest.TestCase):
        def test_explicit(self):
            self.skipTest("no such machine here")

        def test_ipv6_part(self):
            harness.ipv6_usable()
            harness.ipv6_usable()  # announced once, not per call

        def test_runs(self):
            pass

        @unittest.skipUnless(False, "decorated away")
        def test_decorated(self):
            pass

    if __name__ == "__main__":
        unittest.main()
    ''')


class LoudSkips(unittest.TestCase):
    def run_module(self, env_extra):
        with tempfile.TemporaryDirectory(prefix="gslbd-skip-") as d:
            path = Path(d) / "t_probe_skips.py"
            path.write_text(MODULE % str(HERE))
            env = {k: v for k, v in os.environ.items() if k != "GSLBD_TEST_NO_IPV6"}
            env.update(env_extra)
            p = subprocess.run([sys.executable, str(path)], env=env, stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=60)
        return p

    def test_skips_are_announced(self):
        p = self.run_module({"GSLBD_TEST_NO_IPV6": "1"})
        self.assertEqual(p.returncode, 0, "skips do not fail the module:\n" + p.stderr)
        skips = [line for line in p.stderr.splitlines() if line.startswith("SKIP: ")]
        want = [
            "SKIP: t_probe_skips.py: Mod.test_explicit: no such machine here",
            "SKIP: t_probe_skips.py: Mod.test_decorated: decorated away",
            "SKIP: t_probe_skips.py: every IPv6 part (no [::1] listener, no query over IPv6): "
            "::1 is not usable (GSLBD_TEST_NO_IPV6 is set)",
        ]
        self.assertEqual(sorted(skips), sorted(want), "one line per skip:\n" + p.stderr)
        self.assertIn("OK (skipped=2)", p.stderr)

    def test_nothing_announced_when_nothing_skipped(self):
        p = self.run_module({})
        if "::1 is not usable" in p.stderr:
            self.skipTest("::1 is not usable on this machine")
        skips = [line for line in p.stderr.splitlines() if line.startswith("SKIP: ")]
        self.assertEqual(len(skips), 2, "only the two skipped tests:\n" + p.stderr)


if __name__ == "__main__":
    unittest.main()
