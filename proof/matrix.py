#!/usr/bin/env python3
"""proof/matrix.py BUILD/proof -- the proof's matrix from the runs' logs.

Reads logs/<run>.timeline (proof/run.sh: serial and outer-QEMU lines,
time-stamped on arrival) and classifies every guest result line
("IMS-PROOF: cell=... result=delivered|lost|refused"):

  delivered  the guest's interrupt count went up
  blocked    lost, and in the same time window the outer QEMU's IOMMU refused
             an interrupt (amdvi_ir_target_abort / "failed to remap ...")
  to-host    lost, and Xen logged "No irq handler for vector": the message
             passed the IOMMU untranslated and hit a host CPU
  lost       lost, no trace of it on the host side
  refused    xl create / pci-attach refused the policy (no device)
  error      the attach failed for another reason (the lab's, see the message)

Prints the matrix and writes it, with the evidence lines, to matrix.md."""
import os, re, sys

base = sys.argv[1] if len(sys.argv) > 1 else 'build/proof'
logs = os.path.join(base, 'logs')
RUNS = ['amd-ir', 'intel-ir', 'amd-noir', 'intel-noir',
        'amd-ir-hv', 'amd-ir-hv-native', 'intel-ir-hv', 'amd-noir-hv',
        'amd-ir-stubdom', 'intel-ir-stubdom', 'amd-ir-hv-stubdom']
POLS = ['off', 'auto', 'expose', 'export', 'remap']
COLS = [('driver', 'control'), ('driver', 'readback'), ('driver', 'ath11k'), ('driver', 'export'),
        ('raw', 'control'), ('raw', 'readback'), ('raw', 'ath11k'), ('raw', 'export')]
IOMMU_PAT = re.compile(r'amdvi_ir_target_abort|amdvi_ir_err|amdvi_err|failed to remap|'
                       r'vtd_.*(IRTE|SID|invalid|non-present)|detected non-present IRTE')
HOST_PAT = re.compile(r'\(XEN\).*No irq handler for vector')
LINE = re.compile(r'IMS-PROOF: cell=(\S+) values=(\S+) addr=(\S+) data=(\S+) result=(\S+)(.*)')
# a window starts at the previous line the guest printed
START = re.compile(r'GUEST |CELL-BEGIN')

cells = {}      # (run, pol, mode, kind) -> dict
evidence = []
walls = {}
import glob
jobs = []
for run in RUNS:
    # RUN.timeline, then supplementary runs RUN+TAG.timeline (PROOF_LOGTAG)
    for tl in [os.path.join(logs, run + '.timeline')] + sorted(glob.glob(os.path.join(logs, run + '+*.timeline'))):
        if os.path.exists(tl):
            jobs.append((run, tl))
