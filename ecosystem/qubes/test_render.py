#!/usr/bin/python3
"""Render test of ecosystem/qubes/patches (make check-qubes).

Renders qubes-core-admin's templates/libvirt/devices/pci.xml, stock and
patched (scripts/qubes-src.sh prepare), the way qubesd does: a
jinja2.Environment with Qubes' options (qubes/app.py: FileSystemLoader,
undefined=StrictUndefined, autoescape=True) and the arguments of
qubes/ext/pci.py's attach (device, vm, options, power_mgmt).  The rendered
<hostdev> is checked against what ecosystem/libvirt/patches parses: a
<driver> child with name='xen' and an ims value of libvirt's enum
(virDomainHostdevSubsysPCIIMS, "default" excluded: VIR_XML_PROP_NONZERO).

With --validation, the patched qubes/ext/pci.py is loaded with stand-ins
for the modules it imports (libvirt, lxml, qubes.*) and its handlers are
called: device-pre-attach:pci, device-pre-assign:pci and domain-pre-start
must refuse an invalid ims value with QubesValueError.

  test_render.py --tree DIR --libvirt-patch FILE [--validation]

DIR has stock/ and patched/ (the pinned files and the patched ones).
Prints one line per check and exits non-zero when any check failed.
"""

import argparse
import os
import re
import sys
import types
import xml.etree.ElementTree as ET

import jinja2

FAILED = []
PASSED = []


def check(name, cond, detail=""):
    if cond:
        PASSED.append(name)
        print("  ok    " + name)
    else:
        FAILED.append(name)
        print("  FAIL  " + name + (": " + detail if detail else ""))


def libvirt_ims_values(patch):
    """The ims values the libvirt patch's parser and schema accept."""
    text = open(patch, encoding="utf-8").read()
    m = re.search(
        r"\+VIR_ENUM_IMPL\(virDomainHostdevSubsysPCIIMS,\s*"
        r"\+\s*VIR_DOMAIN_HOSTDEV_PCI_IMS_LAST,(.*?)\+\);",
        text,
        re.S,
    )
    if not m:
        sys.exit("test_render: no VIR_ENUM_IMPL(virDomainHostdevSubsysPCIIMS"
                 " in " + patch)
    enum = re.findall(r'"([a-z]+)"', m.group(1))
    # parsed with VIR_XML_PROP_NONZERO: the first (zero) value is refused
    parsed = set(enum[1:])
    rng = re.search(r'<define name="hostdevPCIDriverIMS">(.*?)</define>',
                    "\n".join(line[1:] for line in text.splitlines()
                              if line.startswith("+")), re.S)
    schema = set(re.findall(r"<value>([a-z]+)</value>", rng.group(1))) \
        if rng else None
    return enum[0], parsed, schema


class Device:
    """What the template reads of qubes.ext.pci.PCIDevice."""

    segment = "0000"
    bus = "01"
    device = "00"
    function = "0"


def environment(root):
    # qubes/app.py (R4.2 and R4.3), with the tree's templates/ as the
    # loader's only directory instead of /etc/qubes/templates and
    # /usr/share/qubes/templates
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([os.path.join(root, "templates")]),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
    )


def render(root, **kwargs):
    # qubes/ext/pci.py, on_device_pre_attached_pci
    return environment(root).get_template("libvirt/devices/pci.xml").render(
        device=Device(), vm=None, **kwargs)


def canon(xml):
    """The XML without insignificant whitespace, for comparisons."""
    root = ET.fromstring(xml)
    for el in root.iter():
        if el.text is not None and not el.text.strip():
            el.text = None
        if el.tail is not None and not el.tail.strip():
            el.tail = None
    return ET.tostring(root, encoding="unicode")


def hostdev_driver(xml, name):
    """Checks the <hostdev> and returns its <driver> elements."""
    root = ET.fromstring(xml)
    check(name + ": renders a PCI <hostdev>",
          root.tag == "hostdev" and root.get("type") == "pci", xml)
    src = root.find("source/address")
    check(name + ": keeps the source address",
          src is not None and src.get("bus") == "0x01"
          and src.get("slot") == "0x00" and src.get("function") == "0x0")
    return root.findall("driver"), root


