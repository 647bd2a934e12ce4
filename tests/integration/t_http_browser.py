"""The status page in a real browser: headless Chromium loads GET / from a
running gslbd whose pool member is probed on a TCP backend started here;
the page shows the member up, the backend is killed, and the page loaded
again shows it down. Skipped (with a SKIP: line) without chromium.

Run with /usr/bin/python3 from the repository root."""

import html.parser
import json
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import backends as B  # noqa: E402
import harness  # noqa: E402
from backends import check, config, member, pool  # noqa: E402

SLOW = harness.SLOW
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def browser():
    for b in BROWSERS:
        path = shutil.which(b)
        if path:
            return path
    return None


class Rows(html.parser.HTMLParser):
    """Member rows of the page as the browser built it: {address: [cell texts]}."""

    def __init__(self):
        super().__init__()
        self.rows = {}
        self.pools = {}
        self._member = None
        self._cell = None
        self._badge = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-member" in a:
            self._member = a["data-member"]
            self.rows[self._member] = []
        elif tag == "td" and self._member is not None:
            self._cell = ""
        elif tag == "section" and "data-pool" in a:
            self._pool = a["data-pool"]
        elif tag == "span" and "pool-state" in (a.get("class") or ""):
            self._badge = ""

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.rows[self._member].append(self._cell.strip())
            self._cell = None
        elif tag == "tr":
            self._member = None
        elif tag == "span" and self._badge is not None:
            self.pools[self._pool] = self._badge.strip()
            self._badge = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        if self._badge is not None:
            self._badge += data


class Browser(B.HealthCase, unittest.TestCase):

    def setUp(self):
        super().setUp()
        self.chromium = browser()
        if not self.chromium:
            self.skipTest("no chromium (Debian package chromium) to load the page in")
        self.profile = tempfile.mkdtemp(prefix="gslbd-chromium-")

    def tearDown(self):
        shutil.rmtree(self.profile, ignore_errors=True)
        super().tearDown()

    def load(self, url):
        """The DOM after Chromium loaded @url, parsed into member rows."""
        p = subprocess.run([self.chromium, "--headless", "--no-sandbox", "--disable-gpu",
                            "--no-first-run", "--user-data-dir=" + self.profile,
                            "--dump-dom", url],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60 * SLOW)
        dom = p.stdout.decode(errors="replace")
        self.assertEqual(p.returncode, 0, "chromium failed:\n%s" % p.stderr.decode(errors="replace"))
        self.assertIn("gslbd status", dom, "not the status page:\n%s" % dom[:2000])
        rows = Rows()
        rows.feed(dom)
        return rows

    def test_member_goes_down_on_the_page(self):
        be = self.backend(B.TCPBackend())
        other = self.backend(B.TCPBackend())
        srv = self.start(config(
            [pool("shop", ["www.lb.example.test"],
                  [member("192.0.2.11", probe_address="127.0.0.1", port=be.port),
                   member("192.0.2.12", probe_address="127.0.0.1", port=other.port)],
                  check="tcp")],
            [check("tcp", "tcp")],
            'http = { listen = [ "127.0.0.1:0" ]; };'))
        url = "http://127.0.0.1:%d/" % srv.http_ports["127.0.0.1"]
        page = self.load(url)
        self.assertIn("192.0.2.11", page.rows, "member row; rows: %r" % page.rows)
        cells = page.rows["192.0.2.11"]
        self.assertEqual(cells[2], "up", "state cell of a member whose backend answers: %r" % cells)
        self.assertEqual(page.pools.get("shop"), "healthy")
        be.stop()
        # Wait until gslbd itself says down (bounded), then look again.
        deadline = time.monotonic() + 5 * SLOW
        while True:
            with urllib.request.urlopen(url + "status.json", timeout=5) as r:
                doc = json.load(r)
            m = [m for p in doc["pools"] for m in p["members"] if m["address"] == "192.0.2.11"][0]
            if m["state"] == "down":
                break
            self.assertLess(time.monotonic(), deadline, "gslbd never saw the backend down")
            time.sleep(0.1)
        page = self.load(url)
        cells = page.rows["192.0.2.11"]
        self.assertEqual(cells[2], "down", "state cell once the backend is killed: %r" % cells)
        self.assertTrue(cells[6].startswith("failed:"), "last probe cell: %r" % cells)
        self.assertEqual(page.pools.get("shop"), "degraded")
        self.assertEqual(page.rows["192.0.2.12"][2], "up")


if __name__ == "__main__":
    unittest.main()
