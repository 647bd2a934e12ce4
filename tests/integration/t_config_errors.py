#!/usr/bin/python3
"""Config errors: each file in data/bad/*.conf is rejected by `gslbd -t`
(exit 1) and by a normal start (non-zero exit, never 'ready'); the message
names the config file, the line (the line marked '<-- error') and the
setting.  Valid configs pass `gslbd -t`."""

import re
import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from harness import DATA  # noqa: E402

BAD = DATA / "bad"

# file -> (setting named in the message or None, extra strings expected in the message)
CASES = {
    "unknown-setting.conf": ("foo_bar", []),
    "unknown-pool-setting.conf": ("pools[0].colour", []),
    "wrong-type.conf": ("tcp_idle_timeout", ["expected"]),
    "udp-size-range.conf": ("udp_size", []),
    "bad-address.conf": ("pools[0].members[1].address", ["expected", "192.0.2.300"]),
    "owner-outside-zones.conf": ("pools[0].owners", ["www.example.org"]),
    "owner-collides-static.conf": ("pools[0].owners", []),
    "owner-collides-cname.conf": ("pools[0].owners", []),
    "owner-below-delegation.conf": ("pools[0].owners", []),
    "pool-no-members.conf": ("pools[0].members", []),
    "unknown-policy.conf": ("pools[0].policy", ["random"]),
    "weight-zero.conf": ("pools[0].members[0].weight", []),
    "answers-zero.conf": ("pools[0].answers", []),
    "duplicate-pool-name.conf": ("pools[1].name", ["web"]),
    "zone-file-missing.conf": ("zones[0].file", ["does-not-exist.zone"]),
    "missing-zones.conf": ("zones", []),
    "missing-listen.conf": ("listen", []),
    "bad-listen.conf": ("listen[0]", []),
    "syntax-error.conf": (None, []),
    "rate-limit-slip.conf": ("rate_limit.slip", ["from 0 to 10", "11"]),
    "rate-limit-exempt.conf": ("rate_limit.exempt[1]", ["198.51.100.1/24", "past the prefix"]),
}


class ConfigErrors(unittest.TestCase):
    def check_bad(self, name):
        path = BAD / name
        setting, extra = CASES[name]
        rc, err = harness.run_check(path)
        self.assertEqual(rc, 1, "gslbd -t must exit 1 for %s; stderr:\n%s" % (name, err))
        self.assertIn(str(path), err, "message must name the config file")
        try:
            line = harness.error_line(path)
        except ValueError:
            line = None
        if line is not None:
            self.assertTrue(harness.names_file_line(err, path, line),
                            "message must name %s:%d; stderr:\n%s" % (path, line, err))
        else:
            # a missing setting has no line of its own; FILE:LINE still required
            self.assertRegex(err, re.escape(str(path)) + r":\d+", "FILE:LINE in message")
        if setting:
            self.assertIn(setting, err, "message must name the setting %s" % setting)
        for s in extra:
            self.assertIn(s, err)
        self.assertIn("error", err.lower())
        # a normal start must fail too, without serving
        rc, out, err2 = harness.run(["-c", str(path)], timeout=10)
        self.assertIsNotNone(rc, "gslbd -c %s did not exit within 10 s" % name)
        self.assertNotEqual(rc, 0, "starting with %s must fail" % name)
        self.assertNotRegex(out + err2, harness.READY_RE)
        self.assertIn(str(path), err2)

    def test_good_config(self):
        rc, err = harness.run_check(BAD / "good.conf")
        self.assertEqual(rc, 0, err)
        self.assertNotIn("error", err.lower())

    def test_scenario_configs_pass(self):
        for scen in ("basic", "minimal", "include", "reload"):
            rc, err = harness.run_check(DATA / scen / "gslbd.conf")
            self.assertEqual(rc, 0, "%s: %s" % (scen, err))

    def test_check_is_quick_and_does_not_serve(self):
        rc, out, err = harness.run(["-t", "-c", str(DATA / "basic" / "gslbd.conf")], timeout=10)
        self.assertEqual(rc, 0, err)
        self.assertNotRegex(out + err, harness.READY_RE)


def _make(name):
    def t(self):
        self.check_bad(name)
    t.__doc__ = "data/bad/%s is rejected" % name
    return t


for _name in CASES:
    setattr(ConfigErrors, "test_" + re.sub(r"\W", "_", _name[:-5]), _make(_name))


if __name__ == "__main__":
    unittest.main()
