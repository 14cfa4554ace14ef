#!/usr/bin/env bash
# The main job: set up, then build and boot the MinIO appliance (examples/minio.yml).
# It goes as far as kiln goes today; see the README's status table.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
kiln() { node packages/cli/dist/main.js "$@"; }

printf '\n==> kiln validate examples/minio.yml\n' >&2
kiln validate examples/minio.yml
printf '\n==> kiln build --dry-run examples/minio.yml\n' >&2
kiln build --dry-run examples/minio.yml
