#!/usr/bin/env python3
# seeds-net.py: writes the virtio-net fuzz target's seed inputs (what a driver and a tap would do).
import os
import struct

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'net')
RINGS = ((0x0000, 0x1000, 0x2000), (0x3000, 0x4000, 0x5000))  # fuzz_net.c's fixed pages
NEXT, WRITE, INDIRECT = 1, 2, 4
CSUM, GUEST_CSUM, HOST_TSO4, HOST_TSO6, HOST_ECN, MRG, EVENT_IDX, INDIRECT_DESC = (
    1 << i for i in range(8))
KICK_RX, KICK_TX, ARRIVE, SERVE, DRAIN, FILL, RESTART, MOVE_RX, MOVE_TX, CONFIG = range(10)
RX, TX = 0, 1


def hdr(flags=0, gso=0, hdr_len=0, gso_size=0, csum_start=0, csum_off=0):
    return struct.pack('<BBHHHHH', flags, gso, hdr_len, gso_size, csum_start, csum_off, 0)


def frame(n, seed=0):
    """An Ethernet frame of N bytes: to 52:54:00:12:34:56, IPv4, then a pattern."""
    eth = bytes([0x52, 0x54, 0, 0x12, 0x34, 0x56, 2, 0, 0, 0, 0, 1, 8, 0])
    return (eth + bytes((i * 7 + seed) & 0xff for i in range(max(n - 14, 0))))[:n]


