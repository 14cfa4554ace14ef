#!/usr/bin/env bash
# Scaffolding for boot tests until `kiln build` assembles appliances: a hand-made initrd with kiln's
# init, busybox-static, the host's Debian runc and its libraries, and the bundles @kiln/spec plans
# for YAML (each image's filesystem is a busybox root plus kiln's system programs and mke2fs).
# Usage: mkinitrd.sh YAML OUT.img [IMAGE=LABEL.json...]
# Needs: go, node (with packages/spec built), busybox-static, runc, e2fsprogs, cpio, and
# KERNEL_DIR (default /tmp/h2/kernel: a scripts/test-kernel.sh dir plus button.ko and evdev.ko).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
yaml=$1 out=$2; shift 2
kernel_dir=${KERNEL_DIR:-/tmp/h2/kernel}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,var,mnt,lib64,lib/x86_64-linux-gnu}

(cd "$here/.." && for c in init format mountie metadata minio-start; do
  CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$work/$c" "./cmd/$c"; done)
cp "$work/init" "$root/init"
ln -s ../init "$root/sbin/init"

copy_with_libs() { # FILE DESTROOT DEST
  install -D -m 0755 "$1" "$2$3"
  for lib in $(ldd "$1" | grep -o '/[^ ]*\.so[^ ]*'); do
    install -D -m 0755 "$lib" "$2$lib"
  done
}
busybox_root() { # DIR
  mkdir -p "$1"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,var,root}
  cp /bin/busybox "$1/bin/busybox"
  for a in $(/bin/busybox --list); do [ -e "$1/bin/$a" ] || ln -s busybox "$1/bin/$a"; done
}
busybox_root "$root"
copy_with_libs /usr/sbin/runc "$root" /usr/bin/runc
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"
printf '\nWelcome to a kiln test appliance\n\n' > "$root/etc/issue"
ln -s /run/resolvconf/resolv.conf "$root/etc/resolv.conf"
ver=$(ls "$kernel_dir/lib/modules")
mkdir -p "$root/lib/modules"
cp -a "$kernel_dir/lib/modules/$ver" "$root/lib/modules/"

image=$work/image
busybox_root "$image"
for c in format mountie metadata minio-start; do install -m 0755 "$work/$c" "$image/usr/bin/$c"; done
copy_with_libs /sbin/mke2fs "$image" /sbin/mke2fs
ln -s mke2fs "$image/sbin/mkfs.ext4"
cp /etc/mke2fs.conf "$image/etc/"
# A stand-in for MinIO that shows what minio-start handed it.
cat > "$image/usr/bin/minio" <<'SH'
#!/bin/sh
echo "stand-in minio: args=$* user=$MINIO_ROOT_USER password-length=${#MINIO_ROOT_PASSWORD}"
ls -ln /var/exports/.kiln
trap 'echo stand-in minio: stopping; exit 0' TERM
while true; do sleep 1; done
SH
chmod 0755 "$image/usr/bin/minio"

node "$here/plan-bundles.mjs" "$yaml" "$root" "$@" | while read -r prefix rootdir how; do
  if [ "$how" = unpack ]; then cp -a "$image/." "$root/$rootdir/"; fi
done
(cd "$root" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 | gzip -1) > "$out"
