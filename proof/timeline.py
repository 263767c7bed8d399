#!/usr/bin/env python3
"""proof/timeline.py OUT TAG=FILE... -- follow growing log files and write
each new line to OUT as "<unix time> <TAG> <line>", so that the guest's
result lines (on the serial log) and the outer QEMU's IOMMU messages (on
its stderr) can be put on one time line.  Stops when OUT.stop exists (the
files are drained once more first)."""
import os, sys, time

out = sys.argv[1]
srcs = [a.split('=', 1) for a in sys.argv[2:]]
pos = {f: 0 for _, f in srcs}
part = {f: b'' for _, f in srcs}

def drain(o):
    for tag, f in srcs:
        try:
            with open(f, 'rb') as fh:
                fh.seek(pos[f])
                data = fh.read()
                pos[f] += len(data)
        except FileNotFoundError:
            continue
        if not data:
            continue
        data = part[f] + data
        lines = data.split(b'\n')
        part[f] = lines.pop()
        now = time.time()
        for l in lines:
            o.write('%.3f %s %s\n' % (now, tag, l.decode('utf-8', 'replace').rstrip('\r')))
        o.flush()

with open(out, 'w') as o:
    while True:
        stop = os.path.exists(out + '.stop')
        drain(o)
        if stop:
            break
        time.sleep(0.2)
