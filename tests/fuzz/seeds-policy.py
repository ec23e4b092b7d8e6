#!/usr/bin/env python3
# seeds-policy.py: writes the policy fuzz target's seeds: the shipped policies, alone and followed
# by a NUL and a VM config with NICs in segments.
import glob
import os

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
here = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'policy')
os.makedirs(here, exist_ok=True)

config = b'''name: a
vcpus: 2
memory: 512MiB
kernel: k
nics:
  - tap: t0
    segment: web
    ipv4: 10.0.1.5
    ipv6: "fd00:1::5"
  - tap: t1
    segment: db
    ipv4: 10.0.3.5
'''

paths = sorted(glob.glob(os.path.join(root, 'policies', '*.yaml')))
paths.append(os.path.join(root, 'tests', 'integration', 'policy-test.yaml'))
for path in paths:
    with open(path, 'rb') as f:
        text = f.read()
    name = os.path.basename(path)[:-len('.yaml')]
    with open(os.path.join(here, name), 'wb') as f:
        f.write(text)
    with open(os.path.join(here, name + '-with-vm'), 'wb') as f:
        f.write(text + b'\0' + config)
