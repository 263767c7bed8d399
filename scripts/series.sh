#!/bin/bash
# The patch series as they would be mailed upstream (make series) and their
# check (make check-series).
#
#   scripts/series.sh files        check patches/series-files: every overlay
#                                  file (tools/, docs/, xen/) listed once
#   scripts/series.sh xen          $BUILD/series/xen/: the Xen series
#   scripts/series.sh qemu         $BUILD/series/qemu/: patches/qemu/series
#   scripts/series.sh libvirt      $BUILD/series/libvirt/: libvirt's
#   scripts/series.sh check        apply $BUILD/series/xen/ to pristine Xen
#                                  patch by patch (git am in a scratch
#                                  clone) and build the tools after each
#                                  tools patch; whitespace checks; QEMU's
#                                  checkpatch.pl on the QEMU series
#
# The Xen series is pristine Xen plus, in the order of patches/series-files
# (hypervisor, libxc, libxl, xl, tests, docs), one commit per patch of
# patches/ with the new files that patch introduces (listed under it
# there), or per mail/*.msg (new files only).  Every commit's author and
# Signed-off-by is SERIES_AUTHOR ("Name <email>", default: git config
# user.name and user.email of this repository); without one this refuses:
# a Signed-off-by is the sender's own statement, not a placeholder.  The
# placeholder trailers of the patches' headers are dropped; quoted
# trailers (a backport's original ones, indented) are kept.
#
# With XEN_VERSION=4.20 (or 4.19) the Xen series is that version's: each
# entry of patches/series-files is the file that version's series takes
# for it (its own refresh, or the 4.17 patch as ../NAME), and entries it
# does not take (the hvm_pirq backport, upstream since 4.19) are left out.
#
# Environment: BUILD, XEN_VERSION, SERIES_AUTHOR, SERIES_PREFIX (subject
# prefix, default PATCH), JOBS, CHECK_SERIES_HV=yes (also build the
# hypervisor after each hypervisor patch, see check_xen).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
OUT=$BUILD/series
JOBS=${JOBS:-$(nproc)}
MAP=$TOP/patches/series-files
PREFIX=${SERIES_PREFIX:-PATCH}

die() { echo "series: error: $*" >&2; exit 1; }
say() { echo "series: $*"; }

VSERIES=
if [ "${XEN_VERSION:-4.17}" != 4.17 ]; then
    XEN_SERIES=
    # shellcheck source=../xen-source-4.20.conf
    . "$TOP/xen-source-$XEN_VERSION.conf"
    VSERIES=$TOP/$XEN_SERIES
fi

# The file of patch NAME in this Xen version's series; nothing when the
# version does not take it.
version_patch() {
    local name=$1
    if [ -z "$VSERIES" ]; then
        echo "$TOP/patches/$name"
        return
    fi
    awk -v n="$name" -v d="${VSERIES%/*}" \
        '/^#/ || !NF { next } { b = $1; sub(/.*\//, "", b) } b == n { print d "/" $1; exit }' \
        "$VSERIES"
}

# ---- patches/series-files ------------------------------------------------

