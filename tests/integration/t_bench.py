#!/usr/bin/python3
"""The benchmark scripts whose figures the README and BENCHMARKS.md quote
report what they measured and nothing else: probes.py keeps timed-out waits
out of its medians, and large_zone.py (small sizes here) loads what it
generated and names the command and the commit in its report."""

import importlib.util
import os
import re
import subprocess
import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
BENCH = REPO / "contrib" / "bench"
sys.path.insert(0, str(HERE))
import harness  # noqa: E402


def load(name):
    spec = importlib.util.spec_from_file_location(name, BENCH / (name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class ProbesSummary(unittest.TestCase):
    def result(self, **kw):
        r = {"gone": [], "back": [], "gone_timeouts": 0, "back_timeouts": 0,
             "back_unmeasured": 0, "cycles": 4, "limit": 13.2, "spurious": 0,
             "queries": 100, "qfail": 0}
        r.update(kw)
        return r

    def test_timeouts_are_not_figures(self):
        probes = load("probes")
        # Cycle 1 never saw the member leave: no "back" either (it was
        # answered all along); cycle 4's "back" wait timed out.
        r = self.result(gone=[0.40, 0.50, 0.60], back=[0.30, 0.45], gone_timeouts=1,
                        back_unmeasured=1, back_timeouts=1)
        sm = probes.detection_summary(r)
        self.assertAlmostEqual(sm["gone_median"], 0.50)
        self.assertAlmostEqual(sm["gone_max"], 0.60)
        self.assertAlmostEqual(sm["back_median"], 0.375)
        self.assertAlmostEqual(sm["back_max"], 0.45)
        self.assertEqual(sm["timeouts"], 2)
        notes = "; ".join(sm["notes"])
        self.assertIn("gone: 1 of 4 waits timed out (> 13.2 s), not in the figures", notes)
        self.assertIn("back: 1 of 4 not measured (the member never left)", notes)
        self.assertIn("back: 1 of 4 waits timed out (> 13.2 s), not in the figures", notes)

    def test_all_timed_out_is_no_figure(self):
        probes = load("probes")
        sm = probes.detection_summary(self.result(gone_timeouts=4, back_unmeasured=4))
        self.assertIsNone(sm["gone_median"])
        self.assertIsNone(sm["back_median"])
        self.assertEqual(probes.fmt_ms(sm["back_median"]), "-")

    def test_clean_run_has_no_notes(self):
        probes = load("probes")
        sm = probes.detection_summary(self.result(gone=[0.1] * 4, back=[0.2] * 4))
        self.assertEqual(sm["notes"], [])
        self.assertEqual(sm["timeouts"], 0)


class LargeZone(unittest.TestCase):
    def test_small_run_reports_command_and_commit(self):
        harness.check_binary()
        p = subprocess.run([sys.executable, str(BENCH / "large_zone.py"), "--names", "300",
                            "--pools", "20", "--members", "3", "--checks", "2", "--runs", "1",
                            "--no-nsd", "--gslbd", harness.GSLBD],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        out = p.stdout
        self.assertIn("- command: `/usr/bin/python3 contrib/bench/large_zone.py --names 300 "
                      "--pools 20 --members 3 --checks 2 --runs 1 --no-nsd --gslbd ", out)
        self.assertRegex(out, r"- commit: ([0-9a-f]{12} \(|unknown \()")
        # 300 names + the pools' 20 owners + apex and ns.
        self.assertRegex(out, r"snapshot size .*\| [0-9.]+ MiB, 322 names \|")
        self.assertRegex(out, r"gslbd start: exec to `ready` \| [0-9.]+ s \|")
        self.assertRegex(out, r"reload \(SIGHUP to `reload done`\) \| [0-9.]+ s, VmRSS after \d+ MiB")
        self.assertRegex(out, re.escape("`gslbd -t` (load, build the snapshot, free it)"))



class ScrapeReport(unittest.TestCase):
    """scrape.py (short: one round of 1 s) prints both modes, the ratio, the
    cost of one scrape, and says when a run cannot count."""

    def run_scrape(self, *args):
        p = subprocess.run([sys.executable, str(BENCH / "scrape.py")] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        return p.returncode, p.stdout.decode(errors="replace")

    def test_report(self):
        import shutil
        if not shutil.which("dnsperf"):
            self.skipTest("dnsperf not installed")
        rc, out = self.run_scrape("--rounds", "1", "--seconds", "1", "--gslbd", harness.GSLBD)
        for want in (r"^plain +1 +[\d.]+ +\d+ +-$", r"^scraping +1 +[\d.]+ +\d+ +\d+/run$",
                     r"^scraping/plain CPU per query: [\d.]+ \(medians\), paired median [\d.]+ "
                     r"over 1 rounds", r"^one scrape \(\d+ bytes\) costs gslbd \d+ us of CPU",
                     r"^# .*scrape\.py --rounds 1"):
            self.assertRegex(out, re.compile(want, re.M))
        self.assertEqual(rc, 0 if "every run counted" in out else 1, out)

    def test_failure_is_reported(self):
        import shutil
        if not shutil.which("dnsperf"):
            self.skipTest("dnsperf not installed")
        rc, out = self.run_scrape("--rounds", "1", "--seconds", "1", "--gslbd", "/nonexistent/gslbd")
        self.assertEqual(rc, 1, out)
        self.assertIn("failed: gslbd /nonexistent/gslbd did not start", out)

if __name__ == "__main__":
    unittest.main()
