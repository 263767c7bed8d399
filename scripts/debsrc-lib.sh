# A Debian source package as a git build tree, for scripts/qemu-tree.sh and
# scripts/libvirt-tree.sh (sourced; they define die and say first):
#
#   ds_fetch    download the pinned .orig and .debian tarballs (apt-get
#               source --download-only) and verify their sha256
#   ds_sync     unpack and apply debian/patches/series (once), then make the
#               tree equal to Debian's source + our series
#   ds_reset    drop edits made by hand in the tree
#   ds_export   write the commits on top of Debian's source to our series
#
# The tree ($TREE) is a git repository: $DS_REFS/pristine is the .orig
# tarball plus debian/, $DS_REFS/debian that with Debian's patches applied,
# and HEAD one commit per patch of $PATCHES/series on top of it.  ds_sync
# moves the work tree with "git read-tree -m -u", which rewrites only the
# files whose content changes, so editing one patch rebuilds little.
#
# The caller sets:
#   DS_NAME      the software's name in messages ("QEMU")
#   DS_PKG       Debian's source package (qemu)
#   DS_VAR       prefix of the user's overrides: ${DS_VAR}_SRC_DIR (take the
#                tarballs from there) and ${DS_VAR}_SRC_SHA256 (accept this
#                .orig knowingly)
#   DS_CONF      the pin file, relative to the top (qemu-source.conf)
#   DS_VERSION DS_ORIG DS_ORIG_SHA DS_DEB DS_DEB_SHA   from the pin file
#   DS_REFS      git ref namespace (refs/qemu)
#   DS_SCRIPT    the calling script, for messages
#   DS_FORMAT_PATCH_OPTS   extra git format-patch options for ds_export
#   BUILD DL TREE PATCHES TOP

. "$TOP/scripts/debian-lib.sh"

ds_src_dir() { local v=${DS_VAR}_SRC_DIR; echo "${!v:-}"; }
ds_src_sha() { local v=${DS_VAR}_SRC_SHA256; echo "${!v:-}"; }
ds_want_sha() { local s; s=$(ds_src_sha); echo "${s:-$DS_ORIG_SHA}"; }
ds_rel() { echo "${1#"$TOP"/}"; }

ds_git_in() { local d=$1; shift; git -C "$d" -c user.name=xen-pci-ims -c user.email=build@localhost "$@"; }
ds_git() { ds_git_in "$TREE" "$@"; }

ds_verify() {
    verify_sha256 "$1" "$2" "($DS_CONF) Refusing to build a $DS_NAME other than Debian's $DS_VERSION.
  $3"
}

ds_fetch() {
    local orig=$DL/$DS_ORIG deb=$DL/$DS_DEB dir f
    dir=$(ds_src_dir)
    mkdir -p "$DL"
    if [ -n "$dir" ]; then
        for f in "$DS_ORIG" "$DS_DEB"; do
            [ -f "$dir/$f" ] || die "${DS_VAR}_SRC_DIR=$dir has no $f"
            cp -f "$dir/$f" "$DL/$f"
        done
    elif [ ! -f "$orig" ] || [ ! -f "$deb" ]; then
        ensure_deb_src "set ${DS_VAR}_SRC_DIR"
        say "fetching $DS_PKG=$DS_VERSION from Debian's archive"
        (cd "$DL" && apt-get source --download-only -q "$DS_PKG=$DS_VERSION") ||
            die "apt-get source $DS_PKG=$DS_VERSION failed (apt-cache showsrc $DS_PKG lists the versions; set ${DS_VAR}_SRC_DIR to build from local copies)"
        [ -f "$orig" ] || die "apt-get source did not produce $DS_ORIG"
        [ -f "$deb" ] || die "apt-get source did not produce $DS_DEB"
    fi
    ds_verify "$orig" "$(ds_want_sha)" \
        "If you really mean to build another source, set ${DS_VAR}_SRC_SHA256=<its sha256>."
    # Debian's patches come with the version; another .orig means the user
    # chose another source knowingly, so only the pinned pair is checked.
    [ -n "$(ds_src_sha)" ] || ds_verify "$deb" "$DS_DEB_SHA" \
        "Remove it to fetch it again (or set ${DS_VAR}_SRC_DIR to a directory with the right one)."
}

