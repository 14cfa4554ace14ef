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
import type { CommandContext } from "../declare.js";
import { bytes, PullProgress } from "../progress.js";
import { imageContext } from "./image-context.js";

// The `kiln cache` subcommands: loaded only when one runs, because they need @kiln/builder.

const normalise = (ref: string) => formatImageRef(parseRegistryRef(ref));

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

/** The image's name when it is a registry name Docker can tag with; local sources stay untagged. */
function dockerName(name: string): string | undefined {
  try {
    return parseImageRef(name).kind === "registry" ? name : undefined;
  } catch {
    return undefined;
  }
}

export async function cacheLs(
  _args: string[],
  options: Record<string, unknown>,
  ctx: CommandContext,
): Promise<number> {
  const { cache } = await imageContext(options);
  for (const { name, descriptor } of await cache.list()) ctx.stdout.write(`${name}\t${descriptor.digest}\n`);
  return 0;
}

export async function cachePull(
  refs: string[],
  options: Record<string, unknown>,
  ctx: CommandContext,
): Promise<number> {
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
}

export async function cacheRm(
  refs: string[],
  options: Record<string, unknown>,
  ctx: CommandContext,
): Promise<number> {
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
  await reportGarbage(cache, ctx);
  return 0;
}

export async function cacheGc(
  _args: string[],
  options: Record<string, unknown>,
  ctx: CommandContext,
): Promise<number> {
  const { cache } = await imageContext(options);
  await reportGarbage(cache, ctx);
  return 0;
}

async function reportGarbage(cache: OciCache, ctx: CommandContext): Promise<void> {
  const gc = await collectGarbage(cache);
  ctx.stderr.write(`freed ${gc.removed} blobs and cache entries, ${bytes(gc.bytes)}\n`);
}

export async function cacheClean(
  _args: string[],
  options: Record<string, unknown>,
  ctx: CommandContext,
): Promise<number> {
  const { cache } = await imageContext(options);
  await rm(cache.dir, { recursive: true, force: true });
  await cache.init();
  ctx.stdout.write(`emptied ${cache.dir}\n`);
  return 0;
}

export async function cacheImport(
  args: string[],
  options: Record<string, unknown>,
  ctx: CommandContext,
): Promise<number> {
  const [file] = args;
  const { cache } = await imageContext(options);
  const imported = await importImageFile(cache, file!, ctx.stdin);
  for (const { name, digest } of imported) ctx.stdout.write(`${name}\t${digest}\n`);
  return 0;
}

export async function cacheExport(
  args: string[],
  options: Record<string, unknown>,
  ctx: CommandContext,
): Promise<number> {
  const [ref] = args;
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
}
