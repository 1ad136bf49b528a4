#!/usr/bin/env bash
# The whole iamsnap story on one machine, no cloud account needed: an emulated Okta org,
# a local-folder repository, fresh keys, a backup, the snapshot list and its manifest; then an
# incident made through the Okta API, the damage shown by `diff` (and as an HTML page naming who
# made each change, from the org's System Log), the restore plan, `--apply`,
# and a final diff in which only what Okta can never give back remains: three users who came back
# STAGED (without credentials), and a line counting the objects re-created under new ids.
#
#   ./scripts/quickstart.sh [WORKDIR]      (default: ./quickstart)
#
# Everything it makes stays in WORKDIR: the keys, iamsnap.toml, the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=${1:-$root/quickstart}
users=${QUICKSTART_USERS:-2000}
groups=${QUICKSTART_GROUPS:-200}
apps=${QUICKSTART_APPS:-30}

# Runs a command that exits 0 when there is nothing to report and 1 when it reports
# differences or planned operations; any other status stops the quickstart.
differences() {
    local status=0
    "$@" || status=$?
    if [ "$status" -gt 1 ]; then
        echo "'$*' failed with exit $status" >&2
        exit "$status"
    fi
    return 0
}

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "building iamsnap and the emulators"
cargo build --quiet -p iamsnap -p iamsnap-testkit --bins
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin=$target_dir/debug
iamsnap() { "$bin/iamsnap" "$@"; }

if [ -e "$work" ]; then
    echo "$work exists; remove it or pass another folder" >&2
    exit 2
fi
mkdir -p "$work"
cd "$work"

step "starting an emulated Okta org ($users users, $groups groups, $apps apps)"
export OKTA_API_TOKEN="quickstart-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
"$bin/iamsnap-testkit" okta --port 0 --token "$OKTA_API_TOKEN" \
    --users "$users" --groups "$groups" --apps "$apps" --seed 42 > emulator.log 2>&1 &
emulator=$!
trap 'kill $emulator 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
    grep -q '^listening on ' emulator.log && break
    kill -0 $emulator 2>/dev/null || { cat emulator.log >&2; exit 3; }
    sleep 0.1
done
org_url=$(sed -n 's/^listening on //p' emulator.log | head -n 1)
[ -n "$org_url" ] || { echo "the emulator did not start" >&2; exit 3; }
echo "org at $org_url"

step "generating keys: an age identity (decrypts) and a minisign key (signs)"
recipient=$(iamsnap key generate --out identity.txt)
verify_key=$(iamsnap key signing --out signing.key)

cat > iamsnap.toml <<TOML
[repository]
url = "repo"
recipients = ["$recipient"]
signing_key_file = "signing.key"
verify_key = "$verify_key"

[sources.okta-demo]
provider = "okta"
org_url = "$org_url"
token_env = "OKTA_API_TOKEN"
TOML
export IAMSNAP_CONFIG=$work/iamsnap.toml
# Reports are printed in one go here rather than through a pager.
export PAGER=cat
export IAMSNAP_IDENTITY=$work/identity.txt
cat iamsnap.toml

step "iamsnap init"
iamsnap init

step "iamsnap doctor --restore   (the repository, the keys and the org's token, changing nothing)"
iamsnap doctor --restore

step "iamsnap backup --all"
iamsnap backup --all --metrics-file metrics.prom

step "iamsnap snapshots"
iamsnap snapshots

step "iamsnap show okta-demo@latest"
iamsnap show okta-demo@latest

step "iamsnap verify --all"
iamsnap verify --all

step "the archive opens with standard tools alone"
archive=$(ls repo/snapshots/okta-demo/*.iamsnap | head -n 1)
if command -v age >/dev/null && command -v minisign >/dev/null; then
    minisign -V -p signing.key.pub -m "$archive"
    mkdir -p plain && age -d -i identity.txt "$archive" | zstd -d | tar -x -C plain
    ls -l plain plain/records
else
    echo "(install age, minisign and zstd to try: age -d -i identity.txt $archive | zstd -d | tar -x)"
fi

step "an incident: a group, users, memberships, an authorization server and a SAML IdP deleted, a policy weakened (through the Okta API)"
python3 "$root/scripts/okta-incident.py" "$org_url"

step "iamsnap diff okta-demo@latest live   (what the incident changed)"
differences iamsnap diff okta-demo@latest live

step "iamsnap diff okta-demo@latest live --who --format html --out report.html   (who did it, as a page to forward)"
differences iamsnap diff okta-demo@latest live --who --format html --out report.html
echo "open $work/report.html in a browser: every change with the System Log events that made it"

step "iamsnap restore okta-demo@latest   (the plan only)"
differences iamsnap restore okta-demo@latest

step "iamsnap restore okta-demo@latest --apply --yes"
iamsnap restore okta-demo@latest --apply --yes

step "iamsnap restore okta-demo@latest   (again: nothing left to do)"
differences iamsnap restore okta-demo@latest

step "iamsnap diff okta-demo@latest live   (only what cannot be restored: users without credentials)"
differences iamsnap diff okta-demo@latest live

step "iamsnap diff okta-demo@latest live --show-ids --limit 3   (the objects re-created under new ids)"
differences iamsnap diff okta-demo@latest live --show-ids --limit 3

printf '\nDone. Everything is in %s: IAMSNAP_CONFIG=%s\n' "$work" "$IAMSNAP_CONFIG"
