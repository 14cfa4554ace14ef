import { rm } from "node:fs/promises";
import { resolve } from "node:path";
import {
  collectGarbage,
  importImageFile,
  type OciCache,
  pullImage,
  type ResolvedImage,
  resolveCached,
  writeDockerArchive,
  writeFilesystem,
  writeOciLayout,
} from "@kiln/builder";
import { formatImageRef, KilnError, parseImageRef, parseRegistryRef, UsageError } from "@kiln/spec";
import type { CommandDecl } from "../declare.js";
import { bytes, PullProgress } from "../progress.js";
import { cacheOnlyOptions, imageContext, imageOptions } from "./registry-options.js";

const normalise = (ref: string) => formatImageRef(parseRegistryRef(ref));

const ls: CommandDecl = {
  name: "ls",
  summary: "List the images in the cache",
  options: cacheOnlyOptions,
  async run(_args, options, ctx) {
    const { cache } = await imageContext(options);
    for (const { name, descriptor } of await cache.list())
      ctx.stdout.write(`${name}\t${descriptor.digest}\n`);
    return 0;
  },
};

const pull: CommandDecl = {
  name: "pull",
  summary: "Pull images into the cache (from the registry, even when cached)",
  args: [{ name: "refs", description: "image references", variadic: true, required: true }],
  options: imageOptions,
  examples: ["kiln cache pull alpine:3.20", "kiln cache pull --arch arm64 127.0.0.1:5000/kiln/minio:dev"],
  async run(refs, options, ctx) {
    const ictx = await imageContext(options);
    for (const ref of refs) {
      const name = normalise(ref);
      const progress = new PullProgress(ctx.stderr, name, ictx.quiet);
      const image = await pullImage(ictx.client, ictx.cache, ref, {
        arch: ictx.arch,
        force: true,
        onProgress: progress.update,
      });
      const total = image.manifest.layers.reduce((n, l) => n + l.size, 0);
      progress.done(
        `${image.manifest.layers.length} layers, ${bytes(total)}, ${image.manifestDescriptor.digest}`,
      );
      ctx.stdout.write(`${image.name}\t${image.root.digest}\n`);
    }
    return 0;
  },
};

const remove: CommandDecl = {
  name: "rm",
  summary: "Remove images from the cache, and the blobs only they used",
  args: [{ name: "refs", description: "image references", variadic: true, required: true }],
  options: cacheOnlyOptions,
  async run(refs, options, ctx) {
    const { cache } = await imageContext(options);
    for (const ref of refs) {
      const names = candidateNames(ref, ctx.cwd);
      let name: string | undefined;
      for (const n of names) if (!name && (await cache.untag(n))) name = n;
      if (!name) {
        throw new KilnError(`${names.at(-1)} is not in the cache at ${cache.dir}`, {
          hint: "see `kiln cache ls`",
        });
      }
      ctx.stdout.write(`removed ${name}\n`);
    }
    const gc = await collectGarbage(cache);
    ctx.stderr.write(`freed ${gc.removed} blobs, ${bytes(gc.bytes)}\n`);
    return 0;
  },
};

const clean: CommandDecl = {
  name: "clean",
  summary: "Empty the cache",
  options: cacheOnlyOptions,
  async run(_args, options, ctx) {
    const { cache } = await imageContext(options);
    await rm(cache.dir, { recursive: true, force: true });
    await cache.init();
    ctx.stdout.write(`emptied ${cache.dir}\n`);
    return 0;
  },
};

const importCmd: CommandDecl = {
  name: "import",
  summary: "Import the images of an OCI layout (directory or tar) or a docker save archive into the cache",
  details:
    "Every image index.json names is merged in, with the platforms the layout holds; a docker-archive's " +
    "images are converted to OCI. Every blob is verified against its digest. Images are named as the " +
    "archive names them (full names normalised); a bare tag in a layout becomes oci-layout:/abs/path:TAG.",
  args: [{ name: "file", description: "archive, layout directory, or - for standard input", required: true }],
  options: cacheOnlyOptions,
  examples: ["kiln cache import minio.tar", "docker save kiln/minio:dev | kiln cache import -"],
  async run([file], options, ctx) {
    const { cache } = await imageContext(options);
    const imported = await importImageFile(cache, file!, ctx.stdin);
    for (const { name, digest } of imported) ctx.stdout.write(`${name}\t${digest}\n`);
    return 0;
  },
};

