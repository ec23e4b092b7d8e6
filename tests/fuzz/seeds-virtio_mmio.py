#!/usr/bin/env python3
# seeds-virtio_mmio.py: writes the transport fuzz target's seed inputs (drivers, polite and not).
import os
import struct

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'virtio_mmio')
DESC, AVAIL, USED = 0x1000, 0x2000, 0x3000  # where PROBE puts the queue
WRITE, READ, POKE, PROBE, SERVE = range(5)  # record kinds, as fuzz_virtio_mmio.c reads them
NEXT, WRITABLE, INDIRECT = 1, 2, 4
ACK, DRIVER, DRIVER_OK, FEATURES_OK, NEEDS_RESET, FAILED = 1, 2, 4, 8, 0x40, 0x80
VERSION_1, F_INDIRECT, F_EVENT_IDX = 1 << 32, 1 << 28, 1 << 29
# Registers (virtio.h)
FEAT, FEAT_SEL, DRV_FEAT, DRV_FEAT_SEL = 0x10, 0x14, 0x20, 0x24
Q_SEL, Q_NUM_MAX, Q_NUM, Q_READY, Q_NOTIFY = 0x30, 0x34, 0x38, 0x44, 0x50
INT_STATUS, INT_ACK, STATUS = 0x60, 0x64, 0x70
Q_DESC, Q_AVAIL, Q_USED, SHM_SEL, SHM_LEN, Q_RESET, GEN, CONFIG = (
    0x80, 0x90, 0xa0, 0xac, 0xb0, 0xc0, 0xfc, 0x100)
WIDTH = {1: 0, 2: 1, 4: 2, 8: 3}