def test_render(tree, parsed, schema):
    stock = os.path.join(tree, "stock")
    patched = os.path.join(tree, "patched")

    print("render: templates/libvirt/devices/pci.xml")
    # 1. no ims option: the same XML as the stock template
    for opts in ({}, {"permissive": "True", "no-strict-reset": "True"}):
        label = "no ims" + (", permissive, no-strict-reset" if opts else "")
        a = render(stock, options=dict(opts), power_mgmt=False)
        b = render(patched, options=dict(opts), power_mgmt=False)
        drivers, _ = hostdev_driver(b, label)
        check(label + ": no <driver>", not drivers, b)
        check(label + ": same XML as the stock template",
              canon(a) == canon(b), "\n" + a + "\n" + b)

    # 2. each valid value: one <driver name='xen' ims=...>, before <source>
    for ims in sorted(parsed):
        opts = {"ims": ims, "permissive": "True", "no-strict-reset": "True"}
        xml = render(patched, options=opts, power_mgmt=True)
        label = "ims=" + ims
        drivers, root = hostdev_driver(xml, label)
        check(label + ": one <driver name='xen' ims='%s'/>" % ims,
              len(drivers) == 1
              and dict(drivers[0].attrib) == {"name": "xen", "ims": ims},
              xml)
        check(label + ": value parsed by libvirt's patch", ims in parsed)
        if schema is not None:
            check(label + ": value in libvirt's schema", ims in schema)
        kids = [c.tag for c in root]
        check(label + ": <driver> before <source> (libvirt's order)",
              kids == ["driver", "source"], str(kids))
        check(label + ": other options still rendered",
              root.get("nostrictreset") == "yes"
              and root.find("source").get("writeFiltering") == "no"
              and root.find("source").get("powerManagementFiltering") == "no",
              xml)

    # 3. invalid values are never rendered (pci.py refuses them before)
    for ims in ("bogus", "", "AUTO", "default", "auto' x='y",
                'auto"/><driver name="vfio'):
        xml = render(patched, options={"ims": ims}, power_mgmt=False)
        label = "ims=%r" % ims
        drivers, _ = hostdev_driver(xml, label)
        check(label + ": not rendered", not drivers, xml)

    # 4. detach renders without options (qubes/ext/pci.py,
    # on_device_pre_detached_pci): the patched template behaves as the
    # stock one there
    def detach(root):
        try:
            return canon(render(root, power_mgmt=False))
        except jinja2.exceptions.UndefinedError as e:
            return "UndefinedError: %s" % e
    a, b = detach(stock), detach(patched)
    check("detach (no options argument): as the stock template (%s)"
          % ("renders" if not a.startswith("Undefined") else a), a == b,
          "\n" + a + "\n" + b)


# --- qubes/ext/pci.py, loaded with stand-ins --------------------------------

