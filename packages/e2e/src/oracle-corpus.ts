// The YAMLs the oracle builds with both tools: examples/minio.yml, a minimal appliance, the spec's golden
// bundle-config cases (one or more per per-image field) and a fixture of our own for the root-filesystem
// sections (kernel, init, files, volumes, onshutdown). Every image comes from the loopback registry.

import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import {
  type ImageManifest,
  MediaType,
  type OciCache,
  pushImage,
  RegistryClient,
  resolveCached,
} from "@kiln/builder";
import { APPLIANCE_YAML } from "./appliance.js";
import {
  BASE_LAYER,
  kernelImage,
  LOOSE_LAYERS,
  layerTar,
  pushSynthetic,
  type SyntheticImage,
  UPPER_LAYER,
} from "./oracle-fixtures.js";
import { type PushedPackage, withRegistryRefs } from "./oracle-images.js";
import { REPO_ROOT } from "./paths.js";

export interface OracleCase {
  name: string;
  /** The YAML, every image a registry reference. */
  yaml: string;
  /** Files to write beside the YAML (for `files: source:`), name → contents. */
  files?: Record<string, string>;
  /** Whether the case has a kernel, so it can be built as kernel+initrd too. */
  bootable: boolean;
}

export function minioCase(refs: ReadonlyMap<string, PushedPackage>): OracleCase {
  return {
    name: "minio",
    yaml: withRegistryRefs(readFileSync(APPLIANCE_YAML, "utf8"), refs),
    bootable: true,
  };
}

/** The images the minimal appliance needs. */
export const MINIMAL_PACKAGES = ["kernel", "init", "runc"] as const;

/** The line the minimal appliance's onboot container prints. */
export const MINIMAL_HELLO = "oracle: hello from onboot";

/**
 * The smallest appliance that does something: kiln's kernel, init and runc, one onboot container that prints a
 * line, and one that powers the machine off (so a boot ends by itself, the same way for both tools' outputs).
 */
export function minimalCase(refs: ReadonlyMap<string, PushedPackage>): OracleCase {
  const ref = (n: string) => {
    const p = refs.get(n);
    if (!p) throw new Error(`image ${n} was not pushed`);
    return p.ref;
  };
  const yaml = [
    "kernel:",
    `  image: ${ref("kernel")}`,
    '  cmdline: "console=ttyS0"',
    "init:",
    `  - ${ref("init")}`,
    `  - ${ref("runc")}`,
    "onboot:",
    "  - name: hello",
    `    image: ${ref("init")}`,
    `    command: ["/bin/busybox", "echo", "${MINIMAL_HELLO}"]`,
    "  - name: poweroff",
    `    image: ${ref("init")}`,
    '    command: ["/bin/busybox", "poweroff", "-f"]',
    "    pid: host",
    "    capabilities: [CAP_SYS_BOOT]",
    "",
  ].join("\n");
  return { name: "minimal", yaml, bootable: true };
}

export const GOLDEN_DIR = join(REPO_ROOT, "packages", "spec", "src", "testdata", "golden");

export interface GoldenInput {
  name: string;
  yaml: string;
  /** Reference as written → the image config's `config` object. */
  images: Record<string, NonNullable<SyntheticImage["config"]>>;
}

export function goldenInputs(): GoldenInput[] {
  return readdirSync(GOLDEN_DIR)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => {
      const d = JSON.parse(readFileSync(join(GOLDEN_DIR, f), "utf8")) as Omit<GoldenInput, "name">;
      return { name: f.slice(0, -".json".length), yaml: d.yaml, images: d.images };
    });
}

const EXAMPLE_REF = /example\.com\/kiln\/([a-z0-9._-]+):([A-Za-z0-9._-]+)/g;

/** A synthetic image: the shared layers, a file naming it, and `config`. */
function fixtureImage(marker: string, config: SyntheticImage["config"], loose = false): SyntheticImage {
  return {
    config,
    layers: [
      [...BASE_LAYER, { name: "image-name", content: `${marker}\n` }],
      UPPER_LAYER,
      ...(loose ? LOOSE_LAYERS : []),
    ],
  };
}

/**
 * Push the images of one golden case as `HOST/golden/CASE/NAME:TAG-DIGEST` and return the case with its YAML
 * rewritten to those references. Layers are shared, so the registry stores them once.
 */
export async function goldenCase(host: string, scratch: OciCache, g: GoldenInput): Promise<OracleCase> {
  const pushed = new Map<string, string>();
  for (const [ref, config] of Object.entries(g.images)) {
    const m = [...ref.matchAll(EXAMPLE_REF)][0];
    if (!m) throw new Error(`golden case ${g.name}: unexpected image reference ${ref}`);
    const target = `${host}/golden/${g.name}/${m[1]}:${m[2]}`;
    pushed.set(ref, await pushSynthetic(scratch, fixtureImage(ref, config), target));
  }
  const yaml = g.yaml.replace(EXAMPLE_REF, (ref) => {
    const p = pushed.get(ref);
    if (!p) throw new Error(`golden case ${g.name}: ${ref} has no image config`);
    return p;
  });
  return { name: `golden/${g.name}`, yaml, bootable: false };
}

/**
 * The root-filesystem sections the golden cases leave out: a kernel image with modules, microcode and extra
 * files; two init images that overlap, the second leaving out parents (lib/, usr/) the kernel or the first
 * wrote; every kind of `files` entry; volumes with and without an image; and
 * containers in all three sections, one of them readonly and one sharing its image with another.
 */
