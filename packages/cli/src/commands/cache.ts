import { rm } from "node:fs/promises";
import { collectGarbage, pullImage } from "@kiln/builder";
import { formatImageRef, KilnError, parseRegistryRef } from "@kiln/spec";
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
      const name = normalise(ref);
      if (!(await cache.untag(name))) {
        throw new KilnError(`${name} is not in the cache at ${cache.dir}`, { hint: "see `kiln cache ls`" });
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

export const cacheCommand: CommandDecl = {
  name: "cache",
  summary: "Manage kiln's image cache, an OCI image layout that skopeo and umoci can read",
  subcommands: [ls, pull, remove, clean],
};
