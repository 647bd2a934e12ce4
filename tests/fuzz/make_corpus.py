#!/usr/bin/python3
"""Generate the seed corpus of the query fuzzer (tests/fuzz/corpus/query).

The names match the built-in zone of fuzz_query.c: pools, a wildcard, CNAME
chains, a delegation, a child zone. Run from anywhere; rewrites the corpus
directory next to this script. The generated files are committed, so this
only needs to run when the seeds change (needs dnspython).
"""
import os
import struct
import sys

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.rdataclass
import dns.rdatatype

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "query")


def query(name, qtype="A", qclass="IN", qid=0x1234, rd=True, cd=False, edns=None,
          payload=1232, do=False, options=None, opcode=None):
    if edns is None:
        m = dns.message.make_query(name, qtype, rdclass=qclass, use_edns=False)
    else:
        m = dns.message.make_query(name, qtype, rdclass=qclass, use_edns=edns,
                                   payload=payload, want_dnssec=do, options=options)
    m.id = qid
    if not rd:
        m.flags &= ~dns.flags.RD
    if cd:
        m.flags |= dns.flags.CD
    if opcode is not None:
        m.set_opcode(opcode)
    return m.to_wire()


def header(qid=0x1234, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def wire_name(name):
    out = b""
    for label in name.split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def opt_rr(udp=1232, version=0, do=False, rdata=b""):
    return b"\0" + struct.pack("!HHBBHH", 41, udp, 0, version, 0x8000 if do else 0, len(rdata)) + rdata


def seeds():
    s = {}
    # Ordinary questions, one per kind of answer.
    s["a-www"] = query("www.lb.test.")
    s["aaaa-www-cd"] = query("www.lb.test.", "AAAA", cd=True)
    s["any-apex"] = query("lb.test.", "ANY")
    s["txt-www"] = query("www.lb.test.", "TXT", rd=False)
    s["mx-apex"] = query("lb.test.", "MX")
    s["mixed-case"] = query("WwW.Lb.TeSt.")
    s["pool-a"] = query("pool.lb.test.")
    s["pool-aaaa-edns"] = query("pool.lb.test.", "AAAA", edns=0)
    s["pool-weighted"] = query("wt.lb.test.")
    s["pool-v6-a-nodata"] = query("v6.lb.test.")
    s["pool-wildcard"] = query("x.pw.lb.test.")
    s["wildcard-a"] = query("foo.wild.lb.test.")
    s["wildcard-exists-txt"] = query("exists.wild.lb.test.", "TXT")
    s["cname-to-pool"] = query("topool.lb.test.")
    s["cname-chain"] = query("alias.lb.test.")
    s["cname-loop"] = query("loop1.lb.test.")
    s["cname-external"] = query("ext.lb.test.")
    s["referral"] = query("host.sub.lb.test.")
    s["ds-at-cut"] = query("sub.lb.test.", "DS")
    s["nxdomain"] = query("nope.lb.test.")
    s["ent-nodata"] = query("b.c.lb.test.")
    s["child-zone"] = query("www.child.lb.test.")
    s["big-txt-tc"] = query("big.lb.test.", "TXT")
    s["unknown-type"] = query("unk.lb.test.", "TYPE65400")
    s["chaos-version"] = query("version.bind.", "TXT", qclass="CH")
    s["refused-outside"] = query("www.example.org.")
    s["axfr"] = query("lb.test.", "AXFR")
    s["notify-opcode4"] = query("lb.test.", "SOA", opcode=dns.opcode.NOTIFY)
    # EDNS variants.
    s["edns-4096-do"] = query("www.lb.test.", edns=0, payload=4096, do=True)
    # DO=1 for the signed zone lb.test: RRSIGs and NSEC proofs (answer_dnssec.c).
    for label, name, qtype, payload in (
            ("pool", "pool.lb.test.", "A", 1232), ("pool-aaaa", "pool.lb.test.", "AAAA", 1232),
            ("wt", "wt.lb.test.", "A", 1232), ("nxdomain", "nothere.lb.test.", "A", 1232),
            ("nodata", "www.lb.test.", "MX", 1232), ("ent", "b.c.lb.test.", "A", 1232),
            ("wild", "x.wild.lb.test.", "A", 1232), ("wild-nodata", "x.wild.lb.test.", "MX", 1232),
            ("wild-pool", "q.pw.lb.test.", "A", 1232), ("cname-pool", "topool.lb.test.", "A", 1232),
            ("chain", "alias.lb.test.", "A", 1232), ("loop", "loop1.lb.test.", "A", 1232),
            ("referral", "x.sub.lb.test.", "A", 1232), ("ds", "sub.lb.test.", "DS", 1232),
            ("dnskey", "lb.test.", "DNSKEY", 1232), ("big-tc", "big.lb.test.", "TXT", 512),
            ("child", "www.child.lb.test.", "A", 1232), ("child-ds", "child.lb.test.", "DS", 1232),
            ("any", "lb.test.", "ANY", 1232)):
        s["do-" + label] = query(name, qtype, edns=0, payload=payload, do=True)
    s["edns-small-udp"] = query("big.lb.test.", "TXT", edns=0, payload=100)
    s["edns-options"] = query("www.lb.test.", edns=0, options=[
        dns.edns.GenericOption(10, b"\x01\x02\x03\x04\x05\x06\x07\x08"),
        dns.edns.GenericOption(65001, b"hello")])
    # EDNS options the parser reads (RFC 5001, 7871, 7873), well formed and not.
    def ecs(family, source, scope, addr):
        return struct.pack("!HBB", family, source, scope) + addr
    s["edns-nsid"] = query("www.lb.test.", edns=0, options=[dns.edns.GenericOption(3, b"")])
    s["edns-ecs-v4-24"] = query("www.lb.test.", edns=0, options=[
        dns.edns.GenericOption(8, ecs(1, 24, 0, b"\xc0\x00\x02"))])
    s["edns-ecs-v6-56"] = query("www.lb.test.", edns=0, options=[
        dns.edns.GenericOption(8, ecs(2, 56, 0, b"\x20\x01\x0d\xb8\x12\x34\x56"))])
    s["edns-ecs-source-0"] = query("www.lb.test.", edns=0, options=[
        dns.edns.GenericOption(8, ecs(1, 0, 0, b""))])
    s["bad-ecs-family"] = query("www.lb.test.", edns=0, options=[
        dns.edns.GenericOption(8, ecs(3, 8, 0, b"\x0a"))])
    s["bad-ecs-bits-past-prefix"] = query("www.lb.test.", edns=0, options=[
        dns.edns.GenericOption(8, ecs(1, 23, 0, b"\xc0\x00\x03"))])
    s["edns-cookie-client-server"] = query("www.lb.test.", edns=0, options=[
        dns.edns.GenericOption(10, bytes(range(24)))])
    s["bad-cookie-length"] = query("www.lb.test.", edns=0, options=[
        dns.edns.GenericOption(10, bytes(range(12)))])
    # Malformed and odd messages, built by hand.
    q = header() + wire_name("www.lb.test") + struct.pack("!HH", 1, 1)
    s["bad-short-header"] = q[:5]
    s["bad-header-only"] = header()
    s["bad-qdcount-2"] = header(qd=2) + q[12:] + q[12:]
    s["bad-response-qr"] = header(flags=0x8100) + q[12:]
    s["bad-compressed-qname"] = header() + b"\x03www\xc0\x0c" + struct.pack("!HH", 1, 1)
    s["bad-label-past-end"] = header() + b"\x3fwww"
    s["bad-trailing-garbage"] = q + b"\xde\xad"
    s["bad-two-opt"] = header(ar=2) + q[12:] + opt_rr() + opt_rr()
    s["bad-opt-option-overrun"] = header(ar=1) + q[12:] + opt_rr(rdata=b"\x00\x0a\x00\x09abcd")
    s["bad-qtype-opt"] = header() + wire_name("www.lb.test") + struct.pack("!HH", 41, 1)
    s["edns-badvers"] = header(ar=1) + q[12:] + opt_rr(version=1, do=True)
    # RFC 7873 5.4: no question, a cookie (client only; with a server cookie).
    s["cookie-no-question"] = header(qd=0, ar=1) + opt_rr(rdata=b"\x00\x0a\x00\x08" + bytes(8))
    s["cookie-no-question-server"] = header(qd=0, ar=1) + opt_rr(
        rdata=b"\x00\x0a\x00\x18" + bytes(8) + b"\x01\0\0\0" + bytes(12))
    s["bad-no-question-nsid"] = header(qd=0, ar=1) + opt_rr(rdata=b"\x00\x03\x00\x00")
    s["tsig-like-additional"] = (header(ar=1) + q[12:] + b"\x03key\xc0\x0c" +
                                 struct.pack("!HHIH", 250, 255, 0, 4) + b"\x01\x02\x03\x04")
    s["long-name-255"] = header() + (b"\x3f" + b"a" * 63) * 3 + b"\x3e" + b"b" * 62 + b"\0" + \
        struct.pack("!HH", 1, 1)
    return s


def main():
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        if old.endswith(".bin"):
            os.unlink(os.path.join(OUT, old))
    s = seeds()
    for name, data in sorted(s.items()):
        assert len(data) <= 512, name
        with open(os.path.join(OUT, name + ".bin"), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(s), OUT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
