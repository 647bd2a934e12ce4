#!/usr/bin/python3
"""Malformed and unusual packets: FORMERR with the ID echoed, drops (short
packets, QR=1), NOTIMP for other opcodes; the server keeps answering."""

import socket
import struct
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from harness import ServerTestCase, header, question, parse_header  # noqa: E402

import dns.rcode  # noqa: E402

Z = "lb.example.test."
Q = question("static." + Z, 1, 1)          # a valid question
OPT = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)   # a valid OPT RR
FORMERR, NOTIMP = 1, 4
DROP_WAIT = 0.5


class Malformed(ServerTestCase, unittest.TestCase):
    scenario = "basic"

    def tearDown(self):
        # after every malformed packet the server must still answer normally
        self.assertAlive()

    def expect(self, data, rcode, id_, opcode=0, echo_question=None):
        resp = self.server.raw_udp(data, timeout=2.0)
        self.assertIsNotNone(resp, "no response to %r" % data[:40])
        self.assertGreaterEqual(len(resp), 12)
        h = parse_header(resp)
        self.assertEqual(h["id"], id_, "header ID must be echoed")
        self.assertTrue(h["qr"], "QR must be set")
        self.assertEqual(h["opcode"], opcode, "opcode must be echoed")
        self.assertEqual(h["rcode"], rcode,
                         "expected rcode %s, got %s" % (dns.rcode.to_text(rcode), dns.rcode.to_text(h["rcode"])))
        self.assertEqual(h["an"], 0)
        if echo_question is not None:
            self.assertEqual(h["qd"], 1, "parsed question must be echoed")
            self.assertEqual(resp[12:12 + len(echo_question)], echo_question)
        return resp

    def expect_drop(self, data):
        resp = self.server.raw_udp(data, timeout=DROP_WAIT)
        self.assertIsNone(resp, "expected no response, got %r" % (resp[:40] if resp else resp))

    # --- FORMERR
    def test_truncated_question_name(self):
        self.expect(header(0x1001) + b"\x06static\x02lb", FORMERR, 0x1001)

    def test_truncated_question_type_class(self):
        self.expect(header(0x1002) + harness.wire_name("static." + Z) + b"\x00\x01", FORMERR, 0x1002)

    def test_header_only_qdcount_1(self):
        self.expect(header(0x1003, qd=1), FORMERR, 0x1003)

    def test_qdcount_0(self):
        self.expect(header(0x1004, qd=0), FORMERR, 0x1004)

    def test_qdcount_2(self):
        self.expect(header(0x1005, qd=2) + Q + question("mail." + Z), FORMERR, 0x1005)

    def test_bad_label_type(self):
        for i, lab in enumerate((b"\x40", b"\x80", b"\x41abc")):
            id_ = 0x1010 + i
            self.expect(header(id_) + lab + b"\x00\x00\x01\x00\x01", FORMERR, id_)

    def test_label_length_beyond_packet(self):
        self.expect(header(0x1020) + b"\x3fabc\x00\x00\x01\x00\x01", FORMERR, 0x1020)

    def test_compression_pointer_loop_in_question(self):
        self.expect(header(0x1030) + b"\xc0\x0c\x00\x01\x00\x01", FORMERR, 0x1030)

    def test_compression_pointer_out_of_range(self):
        self.expect(header(0x1031) + b"\xc3\xff\x00\x01\x00\x01", FORMERR, 0x1031)
        self.expect(header(0x1032) + b"\x03www\xc0\x0e\x00\x01\x00\x01", FORMERR, 0x1032)

    def test_name_too_long(self):
        name = (b"\x3f" + b"a" * 63) * 4 + b"\x00"     # 257 octets
        self.expect(header(0x1040) + name + b"\x00\x01\x00\x01", FORMERR, 0x1040)

    def test_trailing_garbage(self):
        self.expect(header(0x1050) + Q + b"\xde\xad\xbe\xef\x00", FORMERR, 0x1050, echo_question=Q)

    def test_ancount_without_records(self):
        self.expect(header(0x1060, an=1) + Q, FORMERR, 0x1060)

    def test_arcount_truncated_rr(self):
        self.expect(header(0x1061, ar=1) + Q + b"\x00\x00\x29\x04", FORMERR, 0x1061)

    def test_two_opt_records(self):
        self.expect(header(0x1070, ar=2) + Q + OPT + OPT, FORMERR, 0x1070, echo_question=Q)

    def test_opt_not_at_root(self):
        bad_opt = b"\x01x\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
        self.expect(header(0x1071, ar=1) + Q + bad_opt, FORMERR, 0x1071)

    def test_formerr_keeps_rd(self):
        resp = self.expect(header(0x1080, flags=0x0100, qd=0), FORMERR, 0x1080)
        self.assertTrue(parse_header(resp)["rd"])

    # --- drops
    def test_short_packets_dropped(self):
        for data in (b"", b"\x12", b"\x12\x34\x01\x00\x00\x01", b"\x00" * 11):
            self.expect_drop(data)

    def test_qr_set_dropped(self):
        self.expect_drop(header(0x2001, flags=0x8000) + Q)
        self.expect_drop(header(0x2002, flags=0x8400, qd=1, an=0) + Q)

    # --- opcodes
    def test_other_opcodes_notimp(self):
        for op in (1, 2, 3, 4, 5, 6, 15):
            id_ = 0x3000 + op
            flags = op << 11
            if op == 4:  # NOTIFY: AA set, SOA question
                data = header(id_, flags | 0x0400) + question(Z, 6, 1)
            elif op == 5:  # UPDATE: zone section
                data = header(id_, flags) + question(Z, 6, 1)
            else:
                data = header(id_, flags) + Q
            self.expect(data, NOTIMP, id_, opcode=op)

    def test_valid_query_raw(self):
        resp = self.server.raw_udp(header(0x4000) + Q)
        h = parse_header(resp)
        self.assertEqual((h["id"], h["rcode"], h["an"]), (0x4000, 0, 2))

    def test_burst_of_garbage(self):
        # a bounded burst of assorted junk, then a normal query
        junk = [bytes([(i * 37 + j * 11) & 0xFF for j in range(i % 60)]) for i in range(300)]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for d in junk:
                s.sendto(d, self.server.addr())
        time.sleep(0.2)


