import { mkdtemp, writeFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execSync } from "node:child_process";
import { loadConfig } from "@kiln/spec";
import { test, expect } from "vitest";
import { OciCache } from "../../cache/cache.js";
import { RegistryClient } from "../../registry/client.js";
import { ImageResolver } from "../../resolve/resolver.js";
import { buildAppliance } from "../../build/build.js";
import { APP_IMAGE, INIT_IMAGE, kernelImage, putImage } from "../testdata/images.js";

test("smoke", async () => {
  const root = await mkdtemp(join(tmpdir(), "kiln-smoke-"));
  const cache = await OciCache.open(join(root, "cache"));
  await putImage(cache, "example.com/kiln/kernel:1", await kernelImage({ ucode: Buffer.from("UCODE") }));
  await putImage(cache, "example.com/kiln/init:1", INIT_IMAGE);
  await putImage(cache, "example.com/kiln/app:1", APP_IMAGE);
  const yaml = `kernel:
  image: example.com/kiln/kernel:1
  cmdline: console=ttyS0
  ucode: ucode.cpio
init:
  - example.com/kiln/init:1
onboot:
  - name: one
    image: example.com/kiln/app:1
services:
  - name: svc
    image: example.com/kiln/app:1
    readonly: true
files:
  - path: etc/app/config
    contents: hello
  - path: etc/linuxkit.yml
    metadata: yaml
volumes:
  - name: data
`;
  const yml = join(root, "app.yml");
  await writeFile(yml, yaml);
  const loaded = loadConfig([{ name: yml, text: yaml }]);
  const resolver = new ImageResolver({ cache, client: new RegistryClient({}), arch: "amd64" });
  for (const formats of [["kernel+initrd"], ["tar"], ["docker"], ["tar-kernel-initrd"]]) {
    const r = await buildAppliance({ loaded, formats, name: "app", dir: join(root, "out"), arch: "amd64", resolver, cache, version: "test", log: (l) => console.log(l) });
    console.log(r);
  }
  console.log(await readdir(join(root, "out")));
  console.log(execSync(`cd ${root}/out && tail -c +6 app-initrd.img | zcat | cpio -itv 2>&1 | head -80; tar --warning=no-unknown-keyword -tvf app.tar | tail -60; tar tvf app-initrd.tar; tar --warning=no-unknown-keyword -xOf app.tar etc/linuxkit.yml; tar --warning=no-unknown-keyword -xOf app.tar containers/services/svc/runtime.json`, { shell: "/bin/bash" }).toString());
  const r2 = await buildAppliance({ loaded, formats: ["kernel+initrd"], name: "app", dir: join(root, "out"), arch: "amd64", resolver, cache, version: "test" });
  expect(r2.upToDate).toBe(true);
});
