#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
# QMP tests of the real device model binaries, without Xen:
#
#   test_qmp.py PATCHED [STOCK]
#
# PATCHED is qemu-system-i386 built by "make qemu" (build/qemu/build/),
# STOCK Debian's /usr/libexec/xen-qemu-system-i386.  Each binary is started
# the way libxl's dry-run probe starts it (-machine none -accel qtest
# -nodefaults -display none) with QMP on a unix socket, and asked:
#
#   - device-list-properties xen-pci-passthrough: x-ims and x-ims-path
#     (strings) in the patched binary, neither in the stock one;
#   - device_add xen-pci-passthrough on a PC machine (-machine pc -accel
#     qtest, still no Xen): bad x-ims / x-ims-path values are refused by
#     the patched binary at realize with an error naming the property and
#     the allowed values, before it touches the host device; good values
#     get past the check (and then fail on the absent host device); the
#     stock binary does not know the property at all;
#   - query-machines / qom-list-types: the patched build has the same
#     machines (xenfv) and device types as the stock one, except the
#     features make qemu leaves out (spice, USB host, virtfs).
#
# Exit status 0 when every check passed.
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

PASSED = 0
FAILED = 0


def info(what, ok, detail=""):
    """A comparison reported without counting (see test_same_device_model)."""
    print("info - %s%s" % (what, "" if ok else ": " + detail))


def check(what, ok, detail=""):
    global PASSED, FAILED
    if ok:
        PASSED += 1
        print("ok - %s" % what)
    else:
        FAILED += 1
        print("not ok - %s%s" % (what, (": " + detail) if detail else ""))


class QMP:
    """A device model with QMP on a unix socket (as libxl runs it)."""

    def __init__(self, binary, machine="none", extra=()):
        self.dir = tempfile.mkdtemp(prefix="ims-qmp-")
        self.path = os.path.join(self.dir, "qmp.sock")
        self.log = open(os.path.join(self.dir, "stderr"), "w+")
        self.proc = subprocess.Popen(
            [binary, "-machine", machine, "-accel", "qtest", "-nodefaults",
             "-display", "none", *extra,
             "-qmp", "unix:%s,server=on,wait=on" % self.path],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self.log)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.time() + 20
        while True:
            try:
                self.sock.connect(self.path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if self.proc.poll() is not None or time.time() > deadline:
                    self.log.seek(0)
                    raise RuntimeError("%s did not open its QMP socket: %s"
                                       % (binary, self.log.read().strip()))
                time.sleep(0.05)
        self.sock.settimeout(20)
        self.buf = b""
        greeting = self._read()
        assert "QMP" in greeting, greeting
        self.version = greeting["QMP"]["version"]["qemu"]
        self.cmd("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise RuntimeError("QMP connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, execute, **args):
        msg = {"execute": execute, "id": execute}
        if args:
            msg["arguments"] = args
        self.sock.sendall((json.dumps(msg) + "\n").encode())
        while True:
            reply = self._read()
            if "event" not in reply:
                return reply

    def close(self):
        try:
            self.cmd("quit")
        except (RuntimeError, OSError):
            pass
        self.sock.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        for f in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, f))
        os.rmdir(self.dir)


def props_of(binary):
    q = QMP(binary)
    try:
        r = q.cmd("device-list-properties", typename="xen-pci-passthrough")
    finally:
        q.close()
    if "return" not in r:
        raise RuntimeError("device-list-properties: %s" % r)
    return {p["name"]: p for p in r["return"]}


# A host address that does not exist here: a device_add that gets past the
# x-ims checks fails when it opens the host device in sysfs.
HOST = "0000:ff:1f.7"
PATH = "/local/domain/7/device/pci-ims/20"


def device_add(q, **props):
    r = q.cmd("device_add", driver="xen-pci-passthrough", hostaddr=HOST,
              **props)
    return r.get("error", {}).get("desc", "") if "error" in r else None


