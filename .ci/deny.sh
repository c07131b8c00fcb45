#!/usr/bin/env bash
# cargo deny over the dependency graph: RustSec advisories, licences, duplicate versions and
# sources, as deny.toml allows them (it says why for each exception).
#
# cargo-deny is built from crates.io once and kept in /var/tmp/jszg-ci-tools, as the compiled
# dependencies are kept. The advisory database is a git repository on GitHub; where GitHub cannot
# be reached, a local copy of it is used (JSZG_ADVISORY_DB, a git repository or bare mirror). With
# neither, the other three checks still run and the log says loudly that advisories were not.
set -euo pipefail
cd "$(dirname "$0")/.."
version=0.20.2
tools="${JSZG_CI_TOOLS:-/var/tmp/jszg-ci-tools}"
deny="$tools/bin/cargo-deny"

if ! "$deny" --version 2>/dev/null | grep -qF " $version"; then
  echo "building cargo-deny $version from crates.io (once per machine)"
  # Its own target directory, without the CI's clippy wrapper (which lints workspace crates, and
  # cargo install makes cargo-deny one).
  env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS CARGO_TARGET_DIR="$tools/build" \
    cargo install --quiet --locked "cargo-deny@$version" --root "$tools"
fi

# cargo-deny keeps the database in <db-path>/<last URL segment>-<XxHash64 of the URL>; the name
# below is what it gives https://github.com/rustsec/advisory-db (deny.toml's db-urls).
db_root="$tools/advisory-dbs"
db="$db_root/advisory-db-3157b0e258782691"
url=https://github.com/rustsec/advisory-db
mirror="${JSZG_ADVISORY_DB:-/work/.mirror/rustsec+advisory-db/repo}"
mkdir -p "$db_root"
refresh() {
  local from="$1" tmp="$db.new"
  rm -rf "$tmp"
  timeout 120 git clone --quiet --depth 1 "$from" "$tmp" 2>/dev/null || { rm -rf "$tmp"; return 1; }
  rm -rf "$db" && mv "$tmp" "$db"
}
dated() { echo "advisory database: $1, as of $(git -C "$db" log -1 --format=%cs) ($(git -C "$db" rev-parse --short HEAD))"; }
checks=(advisories licenses bans sources)
if GIT_TERMINAL_PROMPT=0 refresh "$url"; then
  dated "fetched from $url"
elif [ -e "$mirror" ] && refresh "file://$(realpath "$mirror")"; then
  dated "GitHub unreachable; cloned from the local copy $mirror"
else
  echo "!!! advisory database: neither $url nor a local copy (JSZG_ADVISORY_DB) can be read:"
  echo "!!! RustSec ADVISORIES ARE NOT CHECKED in this run; licences, bans and sources are."
  checks=(licenses bans sources)
fi

"$deny" --log-level warn --offline --locked --workspace --config deny.toml check "${checks[@]}"
