#!/usr/bin/python3
"""Config errors: each file in data/bad/*.conf is rejected by `gslbd -t`
(exit 1) and by a normal start (non-zero exit, never 'ready'); the message
names the config file, the line (the line marked '<-- error') and the
setting.  Valid configs pass `gslbd -t`.  A reload with a config that gives
a check a setting of another kind fails and keeps serving the old config."""

import re
import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from harness import DATA  # noqa: E402

import dns.rcode  # noqa: E402

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
    "check-foreign-setting.conf": ("checks[0].expect_body",
                                   ['setting "expect_body" does not apply to check type "tcp"',
                                    "(tcp accepts: port"]),
    "member-url-tcp-check.conf": ("pools[0].members[0].url",
                                  ['setting "url" does not apply to check type "tcp"',
                                   'check "web-tcp"']),
    "rate-limit-slip.conf": ("rate_limit.slip", ["from 0 to 10", "11"]),
    "rate-limit-exempt.conf": ("rate_limit.exempt[1]", ["198.51.100.1/24", "past the prefix"]),
    "chaos-version-long.conf": ("chaos.version", ["300 bytes long; at most 255"]),
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


Z = "lb.example.test."

# The reload scenario plus a checked pool; %s is spliced into the check.
CONF_CHECKED = """# reload scenario with a checked pool
listen = [ "127.0.0.1:0" ];
threads = 2;
zones = ( { origin = "lb.example.test"; file = "lb.example.test.zone"; } );
checks = ( { name = "t"; type = "tcp"; port = 9;%s } );
pools = (
  { name = "web";
    owners = [ "www.lb.example.test" ];
    members = ( { address = "192.0.2.1"; }, { address = "192.0.2.2"; } );
  },
  { name = "added"; owners = [ "pool2.lb.example.test" ]; check = "t";
    members = ( { address = "192.0.2.9"; probe_address = "127.0.0.1"; } );
  }
);
"""
FOREIGN = '\n    expect_body = "ok";'


class ForeignSettingReload(unittest.TestCase):
    """The rule holds at reload too: the new config is refused, the old one
    keeps serving, and the log says where and why."""

    def setUp(self):
        self.server = harness.start(DATA / "reload")

    def tearDown(self):
        srv, self.server = self.server, None
        srv.stop()

    def a(self, name):
        r = self.server.query(name, "A")
        return dns.rcode.to_text(r.rcode()), sorted(harness.addresses(r))

    def assertOldConfig(self):
        self.assertEqual(self.a("www." + Z), ("NOERROR", ["192.0.2.1", "192.0.2.2"]))
        self.assertEqual(self.a("pool2." + Z)[0], "NXDOMAIN", "the new pool must not appear")

    def test_reload_with_foreign_check_setting_keeps_old_config(self):
        self.assertOldConfig()
        text = CONF_CHECKED % FOREIGN
        line = text.splitlines().index('    expect_body = "ok"; } );') + 1
        self.server.write_conf(text)
        status, log = self.server.reload()
        self.assertEqual(status, "failed", "reload must fail; log:\n" + log)
        self.assertTrue(harness.names_file_line(log, self.server.conf_path, line),
                        "log must name %s:%d; log:\n%s" % (self.server.conf_path, line, log))
        self.assertIn('checks[0].expect_body: setting "expect_body" does not apply to '
                      'check type "tcp"', log)
        self.assertTrue(self.server.alive())
        self.assertOldConfig()
        # The same config without the foreign setting loads.
        self.server.write_conf(CONF_CHECKED % "")
        status, log = self.server.reload()
        self.assertEqual(status, "done", log)
        # Up at first (initial), and answered when down too (fail-open).
        self.assertEqual(self.a("pool2." + Z), ("NOERROR", ["192.0.2.9"]))


def _make(name):
    def t(self):
        self.check_bad(name)
    t.__doc__ = "data/bad/%s is rejected" % name
    return t


for _name in CASES:
    setattr(ConfigErrors, "test_" + re.sub(r"\W", "_", _name[:-5]), _make(_name))


if __name__ == "__main__":
    unittest.main()
