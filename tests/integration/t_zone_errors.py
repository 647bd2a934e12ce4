#!/usr/bin/python3
"""Zone errors: each data/bad/zone-*.zone is refused (`gslbd -t` exits 1, a
normal start fails) with a message naming the zone file and the line (the
line marked '<-- error'; for whole-zone problems such as a missing SOA any
FILE:LINE of the zone or of its config entry)."""

import re
import shutil
import sys
import tempfile
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from harness import DATA  # noqa: E402

BAD = DATA / "bad"

CASES = {
    "zone-no-soa.zone": ["SOA"],
    "zone-two-soa.zone": ["SOA"],
    "zone-no-apex-ns.zone": ["NS"],
    "zone-syntax-error.zone": [],
    "zone-bad-rdata.zone": [],
    "zone-outside-origin.zone": [],
    "zone-include-missing.zone": ["no-such-file.zone"],
}


class ZoneErrors(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="gslbd-zt-"))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def conf_for(self, zone_path):
        conf = self.tmp / "gslbd.conf"
        conf.write_text('listen = [ "127.0.0.1:0" ];\n'
                        'zones = (\n'
                        '  { origin = "lb.example.test"; file = "%s"; }\n'
                        ');\n' % zone_path)
        return conf

    def check_bad(self, name):
        zone = BAD / name
        conf = self.conf_for(zone)
        rc, err = harness.run_check(conf)
        self.assertEqual(rc, 1, "gslbd -t must exit 1 for %s; stderr:\n%s" % (name, err))
        self.assertIn(str(zone), err, "message must name the zone file")
        try:
            line = harness.error_line(zone)
        except ValueError:
            line = None
        if line is not None:
            self.assertTrue(harness.names_file_line(err, zone, line),
                            "message must name %s:%d; stderr:\n%s" % (zone, line, err))
        else:
            self.assertRegex(err, "(%s|%s):\\d+" % (re.escape(str(zone)), re.escape(str(conf))),
                             "message must carry FILE:LINE")
        for s in CASES[name]:
            self.assertIn(s, err)
        rc, out, err2 = harness.run(["-c", str(conf)], timeout=10)
        self.assertIsNotNone(rc, "gslbd -c did not exit within 10 s")
        self.assertNotEqual(rc, 0, "starting with %s must fail" % name)
        self.assertNotRegex(out + err2, harness.READY_RE)
        self.assertIn(str(zone), err2)

    def test_good_zone(self):
        rc, err = harness.run_check(self.conf_for(BAD / "ok.zone"))
        self.assertEqual(rc, 0, err)

    def test_wrong_origin_for_zone_file(self):
        # ok.zone says $ORIGIN lb.example.test. but the config serves other.test
        conf = self.tmp / "gslbd.conf"
        zone = BAD / "ok.zone"
        conf.write_text('listen = [ "127.0.0.1:0" ];\n'
                        'zones = ( { origin = "other.test"; file = "%s"; } );\n' % zone)
        rc, err = harness.run_check(conf)
        self.assertEqual(rc, 1, err)
        self.assertIn(str(zone), err)


def _make(name):
    def t(self):
        self.check_bad(name)
    t.__doc__ = "data/bad/%s is refused" % name
    return t


for _name in CASES:
    setattr(ZoneErrors, "test_" + re.sub(r"\W", "_", _name[:-5]), _make(_name))


if __name__ == "__main__":
    unittest.main()
