/* SPDX-License-Identifier: BSD-3-Clause-Clear */
/*
 * Stand-in for the driver's core.h when the driver's own xen_ims.c is
 * built into xen_ims_selftest.ko: the only thing xen_ims.c needs of
 * struct ath11k_base is something to log against.
 */
#ifndef XEN_IMS_SELFTEST_CORE_H
#define XEN_IMS_SELFTEST_CORE_H

#include <linux/device.h>

struct ath11k_base {
	struct device *dev;
};

#endif
