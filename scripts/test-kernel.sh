#!/usr/bin/env bash
# A Debian kernel for boot tests that run before (or without) the kernel image recipe.
# Usage: scripts/test-kernel.sh OUTDIR
# Writes OUTDIR/vmlinuz, OUTDIR/lib/modules/VERSION/... (a module subset with modules.dep from depmod)
# and OUTDIR/modules.load (the subset's .ko paths relative to OUTDIR, dependencies first).
# Idempotent: a complete OUTDIR (OUTDIR/.done names the same module list) is left as it is.
set -euo pipefail
out=${1:?usage: scripts/test-kernel.sh OUTDIR}
# crc32c_generic is only a soft dependency of ext4 (a Debian-made ext4 will not mount without it).
# button and evdev let a guest see QEMU's ACPI power button (system_powerdown) as an input event.
modules=(virtio_pci virtio_blk virtio_net virtio_rng virtio_console virtio_scsi sd_mod sr_mod ata_piix ahci
  ext4 crc32c_generic squashfs overlay isofs vfat nls_cp437 nls_iso8859-1 9p 9pnet_virtio af_packet button evdev)
[ "$(cat "$out/.done" 2>/dev/null)" = "${modules[*]}" ] && exit 0
work=$(mktemp -d "${out%/}.tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT
pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
(cd "$work" && apt-get download "$pkg" >/dev/null 2>&1)
mkdir "$work/x"
dpkg-deb -x "$work"/*.deb "$work/x"
ver=$(ls "$work/x/lib/modules")
mkdir -p "$work/out/lib/modules/$ver"
cp "$work/x/boot/vmlinuz-$ver" "$work/out/vmlinuz"
cp "$work/x/lib/modules/$ver"/modules.{builtin,builtin.modinfo,order} "$work/out/lib/modules/$ver/"
src="$work/x/lib/modules/$ver"
declare -A seen=()
order=()
visit() {
  local name=$1 file dep
  [ -n "${seen[$name]:-}" ] && return
  seen[$name]=1
  file=$(find "$src/kernel" -name "$name.ko" -o -name "${name//_/-}.ko" | head -1)
  if [ -z "$file" ]; then
    grep -q "/$name.ko$\|/${name//_/-}.ko$" "$src/modules.builtin" && return
    echo "test-kernel: no module $name" >&2; exit 1
  fi
  for dep in $(modinfo -F depends "$file" | tr , ' '); do visit "$dep"; done
  local rel=${file#"$work/x/"}
  mkdir -p "$work/out/$(dirname "$rel")"
  cp "$file" "$work/out/$rel"
  order+=("$rel")
}
for m in "${modules[@]}"; do visit "$m"; done
depmod -b "$work/out" "$ver"
printf '%s\n' "${order[@]}" > "$work/out/modules.load"
echo "${modules[*]}" > "$work/out/.done"
rm -rf "$out"
mv "$work/out" "$out"
