#!/usr/bin/env bash
# The public API of every published crate, listed by cargo-public-api from rustdoc's JSON
# (RUSTC_BOOTSTRAP=1 lets the stable toolchain write it) and compared with the listing checked
# in under api/: a change to the API fails CI until the listing is regenerated with
# `bash .ci/public-api.sh --bless` and committed with it.
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.52.0
tool=target/tools/bin/cargo-public-api
if ! "$tool" --version 2>/dev/null | grep -qF "$version"; then
    cargo install --quiet --locked cargo-public-api --version "$version" --root target/tools
fi

mkdir -p target/api api
status=0
for crate in wsx-proto wsx-driver wsx-tokio wsx-async-std wsx-blocking; do
    RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=target/public-api \
        "$tool" -p "$crate" -sss --all-features --color never >"target/api/$crate.txt" 2>target/api/$crate.log \
        || { cat "target/api/$crate.log"; exit 1; }
    roots=$(python3 .ci/api_roots.py "$crate" "target/api/$crate.txt")
    echo "$crate: $(wc -l <"target/api/$crate.txt") lines; crate root: $roots"
    if [ "${1:-}" = --bless ]; then
        cp "target/api/$crate.txt" "api/$crate.txt"
    elif ! diff -u "api/$crate.txt" "target/api/$crate.txt"; then
        echo "the public API of $crate changed: if on purpose, run 'bash .ci/public-api.sh --bless' and commit api/"
        status=1
    fi
done
exit "$status"
