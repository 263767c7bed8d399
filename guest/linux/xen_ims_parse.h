/* SPDX-License-Identifier: BSD-3-Clause-Clear */
/*
 * Parsing of the MSI values a Xen device model exports for a
 * passed-through device ("export" strategy of xen-pci-ims).
 *
 * The device model (QEMU's xen-pci-passthrough with x-ims=export) writes,
 * in one xenstore transaction, under device/pci-ims/<vdevfn>/ of the
 * guest's xenstore home:
 *
 *   msi-address-lo  "0x%08x"   physical MSI address, low 32 bits
 *   msi-address-hi  "0x%08x"   high 32 bits ("0x00000000" for 32-bit MSI)
 *   msi-data        "0x%04x"   physical MSI data
 *   state           "bound"    written last; "pending" while unbound
 *
 * <vdevfn> is the guest's devfn of the device, "%x" (libxl).
 *
 * Pure code: no I/O, no allocation, no kernel interfaces beyond types, so
 * that the same text is compiled into the driver and into a user-space
 * unit test.  This file exists as drivers/net/wireless/ath/ath1Xk/
 * xen_ims_parse.h in the kernel patches and as guest/linux/xen_ims_parse.h
 * in xen-pci-ims; the copies must stay identical (the build checks).
 */
#ifndef XEN_IMS_PARSE_H
#define XEN_IMS_PARSE_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
typedef uint32_t u32;
#endif

/* Relative to the guest's xenstore home; the argument is the devfn. */
#define XEN_IMS_DIR_FMT		"device/pci-ims/%x"
#define XEN_IMS_KEY_STATE	"state"
#define XEN_IMS_KEY_ADDR_LO	"msi-address-lo"
#define XEN_IMS_KEY_ADDR_HI	"msi-address-hi"
#define XEN_IMS_KEY_DATA	"msi-data"

/* x86 MSI: the address window and the reserved bits. */
#define XEN_IMS_ADDR_LO_MASK	0xfff00000U
#define XEN_IMS_ADDR_LO_BASE	0xfee00000U
#define XEN_IMS_ADDR_LO_RSVD	0x00000003U
/* address_hi: bits 31:8 extended destination ID (x2APIC), 7:0 reserved */
#define XEN_IMS_ADDR_HI_RSVD	0x000000ffU
#define XEN_IMS_DATA_MAX	0xffffU

enum xen_ims_state {
	XEN_IMS_STATE_INVALID,	/* not a value the device model writes */
	XEN_IMS_STATE_PENDING,	/* MSI not bound (yet, or any more) */
	XEN_IMS_STATE_BOUND,	/* the msi-* values are valid */
};

struct xen_ims_msg {
	u32 addr_lo;
	u32 addr_hi;
	u32 data;
};

static inline bool xen_ims_streq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

static inline enum xen_ims_state xen_ims_parse_state(const char *s)
{
	if (!s)
		return XEN_IMS_STATE_INVALID;
	if (xen_ims_streq(s, "bound"))
		return XEN_IMS_STATE_BOUND;
	if (xen_ims_streq(s, "pending"))
		return XEN_IMS_STATE_PENDING;
	return XEN_IMS_STATE_INVALID;
}

/* "0x" followed by 1 to 8 hex digits and nothing else (no sign, no
 * blanks, no newline).  Returns true and sets *val on success; *val is
 * untouched otherwise.
 */
static inline bool xen_ims_parse_hex_u32(const char *s, u32 *val)
{
	u32 v = 0;
	int n;

	if (!s || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return false;
	s += 2;
	for (n = 0; s[n]; n++) {
		char c = s[n];
		u32 d;

		if (n == 8)
			return false;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return false;
		v = (v << 4) | d;
	}
	if (n == 0)
		return false;
	*val = v;
	return true;
}

/* Check the three exported values and fill *msg.  @is_64: the device's
 * MSI capability has 64-bit addresses.  Returns NULL on success, else a
 * constant string saying what is wrong (*msg is then untouched).
 */
static inline const char *xen_ims_parse_msg(const char *addr_lo,
					    const char *addr_hi,
					    const char *data, bool is_64,
					    struct xen_ims_msg *msg)
{
	struct xen_ims_msg m;

	if (!xen_ims_parse_hex_u32(addr_lo, &m.addr_lo))
		return XEN_IMS_KEY_ADDR_LO " is not 0x-prefixed 32-bit hex";
	if (!xen_ims_parse_hex_u32(addr_hi, &m.addr_hi))
		return XEN_IMS_KEY_ADDR_HI " is not 0x-prefixed 32-bit hex";
	if (!xen_ims_parse_hex_u32(data, &m.data))
		return XEN_IMS_KEY_DATA " is not 0x-prefixed 32-bit hex";
	if ((m.addr_lo & XEN_IMS_ADDR_LO_MASK) != XEN_IMS_ADDR_LO_BASE)
		return XEN_IMS_KEY_ADDR_LO " is outside the MSI window 0xfee00000-0xfeefffff";
	if (m.addr_lo & XEN_IMS_ADDR_LO_RSVD)
		return XEN_IMS_KEY_ADDR_LO " has reserved bits 1:0 set";
	if (m.addr_hi & XEN_IMS_ADDR_HI_RSVD)
		return XEN_IMS_KEY_ADDR_HI " has reserved bits 7:0 set";
	if (!is_64 && m.addr_hi)
		return XEN_IMS_KEY_ADDR_HI " is not zero for a 32-bit MSI capability";
	if (m.data > XEN_IMS_DATA_MAX)
		return XEN_IMS_KEY_DATA " does not fit the 16-bit MSI data register";
	*msg = m;
	return NULL;
}

#endif /* XEN_IMS_PARSE_H */
