// Runs the tools inside kiln's builder image on a local Docker engine. Every path a tool touches is
// bind-mounted at the same place and the tool runs as the calling user, so its arguments, its output
// files and their owners are what a native run would give.

import { randomBytes } from "node:crypto";
import { resolve, sep } from "node:path";
import { KilnError } from "@kiln/spec";
import type { OciCache } from "../cache/cache.js";
import { loadExeca } from "../load-execa.js";
import { DockerEngine } from "../sources/docker-engine.js";
import { ensureBuilderImage } from "./builder-image.js";
import { missingToolsError, SYSTEM_PATH, text, toolEnv, toolFailedError } from "./env.js";
import type { ToolInvocation, ToolResult, ToolRunner } from "./types.js";

export interface ContainerToolRunnerOptions {
  /** An image already in the engine, used as it is. Default: images/builder, built and loaded on first use. */
  image?: string;
  /** The kiln cache the builder image is built into (needed when `image` is not given). */
  cache?: OciCache;
  /** The builder recipe directory. @default BUILDER_RECIPE_DIR */
  recipeDir?: string;
  /** The engine, as DOCKER_HOST. Default: $DOCKER_HOST, else the docker CLI's own default. */
  dockerHost?: string;
  /** The docker CLI. @default "docker" */
  docker?: string;
  log?: (line: string) => void;
}

export class ContainerToolRunner implements ToolRunner {
  readonly mode = "container" as const;
  readonly #options: ContainerToolRunnerOptions;
  readonly #docker: string;
  readonly #env: Record<string, string>;
  #image: Promise<string> | undefined;

  constructor(options: ContainerToolRunnerOptions = {}) {
    this.#options = options;
    this.#docker = options.docker ?? "docker";
    const host = options.dockerHost ?? process.env.DOCKER_HOST;
    this.#env = {
      PATH: process.env.PATH ?? SYSTEM_PATH,
      HOME: process.env.HOME ?? "/",
      ...(host ? { DOCKER_HOST: host } : {}),
      ...(process.env.DOCKER_CONFIG ? { DOCKER_CONFIG: process.env.DOCKER_CONFIG } : {}),
    };
  }

  /** The image's own package list guarantees the tools; this makes sure the image is there, once. */
  async require(_tools: string[]): Promise<void> {
    await this.image();
  }

  /** The image the tools run in, prepared on first use. */
  image(): Promise<string> {
    if (!this.#image) {
      this.#image = this.#prepare();
      this.#image.catch(() => {
        this.#image = undefined;
      });
    }
    return this.#image;
  }

  async run(inv: ToolInvocation): Promise<ToolResult> {
    inv.signal?.throwIfAborted();
    const image = await this.image();
    const name = `kiln-tool-${process.pid}-${randomBytes(4).toString("hex")}`;
    const args = ["run", "--rm", "--name", name, "--network", "none", "--log-driver", "none"];
    if (inv.input) args.push("-i");
    args.push("--user", `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`);
    for (const p of mountRoots(inv.paths)) args.push("-v", `${p}:${p}`);
    if (inv.cwd) args.push("-w", resolve(inv.cwd));
    for (const [k, v] of Object.entries(toolEnv(SYSTEM_PATH, inv.env))) args.push("-e", `${k}=${v}`);
    args.push("--entrypoint", inv.tool, image, ...inv.args);
    const { execa } = await loadExeca();
    const result = await execa(this.#docker, args, {
      env: this.#env,
      extendEnv: false,
      ...(Buffer.isBuffer(inv.input) ? { input: inv.input } : {}),
      ...(inv.input && !Buffer.isBuffer(inv.input) ? { inputFile: inv.input.file } : {}),
      ...(inv.signal ? { cancelSignal: inv.signal } : {}),
      reject: false,
      stripFinalNewline: false,
    });
    const stderr = text(result.stderr);
    if (inv.signal?.aborted) {
      // The CLI is gone but the container may not be: remove it before reporting the abort.
      await execa(this.#docker, ["rm", "-f", name], { env: this.#env, extendEnv: false, reject: false });
      throw inv.signal.reason;
    }
    if ((result as { code?: string }).code === "ENOENT") throw dockerMissing(this.#docker);
    if (result.exitCode === 127 || /executable file not found/.test(stderr)) {
      throw missingToolsError([inv.tool], `the builder image ${image}`);
    }
    if (result.exitCode === 125) throw engineError(stderr, image);
    if (result.failed) throw toolFailedError(inv, result.exitCode, stderr || text(result.shortMessage));
    return { stdout: text(result.stdout), stderr };
  }

  async #prepare(): Promise<string> {
    let image = this.#options.image;
    if (image === undefined) {
      const { cache } = this.#options;
      if (!cache) throw new Error("ContainerToolRunner needs either an image or a cache to build one into");
      image = await ensureBuilderImage({
        cache,
        engine: new DockerEngine(this.#env.DOCKER_HOST),
        ...(this.#options.recipeDir ? { recipeDir: this.#options.recipeDir } : {}),
        ...(this.#options.log ? { log: this.#options.log } : {}),
      });
    }
    const { execa } = await loadExeca();
    const r = await execa(this.#docker, ["image", "inspect", "--format", "{{.Id}}", image], {
      env: this.#env,
      extendEnv: false,
      reject: false,
    });
    if ((r as { code?: string }).code === "ENOENT") throw dockerMissing(this.#docker);
    if (r.exitCode === 0) return image;
    if (/no such image/i.test(text(r.stderr))) {
      throw new KilnError(`the image ${image} is not in the Docker engine`, {
        hint: "load it (docker load) or leave the image unset to use kiln's builder image, or build with --builder native",
      });
    }
    throw engineError(text(r.stderr), image);
  }
}

/** The outermost of the given paths: a directory inside another mounted one needs no mount of its own. */
export function mountRoots(paths: readonly string[]): string[] {
  const sorted = [...new Set(paths.map((p) => resolve(p)))].sort();
  const roots: string[] = [];
  for (const p of sorted) {
    const last = roots[roots.length - 1];
    if (last !== undefined && (p === last || p.startsWith(last === sep ? last : last + sep))) continue;
    roots.push(p);
  }
  return roots;
}

function dockerMissing(docker: string): KilnError {
  return new KilnError(`--builder container needs the Docker CLI, and ${docker} is not installed`, {
    hint: "install docker.io (apt-get install docker.io), or build with --builder native",
  });
}

function engineError(stderr: string, image: string): KilnError {
  const line = stderr.trim().split("\n").pop() ?? "";
  return new KilnError(`the Docker engine could not run ${image}: ${line}`, {
    hint: "start dockerd or point DOCKER_HOST at a running engine, or build with --builder native",
  });
}
