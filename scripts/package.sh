#!/bin/sh
# Builds the Debian package into target/debian/ (or $CARGO_TARGET_DIR/debian/):
#
#   ./scripts/package.sh                    release build, then the package
#   ./scripts/package.sh --profile dev      from the debug build (what the tests check)
#   ./scripts/package.sh --no-build ...     package the binary already built
#   ./scripts/package.sh --fast ...         quicker, larger compression (for tests)
#
# Installs cargo-deb with cargo when it is missing. Completions and manual pages are made by the
# built binary itself, so they always match it.
set -eu

cd "$(dirname "$0")/.."
profile=release
build=yes
fast=
while [ $# -gt 0 ]; do
    case "$1" in
        --profile) profile="$2"; shift 2 ;;
        --no-build) build=no; shift ;;
        --fast) fast=--fast; shift ;;
        *) echo "usage: $0 [--profile release|dev] [--no-build] [--fast]" >&2; exit 2 ;;
    esac
done
case "$profile" in
    dev) dir=debug ;;
    *) dir="$profile" ;;
esac

if ! command -v cargo-deb >/dev/null 2>&1; then
    echo "installing cargo-deb (cargo install)" >&2
    cargo install --quiet --locked cargo-deb --version 3.8.0
fi

if [ "$build" = yes ]; then
    cargo build --locked --profile "$profile" --bin iamsnap
fi
target="${CARGO_TARGET_DIR:-target}"
bin="$target/$dir/iamsnap"
if [ ! -x "$bin" ]; then
    echo "error: $bin is not built (run without --no-build)" >&2
    exit 2
fi

out=packaging/out
rm -rf "$out"
mkdir -p "$out/completions" "$out/man"
"$bin" completions bash > "$out/completions/iamsnap.bash"
"$bin" completions zsh > "$out/completions/_iamsnap"
"$bin" completions fish > "$out/completions/iamsnap.fish"
"$bin" man --out "$out/man"
gzip -9n "$out"/man/*.1

# shellcheck disable=SC2086 # $fast is empty or one word
cargo deb --no-build --profile "$profile" --locked $fast