class Seed:
    def __init__(self, features, log2_rx=4, log2_tx=4):
        self.ctl = [features, log2_rx, log2_tx]
        self.ram = bytearray(0x8000)
        self.next = [0, 0]
        self.avail = [0, 0]
        self.size = [1 << log2_rx, 1 << log2_tx]
        self.data = 0x6000
        self.script = []
        self.frames = b''

    def put(self, payload):
        at = self.data
        if at + len(payload) > len(self.ram):
            self.ram.extend(bytes(at + len(payload) - len(self.ram)))
        self.ram[at:at + len(payload)] = payload
        self.data = (at + len(payload) + 15) & ~15
        return at

    def chain(self, q, segs, publish=True, indirect=False):
        """segs: (addr, len, writable). Offered at once unless PUBLISH is False (MOVE_* does)."""
        desc = RINGS[q][0]
        head = self.next[q] % self.size[q]
        if indirect:
            table = self.put(bytes(16 * len(segs)))
            for i, (addr, ln, w) in enumerate(segs):
                flags = (WRITE if w else 0) | (NEXT if i + 1 < len(segs) else 0)
                struct.pack_into('<QIHH', self.ram, table + 16 * i, addr, ln, flags, i + 1)
            struct.pack_into('<QIHH', self.ram, desc + 16 * head, table, 16 * len(segs),
                             INDIRECT, 0)
            self.next[q] += 1
        else:
            for i, (addr, ln, w) in enumerate(segs):
                d = (self.next[q] + i) % self.size[q]
                flags = (WRITE if w else 0) | (NEXT if i + 1 < len(segs) else 0)
                struct.pack_into('<QIHH', self.ram, desc + 16 * d, addr, ln, flags,
                                 (d + 1) % self.size[q])
            self.next[q] += len(segs)
        avail = RINGS[q][1]
        slot = self.avail[q] % self.size[q]
        struct.pack_into('<H', self.ram, avail + 4 + 2 * slot, head)
        self.avail[q] += 1
        if publish:
            struct.pack_into('<H', self.ram, avail + 2, self.avail[q])

    def rx_buffers(self, n, size, publish=True):
        for _ in range(n):
            self.chain(RX, [(self.put(bytes(size)), size, True)], publish)

    def tx(self, payload, pieces=1, indirect=False):
        at = self.put(payload)
        step = max(len(payload) // pieces, 1)
        segs = []
        for i in range(pieces):
            ln = step if i + 1 < pieces else len(payload) - step * i
            segs.append((at + step * i, ln, False))
        self.chain(TX, segs, indirect=indirect)

    def arrive(self, payload):
        self.frames += struct.pack('<H', len(payload)) + payload

    def write(self, name):
        ctl = bytes(self.ctl + [len(self.script)]) + bytes(self.script)
        with open(os.path.join(here, name), 'wb') as f:
            f.write(ctl + struct.pack('<H', len(self.frames)) + self.frames + bytes(self.ram))


os.makedirs(here, exist_ok=True)

s = Seed(CSUM | GUEST_CSUM | HOST_TSO4)
s.rx_buffers(4, 1526)
s.tx(hdr() + frame(60))
s.tx(hdr(1, 1, 54, 1448, 34, 16) + frame(4000, 1), pieces=3)
s.arrive(hdr() + frame(60, 2))
s.arrive(hdr(2) + frame(1000, 3))
s.script = [CONFIG, CONFIG | (4 << 4), CONFIG | (5 << 4) | 0x40, KICK_TX, SERVE, ARRIVE, SERVE,
            DRAIN, ARRIVE, KICK_RX, SERVE, DRAIN]
s.write('round-trip')

s = Seed(MRG | EVENT_IDX | GUEST_CSUM, 5, 3)
s.rx_buffers(8, 256)
s.arrive(hdr() + frame(1500, 4))
s.arrive(hdr() + frame(200, 5))
s.arrive(hdr() + frame(3000, 6))
s.script = [ARRIVE, SERVE, ARRIVE, ARRIVE, SERVE, KICK_RX, SERVE]
s.write('mrg-spans-buffers')

s = Seed(MRG, 4, 4)
s.rx_buffers(3, 600, publish=False)  # descriptors written, avail.idx still 0
s.arrive(hdr() + frame(1000, 7))
s.arrive(hdr() + frame(100, 8))
s.script = [ARRIVE, ARRIVE, SERVE, SERVE, MOVE_RX | (1 << 4), KICK_RX, SERVE, MOVE_RX | (2 << 4),
            KICK_RX, SERVE]
s.write('no-rx-buffers')

s = Seed(CSUM | HOST_TSO4 | HOST_TSO6, 4, 5)
s.tx(bytes(8))                                     # shorter than the header
s.tx(hdr() + frame(10))                            # shorter than an Ethernet header
s.tx(hdr(1, 0, 0, 0, 990, 9) + frame(1000))        # checksum past the end
s.tx(hdr(1, 0, 0, 0, 0xffff, 0xffff) + frame(100))
s.tx(hdr(0, 0, 1001) + frame(1000))                # hdr_len past the end
s.tx(hdr(1, 1, 54, 0, 34, 16) + frame(1000))       # gso_size 0
s.tx(hdr(1, 1, 54, 2000, 34, 16) + frame(1000))    # gso_size past the frame
s.tx(hdr(1, 3, 42, 500, 34, 6) + frame(1000))      # UDP: not offered
s.tx(hdr(1, 0x81, 54, 500, 34, 16) + frame(1000))  # ECN without HOST_ECN
s.tx(hdr(0, 1, 54, 500) + frame(1000))             # GSO without NEEDS_CSUM
s.tx(hdr(4) + frame(100))                          # unknown flag
s.tx(hdr() + frame(65551), pieces=4)               # over the maximum
s.tx(hdr() + frame(65550), pieces=2)               # the maximum
s.tx(hdr(1, 4, 74, 1400, 54, 16) + frame(3000))    # fine: TSO over IPv6
s.script = [KICK_TX, SERVE, DRAIN, SERVE]
s.write('tx-bad-headers')

s = Seed(CSUM | INDIRECT_DESC | HOST_TSO4, 3, 3)
s.tx(hdr(1, 0, 0, 0, 34, 16) + frame(300), pieces=3, indirect=True)
s.chain(TX, [(0x6000, 64, False), (0x6100, 64, True)])  # writable buffer in a transmit chain
s.rx_buffers(2, 2048)
s.arrive(hdr() + frame(600, 9))
s.script = [FILL, KICK_TX, SERVE, ARRIVE, SERVE, DRAIN, SERVE, RESTART, KICK_TX, SERVE]
s.write('full-tap-indirect-restart')

s = Seed(HOST_ECN | CSUM | HOST_TSO4, 2, 2)
s.rx_buffers(4, 64)
s.arrive(b'\xff\xff' + bytes(4))  # a "frame" shorter than the header
s.arrive(hdr() + frame(500, 10))  # larger than the whole receive ring
s.script = [ARRIVE, ARRIVE, SERVE, SERVE, KICK_RX, SERVE]
s.frames += struct.pack('<H', 0xffff)  # one frame over the maximum
s.script += [ARRIVE, SERVE]
s.write('rx-too-big')

s = Seed(CSUM, 0x80 | 4, 8)  # a receive queue left not ready; more transmit chains than a round
for i in range(200):
    s.tx(hdr() + frame(60, i))
s.arrive(hdr() + frame(60))
s.script = [ARRIVE, KICK_TX, SERVE, KICK_RX, SERVE, DRAIN, SERVE, SERVE, DRAIN]
s.write('tx-budget-no-rx-queue')

s = Seed(0, 3, 3)  # chains that break each queue, then a restart with the same rings
s.chain(RX, [(0x6000, 64, False), (0x6100, 64, True)])  # device-readable in a receive chain
s.chain(TX, [(0x3ff00, 0x200, False)])                  # leaves guest RAM
s.arrive(hdr() + frame(60))
s.arrive(hdr() + frame(60))
s.script = [ARRIVE, SERVE, KICK_TX, SERVE, RESTART, SERVE, KICK_TX, ARRIVE, SERVE]
s.write('broken-chains')

# Behind the frame filter (bit 6 of the queue bytes): web, then db with its VLAN tags.
MAC = bytes([0x52, 0x54, 0, 0x12, 0x34, 0x56])


def ipv4_from(src, dst, n, seed=0):
    """An IPv4/UDP frame of N bytes from the NIC's MAC and SRC to DST (last octets, 10.0.x.y)."""
    body = bytes((i * 5 + seed) & 0xff for i in range(n - 42))
    udp = struct.pack('>HHHH', 4000, 53, 8 + len(body), 0) + body
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes([10, 0] + src), bytes([10, 0] + dst))
    return bytes([2, 0, 0, 0, 0, 1]) + MAC + b'\x08\x00' + ip + udp


for name, seg, vid in (('filter-web', 0x40, 0), ('filter-db-vlan', 0x40, 0x40)):
    s = Seed(CSUM | GUEST_CSUM, 0x40 | 4, vid | 4)
    s.rx_buffers(4, 1526)
    me = [1, 5] if not vid else [2, 5]
    s.tx(hdr() + ipv4_from(me, me[:1] + [9], 100))           # passes (tagged on db)
    s.tx(hdr() + ipv4_from([1, 9], me[:1] + [9], 100))        # spoofed source
    s.tx(hdr(1, 0, 0, 0, 34, 6) + ipv4_from(me, [3, 9], 300))  # another segment
    tagged = MAC + bytes([2, 0, 0, 0, 0, 1]) + bytes([0x81, 0, 0, 102]) + bytes(50)
    s.arrive(hdr() + (tagged if vid else frame(60, 2)))
    s.arrive(hdr() + frame(60, 3))
    s.script = [KICK_TX, SERVE, DRAIN, ARRIVE, ARRIVE, SERVE, KICK_RX, SERVE, DRAIN]
    s.write(name)
