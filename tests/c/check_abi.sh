#!/usr/bin/env bash
# check_abi.sh HEADER LIBRARY: the functions the header declares and the functions the library
# exports must be the same set. Fails (listing the difference) when one side has a name the other
# lacks, and when the library exports anything outside the kmb_ namespace.
set -euo pipefail
header=${1:?usage: check_abi.sh HEADER LIBRARY}
lib=${2:?usage: check_abi.sh HEADER LIBRARY}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Declarations are "KMB_EXTERN <type> kmb_name(" possibly spread over lines: join, then match.
tr '\n' ' ' <"$header" | grep -oE 'KMB_EXTERN [^;(]*\bkmb_[a-z0-9_]+\(' |
  grep -oE 'kmb_[a-z0-9_]+\($' | tr -d '(' | sort -u >"$tmp/header"
nm -D --defined-only "$lib" | awk '$2 ~ /^[TtWiV]$/ {print $3}' | sed 's/@.*//' | sort -u >"$tmp/lib"

status=0
if [ ! -s "$tmp/header" ]; then echo "check_abi: no functions found in $header"; exit 1; fi
if ! diff -u "$tmp/header" "$tmp/lib" >"$tmp/diff"; then
  echo "check_abi: header and library differ (- only in header, + only in library):"
  grep -E '^[-+]k|^[-+][^-+]' "$tmp/diff" || cat "$tmp/diff"
  status=1
fi
echo "check_abi: $(wc -l <"$tmp/header") functions in the header, $(wc -l <"$tmp/lib") exported"
exit $status
