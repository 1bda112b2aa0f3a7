#!/usr/bin/env bash
# The published crates as crates.io would get them, built from their packages alone.
#
# 1. `cargo package` packs each crate and verifies it: the packaged library (or binary) is
#    built from the .crate's files only, its wsx dependencies coming from the others' packages
#    (a local registry overlay, so crates not yet on crates.io verify together).
# 2. That builds libraries and binaries only, so the packages' examples, unit and integration
#    tests (those packaged) and doc tests are then compiled too, in a workspace of the unpacked
#    packages (target/package-check): one that reads a file outside its crate, or needs
#    wsx-testing (never published; `cargo package` drops the dev-dependency), fails here
#    rather than for a user of the .crate. The doc tests run.
#
# Both reuse the target directory's compiled dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

crates=(wsx-proto wsx-driver wsx-tokio wsx-async-std wsx-blocking wsx-cli)
# The libraries, which the others' packages may depend on (wsx-cli is a binary: nothing does).
libraries=(wsx-proto wsx-driver wsx-tokio wsx-async-std wsx-blocking)
target=${CARGO_TARGET_DIR:-target}

# Verifying unpacks each package into cargo's registry sources and builds it into the target
# directory, and a later run of the same version would reuse both as they were (cargo takes a
# registry crate of one version to be the same crate): start from neither. Only ours: the
# temporary registries `cargo package` makes are named by a hash starting with "-".
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/wsx-* "${CARGO_TARGET_DIR:-target}"/debug/.fingerprint/wsx-*

selection=()
for crate in "${crates[@]}"; do selection+=(-p "$crate"); done
# --allow-dirty: this checks what the tree packs to, committed or not.
cargo package --quiet --locked --allow-dirty "${selection[@]}"

version=$(cargo metadata --no-deps --format-version 1 --locked |
    python3 -c 'import json, sys; print({p["name"]: p["version"] for p in json.load(sys.stdin)["packages"]}["wsx-proto"])')
check=$target/package-check
rm -rf "$check"
mkdir -p "$check"
members="" patches=""
for crate in "${crates[@]}"; do
    tar -xzf "$target/package/$crate-$version.crate" -C "$check"
    members+="\"$crate-$version\", "
done
# A patch that nothing in the graph uses is warned about: the libraries only.
for crate in "${libraries[@]}"; do
    patches+="$crate = { path = \"$crate-$version\" }"$'\n'
done
cat >"$check/Cargo.toml" <<EOF
# Made by .ci/package.sh: the unpacked packages, each wsx dependency on crates.io replaced by
# its package.
[workspace]
resolver = "2"
members = [$members]

[patch.crates-io]
$patches
EOF
# The workspace's versions of every dependency (the patched wsx crates become path entries).
cp Cargo.lock "$check/Cargo.lock"
CARGO_TARGET_DIR=$target cargo check --quiet --manifest-path "$check/Cargo.toml" --workspace --examples --tests
CARGO_TARGET_DIR=$target cargo test --quiet --manifest-path "$check/Cargo.toml" --workspace --doc
for crate in "${crates[@]}"; do
    echo "$crate $version: $(tar -tzf "$target/package/$crate-$version.crate" | wc -l) files, $(du -k "$target/package/$crate-$version.crate" | cut -f1) KiB"
done
