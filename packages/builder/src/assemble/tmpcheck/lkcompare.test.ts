import { execSync } from "node:child_process";
import { mkdtemp, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { loadConfig } from "@kiln/spec";
import { test } from "vitest";
import { OciCache } from "../../cache/cache.js";
import { RegistryClient } from "../../registry/client.js";
import { ImageResolver } from "../../resolve/resolver.js";
import { buildAppliance } from "../../build/build.js";
import { APP_IMAGE, INIT_IMAGE, kernelImage, putImage, type LayerEntry } from "../testdata/images.js";

const flat = (layers: LayerEntry[][]) => {
  const all = layers.flat().filter((e) => !e.name.includes(".wh."));
  return [all.filter((e, i) => !all.slice(i + 1).some((l) => l.name === e.name))];
};
test("compare with linuxkit", async () => {
  const root = process.env.LKC_DIR ?? (await mkdtemp("/tmp/h4a/lkc-"));
  await mkdir(root, { recursive: true });
  const cache = await OciCache.open(join(root, "cache"));
  const single = process.env.LKC_MULTI ? undefined : true;
  const init = single ? { layers: [[{ name: "lib/", type: "directory" as const }, { name: "lib/apk/", type: "directory" as const }, { name: "lib/apk/db/", type: "directory" as const }, ...flat(INIT_IMAGE.layers)[0]!]] } : INIT_IMAGE;
  const app = single ? { ...APP_IMAGE, layers: [[{ name: "etc/", type: "directory" as const }, { name: "lib/", type: "directory" as const }, { name: "lib/apk/", type: "directory" as const }, { name: "lib/apk/db/", type: "directory" as const }, ...APP_IMAGE.layers[0]!]] } : APP_IMAGE;
  await putImage(cache, "example.com/kiln/kernel:1", await kernelImage({ ucode: Buffer.from("070701fakeucode") }));
  await putImage(cache, "example.com/kiln/init:1", init);
  await putImage(cache, "example.com/kiln/init2:1", { layers: [[{ name: "lib/", type: "directory" }, { name: "lib/apk/", type: "directory" }, { name: "lib/apk/db/", type: "directory" }, { name: "lib/apk/db/installed", content: "P:two\n" }, { name: "etc/", type: "directory" }, { name: "etc/two", content: "2" }]] });
  await putImage(cache, "example.com/kiln/app:1", app);
  await writeFile(join(root, "src.txt"), "from a source file\n");
  const yaml = `kernel:
  image: example.com/kiln/kernel:1
  cmdline: console=ttyS0 quiet
  ucode: ucode.cpio
init:
  - example.com/kiln/init:1
  - example.com/kiln/init2:1
onboot:
  - name: one
    image: example.com/kiln/app:1
  - name: two
    image: example.com/kiln/app:1
    readonly: true
onshutdown:
  - name: bye
    image: example.com/kiln/app:1
services:
  - name: svc
    image: example.com/kiln/app:1
    readonly: true
    binds: ["data:/data"]
files:
  - path: etc/app/config
    contents: hello
    mode: "0644"
  - path: /var/lib/x
    directory: true
  - path: etc/app/link
    symlink: /etc/app/config
  - path: etc/linuxkit.yml
    metadata: yaml
  - path: etc/linuxkit.json
    metadata: json
    uid: svc
    gid: one
  - path: usr/share/src.txt
    source: ${join(root, "src.txt")}
    mode: "0755"
  - path: opt/none
    source: /nonexistent
    optional: true
volumes:
  - name: data
  - name: withimg
    image: example.com/kiln/app:1
`;
  const yml = join(root, "app.yml");
  await writeFile(yml, yaml);
  const loaded = loadConfig([{ name: yml, text: yaml }]);
  const resolver = new ImageResolver({ cache, client: new RegistryClient({}), arch: "amd64" });
  await buildAppliance({ loaded, formats: ["tar"], name: "kiln", dir: join(root, "kiln"), arch: "amd64", resolver, cache, version: "test" });
  await buildAppliance({ loaded, formats: ["kernel+initrd"], name: "kiln", dir: join(root, "kiln"), arch: "amd64", resolver, cache, version: "test" });
  console.log(execSync(`/tmp/h4a/lkbuild/run.sh ${yml} ${join(root, "cache")} ${join(root, "lk")} kernel+initrd 2>&1 || true`).toString());
  console.log(root);
});
