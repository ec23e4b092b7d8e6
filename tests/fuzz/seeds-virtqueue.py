#!/usr/bin/env python3
# seeds-virtqueue.py: writes the virtqueue fuzz target's seed inputs (valid rings a driver would build).
import os
import struct

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'virtqueue')


def seed(name, features, chains, indirect=None):
    ram = bytearray(0x5000)
    desc, avail, used = 0x1000, 0x2000, 0x3000
    heads = []
    for head, chain in chains:
        heads.append(head)
        for i, (addr, ln, flags, nxt) in chain:
            struct.pack_into('<QIHH', ram, desc + 16 * i, addr, ln, flags, nxt)
    if indirect:
        table, entries = indirect
        for i, (addr, ln, flags, nxt) in enumerate(entries):
            struct.pack_into('<QIHH', ram, table + 16 * i, addr, ln, flags, nxt)
    for n, h in enumerate(heads):
        struct.pack_into('<H', ram, avail + 4 + 2 * n, h)
    struct.pack_into('<H', ram, avail + 2, len(heads))
    ctl = bytes([4, features, 0x00, 0x01, 0x20, 0x30, 0xff, 0xff])
    with open(os.path.join(here, name), 'wb') as f:
        f.write(ctl + bytes(ram))


NEXT, WRITE, INDIRECT = 1, 2, 4
seed('simple', 0, [(0, [(0, (0x4000, 16, NEXT, 1)), (1, (0x4100, 512, NEXT | WRITE, 2)),
                        (2, (0x4400, 1, WRITE, 0))])])
seed('two-chains-event-idx', 2, [(0, [(0, (0x4000, 16, NEXT, 1)), (1, (0x4400, 1, WRITE, 0))]),
                                 (3, [(3, (0x4800, 64, 0, 0))])])
seed('indirect', 1, [(5, [(5, (0x4c00, 48, INDIRECT, 0))])],
     indirect=(0x4c00, [(0x4000, 16, NEXT, 1), (0x4100, 1024, NEXT | WRITE, 2), (0x4600, 1, WRITE, 0)]))
