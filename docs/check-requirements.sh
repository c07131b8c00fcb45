#!/usr/bin/env bash
# Every requirement id used in the code (REG-4, CODE-1, REC-2a …) must have
# its own row in docs/requirements.md. Run from anywhere:
#   bash docs/check-requirements.sh
# Exits 1 and lists the ids that have no row.
set -euo pipefail
cd "$(dirname "$0")/.."

# Tokens of the same shape that are standards, not requirements.
not_ids='^(MPL|AES|RSA|SHA|UTF|UTC|ISO|RFC|GB|SM|TLS|HTTP|IP|MD|CRC|TC|ES|RS|HS|PS|P|X)-'

used=$(grep -rhoIE '\b[A-Z]{2,6}-[0-9]+[a-z]?\b' \
         --exclude-dir=node_modules --exclude-dir=target --exclude-dir=screenshots \
         crates migrations bench .ci 2>/dev/null \
       | grep -vE "$not_ids" | sort -u || true)

missing=()
for id in $used; do
  grep -qE "^\| ${id} \|" docs/requirements.md || missing+=("$id")
done

count=$(printf '%s\n' $used | grep -c . || true)
if [ ${#missing[@]} -gt 0 ]; then
  echo "docs/requirements.md has no row for: ${missing[*]}" >&2
  echo "Add a line '| ID | rule | enforced in |' under its section." >&2
  exit 1
fi
echo "requirements: all $count ids used in the code are in docs/requirements.md"

# Files named in the "enforced in" column that no longer exist (moved or renamed): a warning,
# so that a refactor reminds whoever did it to update the page.
stale=()
for ref in $(grep -oE '`(jszg|domain|captcha)/[A-Za-z0-9_/.-]+\.rs`|`crates/[A-Za-z0-9_/.*-]+`|`[0-9]{4}_[a-z_]+\.sql`' docs/requirements.md | tr -d '`' | sort -u); do
  case "$ref" in
    jszg/*) path="crates/jszg/src/${ref#jszg/}" ;;
    domain/*) path="crates/domain/src/${ref#domain/}" ;;
    captcha/*) path="crates/captcha/src/${ref#captcha/}" ;;
    [0-9]*.sql) path="migrations/sqlite/$ref" ;;
    *) path="$ref" ;;
  esac
  compgen -G "$path" >/dev/null || stale+=("$ref")
done
if [ ${#stale[@]} -gt 0 ]; then
  echo "warning: docs/requirements.md names files that do not exist: ${stale[*]}" >&2
fi
