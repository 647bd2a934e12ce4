#!/usr/bin/python3
"""DNS cookies (RFC 7873, server cookies as RFC 9018 makes them) and NSID
(RFC 5001) against the real binary: dig +cookie / kdig +cookie and a
dnspython client learn a server cookie and send it back; `gslbctl stats
--json` says what each cookie was worth. cookie_require answers BADCOOKIE
over UDP; a reload keeps a drawn secret and honours cookie_secret_previous.
dig +nsid and dnspython see the NSID in every kind of response."""

import json
import os
import re
import subprocess
import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from harness import DATA, ServerTestCase, make_query  # noqa: E402

import dns.edns  # noqa: E402
import dns.flags  # noqa: E402
import dns.rcode  # noqa: E402

GSLBCTL = os.environ.get("GSLBCTL") or str(harness.REPO / "src" / "gslbctl")
if not os.path.isabs(GSLBCTL):
    GSLBCTL = os.path.abspath(GSLBCTL)

Z = "lb.example.test."
STATIC = "static." + Z
SECRET1 = "e5e973e5a6b2a43f48e7dc849e37bfcf"
SECRET2 = "445536bcd2513298075a5d379663c962"
NSID = b"gslbd-it-ns1"
BADCOOKIE = 23
CLIENT = bytes.fromhex("0102030405060708")


def scenario(extra):
    """The basic scenario's config and zones, with `extra` settings and a
    control socket next to the config."""
    base = (DATA / "basic" / "gslbd.conf").read_text()
    files = {p.name: p for p in (DATA / "basic").glob("*.zone")}
    text = base + '\ncontrol = { socket = "ctl.sock"; };\n' + extra
    return text, files


def cookie_of(r):
    """The COOKIE option's data in response r, or None."""
    for o in r.options:
        if o.otype == dns.edns.COOKIE:
            return o.to_wire() if hasattr(o, "to_wire") else o.data
    return None


def nsid_of(r):
    for o in r.options:
        if o.otype == dns.edns.NSID:
            return o.to_wire() if hasattr(o, "to_wire") else o.data
    return None


