#!/usr/bin/env bash
# cargo-deny's offline checks (deny.toml): the dependency tree's licenses, and the bans
# (wildcard requirements; several versions of a crate are listed as warnings). The advisory
# check is not run: it fetches the RustSec database. cargo-deny is installed from crates.io,
# pinned and locked, under target/tools, once.
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.20.2
tool=target/tools/bin/cargo-deny
if ! "$tool" --version 2>/dev/null | grep -qF "$version"; then
    cargo install --quiet --locked cargo-deny --version "$version" --root target/tools
fi
"$tool" --version
"$tool" --locked check --hide-inclusion-graph licenses bans
