#!/usr/bin/env bash
# Builds the peer kiln is measured against: LinuxKit v1.8.2's `linuxkit` command, from source, with every
# dependency from the Go module proxy. Prints the binary's path on stdout; progress goes to stderr.
#
#   bash bench/linuxkit-peer.sh            # → ${KILN_TEST_CACHE:-/tmp/kiln-test}/linuxkit/v1.8.2/linuxkit
#
# The Go module proxy serves no copy of the nested module github.com/linuxkit/linuxkit/src/cmd/linuxkit
# (`go install ...@v1.8.2` answers "403 Forbidden: This module version is not available", and the root
# module's zip leaves the nested module out), so the source must come from a checkout:
#   LINUXKIT_SRC  a directory holding LinuxKit's tree at v1.8.2 (its src/cmd/linuxkit is used), or
#   LINUXKIT_GIT  a git directory (bare or not) with the v1.8.2 tag (default: the workplace's mirror below).
# vendor/ is not used: dependencies come from the proxy by their go.sum hashes, so a checkout with missing
# vendored blobs still builds the same program.
#
# Exit codes: 0 built (or already built), 3 no LinuxKit source on this machine (the message says so),
# anything else: the build failed.
set -euo pipefail

VERSION=v1.8.2
COMMIT=43200ea6342590c6806f808b318d7f3a69b0cdd8
OUT_DIR="${LINUXKIT_PEER_DIR:-${KILN_TEST_CACHE:-/tmp/kiln-test}/linuxkit/$VERSION}"
BIN="$OUT_DIR/linuxkit"
DEFAULT_GIT=/work/.mirror/linuxkit+linuxkit/repo
GIT_DIR_SRC="${LINUXKIT_GIT:-$DEFAULT_GIT}"

log() { echo "linuxkit-peer: $*" >&2; }

if [ -x "$BIN" ] && "$BIN" version 2>/dev/null | grep -qx "commit: $COMMIT"; then
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || {
  log "go is not installed (scripts/setup.sh installs it)"
  exit 1
}

work="$(mktemp -d "${TMPDIR:-/tmp}/linuxkit-peer.XXXXXX")"
trap 'rm -rf "$work"' EXIT
src="$work/linuxkit"

if [ -n "${LINUXKIT_SRC:-}" ]; then
  if [ ! -f "$LINUXKIT_SRC/src/cmd/linuxkit/go.mod" ]; then
    log "LINUXKIT_SRC=$LINUXKIT_SRC has no src/cmd/linuxkit/go.mod: point it at a LinuxKit $VERSION checkout"
    exit 3
  fi
  log "source: $LINUXKIT_SRC/src/cmd/linuxkit"
  mkdir -p "$src"
  (cd "$LINUXKIT_SRC/src/cmd/linuxkit" && tar --exclude=./vendor -cf - .) | tar -xf - -C "$src"
elif git --git-dir="$GIT_DIR_SRC" rev-parse -q --verify "$VERSION^{commit}" >/dev/null 2>&1; then
  got="$(git --git-dir="$GIT_DIR_SRC" rev-parse "$VERSION^{commit}")"
  if [ "$got" != "$COMMIT" ]; then
    log "tag $VERSION in $GIT_DIR_SRC is $got, not LinuxKit's $COMMIT"
    exit 1
  fi
  log "source: $GIT_DIR_SRC at $VERSION ($COMMIT)"
  # Every entry of src/cmd/linuxkit but vendor/, named one by one: a pathspec exclude still reads the
  # vendored blobs, and a partial mirror may lack some of them.
  mapfile -t paths < <(git --git-dir="$GIT_DIR_SRC" ls-tree --name-only "$VERSION" src/cmd/linuxkit/ | grep -v '/vendor$')
  # git archive warns about the missing vendored blobs even so, and still exits 0.
  git --git-dir="$GIT_DIR_SRC" archive "$VERSION" -- "${paths[@]}" 2> >(grep -v "^error: invalid object .*/vendor/" >&2) |
    tar -xf - -C "$work"
  mv "$work/src/cmd/linuxkit" "$src"
else
  log "no LinuxKit source on this machine: set LINUXKIT_SRC to a LinuxKit $VERSION checkout, or LINUXKIT_GIT to"
  log "a git directory with its $VERSION tag (looked for $GIT_DIR_SRC). The Go module proxy does not serve"
  log "github.com/linuxkit/linuxkit/src/cmd/linuxkit (403), so it cannot be built from the proxy alone."
  exit 3
fi

log "building with dependencies from the Go module proxy (a few minutes the first time)"
mkdir -p "$OUT_DIR"
ldflags="-X github.com/linuxkit/linuxkit/src/cmd/linuxkit/version.Version=$VERSION"
ldflags+=" -X github.com/linuxkit/linuxkit/src/cmd/linuxkit/version.GitCommit=$COMMIT"
(
  cd "$src"
  GOFLAGS=-mod=mod CGO_ENABLED=0 GOWORK=off go build -trimpath -ldflags "$ldflags" -o "$work/linuxkit.bin" .
)
mv -f "$work/linuxkit.bin" "$BIN"
"$BIN" version >&2
echo "$BIN"
