import { resolve } from "node:path";
import {
  type BuiltPackage,
  buildPackage,
  loadIntoDocker,
  packageTag,
  pushImage,
  writeOciLayout,
} from "@kiln/builder";
import { formatImageRef, KilnError, parseImageRef, parseRegistryRef, UsageError } from "@kiln/spec";
import type { CommandContext } from "../declare.js";
import { imageContext } from "./image-context.js";

// `kiln pkg build` and `kiln pkg show-tag`: loaded only when they run, because they need @kiln/builder.

/** `--push` with several recipes names a prefix: each image goes to PREFIX/NAME:TAG. */
function pushTarget(value: string, image: BuiltPackage, recipeName: string, several: boolean): string {
  const ref = parseRegistryRef(value);
  if (!several) return formatImageRef({ ...ref, tag: ref.tag ?? image.tag });
  if (ref.tag !== undefined || ref.digest !== undefined) {
    throw new UsageError(
      `--push ${value}: with several recipes, --push names a repository prefix, without a tag`,
      "e.g. --push 127.0.0.1:5000/kiln, which pushes 127.0.0.1:5000/kiln/NAME:TAG",
    );
  }
  return formatImageRef({ ...ref, path: `${ref.path}/${recipeName}`, tag: image.tag });
}

function outputLayout(value: string, cwd: string, several: boolean): { path: string; tag?: string } {
  let ref: ReturnType<typeof parseImageRef> | undefined;
  try {
    ref = parseImageRef(value);
  } catch {
    ref = undefined;
  }
  if (ref?.kind !== "oci-layout") {
    throw new UsageError(
      `--output ${value} is not oci-layout:PATH[:TAG]`,
      "e.g. --output oci-layout:./out:dev",
    );
  }
  if (several && ref.tag !== undefined) {
    throw new UsageError(
      `--output ${value}: one tag cannot name several images`,
      "leave the tag out; each image is then named kiln.local/pkg/NAME:TAG in the layout",
    );
  }
  return ref.tag === undefined
    ? { path: resolve(cwd, ref.path) }
    : { path: resolve(cwd, ref.path), tag: ref.tag };
}

/** Ctrl-C stops the build cleanly: temp files go, nothing is tagged. */
async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const stop = () => controller.abort(new KilnError("interrupted", { exitCode: 130 }));
  process.once("SIGINT", stop);
  try {
    return await fn(controller.signal);
  } finally {
    process.removeListener("SIGINT", stop);
  }
}

export async function runPkgBuild(
  dirs: string[],
  options: Record<string, unknown>,
  ctx: CommandContext,
): Promise<number> {
  const ictx = await imageContext(options);
  const several = dirs.length > 1;
  const push = options.push as string | undefined;
  const output = options.output ? outputLayout(options.output as string, ctx.cwd, several) : undefined;
  if (push !== undefined) parseRegistryRef(push); // a bad reference fails before anything is built
  const log = ictx.quiet ? undefined : (line: string) => ctx.stderr.write(`${line}\n`);
  await withInterrupt(async (signal) => {
    for (const dir of dirs) {
      const image = await buildPackage(resolve(ctx.cwd, dir), {
        cache: ictx.cache,
        arch: ictx.arch,
        force: Boolean(options.force),
        log,
        signal,
      });
      ctx.stdout.write(`${image.name}\t${image.manifestDescriptor.digest}\n`);
      await deliver(image, { push, output, docker: Boolean(options.docker), several, ctx, log, ictx });
    }
  });
  return 0;
}

async function deliver(
  image: BuiltPackage,
  o: {
    push: string | undefined;
    output: { path: string; tag?: string } | undefined;
    docker: boolean;
    several: boolean;
    ctx: CommandContext;
    log: ((line: string) => void) | undefined;
    ictx: Awaited<ReturnType<typeof imageContext>>;
  },
): Promise<void> {
  const recipeName = image.packageName;
  if (o.push !== undefined) {
    const target = pushTarget(o.push, image, recipeName, o.several);
    let uploaded = 0;
    const pushed = await pushImage(o.ictx.client, o.ictx.cache, image, target, {
      onBlob: (e) => {
        if (e.uploaded) uploaded++;
      },
    });
    o.log?.(`${recipeName}: pushed ${pushed.name} (${uploaded} blobs uploaded)`);
    o.ctx.stdout.write(`${pushed.name}\t${pushed.digest}\n`);
  }
  if (o.output) {
    await writeOciLayout(o.ictx.cache, image, o.output.path, o.output.tag ?? image.name);
    o.log?.(`${recipeName}: written to oci-layout:${o.output.path}:${o.output.tag ?? image.name}`);
  }
  if (o.docker) {
    for (const line of await loadIntoDocker(o.ictx.cache, image, image.name))
      o.log?.(`${recipeName}: ${line}`);
  }
}

export async function runShowTag(
  dirs: string[],
  options: Record<string, unknown>,
  ctx: CommandContext,
): Promise<number> {
  const ictx = await imageContext(options);
  for (const dir of dirs) {
    ctx.stdout.write(`${await packageTag(resolve(ctx.cwd, dir), { cache: ictx.cache, arch: ictx.arch })}\n`);
  }
  return 0;
}
