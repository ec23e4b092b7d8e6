#!/usr/bin/env python3
# seeds-net_filter.py: writes the frame filter fuzz target's seeds: one frame of each kind it
# parses, from the NIC of fuzz_net_filter.c (control byte, then the frame).
import ipaddress
import os
import struct

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'net_filter')
MAC = bytes([2, 0, 0, 0, 1, 5])
PEER = bytes([2, 0, 0, 0, 1, 6])
BCAST = b'\xff' * 6
WEB, DB, BARE = 0, 1, 2
GSO, RX = 0x14, 8  # GSO: checksum at offset 16 from byte 34, TCPv4 segmentation


def a(s):
    return ipaddress.ip_address(s).packed


def eth(typ, dst=PEER, src=MAC):
    return dst + src + struct.pack('>H', typ)


def ip4(src, dst, proto, l4, frag=0):
    return eth(0x0800) + struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(l4), 1, frag, 64, proto,
                                     0, a(src), a(dst)) + l4


def ip6(src, dst, nh, payload):
    return eth(0x86dd) + struct.pack('>IHBB16s16s', 0x60000000, len(payload), nh, 64, a(src),
                                     a(dst)) + payload


def tcp(dport, sport=40000):
    return struct.pack('>HHIIBBHHH', sport, dport, 0, 0, 0x50, 2, 65535, 0, 0)


def udp(sport, dport, n=8):
    return struct.pack('>HHHH', sport, dport, n, 0) + bytes(n - 8)


def arp(op, spa, tpa):
    return eth(0x0806, BCAST) + struct.pack('>HHBBH6s4s6s4s', 1, 0x0800, 6, 4, op, MAC, a(spa),
                                            bytes(6), a(tpa))


LL = 'fe80::ff:fe00:105'
seeds = {
    'tcp-own': (WEB, ip4('10.0.1.5', '10.0.1.6', 6, tcp(80))),
    'tcp-egress': (WEB, ip4('10.0.1.5', '8.8.8.8', 6, tcp(443))),
    'udp-dns': (WEB, ip4('10.0.1.5', '192.0.2.53', 17, udp(5000, 53))),
    'fragment-later': (WEB, ip4('10.0.1.5', '8.8.8.8', 6, bytes(64), 100)),
    'dhcp-discover': (DB, ip4('0.0.0.0', '255.255.255.255', 17, udp(68, 67, 300))),
    'arp-request': (WEB, arp(1, '10.0.1.5', '10.0.1.1')),
    'arp-probe': (BARE, arp(1, '0.0.0.0', '10.0.1.9')),
    'gso-tcp': (WEB | GSO, ip4('10.0.1.5', '10.0.2.9', 6, tcp(5432) + bytes(3000))),
    'tcp6-hbh': (WEB, ip6('fd00:1::5', '2001:db8::1', 0, bytes([6, 0]) + bytes(6) + tcp(8050))),
    'ns': (WEB, ip6(LL, 'ff02::1:ff00:6', 58, bytes([135, 0, 0, 0, 0, 0, 0, 0]) +
                a('fd00:1::6') + bytes([1, 1]) + MAC)),
    'na': (WEB, ip6(LL, 'fe80::1', 58, bytes([136, 0, 0, 0, 0x60, 0, 0, 0]) + a('fd00:1::5') +
                bytes([2, 1]) + MAC)),
    'mld-report': (WEB, ip6(LL, 'ff02::16', 0, bytes([58, 0, 5, 2, 0, 0, 1, 0]) +
                        bytes([143]) + bytes(27))),
    'frag6-first': (WEB, ip6('fd00:1::5', 'fd00:1::6', 44, bytes([6, 0, 0, 1, 0, 0, 0, 1]) +
                         tcp(80))),
    'routing6': (WEB, ip6('fd00:1::5', 'fd00:1::6', 43, bytes([6, 0, 0, 0]) + bytes(4) +
                      tcp(80))),
    'lldp': (DB, eth(0x88cc, bytes([1, 0x80, 0xc2, 0, 0, 0xe])) + bytes(46)),
    'rx-tagged': (DB | RX, MAC + PEER + struct.pack('>HH', 0x8100, 102) +
                  ip4('10.0.2.9', '10.0.2.5', 6, tcp(1))[12:]),
    'rx-broadcast': (WEB | RX, BCAST + PEER + b'\x08\x06' + bytes(28)),
}
os.makedirs(here, exist_ok=True)
for name, (ctl, frame) in seeds.items():
    with open(os.path.join(here, name), 'wb') as f:
        f.write(bytes([ctl]) + frame)
