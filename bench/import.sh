#!/usr/bin/env bash
# Import benchmark (REC-4): N legacy rows into a fresh SQLite database and,
# when PostgreSQL answers, into a fresh PostgreSQL database.
#   bench/import.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
cargo build --release -p jszg --bin jszg >/dev/null
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 bench/legacy_csv.py "$N" > "$dir/accounts.csv"
echo "rows: $N"
( cd "$dir" && JSZG_LOG=warn /usr/bin/time -f "sqlite: %e s wall, %M KB peak RSS" "$OLDPWD/target/release/jszg" import-accounts accounts.csv | tail -1 )
( cd "$dir" && JSZG_LOG=warn /usr/bin/time -f "sqlite, second run: %e s wall" "$OLDPWD/target/release/jszg" import-accounts accounts.csv | tail -1 )
if pg_isready -q -h 127.0.0.1; then
  db=jszg_bench_import
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  ( cd "$dir" && JSZG_LOG=warn JSZG_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db" \
      /usr/bin/time -f "postgres: %e s wall, %M KB peak RSS" "$OLDPWD/target/release/jszg" import-accounts accounts.csv | tail -1 )
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE $db"
fi