for run, tl in jobs:
    have = {k[:2] for k in cells if cells[k]['result'] != 'error'}
    w = tl[:-len('.timeline')] + '.wall'
    if os.path.exists(w):
        walls[os.path.basename(w)[:-5]] = open(w).read().strip()
    rows = []
    for l in open(tl, errors='replace'):
        p = l.rstrip('\n').split(' ', 2)
        if len(p) == 3:
            rows.append((float(p[0]), p[1], p[2]))
    last = 0.0
    cellstart = 0.0
    spans = {}   # "<run>-<policy>" -> [begin, end] from dom0's CELL-BEGIN/CELL-END
    for t, src, text in rows:
        mb = re.search(r'CELL-(BEGIN|END) (\S+)', text)
        if src == 'S' and mb:
            spans.setdefault(mb.group(2), [t, None])[mb.group(1) == 'END'] = t
    for i, (t, src, text) in enumerate(rows):
        if src != 'S':
            continue
        m = LINE.search(text)
        if 'CELL-BEGIN' in text:
            cellstart = t
        if not m:
            if START.search(text):
                last = t
            continue
        # fallback copies (CELL-RESULT at the cell's end, the final console
        # dump): only for cells the live copy missed; their window is the
        # whole cell
        fallback = not text.startswith('GUEST ')
        if fallback:
            key = m.group(1)
            if any(e.get('name') == key for e in cells.values()):
                continue
        name, values, addr, data, result, rest = m.groups()
        # name: <run>-<policy>-<mode>-<kind> or <run>-<policy>-create
        mm = re.match(re.escape(run) + r'-([a-z]+)-(?:(driver|raw)-(\w+)|create)$', name)
        if not mm:
            if not fallback:
                last = t
            continue
        pol, mode, kind = mm.group(1), mm.group(2), mm.group(3)
        w0, w1 = last, t
        if fallback:
            sp = spans.get(run + '-' + pol, [cellstart, t])
            w0, w1 = sp[0], sp[1] or t
        window = [r for r in rows if w0 - 0.5 <= r[0] <= w1 + 0.5 and r is not rows[i]]
        ioq = [r[2] for r in window if r[1] == 'Q' and IOMMU_PAT.search(r[2])]
        # Xen names the vector (hex): only a line for this message's vector counts
        try:
            vec = '%x' % (int(data, 16) & 0xff)
        except ValueError:
            vec = None
        host = [r[2] for r in window if r[1] == 'S' and HOST_PAT.search(r[2])
                and vec and re.search(r'vector %s\b' % vec, r[2])]
        verdict, ev = result, ''
        if result == 'lost' and ioq:
            verdict, ev = 'blocked', ioq[0]
        elif result == 'lost' and host:
            verdict, ev = 'to-host', host[0]
        if result == 'refused' and not re.search(r'refus|interrupt remapping|x-ims|IMS strategy', rest):
            # not the policy: the lab failed to attach (see the message)
            verdict = 'error'
        if fallback and ev:
            ev += '  (window: the whole cell)'
        entry = dict(name=name, values=values, addr=addr, data=data, result=verdict,
                     raw=text[text.find('IMS-PROOF'):], evidence=ev)
        if '+' in tl and (run, pol) in have:
            continue   # a supplementary run fills only cells the main run lacks
        if mode is None:
            for c in COLS:
                cells[(run, pol) + c] = dict(entry, values='-')
        else:
            cells[(run, pol, mode, kind)] = entry
        if not fallback:
            last = t

def cell(run, pol, c):
    e = cells.get((run, pol) + c)
    if not e:
        return ''
    if e['result'] in ('refused', 'error'):
        return e['result']
    v = {'virtual': 'v', 'physical': 'p', 'addr-physical': 'p-addr+v-data'}.get(e['values'], e['values'])
    return '%s (%s %s/%s)' % (e['result'], v, e['addr'], e['data'])

out = ['# IMS proof matrix', '',
       'Generated by proof/matrix.py from build/proof/logs (make proof). Cells: '
       'result (values the device was told: v = virtual, as the guest wrote them; '
       'p = physical, as Xen programmed them; address/data).', '']
hdr = '| run | policy | ' + ' | '.join('%s %s' % c for c in COLS) + ' |'
out += [hdr, '|' + '---|' * (len(COLS) + 2)]
for run in RUNS:
    for pol in POLS:
        if not any((run, pol) + c in cells for c in COLS):
            continue
        out.append('| %s | %s | ' % (run, pol) + ' | '.join(cell(run, pol, c) for c in COLS) + ' |')
out += ['', '## Evidence (guest line, and the host-side line that explains a loss)', '']
for k in sorted(cells, key=lambda k: (RUNS.index(k[0]), POLS.index(k[1]) if k[1] in POLS else 9, COLS.index(k[2:]))):
    e = cells[k]
    if e['values'] == '-' and k[2:] != COLS[0]:
        continue
    out.append('- `%s`' % e['raw'].strip())
    if e['evidence']:
        out.append('  - %s: `%s`' % (e['result'], e['evidence'].strip()[:300]))
out += ['', '## Wall times', '']
out += ['- ' + walls[r] for r in sorted(walls)]
text = '\n'.join(out) + '\n'
print(text)
with open(os.path.join(base, 'matrix.md'), 'w') as f:
    f.write(text)
