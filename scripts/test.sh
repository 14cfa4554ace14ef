#!/usr/bin/env bash
# The whole test suite: set up, lint, the fast unit tests, then the slow real-part tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TURBO_TELEMETRY_DISABLED=1

printf '\n==> lint and typecheck\n' >&2
npx biome check .
npx tsc -b

mkdir -p test-results
printf '\n==> in-VM programs: go vet and go test (images/sys)\n' >&2
(cd images/sys && go vet ./... && go test ./...)
printf '\n==> unit tests\n' >&2
npx vitest run --project unit --reporter=default --reporter=json --outputFile.json=test-results/unit.json
printf '\n==> end-to-end set-up (Docker engine, image builds)\n' >&2
eval "$(bash scripts/e2e-setup.sh)"
printf '\n==> slow tests (real QEMU, registry, containers)\n' >&2
npx vitest run --project slow --passWithNoTests --reporter=default --reporter=json --outputFile.json=test-results/slow.json

node scripts/summarize-tests.mjs test-results/unit.json test-results/slow.json