# Prints "ENTRY" lines for patches and "ENTRY<TAB>FILE" for their files;
# the not-mailed files under the entry "-".
map_lines() {
    local cur= line
    while IFS= read -r line || [ -n "$line" ]; do
        line=${line%%#*}
        case "$line" in
        '' | *[![:space:]]*) ;;
        esac
        [ -n "${line//[[:space:]]/}" ] || continue
        if [[ $line == [[:space:]]* ]]; then
            [ -n "$cur" ] || die "series-files: file before any patch: $line"
            line=${line#"${line%%[![:space:]]*}"}
            line=${line%"${line##*[![:space:]]}"}
            printf '%s\t%s\n' "$cur" "$line"
        elif [ "$line" = "not-mailed:" ]; then
            cur=-
        else
            line=${line%"${line##*[![:space:]]}"}
            cur=$line
            echo "$cur"
        fi
    done < "$MAP"
}

map_entries() { map_lines | grep -v "$(printf '\t')" | grep -vx -- -; }
map_files_of() { map_lines | awk -F'\t' -v e="$1" 'NF == 2 && $1 == e { print $2 }'; }

overlay_files() {
    git -C "$TOP" ls-files -co --exclude-standard -- tools docs xen | sort
}

check_files() {
    [ -f "$MAP" ] || die "no patches/series-files"
    local bad=0 f e listed n
    listed=$(map_lines | awk -F'\t' 'NF == 2 { print $2 }' | sort)
    # listed twice
    for f in $(uniq -d <<<"$listed"); do
        echo "series-files: $f is listed more than once"; bad=1
    done
    # listed but not an overlay file
    for f in $(comm -13 <(overlay_files) <(uniq <<<"$listed")); do
        echo "series-files: $f is listed but is not a file of the overlay"; bad=1
    done
    # overlay files listed nowhere
    for f in $(comm -23 <(overlay_files) <(uniq <<<"$listed")); do
        echo "series-files: $f (new file) is in no patch: add it under the patch that introduces it, or under not-mailed:"; bad=1
    done
    # every patch of patches/series mailed exactly once, every entry exists
    for e in $(map_entries); do
        [ -f "$TOP/patches/$e" ] || { echo "series-files: $e: no such file in patches/"; bad=1; }
    done
    for e in $(grep -v '^#' "$TOP/patches/series" | grep .); do
        n=$(map_entries | grep -cxF -- "$e" || true)
        [ "$n" = 1 ] || { echo "series-files: $e (patches/series) is listed $n times"; bad=1; }
    done
    for e in $(map_entries); do
        case "$e" in mail/*) continue ;; esac
        grep -qxF -- "$e" "$TOP/patches/series" ||
            { echo "series-files: $e is not in patches/series"; bad=1; }
    done
    [ "$bad" = 0 ] || die "patches/series-files is not complete (see above)"
    echo "series-files: $(map_entries | wc -l) patches, $(grep -c . <<<"$listed") files, every overlay file listed once"
}

# ---- identity --------------------------------------------------------------

author() {
    local a=${SERIES_AUTHOR:-} n e
    if [ -z "$a" ]; then
        n=$(git -C "$TOP" config user.name || true)
        e=$(git -C "$TOP" config user.email || true)
        [ -n "$n" ] && [ -n "$e" ] && a="$n <$e>"
    fi
    [ -n "$a" ] || die "no identity for the series' author and Signed-off-by.
  Set SERIES_AUTHOR=\"Your Name <you@example.org>\" (make series SERIES_AUTHOR=...),
  or git config user.name and user.email."
    [[ $a =~ ^[^\<\>]+\ \<[^\<\>@\ ]+@[^\<\>\ ]+\>$ ]] ||
        die "SERIES_AUTHOR=\"$a\" is not of the form \"Name <email>\""
    case "$a" in *@localhost\>) die "SERIES_AUTHOR=\"$a\": a placeholder address, not a person's" ;; esac
    echo "$a"
}

# The commit message of a patch file: subject, blank, body without the
# placeholder trailers, Signed-off-by of the author.
message() {
    local patch=$1 who=$2 info msg
    msg=$(mktemp)
    info=$(git mailinfo -k "$msg" /dev/null < "$patch")
    sed -n 's/^Subject: //p' <<<"$info" | sed 's/^\[PATCH[^]]*\] *//'
    echo
    sed -e '/^Signed-off-by: .*@localhost>$/d' "$msg" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
    grep -qxF "Signed-off-by: $who" "$msg" || { echo; echo "Signed-off-by: $who"; }
    rm -f "$msg"
}

# ---- Xen -------------------------------------------------------------------

XEN=$BUILD/xen
xg() { git -C "$XEN" "$@"; }

build_xen() {
    local who idx head e p tree m n=0
    check_files >/dev/null
    who=$(author)
    xg rev-parse -q --verify refs/ims/pristine >/dev/null ||
        die "$XEN has no pristine commit (run: make sync BUILD=$BUILD)"
    idx=$BUILD/.series-index
    rm -f "$idx"
    GIT_INDEX_FILE=$idx xg read-tree refs/ims/pristine
    head=$(xg rev-parse refs/ims/pristine)
    export GIT_AUTHOR_NAME=${who% <*} GIT_AUTHOR_EMAIL=${who##*<}
    GIT_AUTHOR_EMAIL=${GIT_AUTHOR_EMAIL%>}
    export GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL
    for e in $(map_entries); do
        case "$e" in
        mail/*) ;;
        *) p=$(version_patch "$e")
           if [ -z "$p" ]; then
               [ -z "$(map_files_of "$e")" ] ||
                   die "$e is not in $XEN_SERIES but new files are listed under it"
               continue
           fi
           GIT_INDEX_FILE=$idx xg apply --cached --whitespace=nowarn "$p" ||
               die "$e does not apply in mail order (patches/series-files) after the patches before it" ;;
        esac
        map_files_of "$e" | (cd "$TOP" && while read -r f; do
            m=100644; [ -x "$f" ] && m=100755
            printf '%s %s\t%s\n' "$m" "$(xg hash-object -w --no-filters "$TOP/$f")" "$f"
        done) | GIT_INDEX_FILE=$idx xg update-index --index-info
        tree=$(GIT_INDEX_FILE=$idx xg write-tree)
        head=$(message "$TOP/patches/$e" "$who" | xg commit-tree "$tree" -p "$head")
        n=$((n + 1))
    done
    rm -f "$idx"
    # The result must be the tree "make sync" builds, minus the files not mailed.
    local want
    want=$(xg rev-parse 'refs/ims/applied^{tree}')
    if ! diff <(xg ls-tree -r "$head" | sort) \
              <(xg ls-tree -r "$want" | grep -vFf <(map_files_of - | sed 's/^/\t/') | sort) >/dev/null; then
        xg diff --stat "$want" "$head" -- >&2 || true
        die "the series does not add up to the synced tree (run make sync; see the difference above)"
    fi
    xg update-ref refs/ims/series "$head"
    rm -rf "$OUT/xen"
    mkdir -p "$OUT/xen"
    xg format-patch -q --cover-letter --thread=shallow --subject-prefix="$PREFIX" \
        -o "$OUT/xen" refs/ims/pristine..refs/ims/series
    cover "$OUT/xen"/0000-cover-letter.patch "$TOP/patches/series-cover"
    say "xen: $n patches + cover letter in $OUT/xen (author and Signed-off-by: $who)"
}

# Fill format-patch's cover letter: subject and blurb from a file whose
# first line is the subject.
cover() {
    local f=$1 src=$2
    [ -f "$src" ] || die "no $src (the cover letter's text)"
    python3 - "$f" "$src" <<'EOF'
import sys
f, src = sys.argv[1], sys.argv[2]
text = open(src).read().split("\n", 1)
subject, blurb = text[0].strip(), text[1].strip("\n") if len(text) > 1 else ""
s = open(f).read()
assert "*** SUBJECT HERE ***" in s and "*** BLURB HERE ***" in s
s = s.replace("*** SUBJECT HERE ***", subject, 1).replace("*** BLURB HERE ***", blurb, 1)
open(f, "w").write(s)
EOF
}

# ---- QEMU and libvirt: their patch queues in the projects' format -----------

# DIR TREE BASE-REF NAME: format-patch of a build tree's commits on top of
# Debian's source (the tree is kept by scripts/qemu-tree.sh / libvirt-tree.sh
# with one commit per patch of our series), with the author's Signed-off-by.
build_other() {
    local name=$1 tree=$2 base=$3 src=$4 who idx head c n=0 tmp
    who=$(author)
    git -C "$tree" rev-parse -q --verify "$base" >/dev/null ||
        die "$tree has no $base (run make $name-sync BUILD=$BUILD)"
    head=$(git -C "$tree" rev-parse "$base")
    export GIT_AUTHOR_NAME=${who% <*} GIT_AUTHOR_EMAIL=${who##*<}
    GIT_AUTHOR_EMAIL=${GIT_AUTHOR_EMAIL%>}
    export GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL
    tmp=$(mktemp)
    for p in $(grep -v '^#' "$src/series" | grep .); do
        idx=$BUILD/.series-$name-index
        rm -f "$idx"
        GIT_INDEX_FILE=$idx git -C "$tree" read-tree "$head"
        GIT_INDEX_FILE=$idx git -C "$tree" apply --cached --whitespace=nowarn "$src/$p" ||
            die "$p does not apply"
        c=$(GIT_INDEX_FILE=$idx git -C "$tree" write-tree)
        rm -f "$idx"
        head=$(message "$src/$p" "$who" | git -C "$tree" commit-tree "$c" -p "$head")
        n=$((n + 1))
    done
    rm -f "$tmp"
    git -C "$tree" update-ref "refs/series/$name" "$head"
    rm -rf "${OUT:?}/$name"
    mkdir -p "$OUT/$name"
    # shellcheck disable=SC2086
    git -C "$tree" format-patch -q --thread=shallow --subject-prefix="$PREFIX" \
        $([ "$n" -gt 1 ] && echo --cover-letter) ${5:-} \
        -o "$OUT/$name" "$base..refs/series/$name"
    [ "$n" -le 1 ] || cover "$OUT/$name"/0000-cover-letter.patch "$src/series-cover"
    say "$name: $n patches$([ "$n" -le 1 ] || echo ' + cover letter') in $OUT/$name"
}

# ---- check-series ------------------------------------------------------------

# A scratch clone of pristine Xen under $BUILD, configured once (kept across
# runs: its objects make the builds after each patch incremental).
CHK=$BUILD/series-check
report() { printf '%-72s %s\n' "$1" "$2" | tee -a "$CHK/report"; }

check_xen() {
    local s=$CHK/xen p subj t0 rc fails=0 files hvok
    [ -d "$OUT/xen" ] || die "no $OUT/xen (run make series)"
    mkdir -p "$CHK"
    : > "$CHK/report"
    if [ ! -d "$s/.git" ]; then
        say "cloning pristine Xen into $s"
        git init -q "$s"
    fi
    git -C "$s" fetch -q "$XEN" "+refs/ims/pristine:refs/pristine"
    git -C "$s" am --abort >/dev/null 2>&1 || true
    git -C "$s" checkout -q -f --detach refs/pristine
    git -C "$s" clean -q -fdx -e /config/ -e '/config.*' -e /tools/config.h \
        -e '*.o' -e '*.a' -e '*.so*' -e '.*.d' -e '*.opic' -e '*.pc' \
        -e '_*.h' -e '*.gen' -e '*.map' >/dev/null
    # configure: as scripts/xen-tree.sh does, once.
    if [ ! -f "$s/config/Tools.mk" ]; then
        say "configuring the scratch tree (tools only)"
        cp "$XEN/.configure-flags" "$CHK/flags"
        # shellcheck disable=SC2046
        (cd "$s" && PYTHON=/usr/bin/python3 ./configure -q $(cat "$CHK/flags")) \
            > "$CHK/configure.log" 2>&1 || die "configure failed (see $CHK/configure.log)"
    fi
    for p in "$OUT"/xen/[0-9][0-9][0-9][0-9]-*.patch; do
        case "$p" in */0000-cover-letter.patch) continue ;; esac
        subj=$(basename "$p")
        t0=$(date +%s)
        if ! git -C "$s" -c user.name=check -c user.email=check@localhost am -q --keep-cr "$p" \
                > "$CHK/am.log" 2>&1; then
            report "$subj" "FAIL: does not apply (git am; $CHK/am.log)"
            fails=$((fails + 1)); break
        fi
        rc=ok
        # whitespace, as git's and Xen's reviewers check it
        # (test data keeps its bytes: CRLF Xen logs, QMP transcripts and
        # fuzz inputs, lspci dumps ending in a blank line, and the test
        # patch of xenstored, whose context is Xen's own code)
        if ! git -C "$s" show --check --format= HEAD -- . ':!tools/tests/ims/fixtures' \
                ':!tools/tests/ims/fuzz/corpus' ':!tools/tests/ims/*.patch' \
                > "$CHK/${subj%.patch}.check" 2>&1; then
            rc="whitespace errors ($CHK/${subj%.patch}.check)"
            fails=$((fails + 1))
        fi
        grep -q '^Signed-off-by: ' <(git -C "$s" log -1 --format=%B) ||
            { rc="no Signed-off-by"; fails=$((fails + 1)); }
        files=$(git -C "$s" show --name-only --format= HEAD)
        if grep -q '^tools/' <<<"$files"; then
            if make -C "$s/tools/include" -s -j"$JOBS" > "$CHK/${subj%.patch}.build" 2>&1 &&
               make -C "$s/tools/libs" -s -j"$JOBS" >> "$CHK/${subj%.patch}.build" 2>&1 &&
               make -C "$s/tools/xl" -s -j"$JOBS" >> "$CHK/${subj%.patch}.build" 2>&1; then
                [ "$rc" != ok ] || rc="ok, tools built"
            else
                rc="FAIL: tools do not build ($CHK/${subj%.patch}.build)"
                fails=$((fails + 1))
            fi
            if grep -q '^tools/tests/ims/' <<<"$files"; then
                if make -C "$s/tools/tests/ims" -s -j"$JOBS" all >> "$CHK/${subj%.patch}.build" 2>&1; then
                    [ "$rc" != "ok, tools built" ] || rc="ok, tools and tests built"
                else
                    rc="FAIL: tests do not build ($CHK/${subj%.patch}.build)"
                    fails=$((fails + 1))
                fi
            fi
        elif grep -q '^xen/' <<<"$files"; then
            if [ "${CHECK_SERIES_HV:-}" = yes ]; then
                hvok=$CHK/hv-obj
                mkdir -p "$hvok"
                [ -f "$hvok/.config" ] || cp "$BUILD/xen-hv/config" "$hvok/.config" 2>/dev/null ||
                    die "CHECK_SERIES_HV=yes needs Debian's hypervisor config: run make xen-hypervisor first"
                if make -C "$s/xen" -s -j"$JOBS" XEN_TARGET_ARCH=x86_64 O="$hvok" olddefconfig \
                        > "$CHK/${subj%.patch}.build" 2>&1 &&
                   make -C "$s/xen" -s -j"$JOBS" XEN_TARGET_ARCH=x86_64 O="$hvok" \
                        >> "$CHK/${subj%.patch}.build" 2>&1; then
                    [ "$rc" != ok ] || rc="ok, hypervisor built"
                else
                    rc="FAIL: the hypervisor does not build ($CHK/${subj%.patch}.build)"
                    fails=$((fails + 1))
                fi
            else
                [ "$rc" != ok ] || rc="ok, hypervisor not built (CHECK_SERIES_HV=yes)"
            fi
        fi
        report "$subj" "$rc ($(( $(date +%s) - t0 )) s)"
    done
    spdx_report
    return "$fails"
}

# New files without an SPDX-License-Identifier line (Xen's new files carry
# one, see CONTRIBUTING).  Data files (fixtures, corpus) are exempt.
spdx_report() {
    local f missing=()
    for e in $(map_entries); do
        for f in $(map_files_of "$e"); do
            case "$f" in
            */fixtures/*.json | */fixtures/*.lspci | */fixtures/*.log | */fixtures/*.txt | */fuzz/corpus/* | *.dict | *README* | *.md | *.patch) continue ;;
            esac
            head -n 5 "$TOP/$f" | grep -q 'SPDX-License-Identifier' || missing+=("$f")
        done
    done
    if [ ${#missing[@]} -eq 0 ]; then
        report "SPDX: every new source file of the series has an identifier" ok
    else
        report "SPDX: ${#missing[@]} new file(s) without SPDX-License-Identifier:" "(reported, not fatal)"
        printf '    %s\n' "${missing[@]}" | tee -a "$CHK/report"
    fi
}

# QEMU's own checkpatch.pl, from the QEMU tree make qemu-sync unpacked.
check_qemu() {
    local q=$BUILD/qemu p fails=0 log tot
    [ -x "$q/scripts/checkpatch.pl" ] || die "no $q/scripts/checkpatch.pl (run make qemu-sync BUILD=$BUILD)"
    for p in "$OUT"/qemu/[0-9][0-9][0-9][0-9]-*.patch; do
        case "$p" in */0000-cover-letter.patch) continue ;; esac
        log=$CHK/qemu-$(basename "$p" .patch).checkpatch
        (cd "$q" && ./scripts/checkpatch.pl --no-tree "$p") > "$log" 2>&1 || true
        tot=$(sed -n 's/^total: \([0-9]*\) errors, \([0-9]*\) warnings.*/\1 \2/p' "$log")
        if [ -z "$tot" ] || [ "${tot% *}" != 0 ]; then
            report "qemu/$(basename "$p")" "FAIL: checkpatch.pl: ${tot:-no summary} ($log)"
            fails=$((fails + 1))
        elif [ "${tot#* }" = 0 ]; then
            report "qemu/$(basename "$p")" "ok (checkpatch.pl clean)"
        else
            # The one warning checkpatch gives any new file ("does
            # MAINTAINERS need updating?") is answered by MAINTAINERS'
            # "F: */xen*" (Xen section): reported, not counted.
            report "qemu/$(basename "$p")" "ok (checkpatch.pl: 0 errors, ${tot#* } warning(s): $(grep -m1 '^WARNING' "$log" | cut -c10-70))"
        fi
    done
    return "$fails"
}