/**
 * The cache names REF may stand for: itself (names such as docker:… and oci-layout:… are looked up as
 * written), then its normalised form, with local paths made absolute.
 */
function candidateNames(ref: string, cwd: string): string[] {
  const names = [ref];
  try {
    const parsed = parseImageRef(ref);
    const local = parsed.kind === "oci-layout" || parsed.kind === "docker-archive";
    const name = formatImageRef(local ? { ...parsed, path: resolve(cwd, parsed.path) } : parsed);
    if (name !== ref) names.push(name);
  } catch {
    // not a reference: only an exact cache name can match
  }
  return names;
}

/** The cached image REF names, resolved to `arch` without any network access. */
async function cachedImage(cache: OciCache, ref: string, arch: string, cwd: string): Promise<ResolvedImage> {
  const names = candidateNames(ref, cwd);
  for (const name of names) {
    const image = await resolveCached(cache, name, arch);
    if (image) return image;
  }
  throw new KilnError(`${names.at(-1)} is not in the cache at ${cache.dir} (for linux/${arch})`, {
    hint: "pull or import it first (kiln cache pull, kiln cache import); `kiln cache ls` lists what is there",
  });
}

const exportCmd: CommandDecl = {
  name: "export",
  summary: "Export a cached image as an OCI layout, a docker-archive, or its flattened root filesystem",
  details:
    "oci writes an OCI image layout: a tar when -o ends in .tar or is -, else a directory (added to if it " +
    "is a layout already). docker writes a `docker load` archive. filesystem writes one tar of the image's " +
    "root filesystem, layers applied. Files appear only when complete.",
  args: [{ name: "ref", description: "image reference or cache name (see kiln cache ls)", required: true }],
  options: [
    {
      flags: "--format <format>",
      description: "what to write",
      choices: ["oci", "docker", "filesystem"],
      default: "oci",
    },
    {
      flags: "-o, --output <file>",
      description: "output file (or directory for oci); - for standard output",
    },
    {
      flags: "--tag <name>",
      description: "name the image in the archive (oci: the index.json name, docker: NAME:TAG; default: REF)",
    },
    ...imageOptions.filter((o) => o.flags.startsWith("--cache") || o.flags.startsWith("--arch")),
  ],
  examples: [
    "kiln cache export alpine:3.20 --format docker -o alpine.tar",
    "kiln cache export alpine:3.20 --format filesystem -o - | tar -t",
  ],
  async run([ref], options, ctx) {
    const output = options.output as string | undefined;
    if (!output) throw new UsageError("kiln cache export needs -o FILE (or -o - for standard output)");
    const { cache, arch } = await imageContext(options);
    const image = await cachedImage(cache, ref!, arch, ctx.cwd);
    const out = output === "-" ? ctx.stdout : resolve(ctx.cwd, output);
    const tag = options.tag as string | undefined;
    const format = options.format as string;
    if (format === "oci") await writeOciLayout(cache, image, out, tag ?? image.name);
    else if (format === "docker") await writeDockerArchive(cache, image, out, tag ?? dockerName(image.name));
    else await writeFilesystem(cache, image, out);
    if (output !== "-") ctx.stderr.write(`wrote ${image.name} (${format}) to ${output}\n`);
    return 0;
  },
};

/** The image's name when it is a registry name Docker can tag with; local sources stay untagged. */
function dockerName(name: string): string | undefined {
  try {
    return parseImageRef(name).kind === "registry" ? name : undefined;
  } catch {
    return undefined;
  }
}

export const cacheCommand: CommandDecl = {
  name: "cache",
  summary: "Manage kiln's image cache, an OCI image layout that skopeo and umoci can read",
  subcommands: [ls, pull, importCmd, exportCmd, remove, clean],
};
