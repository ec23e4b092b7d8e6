#!/usr/bin/env python3
# seeds-blk.py: writes the virtio-blk fuzz target's seed inputs (requests a driver would send).
import os
import struct

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'blk')
DESC, AVAIL = 0x1000, 0x2000
NEXT, WRITE, INDIRECT = 1, 2, 4
IN, OUT, FLUSH, GET_ID = 0, 1, 4, 8


def put_desc(ram, at, addr, ln, flags, nxt):
    struct.pack_into('<QIHH', ram, at, addr, ln, flags, nxt)


class Seed:
    """Guest RAM with a queue of 16 at the target's fixed ring addresses."""

    def __init__(self):
        self.ram = bytearray(0x6000)
        self.next_desc = 0
        self.heads = []
        self.hdr = 0x4000    # headers, 16 bytes each
        self.status = 0x4400  # status bytes
        self.data = 0x4800

    def header(self, rtype, sector):
        at = self.hdr
        struct.pack_into('<IIQ', self.ram, at, rtype, 0, sector)
        self.hdr += 16
        return at

    def chain(self, segs, indirect_at=None):
        """segs: (addr, len, writable). Direct, or through an indirect table at INDIRECT_AT."""
        head = self.next_desc
        if indirect_at is not None:
            for i, (addr, ln, w) in enumerate(segs):
                flags = (WRITE if w else 0) | (NEXT if i + 1 < len(segs) else 0)
                put_desc(self.ram, indirect_at + 16 * i, addr, ln, flags, i + 1)
            put_desc(self.ram, DESC + 16 * head, indirect_at, 16 * len(segs), INDIRECT, 0)
            self.next_desc += 1
        else:
            for i, (addr, ln, w) in enumerate(segs):
                flags = (WRITE if w else 0) | (NEXT if i + 1 < len(segs) else 0)
                put_desc(self.ram, DESC + 16 * (head + i), addr, ln, flags, head + i + 1)
            self.next_desc += len(segs)
        self.heads.append(head)

    def request(self, rtype, sector, data_len=0, data_writable=False, indirect_at=None):
        segs = [(self.header(rtype, sector), 16, False)]
        if data_len:
            segs.append((self.data, data_len, data_writable))
            self.data += data_len
        segs.append((self.status, 1, True))
        self.status += 1
        self.chain(segs, indirect_at)

    def write(self, name, flags=0, notifies=0, step=0, qlog=4):
        for n, h in enumerate(self.heads):
            struct.pack_into('<H', self.ram, AVAIL + 4 + 2 * n, h)
        struct.pack_into('<H', self.ram, AVAIL + 2, len(self.heads))
        ctl = bytes([qlog, flags, notifies, step, 0, 8, 0, 0])
        with open(os.path.join(here, name), 'wb') as f:
            f.write(ctl + bytes(self.ram).rstrip(b'\0'))  # the target zero-fills the rest


os.makedirs(here, exist_ok=True)

s = Seed()
s.request(IN, 2, 1024, True)
s.write('read')

s = Seed()
s.request(OUT, 3, 512)
s.write('write')

s = Seed()
s.request(FLUSH, 0)
s.write('flush')

s = Seed()
s.request(GET_ID, 0, 20, True)
s.write('get-id')

s = Seed()
s.request(IN, 7, 512, True, indirect_at=0x5000)
s.write('indirect', flags=1)

s = Seed()
s.request(OUT, 1, 512)
s.write('read-only-write', flags=4)

# A batch of every kind, event idx, and the guest notifying twice more with one more entry each.
s = Seed()
s.request(OUT, 60, 1024)
s.request(FLUSH, 0)
s.request(IN, 60, 1024, True)
s.request(GET_ID, 0, 20, True)
s.request(11, 0, 512)  # DISCARD: not offered, UNSUPP
s.request(IN, 63, 1024, True)  # past the end: IOERR
s.write('batch', flags=2, notifies=2, step=1)

# Any layout: a write whose header and data share one buffer; a read whose status shares data.
s = Seed()
struct.pack_into('<IIQ', s.ram, 0x4800, OUT, 0, 5)
s.chain([(0x4800, 16 + 512, False), (0x4400, 1, True)])
struct.pack_into('<IIQ', s.ram, 0x4000, IN, 0, 5)
s.chain([(0x4000, 16, False), (0x4c00, 300, True), (0x4c00 + 300, 213, True)])
s.write('any-layout')

# A guest re-posting faster than the device serves: each read (of a sector prepared below) lands
# on the avail ring and its own header, moving avail.idx on and pointing at the next sector. With
# a queue of 2 the device's round ends after 2 requests and it schedules another.
s = Seed()
hdr = AVAIL + 0x40
struct.pack_into('<IIQ', s.ram, hdr, IN, 0, 40)
s.chain([(hdr, 16, False), (AVAIL, 512, True), (s.status, 1, True)])
for k in range(6):
    sector = bytearray(512)
    struct.pack_into('<H', sector, 2, k + 2)
    struct.pack_into('<IIQ', sector, 0x40, IN, 0, 41 + k)
    s.ram[(40 + k) * 512:(41 + k) * 512] = sector
s.write('reposting', notifies=1, qlog=1)