class Seed:
    def __init__(self, rate=None, burst=0, shift=0):
        # Header: the rng (bit 0: rate-limited; rate = u32 << (byte 0 >> 1), burst u32).
        if rate is None:
            self.hdr = bytes(9)
        else:
            self.hdr = bytes([1 | shift << 1]) + struct.pack('<II', rate, burst)
        self.ops = []
        self.ram = bytearray(0x6000)
        self.next_desc = 0
        self.avail_idx = 0
        self.data = 0x4000

    def op(self, kind, off=0, value=0, width=4, wbyte=None):
        wbyte = WIDTH[width] if wbyte is None else wbyte
        self.ops.append(struct.pack('<BBHQ', kind, wbyte, off, value))

    def w(self, off, value, width=4):
        self.op(WRITE, off, value, width)

    def r(self, off, width=4):
        self.op(READ, off, 0, width)

    def serve(self, n=1):
        for _ in range(n):
            self.op(SERVE)

    def handshake(self, features=VERSION_1, size=16, desc=DESC, avail=AVAIL, used=USED):
        """The driver's probe written out register by register (3.1.1), as Linux does it."""
        self.w(STATUS, 0)
        self.w(STATUS, ACK)
        self.w(STATUS, ACK | DRIVER)
        for sel in (0, 1):
            self.w(FEAT_SEL, sel)
            self.r(FEAT)
            self.w(DRV_FEAT_SEL, sel)
            self.w(DRV_FEAT, (features >> (32 * sel)) & 0xffffffff)
        self.w(STATUS, ACK | DRIVER | FEATURES_OK)
        self.r(STATUS)
        self.w(Q_SEL, 0)
        self.r(Q_NUM_MAX)
        self.w(Q_NUM, size)
        for reg, gpa in ((Q_DESC, desc), (Q_AVAIL, avail), (Q_USED, used)):
            self.w(reg, gpa & 0xffffffff)
            self.w(reg + 4, gpa >> 32)
        self.w(Q_READY, 1)
        self.w(STATUS, ACK | DRIVER | FEATURES_OK | DRIVER_OK)

    def probe(self, features=VERSION_1, log2_size=4):
        """The same probe as one PROBE record: a queue of 1 << LOG2_SIZE."""
        self.op(PROBE, 0, features, wbyte=log2_size)

    def request(self, ln, size=16, indirect_at=None, segs=1, later=False):
        """A request for LN bytes in SEGS writable buffers, put on the avail ring (no notify)
        unless LATER: then the caller post()s it. Returns its head."""
        head = self.next_desc % size
        parts = [(self.data + i * (ln // segs), ln // segs) for i in range(segs)]
        self.data += ln
        if indirect_at is not None:
            for i, (addr, n) in enumerate(parts):
                flags = WRITABLE | (NEXT if i + 1 < segs else 0)
                struct.pack_into('<QIHH', self.ram, indirect_at + 16 * i, addr, n, flags, i + 1)
            struct.pack_into('<QIHH', self.ram, DESC + 16 * head, indirect_at, 16 * segs,
                             INDIRECT, 0)
            self.next_desc += 1
        else:
            for i, (addr, n) in enumerate(parts):
                d = (head + i) % size
                flags = WRITABLE | (NEXT if i + 1 < segs else 0)
                struct.pack_into('<QIHH', self.ram, DESC + 16 * d, addr, n, flags, (d + 1) % size)
            self.next_desc += segs
        if not later:
            struct.pack_into('<H', self.ram, AVAIL + 4 + 2 * (self.avail_idx % size), head)
            self.avail_idx += 1
        return head

    def post(self, slot, head):
        """The guest writes avail ring entry SLOT while the device runs (a RAM store)."""
        self.op(POKE, AVAIL + 4 + 2 * slot, head, 2)

    def publish(self):
        """The guest moves avail.idx now, with a RAM store: it may do so at any time."""
        self.op(POKE, AVAIL + 2, self.avail_idx & 0xffff, 2)

    def write(self, name):
        struct.pack_into('<H', self.ram, AVAIL + 2, 0)  # avail.idx only moves through publish()
        body = b''.join(self.ops)
        assert len(self.ops) <= 128
        with open(os.path.join(here, name), 'wb') as f:
            f.write(self.hdr + bytes([len(self.ops)]) + body + bytes(self.ram).rstrip(b'\0'))


os.makedirs(here, exist_ok=True)

# A polite driver: probe, three requests, notify, serve, acknowledge the interrupt.
s = Seed()
s.handshake()
for n in (16, 64, 4096):
    s.request(n)
s.publish()
s.w(Q_NOTIFY, 0)
s.serve()
s.r(INT_STATUS)
s.w(INT_ACK, 1)
s.write('polite')

# Indirect tables, split buffers and event idx; the guest posts more after the first round.
s = Seed()
s.probe(VERSION_1 | F_INDIRECT | F_EVENT_IDX, 3)
s.request(32, size=8, indirect_at=0x5000, segs=3)
s.request(100, size=8, segs=2)
s.publish()
s.w(Q_NOTIFY, 0)
s.serve()
s.request(8, size=8)
s.request(5000, size=8)  # more than a request gets: capped at 4096
s.publish()
s.w(Q_NOTIFY, 0)
s.serve(2)
s.write('indirect-event-idx')

# Everything out of order: queue registers before FEATURES_OK and after DRIVER_OK, selectors
# past the end, features never offered, FEATURES_OK without VERSION_1, DRIVER_OK too early,
# clearing and forging status bits, notifications for queues that do not exist.
s = Seed()
s.w(Q_NUM, 8)
s.w(Q_NOTIFY, 0)
s.w(STATUS, ACK | DRIVER)  # DRIVER without ACKNOWLEDGE
s.w(STATUS, ACK)
s.w(STATUS, ACK | DRIVER)
s.w(STATUS, ACK | DRIVER | DRIVER_OK)
s.w(DRV_FEAT_SEL, 0)
s.w(DRV_FEAT, 0xffffffff)
s.w(DRV_FEAT_SEL, 7)
s.w(DRV_FEAT, 1)
s.w(STATUS, ACK | DRIVER | FEATURES_OK)  # no VERSION_1: refused
s.r(STATUS)
s.w(DRV_FEAT_SEL, 1)
s.w(DRV_FEAT, 0xffffffff)
s.w(STATUS, ACK | DRIVER | FEATURES_OK)
s.w(DRV_FEAT, 0)  # features are final now
s.w(Q_SEL, 1)
s.w(Q_SEL, 0xffffffff)
s.w(Q_NUM, 0x10010)
s.w(Q_NUM, 16)
s.w(Q_DESC, DESC)
s.w(Q_AVAIL, AVAIL)
s.w(Q_USED, USED)
s.w(Q_READY, 2)
s.w(Q_READY, 1)
s.w(STATUS, ACK | DRIVER | FEATURES_OK | DRIVER_OK | NEEDS_RESET)
s.w(STATUS, ACK | DRIVER | FEATURES_OK | DRIVER_OK)
s.w(Q_NUM, 1024)  # CVE-2026-5747: a live queue's size
s.w(Q_DESC + 4, 0xffffffff)
s.w(Q_READY, 0)
s.w(STATUS, ACK | DRIVER_OK | FEATURES_OK)  # clears DRIVER
s.w(Q_NOTIFY, 1)
s.w(Q_NOTIFY, 0x80000000)
s.w(Q_RESET, 1)
s.w(SHM_SEL, 3)
s.r(SHM_LEN)
s.request(64)
s.publish()
s.w(Q_NOTIFY, 0)
s.serve()
s.w(STATUS, ACK | DRIVER | FEATURES_OK | DRIVER_OK | FAILED)
s.serve()
s.write('out-of-order')

# Odd widths and offsets everywhere in the window, config space the rng does not have.
s = Seed()
s.probe()
for off, width in ((STATUS, 1), (STATUS + 2, 2), (STATUS, 8), (Q_NOTIFY, 2), (Q_SEL + 1, 4),
                   (CONFIG, 1), (CONFIG, 8), (0x1ff, 1), (0x1f8, 8), (GEN, 4)):
    s.w(off, 0, width)
    s.r(off, width)
s.r(INT_STATUS)
s.w(INT_ACK, 0xffffffff)
s.write('widths')

# A chain with no writable buffer stops the device; an avail index jump and a notification then
# find it stopped; the driver resets it and starts over with a good request. RAM is what the input holds from the
# start, so the driver's later ring updates are stores (repost, publish).
s = Seed()
s.probe()
struct.pack_into('<QIHH', s.ram, DESC + 16 * 5, 0x4000, 16, 0, 0)
struct.pack_into('<H', s.ram, AVAIL + 4, 5)
s.avail_idx = 1
s.publish()
s.w(Q_NOTIFY, 0)
s.serve()
s.r(STATUS)
s.op(POKE, AVAIL + 2, 0x4000, 2)
s.w(Q_NOTIFY, 0)
s.serve()
s.r(INT_STATUS)
s.w(INT_ACK, 2)
s.probe()
s.post(0, s.request(16, later=True))
s.avail_idx = 1
s.publish()
s.w(Q_NOTIFY, 0)
s.serve()
s.write('needs-reset')

# A rate-limited rng (4096 bytes/s, a 4096-byte bucket): the second request waits for the
# timer; the driver resets meanwhile and asks again.
s = Seed(rate=4096, burst=4096)
s.probe(VERSION_1, 2)
s.request(4096, size=4)
s.request(4096, size=4)
s.publish()
s.w(Q_NOTIFY, 0)
s.serve(2)
s.w(Q_NOTIFY, 0)
s.serve()
s.w(STATUS, 0)
s.serve()
s.probe(VERSION_1, 2)
s.post(0, s.request(1, size=4, later=True))  # the bucket is still empty: this one waits too
s.avail_idx = 1
s.publish()
s.w(Q_NOTIFY, 0)
s.serve()
s.write('rate-limited')

# Rings at the far end of RAM (the last bytes in range) and a ring that would cross the end.
s = Seed()
s.handshake(size=64, desc=0xfc00, avail=0xfb7a, used=0xf974)  # 1024, 134 and 518 bytes
s.w(Q_NOTIFY, 0)
s.serve()
s.handshake(size=64, desc=0x10000 - 16)
s.serve()
s.write('ring-edges')

# The fastest rng allowed (about 1.7e10 bytes/s): refilling the bucket fills it at once.
s = Seed(rate=0xffffffff, burst=4096, shift=2)
s.probe(VERSION_1, 6)
for n in (4096,) * 8 + (1,) * 8:
    s.request(n, size=64)
s.publish()
s.w(Q_NOTIFY, 0)
s.serve(2)
s.write('fast')