def test_patched(binary):
    props = props_of(binary)
    for name in ("x-ims", "x-ims-path"):
        check("patched: device-list-properties lists %s" % name,
              name in props, "properties: %s" % sorted(props))
        if name in props:
            check("patched: %s is a string property" % name,
                  props[name].get("type") == "str", str(props[name]))
    # The stock properties are all still there.
    for name in ("hostaddr", "permissive", "addr", "rombar", "romfile"):
        check("patched: still has %s" % name, name in props)

    # The realize-time checks, on a PC machine (SeaBIOS from Debian).
    q = QMP(binary, machine="pc", extra=("-L", "/usr/share/seabios"))
    try:
        refused = [
            ({"x-ims": "bogus"}, ["x-ims=bogus", "expose, export"]),
            ({"x-ims": "off"}, ["x-ims=off", "expose, export"]),
            ({"x-ims": ""}, ["x-ims=", "expose, export"]),
            ({"x-ims": "remap"}, ["x-ims=remap", "expose, export"]),
            ({"x-ims": "export"}, ["x-ims=export", "x-ims-path"]),
            ({"x-ims": "export", "x-ims-path": "relative/dir"},
             ["x-ims-path=relative/dir", "xenstore path"]),
            ({"x-ims": "export", "x-ims-path": PATH + "/"},
             ["x-ims-path=", "xenstore path"]),
            ({"x-ims-path": "no good"}, ["x-ims-path=no good"]),
        ]
        for props, words in refused:
            err = device_add(q, **props)
            check("patched: device_add %s refused naming %s"
                  % (props, ", ".join(words)),
                  err is not None and all(w in err for w in words),
                  "error: %r" % err)
        accepted = [
            {},
            {"x-ims": "expose"},
            {"x-ims": "export", "x-ims-path": PATH},
        ]
        for props in accepted:
            err = device_add(q, **props)
            check("patched: device_add %s passes the x-ims checks" % props,
                  err is not None and "x-ims" not in err and HOST in err,
                  "error: %r" % err)
    finally:
        q.close()


def test_stock(binary):
    props = props_of(binary)
    check("stock: device-list-properties has xen-pci-passthrough",
          "hostaddr" in props, "properties: %s" % sorted(props))
    for name in ("x-ims", "x-ims-path"):
        check("stock: device-list-properties does not list %s" % name,
              name not in props)
    q = QMP(binary, machine="pc", extra=("-L", "/usr/share/seabios"))
    try:
        err = device_add(q, **{"x-ims": "expose"})
        check("stock: device_add x-ims=expose is refused (unknown property)",
              err is not None and "x-ims" in err, "error: %r" % err)
    finally:
        q.close()


# What Debian's qemu-system-xen has and make qemu leaves out on purpose
# (spice, USB host passthrough, virtfs): see docs/qemu-x-ims.md.
LEFT_OUT = ("chardev-spice", "qxl", "usb-host", "virtio-9p")


def machines_and_types(binary):
    q = QMP(binary)
    try:
        machines = set()
        for m in q.cmd("query-machines")["return"]:
            machines.add(m["name"])
            if m.get("alias"):
                machines.add(m["alias"])
        types = {t["name"] for t in q.cmd("qom-list-types")["return"]}
        v = q.cmd("query-version")["return"]["qemu"]
    finally:
        q.close()
    return machines, types, (v["major"], v["minor"])


def test_same_device_model(patched, stock):
    """The patched build can stand in for Debian's as Xen's device model."""
    pm, pt, pv = machines_and_types(patched)
    sm, st, sv = machines_and_types(stock)
    check("patched: has the xenfv machine (HVM guests)", "xenfv" in pm,
          str(sorted(pm)))
    # Comparing the machines and types is only meaningful between builds
    # of one QEMU version (make qemu-upstream QEMU_VERSION=9.0 against
    # Debian's 7.2: versioned machines and device types come and go).
    same = check if pv == sv else info
    if pv != sv:
        print("# patched is QEMU %d.%d, stock %d.%d: machine and device "
              "type differences are reported, not checked" % (pv + sv))
    same("patched: same machines as stock", pm == sm,
         "only stock: %s, only patched: %s" % (sorted(sm - pm),
                                               sorted(pm - sm)))
    missing = sorted(t for t in st - pt if not t.startswith(LEFT_OUT))
    same("patched: every device type of stock but spice/usb-host/9p",
         not missing, "missing: %s" % missing)
    for t in ("xen-platform", "xen-pci-passthrough", "xen-accel",
              "cirrus-vga", "VGA", "e1000", "rtl8139", "piix3-ide"):
        check("patched: has %s" % t, t in pt)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: test_qmp.py PATCHED [STOCK]")
    patched = sys.argv[1]
    stock = sys.argv[2] if len(sys.argv) == 3 else None
    if not os.access(patched, os.X_OK):
        sys.exit("test_qmp: %s: not an executable (run make qemu)" % patched)
    # The stock checks never vanish silently: a missing binary is a failure.
    if stock and not os.access(stock, os.X_OK):
        sys.exit("test_qmp: the stock device model %s is missing: install "
                 "Debian's qemu-system-xen (make qemu-deps) or set "
                 "QEMU_STOCK=<binary>" % stock)
    test_patched(patched)
    if stock:
        test_stock(stock)
        test_same_device_model(patched, stock)
    print("qmp tests: %d passed, %d failed" % (PASSED, FAILED))
    if FAILED:
        sys.exit(1)
    if not stock:
        # Without the stock binary the comparison did not run: say so, and
        # exit 77 (skipped), which make check-qemu counts as a failure.
        print("SKIP: the stock device model checks (no STOCK binary given: "
              "test_qmp.py PATCHED STOCK)")
        sys.exit(77)
    sys.exit(0)


if __name__ == "__main__":
    main()