# Unpack the .orig tarball and apply debian/patches/series (once).
ds_unpack() {
    local stamp=$TREE/.git/ims-debian-sha256 want tmp=$BUILD/.$DS_PKG-unpack
    want="$(ds_want_sha) $DS_VERSION"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    [ ! -e "$TREE" ] || die "$TREE exists but is not from the pinned source: remove it (rm -rf $TREE)"
    say "unpacking $DS_ORIG"
    rm -rf "$tmp"
    mkdir -p "$tmp/src"
    tar -C "$tmp/src" --strip-components=1 -xf "$DL/$DS_ORIG"
    tar -C "$tmp/src" -xf "$DL/$DS_DEB"
    ds_git_in "$tmp/src" init -q
    ds_git_in "$tmp/src" add -A -f .
    ds_git_in "$tmp/src" commit -q -m "pristine $DS_ORIG + debian/ of $DS_VERSION"
    ds_git_in "$tmp/src" update-ref "$DS_REFS/pristine" HEAD
    say "applying Debian's patches (debian/patches/series)"
    apply_quilt "$tmp/src" "$tmp/src/debian/patches/series" \
        "$tmp/src/debian/patches" "Debian's patch"
    ds_git_in "$tmp/src" add -A -f .
    ds_git_in "$tmp/src" commit -q -m "Debian's $DS_NAME $DS_VERSION (debian/patches/series applied)"
    ds_git_in "$tmp/src" update-ref "$DS_REFS/debian" HEAD
    echo "$want" > "$tmp/src/.git/ims-debian-sha256"
    mkdir -p "$(dirname "$TREE")"
    mv "$tmp/src" "$TREE"
    rm -rf "$tmp"
}

ds_series() { series_list "$PATCHES/series" "$PATCHES"; }

# Build the commit chain debian + our series (without touching the work
# tree) and print its head.
ds_chain() {
    local idx=$BUILD/.$DS_PKG-sync-index
    DS_HEAD=$(ds_git rev-parse "$DS_REFS/debian")
    rm -f "$idx"
    GIT_INDEX_FILE=$idx ds_git read-tree "$DS_HEAD"
    DS_IDX=$idx
    apply_queue "$TREE" "$idx" "$PATCHES/series" "$PATCHES" \
        "Debian's $DS_NAME" ds_commit_patch
    rm -f "$idx"
    echo "$DS_HEAD"
}

# One commit on DS_HEAD of the index DS_IDX, with PATCH's message and author.
ds_commit_patch() {
    local p=$1 tree info msg
    msg=$(mktemp)
    tree=$(GIT_INDEX_FILE=$DS_IDX ds_git write-tree)
    info=$(ds_git mailinfo "$msg" /dev/null < "$p")
    DS_HEAD=$(
        export GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_AUTHOR_DATE
        GIT_AUTHOR_NAME=$(sed -n 's/^Author: //p' <<<"$info")
        GIT_AUTHOR_EMAIL=$(sed -n 's/^Email: //p' <<<"$info")
        GIT_AUTHOR_DATE=$(sed -n 's/^Date: //p' <<<"$info")
        GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL \
        GIT_COMMITTER_DATE=$GIT_AUTHOR_DATE \
        git -C "$TREE" commit-tree "$tree" -p "$DS_HEAD" \
            -F <(sed -n 's/^Subject: //p' <<<"$info"; echo; cat "$msg"))
    rm -f "$msg"
}

ds_sync() {
    ds_unpack
    local new cur
    new=$(ds_chain)
    cur=$(ds_git rev-parse HEAD)
    if [ "$(ds_git rev-parse "$new^{tree}")" = "$(ds_git rev-parse "$cur^{tree}")" ]; then
        ds_git update-ref --no-deref HEAD "$new"
        ds_git update-ref "$DS_REFS/applied" "$new"
        return 0
    fi
    ds_git read-tree -m -u "$cur" "$new" ||
        die "the build tree has local edits to files that $(ds_rel "$PATCHES") changes.
  Commit them and run $DS_SCRIPT export, or drop them: $DS_SCRIPT reset"
    ds_git update-ref --no-deref HEAD "$new"
    ds_git update-ref "$DS_REFS/applied" "$new"
    say "tree updated: $(ds_git diff --name-only "$cur" "$new" | wc -l) file(s) changed"
}

ds_reset() {
    ds_unpack
    ds_git reset -q --hard "$DS_REFS/applied"
}

# Commits on top of Debian's source in the build tree -> our series.
ds_export() {
    local n
    n=$(ds_git rev-list --count "$DS_REFS/debian..HEAD")
    [ "$n" -gt 0 ] || die "no commits on top of $DS_REFS/debian in $TREE"
    mkdir -p "$PATCHES"
    rm -f "$PATCHES"/[0-9][0-9][0-9][0-9]-*.patch
    # shellcheck disable=SC2086 # (a list of options)
    ds_git format-patch -q --no-signature --zero-commit ${DS_FORMAT_PATCH_OPTS:-} -N \
        -o "$PATCHES" "$DS_REFS/debian..HEAD"
    (cd "$PATCHES" && ls [0-9][0-9][0-9][0-9]-*.patch) > "$PATCHES/series"
    ds_git update-ref "$DS_REFS/applied" HEAD
    say "wrote $n patch(es) to $(ds_rel "$PATCHES")/"
}