export async function rootfsCase(host: string, scratch: OciCache): Promise<OracleCase> {
  const push = (name: string, image: SyntheticImage) =>
    pushSynthetic(scratch, image, `${host}/fixture/${name}:1`);
  const kernel = await push("kernel", await kernelImage());
  const initA = await push("init-a", {
    config: {},
    layers: [
      [
        { name: "sbin/", type: "directory" },
        { name: "sbin/init", content: "init a\n", mode: 0o755 },
        { name: "etc/", type: "directory" },
        { name: "etc/issue", content: "from init-a\n" },
        { name: "etc/resolv.conf", content: "nameserver 192.0.2.1\n" },
        { name: "lib/apk/db/installed", content: "P:alpha\nV:1\n\nP:shared\nV:1\n\n" },
        // init-b leaves usr/ out: the directory made up for it must not replace this one (mode, time, tags).
        { name: "usr/", type: "directory", mode: 0o775 },
      ],
    ],
  });
  const initB = await push("init-b", {
    config: {},
    layers: [
      [
        { name: "etc/issue", content: "from init-b, which comes later\n" },
        { name: "usr/bin/tool", content: "tool\n", mode: 0o755 },
        { name: "lib/apk/db/installed", content: "P:beta\nV:2\n\nP:shared\nV:1\n\n" },
      ],
    ],
  });
  const app = await push("app", fixtureImage("app", { Entrypoint: ["/bin/app"], Env: ["PATH=/bin"] }, true));
  const labelled = await push(
    "labelled",
    fixtureImage("labelled", {
      Cmd: ["/bin/app", "--labelled"],
      Labels: {
        "org.mobyproject.config": JSON.stringify({
          binds: ["/var/log:/var/log"],
          capabilities: ["CAP_CHOWN"],
        }),
      },
    }),
  );
  const yaml = `kernel:
  image: ${kernel}
  cmdline: "console=ttyS0 quiet"
  ucode: ucode.cpio
init:
  - ${initA}
  - ${initB}
onboot:
  - name: first
    image: ${app}
    readonly: true
  - name: second
    image: ${app}
onshutdown:
  - name: bye
    image: ${labelled}
services:
  - name: svc
    image: ${labelled}
    binds.add: ["cache:/cache", "ro:/ro:ro", "seeded:/seeded"]
files:
  - path: etc/motd
    contents: "hello from files\\n"
  - path: etc/app/config.toml
    contents: "key = 'value'\\n"
    mode: "0640"
    uid: svc
    gid: first
  - path: var/lib/app
    directory: true
    mode: "0750"
    uid: 1000
  - path: usr/local/bin/tool
    symlink: /usr/bin/tool
  - path: etc/kiln/config.yaml
    metadata: yaml
  - path: etc/kiln/config.json
    metadata: json
  - path: etc/from-host
    source: ./from-host.txt
    mode: "0644"
  - path: etc/never-there
    source: ./missing.txt
    optional: true
volumes:
  - name: cache
  - name: ro
    readonly: true
  - name: seeded
    image: ${app}
`;
  return {
    name: "rootfs",
    yaml,
    files: { "from-host.txt": "read from the host at build time\n" },
    bootable: true,
  };
}

/** The file the upper-layer case's image adds in a directory only its lower layer has, and what it says. */
export const UPPER_FILE = "/etc/upper.txt";
export const UPPER_TEXT = "from the upper layer";

/**
 * The minimal appliance plus an onboot container that prints UPPER_FILE, from kiln's init image with one more
 * layer holding just that file. go-containerregistry, which LinuxKit flattens images with, writes the top layer
 * first, so LinuxKit's initrd has the file before its directory.
 */
export async function upperLayerCase(
  host: string,
  scratch: OciCache,
  images: OciCache,
  refs: ReadonlyMap<string, PushedPackage>,
): Promise<OracleCase> {
  const init = refs.get("init");
  if (!init) throw new Error("image init was not pushed");
  const lower = await resolveCached(images, `kiln.local/pkg/init:${init.ref.split(":").pop()}`, "amd64");
  if (!lower) throw new Error(`kiln's cache has no kiln.local/pkg/init for ${init.ref}`);
  for (const d of [lower.manifest.config, ...lower.manifest.layers]) {
    await scratch.putBytes(await images.readBlob(d.digest), d.mediaType);
  }
  const tar = await layerTar([{ name: UPPER_FILE.slice(1), content: `${UPPER_TEXT}\n` }]);
  const layer = await scratch.putBytes(gzipSync(tar), MediaType.ociLayerGzip);
  const config = structuredClone(lower.config);
  config.rootfs?.diff_ids.push(`sha256:${createHash("sha256").update(tar).digest("hex")}`);
  const configDesc = await scratch.putBytes(Buffer.from(JSON.stringify(config)), MediaType.ociConfig);
  const manifest: ImageManifest = {
    ...lower.manifest,
    config: configDesc,
    layers: [...lower.manifest.layers, layer],
  };
  const md = await scratch.putBytes(
    Buffer.from(JSON.stringify(manifest)),
    lower.manifestDescriptor.mediaType,
  );
  const target = `${host}/fixture/init-two-layers:${md.digest.slice("sha256:".length, "sha256:".length + 12)}`;
  const image = { name: target, root: md, manifestDescriptor: md, manifest, config, fromCache: true };
  await pushImage(new RegistryClient(), scratch, image, target);
  const base = minimalCase(refs);
  const upper = [
    "  - name: upper",
    `    image: ${target}`,
    `    command: ["/bin/busybox", "cat", "${UPPER_FILE}"]`,
    "",
  ].join("\n");
  return { ...base, name: "upper-layer", yaml: base.yaml.replace("onboot:\n", `onboot:\n${upper}`) };
}
