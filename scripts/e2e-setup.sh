#!/usr/bin/env bash
# What the end-to-end suite (packages/e2e) needs beyond scripts/setup.sh: a Docker engine for the `mc`
# containers, and the appliance's images built once into the shared test cache.
# Safe to run again: a running engine is reused and cached images are not rebuilt.
#
# Usage: eval "$(bash scripts/e2e-setup.sh)"   # prints `export DOCKER_HOST=...` on stdout, logs on stderr
#
# The engine is the one the builder's tests share (packages/builder/src/testing/docker-engine.ts: same socket,
# data root and exec root, so whichever starts first serves both). It never touches a system Docker, and has no
# bridge or iptables rules, so containers can only use host networking: test traffic stays on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*" >&2; }
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

state=/tmp/kiln-dockerd
socket=/tmp/kiln-dockerd.sock
export KILN_TEST_CACHE=${KILN_TEST_CACHE:-/tmp/kiln-test}
# Each phase's wall-clock time, in the file the suite appends its own (builds, boots, tests) to.
timings=test-results/e2e/timings.jsonl
mkdir -p "$KILN_TEST_CACHE" test-results/e2e
: >"$timings"
mark() {
  printf '{"at":"%s","phase":"%s","seconds":%s}\n' "$(date -u +%FT%TZ)" "$1" "$2" >>"$timings"
  printf '    %s: %ss\n' "$1" "$2" >&2
}

t0=$(now)
if ! command -v dockerd >/dev/null 2>&1; then
  log "apt-get install docker.io"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null
fi

engine_up() { docker -H "unix://$socket" version >/dev/null 2>&1; }
if engine_up; then
  log "Docker engine already running on $socket"
else
  log "start dockerd on $socket (data root $state/data)"
  sudo_if_needed mkdir -p "$state"
  # A dockerd killed uncleanly leaves its pid file; dockerd refuses to start while it names a live process.
  if [ -f "$state/dockerd.pid" ] && ! kill -0 "$(cat "$state/dockerd.pid")" 2>/dev/null; then
    sudo_if_needed rm -f "$state/dockerd.pid"
  fi
  sudo_if_needed setsid nohup dockerd \
    --host "unix://$socket" --data-root "$state/data" --exec-root "$state/exec" --pidfile "$state/dockerd.pid" \
    --bridge=none --iptables=false --ip6tables=false \
    >>"$state/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 1 120); do
    engine_up && break
    sleep 0.5
  done
  if ! engine_up; then
    echo "dockerd did not answer on $socket within 60 s; its log:" >&2
    tail -n 40 "$state/dockerd.log" >&2 || true
    exit 1
  fi
fi
export DOCKER_HOST="unix://$socket"
mark setup "$(elapsed "$t0")"

# The images the appliance and the suite use, built once into the shared cache. `kiln build` would build the
# appliance's images on demand, and the suite builds and loads `mc` itself; doing it here first only makes
# each phase's time visible and keeps the test timeouts about tests.
t0=$(now)
kiln() { node packages/cli/dist/main.js "$@"; }
# The images examples/minio.yml names, and mc, which the suite runs in containers.
mapfile -t dirs < <(grep -o '@pkg:\.\./images/[a-z0-9-]*' examples/minio.yml | sed 's|@pkg:\.\./||' | sort -u)
for dir in "${dirs[@]}" images/mc; do
  log "kiln pkg build $dir"
  t1=$(now)
  # A failed image must not stop the other slow tests: the e2e suite reports it where it is needed.
  if kiln pkg build --cache "$KILN_TEST_CACHE/cache" "$dir" >&2; then
    mark "image-build ${dir#images/}" "$(elapsed "$t1")"
  else
    log "kiln pkg build $dir failed (the e2e suite will fail with the reason)"
  fi
done
mark image-builds "$(elapsed "$t0")"

printf 'export DOCKER_HOST=%q\n' "$DOCKER_HOST"
printf 'export KILN_TEST_CACHE=%q\n' "$KILN_TEST_CACHE"
