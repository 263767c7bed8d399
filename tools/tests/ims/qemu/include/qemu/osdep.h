/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stand-in for QEMU's qemu/osdep.h, so that hw/xen/xen_pt_ims.c from the
 * patched QEMU tree compiles outside QEMU: that file is pure and needs
 * only the C library (QEMU's rule is that every .c includes osdep.h).
 */
#ifndef QEMU_OSDEP_H
#define QEMU_OSDEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#endif
