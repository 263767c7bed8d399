#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The CLI suites' own plumbing: a suite that cannot run says it skipped,
# and its skip is not counted as a pass (exit 77, as automake's tests).
. "$(dirname "$0")/lib.sh"

: "${XL:?}"
here=$(cd "$(dirname "$0")" && pwd)

# test_install.sh where no repository lies above IMS_TOP: it must skip.
mkdir -p "$T/nowhere/tools/tests/ims"
run env -u IMS_REPO IMS_TOP="$T/nowhere/tools/tests/ims" bash "$here/test_install.sh"
expect_rc "test_install.sh without a repository exits 77 (skipped)" 77
expect_out "... says SKIP and why" "^skip - .*repository is not above"
expect_out "... and counts it as skipped, not passed" "^0 passed, 0 failed, 1 skipped$"

finish
