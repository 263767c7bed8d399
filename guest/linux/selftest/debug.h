/* SPDX-License-Identifier: BSD-3-Clause-Clear */
/* Stand-in for the driver's debug.h (see core.h). */
#ifndef XEN_IMS_SELFTEST_DEBUG_H
#define XEN_IMS_SELFTEST_DEBUG_H

#include <linux/device.h>

#define ATH11K_DBG_PCI	0x00000008
#define ath11k_warn(ab, fmt, ...)	dev_warn((ab)->dev, fmt, ##__VA_ARGS__)
#define ath11k_info(ab, fmt, ...)	dev_info((ab)->dev, fmt, ##__VA_ARGS__)
#define ath11k_dbg(ab, mask, fmt, ...)	dev_info((ab)->dev, fmt, ##__VA_ARGS__)

#endif
