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
    local gd=$1 idx=$2 series=$3 dir=$4 what=$5 hook=${6:-} list p before after
    list=$(series_list "$series" "$dir") || exit 1
    for p in $list; do
        before=$(GIT_INDEX_FILE=$idx git -C "$gd" write-tree)
        GIT_INDEX_FILE=$idx git -C "$gd" apply --cached --whitespace=nowarn "$p" >&2 ||
            die "patch $(basename "$p") does not apply to $what plus the patches before it"
        after=$(GIT_INDEX_FILE=$idx git -C "$gd" write-tree)
        hunks_in_place "$p" "$(git -C "$gd" diff-tree -p "$before" "$after")" ||
            die "patch $(basename "$p") applies to $what, but a hunk landed in another function than the one it names (above): the context matched elsewhere; refresh the patch for this tree"
        [ -z "$hook" ] || "$hook" "$p"
    done
}

# c_hunk_functions: "FILE: FUNCTION" for each hunk of a diff on stdin in a
# C file, as git names it in the hunk header.
c_hunk_functions() {
    awk '/^\+\+\+ / { f = substr($2, 3); next }
         /^@@ / && f ~ /\.[ch]$/ { c = $0; sub(/^@@ [^@]* @@ ?/, "", c); print f ": " c }' | sort
}

# hunks_in_place PATCH APPLIED-DIFF: git apply finds a hunk by its context
# lines wherever they match nearest to the stated line, so in another
# version's tree a hunk can land in another function with the same lines
# (a parameter list, a closing block).  The function each C hunk names in
# its header must be the one where it landed.
hunks_in_place() {
    local want got
    want=$(c_hunk_functions < "$1")
    got=$(printf '%s\n' "$2" | c_hunk_functions)
    [ "$want" = "$got" ] && return 0
    echo "  patch's hunks: $(echo "$want" | tr '\n' ';')" >&2
    echo "  where they landed: $(echo "$got" | tr '\n' ';')" >&2
    diff <(echo "$want") <(echo "$got") >&2
    return 1
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