class CookieCase(ServerTestCase):
    extra = ""

    @classmethod
    def setUpClass(cls):
        text, files = scenario(cls.extra)
        cls.server = harness.start(text, files=files)

    def ctl(self, *args):
        if not (os.path.isfile(GSLBCTL) and os.access(GSLBCTL, os.X_OK)):
            self.fail("gslbctl not found or not executable: %s (build it, or set GSLBCTL)"
                      % GSLBCTL)
        p = subprocess.run([GSLBCTL, "-s", str(self.server.path("ctl.sock"))] + list(args),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
        return p.stdout.decode(errors="replace")

    def stats(self):
        return json.loads(self.ctl("stats", "--json"))

    def delta(self, before, after, group):
        return {k: after[group][k] - before[group].get(k, 0) for k in after[group]}

    def ask(self, cookie, name=STATIC, tcp=False, v6=False, **kw):
        """Query `name` A with the COOKIE option `cookie` (bytes)."""
        q = make_query(name, "A", options=[dns.edns.GenericOption(dns.edns.COOKIE, cookie)],
                       **kw)
        return self.server.send(q, tcp=tcp, v6=v6)

    def learn(self, **kw):
        """A server cookie for CLIENT: the whole option (client + server)."""
        r = self.ask(CLIENT, **kw)
        c = cookie_of(r)
        self.assertIsNotNone(c, "a client cookie alone gets a server cookie:\n%s" % r)
        self.assertEqual(len(c), 24, "RFC 9018: 8 octets of client cookie, 16 of ours")
        self.assertEqual(c[:8], CLIENT, "our client cookie comes back")
        self.assertEqual(c[8], 1, "version 1")
        self.assertEqual(c[9:12], b"\0\0\0", "reserved octets zero")
        return c

    def dig(self, *args):
        cmd = ["dig", "@127.0.0.1", "-p", str(self.server.port), "+tries=1", "+time=3"]
        p = subprocess.run(cmd + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=20)
        return p.returncode, p.stdout.decode(errors="replace")

    def kdig(self, *args):
        cmd = ["kdig", "@127.0.0.1", "-p", str(self.server.port), "+retry=0", "+timeout=3"]
        p = subprocess.run(cmd + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=20)
        return p.returncode, p.stdout.decode(errors="replace")


class Cookies(CookieCase, unittest.TestCase):
    extra = 'cookie_secret = "%s";\nnsid = "%s";\n' % (SECRET1, NSID.decode())

    def test_dig_cookie_then_replay(self):
        before = self.stats()
        rc, out = self.dig("+cookie", STATIC, "A")
        self.assertEqual(rc, 0, out)
        m = re.search(r"^; COOKIE: ([0-9a-f]{48}) \(good\)$", out, re.M)
        self.assertIsNotNone(m, "dig shows our 24-octet cookie as good:\n" + out)
        full = m.group(1)
        self.assertEqual(full[16:18], "01", "version 1")
        rc, out = self.dig("+cookie=" + full, STATIC, "A")
        self.assertIn("; COOKIE: %s (good)" % full, out,
                      "a fresh valid cookie is sent back as it came:\n" + out)
        self.assertIn("status: NOERROR", out)
        d = self.delta(before, self.stats(), "cookies")
        self.assertEqual((d["client_only"], d["valid"], d["invalid"]), (1, 1, 0), d)

    def test_dig_header_only_asks_for_a_cookie(self):
        """RFC 7873 5.4: no question, only a COOKIE option."""
        rc, out = self.dig("+cookie", "+header-only")
        self.assertIn("status: NOERROR", out, out)
        self.assertIn("QUERY: 0, ANSWER: 0", out, out)
        m = re.search(r"^; COOKIE: ([0-9a-f]{48}) \(good\)$", out, re.M)
        self.assertIsNotNone(m, "a server cookie for a query without a question:\n" + out)
        rc, out = self.dig("+cookie=" + m.group(1), "+header-only")
        self.assertIn("; COOKIE: %s (good)" % m.group(1), out, out)
        self.assertIn("status: NOERROR", out, out)
        bad = m.group(1)[:47] + ("0" if m.group(1)[47] != "0" else "1")
        rc, out = self.dig("+cookie=" + bad, "+header-only", "+nobadcookie")
        self.assertIn("status: BADCOOKIE", out, "an invalid one is BADCOOKIE there:\n" + out)

    def test_kdig_cookie_then_replay(self):
        before = self.stats()
        rc, out = self.kdig("+cookie", STATIC, "A")
        self.assertEqual(rc, 0, out)
        m = re.search(r"^;; COOKIE: ([0-9A-F]{48})", out, re.M)
        self.assertIsNotNone(m, "kdig shows a 24-octet cookie:\n" + out)
        full = m.group(1)
        rc, out = self.kdig("+cookie=" + full, STATIC, "A")
        self.assertIn(";; COOKIE: " + full, out, out)
        self.assertIn("198.51.100.1", out)
        d = self.delta(before, self.stats(), "cookies")
        self.assertEqual((d["client_only"], d["valid"]), (1, 1), d)

    def test_dnspython_replay_udp_and_tcp(self):
        full = self.learn()
        before = self.stats()
        for tcp in (False, True, False):
            r = self.ask(full, tcp=tcp)
            self.assertRcode(r, dns.rcode.NOERROR)
            self.assertEqual(sorted(harness.addresses(r)), ["198.51.100.1", "198.51.100.2"])
            self.assertEqual(cookie_of(r), full, "the valid cookie comes back as it was")
        # A changed bit: not ours any more; answered, with a cookie of our own.
        bad = full[:-1] + bytes([full[-1] ^ 1])
        r = self.ask(bad)
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertEqual(len(r.answer), 1)
        self.assertNotEqual(cookie_of(r), bad)
        d = self.delta(before, self.stats(), "cookies")
        self.assertEqual((d["valid"], d["invalid"], d["client_only"]), (3, 1, 0), d)

    def test_other_address_invalid(self):
        if not self.server.v6:
            self.skipTest("no ::1")
        full = self.learn()
        before = self.stats()
        r = self.ask(full, v6=True)
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertNotEqual(cookie_of(r)[8:], full[8:], "::1 gets a cookie of its own")
        d = self.delta(before, self.stats(), "cookies")
        self.assertEqual((d["valid"], d["invalid"]), (0, 1), d)

    def test_malformed_cookie_formerr(self):
        for n in (1, 7, 9, 15, 41):
            r = self.ask(bytes(n))
            self.assertRcode(r, dns.rcode.FORMERR)
        self.assertAlive()

    def test_no_cookie_none(self):
        before = self.stats()
        r = self.server.query(STATIC, "A", payload=1232)
        self.assertIsNone(cookie_of(r))
        self.server.query(STATIC, "A")
        d = self.delta(before, self.stats(), "cookies")
        self.assertEqual(d["none"], 2, d)

    def test_dig_nsid(self):
        rc, out = self.dig("+nsid", STATIC, "A")
        self.assertIn('; NSID: %s ("%s")' % (" ".join("%02x" % b for b in NSID), NSID.decode()),
                      out, out)
        rc, out = self.kdig("+nsid", "nope." + Z, "A")
        self.assertIn(';; NSID: %s "%s"' % (NSID.hex().upper(), NSID.decode()), out, out)
        self.assertIn("NXDOMAIN", out)

    def test_nsid_only_when_asked_in_every_response(self):
        asked = [dns.edns.GenericOption(dns.edns.NSID, b"")]
        for name, rcode, tcp in ((STATIC, dns.rcode.NOERROR, False),
                                 ("nope." + Z, dns.rcode.NXDOMAIN, False),
                                 ("example.com.", dns.rcode.REFUSED, True),
                                 ("big." + Z, dns.rcode.NOERROR, False)):
            r = self.server.send(make_query(name, "TXT" if "big" in name else "A",
                                            options=asked), tcp=tcp)
            self.assertRcode(r, rcode)
            self.assertEqual(nsid_of(r), NSID, "NSID in the %s response" % name)
        r = self.server.query(STATIC, "A", payload=1232)
        self.assertIsNone(nsid_of(r), "not asked, not sent")


class CookieRequired(CookieCase, unittest.TestCase):
    extra = "cookie_require = true;\n"

    def test_badcookie_then_retry(self):
        before = self.stats()
        r = self.ask(CLIENT)
        self.assertEqual(r.rcode(), BADCOOKIE, "BADCOOKIE (23) over UDP:\n%s" % r)
        self.assertTrue(r.flags & dns.flags.TC, "TC: a client that ignores it retries over TCP")
        self.assertEqual(len(r.answer), 0)
        full = cookie_of(r)
        self.assertEqual(len(full), 24)
        r = self.ask(full)
        self.assertRcode(r, dns.rcode.NOERROR)
        self.assertEqual(len(r.answer), 1, "the retry with the server cookie is answered")
        self.assertFalse(r.flags & dns.flags.TC)
        # Over TCP, and without a COOKIE option, everything is answered.
        self.assertEqual(len(self.ask(CLIENT, tcp=True).answer), 1)
        self.assertEqual(len(self.server.query(STATIC, "A", payload=1232).answer), 1)
        self.assertEqual(len(self.server.query(STATIC, "A").answer), 1)
        after = self.stats()
        self.assertEqual(self.delta(before, after, "rcodes")["BADCOOKIE"], 1)
        d = self.delta(before, after, "cookies")
        self.assertEqual((d["client_only"], d["valid"], d["none"]), (2, 1, 2), d)

    def test_kdig_and_dig_get_their_answer(self):
        rc, out = self.kdig("+cookie", "+badcookie", STATIC, "A")
        self.assertIn("198.51.100.1", out, out)
        self.assertIn("NOERROR", out, out)
        rc, out = self.dig("+cookie", STATIC, "A")
        self.assertIn("status: NOERROR", out, out)
        self.assertIn("198.51.100.1", out, out)


class CookieReload(CookieCase, unittest.TestCase):
    """No cookie_secret at start: a drawn one, kept over reloads."""

    def valid_delta(self, full):
        before = self.stats()
        r = self.ask(full)
        self.assertRcode(r, dns.rcode.NOERROR)
        d = self.delta(before, self.stats(), "cookies")
        return d["valid"], cookie_of(r)

    def reload_with(self, extra):
        text, _ = scenario(extra)
        self.server.write_conf(text)
        state, log = self.server.reload()
        self.assertEqual(state, "done", log)

    def test_secret_kept_then_rotated(self):
        drawn = self.learn()
        self.reload_with("")
        self.assertEqual(self.valid_delta(drawn), (1, drawn), "a drawn secret survives a reload")
        self.reload_with('cookie_secret = "%s";\n' % SECRET1)
        self.assertEqual(self.valid_delta(drawn)[0], 0, "a configured secret replaces it")
        under1 = self.learn()
        self.reload_with('cookie_secret = "%s";\ncookie_secret_previous = "%s";\n'
                         % (SECRET2, SECRET1))
        n, back = self.valid_delta(under1)
        self.assertEqual(n, 1, "the previous secret is still accepted")
        self.assertNotEqual(back, under1, "and the cookie is renewed under the new one")
        self.assertEqual(self.valid_delta(back), (1, back))
        self.reload_with('cookie_secret = "%s";\n' % SECRET2)
        self.assertEqual(self.valid_delta(under1)[0], 0, "the previous secret is gone")
        self.assertEqual(self.valid_delta(back)[0], 1)


if __name__ == "__main__":
    unittest.main()