class MalformedTcp(ServerTestCase, unittest.TestCase):
    scenario = "basic"

    def tearDown(self):
        r = self.server.query("static." + Z, "A", tcp=True)
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)

    def test_formerr_over_tcp(self):
        data = header(0x5001, qd=2) + Q + Q
        resp = self.server.raw_tcp(data)
        self.assertIsNotNone(resp)
        h = parse_header(resp)
        self.assertEqual((h["id"], h["rcode"]), (0x5001, FORMERR))

    def test_short_message_over_tcp(self):
        with self.server.tcp_connect() as s:
            s.sendall(b"\x00\x05hello")
            s.settimeout(3.0)
            try:
                data = s.recv(100)
            except (socket.timeout, ConnectionResetError):
                data = b""
        # either closed or nothing; the server must not answer garbage with garbage
        self.assertEqual(data, b"")

    def test_zero_length_frame(self):
        with self.server.tcp_connect() as s:
            s.sendall(b"\x00\x00")
            s.settimeout(3.0)
            try:
                data = s.recv(100)
            except (socket.timeout, ConnectionResetError):
                data = b""
        self.assertEqual(data, b"")

    def test_client_closes_mid_message(self):
        with self.server.tcp_connect() as s:
            s.sendall(b"\x01\x00" + b"\x00" * 20)

    def test_qr_set_over_tcp_no_answer(self):
        with self.server.tcp_connect() as s:
            data = header(0x5002, flags=0x8000) + Q
            s.sendall(struct.pack("!H", len(data)) + data)
            s.settimeout(1.0)
            try:
                got = s.recv(100)
            except (socket.timeout, ConnectionResetError):
                got = b""
        self.assertEqual(got, b"")


if __name__ == "__main__":
    unittest.main()
