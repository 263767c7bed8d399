# Shared shell functions of the build scripts (sourced; the caller defines
# die and say).  scripts/debian-lib.sh sources this file, so every script
# that sources that one has these too.

# verify_sha256 FILE WANT [HINT]: stop unless FILE's sha256 is WANT.  HINT
# (further lines of the message) may use {got}, replaced by the sha256 found.
verify_sha256() {
    local f=$1 want=$2 hint=${3:-} got
    [ -f "$f" ] || die "$f: no such file"
    got=$(sha256sum "$f" | cut -d' ' -f1)
    [ "$got" = "$want" ] && return 0
    die "$f: sha256 $got does not match the pinned $want${hint:+
  ${hint//\{got\}/$got}}"
}

# sha256_is FILE WANT: true when FILE's sha256 is WANT; SHA256_GOT is set.
sha256_is() {
    SHA256_GOT=$(sha256sum "$1" | cut -d' ' -f1)
    [ "$SHA256_GOT" = "$2" ]
}

# series_list SERIES DIR: the patches a quilt-style series file names, as
# paths under DIR, in order (blank lines and # comments skipped); stops
# when one is missing.  Nothing when there is no series file.
series_list() {
    local series=$1 dir=$2 p
    [ -f "$series" ] || return 0
    while read -r p _; do
        case "$p" in ''|'#'*) continue ;; esac
        [ -f "$dir/$p" ] || die "${series#"${TOP:-}"/} lists $p, which does not exist"
        echo "$dir/$p"
    done < "$series"
}

# apply_queue GITDIR INDEX SERIES DIR WHAT [HOOK]: apply the patch queue
# SERIES (patches in DIR) over the tree in the git index file INDEX of
# GITDIR, in order, without touching a work tree ("git apply --cached");
# after each patch, HOOK PATCH is called (e.g. to commit it).  WHAT names
# the tree in messages ("the pristine tree").
apply_queue() {
    local gd=$1 idx=$2 series=$3 dir=$4 what=$5 hook=${6:-} list p
    list=$(series_list "$series" "$dir") || exit 1
    for p in $list; do
        GIT_INDEX_FILE=$idx git -C "$gd" apply --cached --whitespace=nowarn "$p" >&2 ||
            die "patch $(basename "$p") does not apply to $what plus the patches before it"
        [ -z "$hook" ] || "$hook" "$p"
    done
}

# apply_quilt DIR SERIES PATCHDIR WHAT: patch(1) the patches of a quilt
# series (each line: a patch and its options, e.g. Debian's
# debian/patches/series) into the work tree DIR, in order, without fuzz.
# WHAT names the patches in messages ("Debian's patch").
apply_quilt() {
    local dir=$1 series=$2 pdir=$3 what=$4 p opts
    while read -r p opts; do
        case "$p" in ''|'#'*) continue ;; esac
        # shellcheck disable=SC2086 # (series options, word-split on purpose)
        (cd "$dir" && patch -s -p1 --fuzz=0 --no-backup-if-mismatch ${opts:-} \
            -i "$pdir/$p") || die "$what $p does not apply"
    done < "$series"
}
