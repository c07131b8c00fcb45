# Sourced by the CI scripts.

# npm_ready DIR: `npm ci` in DIR unless its node_modules was installed from the same lock file
# (a stamp beside it), so a peer script run after .ci/prepare.sh does not install twice.
npm_ready() {
  local dir="$1"
  if [ -d "$dir/node_modules" ] && cmp -s "$dir/package-lock.json" "$dir/node_modules/.jszg-lock"; then
    return 0
  fi
  ( cd "$dir" && timeout 300 npm ci --no-audit --no-fund --loglevel=error \
      && cp package-lock.json node_modules/.jszg-lock )
}