class _Stub(types.ModuleType):
    """A module whose unknown attributes are classes (annotations, bases)."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        cls = type(name, (), {"__init__": lambda self, *a, **k: None})
        setattr(self, name, cls)
        return cls


def load_pci_py(path):
    mods = {}
    for name in ("libvirt", "lxml", "lxml.etree", "qubes",
                 "qubes.device_protocol", "qubes.devices", "qubes.ext",
                 "qubes.exc", "qubes.utils", "qubes.vm", "qubes.vm.adminvm"):
        mods[name] = _Stub(name)
    exc = mods["qubes.exc"]

    class QubesException(Exception):
        pass

    class QubesValueError(QubesException, ValueError):
        pass

    exc.QubesException = QubesException
    exc.QubesValueError = QubesValueError
    exc.DeviceNotFound = type("DeviceNotFound", (QubesException,), {})
    mods["libvirt"].libvirtError = type("libvirtError", (Exception,), {})
    handlers = {}

    def handler(*events, **_kw):
        def deco(func):
            for ev in events:
                handlers.setdefault(ev, []).append(func.__name__)
            return func
        return deco

    mods["qubes.ext"].handler = handler
    for name, mod in mods.items():
        if "." in name:
            parent, child = name.rsplit(".", 1)
            setattr(mods[parent], child, mod)
    saved = {n: sys.modules.get(n) for n in mods}
    sys.modules.update(mods)
    try:
        ns = {"__name__": "qubes.ext.pci"}
        code = compile(open(path, encoding="utf-8").read(), path, "exec")
        exec(code, ns)  # pylint: disable=exec-used
    finally:
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m
    return ns, handlers, QubesValueError


def test_validation(tree, parsed):
    print("validation: qubes/ext/pci.py")
    ns, handlers, QubesValueError = load_pci_py(
        os.path.join(tree, "patched", "qubes", "ext", "pci.py"))
    check("PCI_IMS_POLICIES is the set libvirt's patch parses",
          set(ns.get("PCI_IMS_POLICIES", ())) == parsed,
          "%s != %s" % (sorted(ns.get("PCI_IMS_POLICIES", ())),
                        sorted(parsed)))
    check("handles device-pre-assign:pci",
          "on_device_pre_assigned_pci" in handlers.get(
              "device-pre-assign:pci", []), str(handlers))
    if "on_device_pre_assigned_pci" not in vars(ns["PCIDeviceExtension"]):
        check("the patched pci.py has the validation", False)
        return
    ext = ns["PCIDeviceExtension"]()

    class Refused(Exception):
        pass

    class VM:
        """A halted qube: handlers return after their checks."""
        virt_mode = "hvm"

        def __init__(self, options):
            self.devices = {"pci": types.SimpleNamespace(
                get_assigned_devices=lambda: [types.SimpleNamespace(
                    options=options, devices=[])])}

        @staticmethod
        def is_running():
            return False

    dev = types.SimpleNamespace(port_id="01_00.0")

    def call(what, options):
        vm = VM(options)
        try:
            if what == "device-pre-assign:pci":
                ext.on_device_pre_assigned_pci(vm, what, dev, options)
            elif what == "device-pre-attach:pci":
                # fails later on a machine without the device in sysfs:
                # only the ims check must come first
                try:
                    ext.on_device_pre_attached_pci(vm, what, dev, options)
                except QubesValueError:
                    raise
                except Exception:  # pylint: disable=broad-except
                    pass
            else:
                ext.on_domain_pre_start(vm, what)
            return "accepted"
        except QubesValueError as e:
            return "refused: %s" % e

    events = ("device-pre-assign:pci", "device-pre-attach:pci",
              "domain-pre-start")
    for what in events:
        for opts in ({}, {"permissive": "True"}):
            r = call(what, opts)
            check("%s: no ims option accepted" % what, r == "accepted", r)
        for ims in sorted(parsed):
            r = call(what, {"ims": ims})
            check("%s: ims=%s accepted" % (what, ims), r == "accepted", r)
        for ims in ("bogus", "", "AUTO", "default"):
            r = call(what, {"ims": ims})
            check("%s: ims=%r refused" % (what, ims),
                  r.startswith("refused: Invalid ims option value"), r)
    print("  (e.g. " + call("device-pre-assign:pci", {"ims": "bogus"}) + ")")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tree", required=True)
    ap.add_argument("--libvirt-patch", required=True)
    ap.add_argument("--validation", action="store_true")
    args = ap.parse_args()

    zero, parsed, schema = libvirt_ims_values(args.libvirt_patch)
    print("libvirt's patch: ims in %s (%r refused: NONZERO), schema %s"
          % (sorted(parsed), zero, sorted(schema) if schema else "?"))
    if parsed != {"off", "auto", "strict", "expose", "export", "remap"}:
        sys.exit("test_render: unexpected ims values in the libvirt patch: "
                 + str(sorted(parsed)))
    test_render(args.tree, parsed, schema)
    if args.validation:
        test_validation(args.tree, parsed)
    print("%d passed, %d failed" % (len(PASSED), len(FAILED)))
    return 1 if FAILED or not PASSED else 0


if __name__ == "__main__":
    sys.exit(main())