# libvirt: whitespace of each commit of the series (libvirt's own
# syntax-check needs a configured build tree: make libvirt runs its tests).
check_libvirt() {
    local t=$BUILD/libvirt/src c fails=0
    for c in $(git -C "$t" rev-list --reverse refs/libvirt/debian..refs/series/libvirt); do
        if git -C "$t" show --check --format= "$c" > "$CHK/libvirt.check" 2>&1; then
            report "libvirt: $(git -C "$t" log -1 --format=%s "$c" | cut -c1-60)" "ok (whitespace)"
        else
            report "libvirt: $(git -C "$t" log -1 --format=%s "$c" | cut -c1-60)" "FAIL: whitespace ($CHK/libvirt.check)"
            fails=$((fails + 1))
        fi
    done
    return "$fails"
}

check() {
    local t0 fx=0 fq=0 fl=0
    t0=$(date +%s)
    mkdir -p "$CHK"
    check_files
    check_xen || fx=$?
    if [ -d "$OUT/qemu" ]; then check_qemu || fq=$?; fi
    if [ -d "$OUT/libvirt" ]; then check_libvirt || fl=$?; fi
    echo "check-series: $((fx + fq + fl)) problem(s); report in $CHK/report; $(( $(date +%s) - t0 )) s"
    [ $((fx + fq + fl)) -eq 0 ]
}

case "${1:-}" in
files) check_files ;;
xen) build_xen ;;
qemu) build_other qemu "$BUILD/qemu" refs/qemu/debian "$TOP/patches/qemu" ;;
libvirt) build_other libvirt "$BUILD/libvirt/src" refs/libvirt/debian "$TOP/ecosystem/libvirt/patches" ;;
check) check ;;
*) echo "usage: $0 files|xen|qemu|libvirt|check" >&2; exit 2 ;;
esac
