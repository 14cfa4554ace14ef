#!/usr/bin/env bash
# The main job: set up, build the MinIO appliance (examples/minio.yml) and boot it with a 4 GiB data disk,
# S3 on 127.0.0.1:9000 and the MinIO console on 127.0.0.1:9001. Ctrl-C powers the appliance off cleanly.
#
# Outputs go to ${KILN_OUT:-out}/: minio-kernel, minio-initrd.img, minio-cmdline, minio.iso, minio-efi.iso,
# the data disk (created on the first run, never overwritten) and the credentials this script chose.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
kiln() { node packages/cli/dist/main.js "$@"; }
out=${KILN_OUT:-out}
mkdir -p "$out"

printf '\n==> kiln build -f kernel+initrd,iso-bios,iso-efi examples/minio.yml\n' >&2
kiln build -f kernel+initrd,iso-bios,iso-efi --dir "$out" examples/minio.yml

# Credentials are chosen once and kept next to the disk they protect, so every boot of that disk uses them.
# They reach the appliance as metadata (a CD-ROM the metadata image reads into /run/config).
if [ ! -s "$out/credentials.json" ]; then
  (umask 077 && node -e '
    const { randomBytes } = require("node:crypto");
    const user = "kiln-" + randomBytes(4).toString("hex");
    const password = randomBytes(18).toString("base64url");
    process.stdout.write(JSON.stringify({ minio: { entries: {
      root_user: { perm: "0600", content: user }, root_password: { perm: "0600", content: password } } } }));
  ' >"$out/credentials.json.tmp" && mv "$out/credentials.json.tmp" "$out/credentials.json")
fi
user=$(node -p 'JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8")).minio.entries.root_user.content' "$out/credentials.json")
password=$(node -p 'JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8")).minio.entries.root_password.content' "$out/credentials.json")

cat >&2 <<MSG

==> booting the appliance (Ctrl-C powers it off)
    S3 endpoint:    http://127.0.0.1:9000
    MinIO console:  http://127.0.0.1:9001
    user:           $user
    password:       $password
    e.g.  mc alias set appliance http://127.0.0.1:9000 $user '$password'

MSG
exec node packages/cli/dist/main.js run qemu --mem 2048 --disk "$out/disk1.img,size=4G" \
  --publish 9000:9000 --publish 9001:9001 --data-file "$out/credentials.json" "$out/minio"
