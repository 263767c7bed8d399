#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The bash completion of the pci-ims-* commands (tools/xl/bash-completion-ims):
# sources it, completes command lines as bash would, and checks COMPREPLY.
. "$(dirname "$0")/lib.sh"

: "${XL:?}"
HERE=$(cd "$(dirname "$0")" && pwd)
COMPLETION=${IMS_COMPLETION:-$HERE/../../../xl/bash-completion-ims}
[ -r "$COMPLETION" ] || { nok "completion file $COMPLETION exists"; finish; exit; }

# A fake host with three PCI devices (and a non-device entry).
export LIBXL_IMS_ROOT=$T/root
mkdir -p "$LIBXL_IMS_ROOT/sys/bus/pci/devices"
for b in 0000:00:00.0 0000:04:00.0 0001:02:00.1 not-a-device; do
    mkdir "$LIBXL_IMS_ROOT/sys/bus/pci/devices/$b"
done
touch "$T/local.cfg" "$T/other.txt"
mkdir "$T/sub"

# complete LINE: completes LINE (cursor at its end) as bash does, COMP_WORDS
# split at blanks and at COMP_WORDBREAKS' ':' and '='; result in $got (the
# sorted COMPREPLY, one per line, with trailing spaces shown as '_').
complete_line() {
    COMP_LINE=$1
    COMP_POINT=${#COMP_LINE}
    COMP_WORDBREAKS=$' \t\n"\'><=;|&(:'
    local -a w
    read -ra w <<<"$(sed 's/\([:=]\)/ \1 /g' <<<"$COMP_LINE")"
    [[ $COMP_LINE == *' ' ]] && w+=("")
    COMP_WORDS=("${w[@]}")
    COMP_CWORD=$(( ${#w[@]} - 1 ))
    COMPREPLY=()
    _xl_ims xl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}" 2>/dev/null
    got=$(printf '%s\n' "${COMPREPLY[@]}" | sed 's/ $/_/' | sort)
}

expect_words() { # DESC WANT (words separated by blanks; '_' = trailing space)
    local want
    want=$(tr ' ' '\n' <<<"$2" | sed '/^$/d' | sort)
    if [ "$got" = "$want" ]; then ok "$1"; else
        nok "$1" "want: $(echo $want)
got:  $(echo $got)"; fi
}

# 1. Without xl's own completion: command names come from "xl help".
_XL_IMS_BASE= . "$COMPLETION"
if complete -p xl 2>/dev/null | grep -q -- '-F _xl_ims'; then
    ok "sourcing registers _xl_ims for xl"
else
    nok "sourcing registers _xl_ims for xl" "$(complete -p xl 2>&1)"
fi
declare -F _xl >/dev/null && nok "no base completion loaded when _XL_IMS_BASE is empty" ||
    ok "no base completion loaded when _XL_IMS_BASE is empty"

COMP_LINE="$XL pci-ims-"; COMP_POINT=${#COMP_LINE}
COMP_WORDS=("$XL" "pci-ims-"); COMP_CWORD=1
_xl_ims "$XL" pci-ims- "$XL" 2>/dev/null
got=$(printf '%s\n' "${COMPREPLY[@]}" | sed 's/ $/_/' | sort)
expect_words "command names from xl help" \
    "pci-ims-db-check_ pci-ims-explain_ pci-ims-facts_ pci-ims-list_"

# 2. Options of each command.
complete_line "xl pci-ims-facts -"
expect_words "pci-ims-facts options" "-h_ -j_ --record_"
complete_line "xl pci-ims-facts --r"
expect_words "pci-ims-facts --r" "--record_"
complete_line "xl pci-ims-list "
expect_words "pci-ims-list options" "-h_ -j_"
complete_line "xl pci-ims-db-check -"
expect_words "pci-ims-db-check options" "-h_ -v_ -j_"
complete_line "xl pci-ims-explain --"
expect_words "pci-ims-explain long options" "--pv_ --hvm_ --device-model="
complete_line "xl pci-ims-explain -"
expect_words "pci-ims-explain options" \
    "-h_ -j_ -p_ -d_ -m_ --pv_ --hvm_ --device-model="

# 3. Policy values.
complete_line "xl pci-ims-explain -p "
expect_words "-p offers every policy" "off_ auto_ strict_ expose_ export_ remap_"
complete_line "xl pci-ims-explain -j -p ex"
expect_words "-p ex" "expose_ export_"
complete_line "xl pci-attach 3 04:00.0,ims_policy=st"
expect_words "ims_policy= in a PCI spec string (after bash's '=' break)" "strict_"
complete_line "xl pci-attach 3 04:00.0,permissive=1,ims_policy="
expect_words "ims_policy= offers every policy" \
    "off_ auto_ strict_ expose_ export_ remap_"

# 4. BDFs of host devices, from $LIBXL_IMS_ROOT/sys/bus/pci/devices.
complete_line "xl pci-ims-explain "
expect_words "BDFs of the host's devices" "0000:00:00.0_ 0000:04:00.0_ 0001:02:00.1_"
complete_line "xl pci-ims-explain --pv 04"
expect_words "short BDF for domain 0000" "04:00.0_"
complete_line "xl pci-ims-explain -p auto 0000:04:0"
# bash breaks the word at ':', so only the part after the last ':' is replaced
expect_words "full BDF, trimmed to bash's word after ':'" "00.0_"
complete_line "xl pci-ims-explain 0001"
expect_words "another PCI domain" "0001:02:00.1_"
complete_line "xl pci-ims-explain 04:00.0 "
expect_words "only one BDF" ""
complete_line "xl pci-ims-explain -p strict "
expect_words "a policy value is not taken for the BDF" \
    "0000:00:00.0_ 0000:04:00.0_ 0001:02:00.1_"

# 5. Files.
complete_line "xl pci-ims-db-check $T/lo"
expect_words "database files" "$T/local.cfg_"
complete_line "xl pci-ims-db-check $T/su"
expect_words "directories, to descend into" "$T/sub/"
complete_line "xl pci-ims-explain -m $T/ot"
expect_words "-m takes a device model path" "$T/other.txt_"
complete_line "xl pci-ims-explain --device-model=$T/ot"
expect_words "--device-model=PATH (after bash's '=' break)" "$T/other.txt_"

# 6. Other commands go to xl's own completion, when there is one.
cat > "$T/base" <<'EOF'
_xl() { COMPREPLY=("base:${COMP_WORDS[1]}"); }
complete -F _xl -o nospace -o default xl
EOF
unset -f _xl _xl_ims
_XL_IMS_BASE=$T/base . "$COMPLETION"
if declare -F _xl >/dev/null; then ok "the base completion is loaded when _xl is missing"; else
    nok "the base completion is loaded when _xl is missing"; fi
complete_line "xl create "
expect_words "other commands are handed to _xl" "base:create"
complete_line "xl pci-"
expect_words "command names are handed to _xl" "base:pci-"
complete_line "xl pci-ims-facts -"
expect_words "pci-ims-* still completed with a base" "-h_ -j_ --record_"
if complete -p xl | grep -q -- '-F _xl_ims'; then
    ok "_xl_ims replaces the base's registration"; else
    nok "_xl_ims replaces the base's registration" "$(complete -p xl)"; fi

finish
