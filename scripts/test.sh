#!/usr/bin/env bash
# Runs every check and test on a fresh machine: installs the tools the tests use (Debian's
# age, minisign, zstd, openssl, OpenLDAP, Samba AD, Chromium; moto's server from PyPI), then fmt, clippy
# and the tests.
# Servers (moto, emulators) are started by the tests themselves on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for tool in age minisign zstd openssl; do
    command -v "$tool" >/dev/null 2>&1 || need_apt+=("$tool")
done
# OpenLDAP's server and tools: the LDAP connector's tests start slapd in a temporary folder.
command -v slapd >/dev/null 2>&1 || [ -x /usr/sbin/slapd ] || need_apt+=(slapd)
command -v ldapmodify >/dev/null 2>&1 || need_apt+=(ldap-utils)
# The Debian package's test: its maintainer scripts are linted, its units verified.
command -v shellcheck >/dev/null 2>&1 || need_apt+=(shellcheck)
command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)
# Samba's Active Directory domain controller and its tools: the LDAP connector's Active
# Directory tests provision a domain and start it in a temporary folder.
command -v samba >/dev/null 2>&1 || [ -x /usr/sbin/samba ] || need_apt+=(samba samba-ad-dc)
# samba-tool comes with samba; the provisioning data and the directory modules do not.
for pkg in samba-ad-provision samba-dsdb-modules; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
command -v ldbmodify >/dev/null 2>&1 || need_apt+=(ldb-tools)
# Headless Chromium: tests/report_html.rs opens the HTML reports in a real browser, and
# fails rather than skips when it is missing here.
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
export IAMSNAP_REQUIRE_BROWSER=1
# The quickstart's incident script, which the `diff --who` test runs against the emulator.
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
if ((${#need_apt[@]})); then
    echo "installing ${need_apt[*]} (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
if ! command -v moto_server >/dev/null 2>&1; then
    echo "installing moto[server] (pip)"
    python3 -m pip install --quiet 'moto[server]'
    # pyenv installs console scripts behind shims that exist only after a rehash.
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
    hash -r
fi
command -v moto_server >/dev/null || { echo "moto_server not on PATH after install" >&2; exit 1; }

# cargo-deb builds the Debian package that tests/package.rs checks; kept with the build cache.
tools="$HOME/.cache/iamsnap/tools"
export PATH="$tools/bin:$PATH"
if ! command -v cargo-deb >/dev/null 2>&1; then
    echo "installing cargo-deb (cargo)"
    cargo install --quiet --locked cargo-deb --version 3.8.0 --root "$tools"
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
