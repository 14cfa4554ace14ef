#!/usr/bin/env bash
# Installs everything kiln and its tests need on a fresh Debian/Ubuntu machine, then builds the packages.
# Safe to run again: each step checks what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*" >&2; }
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages. The builder's tools, QEMU and firmware for boots, and a registry, skopeo and
# umoci as independent peers for the image tests.
APT_PACKAGES=(
  ca-certificates git cpio zstd pigz xz-utils kmod busybox-static
  qemu-system-x86 qemu-utils ovmf
  xorriso squashfs-tools mtools dosfstools fdisk e2fsprogs
  isolinux syslinux syslinux-common grub-efi-amd64-bin grub-pc-bin
  skopeo umoci docker-registry apache2-utils libarchive-tools docker.io
  strace # bench/run-qemu.ts times the exec of QEMU with it
  time # GNU time: peak RSS and CPU time of the builds bench/ compares
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
node_minor=$(node -p 'process.versions.node.split(".")[1]')
if [ "$node_major" -lt 20 ] || { [ "$node_major" -eq 20 ] && [ "$node_minor" -lt 19 ]; }; then
  echo "kiln needs Node >= 20.19 (found $(node --version))" >&2
  exit 1
fi

export TURBO_TELEMETRY_DISABLED=1
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  if ! npm ci --no-audit --no-fund --loglevel=error 2>/tmp/kiln-npm-ci.log; then
    # Registry mirrors that serve only this platform's optional binaries (biome, turbo, rolldown) leave the
    # other platforms out of package-lock.json, and npm ci refuses such a lock. npm install with --no-save
    # installs the same locked versions without rewriting the lock.
    if grep -q "Missing: .* from lock file" /tmp/kiln-npm-ci.log; then
      log "npm ci refused a lock without other platforms' optional packages; npm install --no-save instead"
      npm install --no-save --no-audit --no-fund --loglevel=error
    else
      cat /tmp/kiln-npm-ci.log >&2
      exit 1
    fi
  fi
fi
log "npm run build"
npm run build --silent >/dev/null
