# SPDX-License-Identifier: GPL-2.0-only
# Helpers for scripted xl runs.  Each check prints ok/not ok (or skip);
# finish() prints "N passed, N failed" (", N skipped" when some were) and
# sets the exit status: 1 on a failure, 77 when everything was skipped
# (the Makefile reports that suite as skipped, not passed).
passed=0
failed=0
skipped=0
T=$(mktemp -d /tmp/ims-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT

ok()  { passed=$((passed + 1)); echo "ok - $1"; }
skip() { skipped=$((skipped + 1)); echo "skip - $1"; }
nok() { failed=$((failed + 1)); echo "not ok - $1"; [ -z "${2:-}" ] || sed 's/^/#   /' <<<"$2"; }

# run NAME: runs "$@" capturing stdout in $out, stderr in $err, status in $rc
run() {
    out=$("$@" 2>"$T/stderr"); rc=$?
    err=$(cat "$T/stderr")
}

expect_rc() {   # DESC WANT
    if [ "$rc" = "$2" ]; then ok "$1"; else nok "$1 (exit $rc, want $2)" "$out
$err"; fi
}
expect_out() {  # DESC REGEX
    if grep -Eq -- "$2" <<<"$out"; then ok "$1"; else nok "$1 (stdout lacks /$2/)" "$out"; fi
}
expect_err() {  # DESC REGEX
    if grep -Eq -- "$2" <<<"$err"; then ok "$1"; else nok "$1 (stderr lacks /$2/)" "$err"; fi
}
expect_json() { # DESC PYTHON-EXPR over j
    if python3 -c "import json,sys; j=json.loads(sys.stdin.read()); sys.exit(0 if ($2) else 1)" <<<"$out"; then
        ok "$1"; else nok "$1 (JSON check failed: $2)" "$out"; fi
}

# A fake host root: fake_host DIR IOMMU INTREMAP (a record of its boot)
BOOT_ID=5d1c7e0a-3f4b-4c6e-9a1d-2b3c4d5e6f70
fake_host() {
    mkdir -p "$1/var/run/xen" "$1/etc/xen" "$1/proc/sys/kernel/random"
    echo "$BOOT_ID" > "$1/proc/sys/kernel/random/boot_id"
    printf 'boot_id=%s\niommu=%s\nintremap=%s\nsource=test fixture\n' "$BOOT_ID" "$2" "$3" \
        > "$1/var/run/xen/ims-host-facts"
}

finish() {
    local s=
    [ "$skipped" -eq 0 ] || s=", $skipped skipped"
    echo "$passed passed, $failed failed$s"
    [ "$failed" -eq 0 ] || return 1
    [ "$passed" -ne 0 ] || [ "$skipped" -eq 0 ] || return 77
}
