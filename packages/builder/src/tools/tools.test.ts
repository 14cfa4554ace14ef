import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KilnError, UsageError } from "@kiln/spec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRecipe } from "../pkg/recipe.js";
import { BUILDER_RECIPE_DIR } from "./builder-image.js";
import { ContainerToolRunner, mountRoots } from "./container.js";
import { createToolRunner } from "./index.js";
import { NativeToolRunner } from "./native.js";
import { builderPackages } from "./packages.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kiln-tools-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function failure(p: Promise<unknown>): Promise<KilnError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(KilnError);
  return e as KilnError;
}

describe("NativeToolRunner", () => {
  it("names the Debian packages of missing tools and offers the builder image", async () => {
    const tools = new NativeToolRunner({ searchPath: dir });
    const e = await failure(tools.require(["xorriso", "mkfs.vfat", "/usr/lib/ISOLINUX/no-such-file.bin"]));
    expect(e.message).toContain("xorriso (Debian package xorriso)");
    expect(e.message).toContain("mkfs.vfat (Debian package dosfstools)");
    expect(e.hint).toContain("apt-get install");
    expect(e.hint).toContain("dosfstools");
    expect(e.hint).toContain("--builder container");
  });

  it("finds installed tools and data files", async () => {
    await new NativeToolRunner().require(["sh", "/bin/sh"]);
  });

  it("reports a missing program at run time the same way", async () => {
    const e = await failure(
      new NativeToolRunner({ searchPath: dir }).run({ tool: "sqfstar", args: [], paths: [] }),
    );
    expect(e.message).toContain("sqfstar (Debian package squashfs-tools)");
  });

  it("turns a failing tool into an error carrying its stderr", async () => {
    const e = await failure(
      new NativeToolRunner().run({
        tool: "sh",
        args: ["-c", "echo first >&2; echo boom >&2; exit 3"],
        paths: [],
      }),
    );
    expect(e.message).toMatch(/^sh failed with exit code 3:\nfirst\nboom$/);
  });

  it("runs tools in a pinned environment, not the caller's", async () => {
    process.env.KILN_TOOLS_TEST_LEAK = "leaked";
    try {
      const r = await new NativeToolRunner().run({
        tool: "sh",
        args: ["-c", 'echo "$TZ|$LC_ALL|$KILN_TOOLS_TEST_LEAK|$EXTRA|$(pwd)"'],
        paths: [dir],
        cwd: dir,
        env: { EXTRA: "given" },
      });
      expect(r.stdout).toBe(`UTC|C||given|${dir}\n`);
    } finally {
      delete process.env.KILN_TOOLS_TEST_LEAK;
    }
  });

  it("feeds stdin from bytes or from a file", async () => {
    const tools = new NativeToolRunner();
    expect((await tools.run({ tool: "cat", args: [], paths: [], input: Buffer.from("bytes") })).stdout).toBe(
      "bytes",
    );
    const file = join(dir, "input.txt");
    await writeFile(file, "from a file");
    expect((await tools.run({ tool: "cat", args: [], paths: [dir], input: { file } })).stdout).toBe(
      "from a file",
    );
  });

  it("stops a tool when the build is aborted", async () => {
    const abort = new AbortController();
    const started = Date.now();
    const running = new NativeToolRunner().run({
      tool: "sleep",
      args: ["20"],
      paths: [],
      signal: abort.signal,
    });
    setTimeout(() => abort.abort(new Error("interrupted")), 100);
    await expect(running).rejects.toThrow("interrupted");
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe("ContainerToolRunner", () => {
  it("says how to get the Docker CLI when it is missing", async () => {
    const tools = new ContainerToolRunner({ image: "kiln.local/pkg/builder:x", docker: join(dir, "docker") });
    const e = await failure(tools.require(["xorriso"]));
    expect(e.message).toContain("needs the Docker CLI");
    expect(e.hint).toContain("docker.io");
    expect(e.hint).toContain("--builder native");
  });

  it("mounts only the outermost of nested paths", () => {
    expect(mountRoots(["/a/b/c", "/a/b", "/x", "/a/bc", "/x/", "/a/b/../b/d"])).toEqual([
      "/a/b",
      "/a/bc",
      "/x",
    ]);
    expect(mountRoots(["/", "/tmp"])).toEqual(["/"]);
  });
});

describe("createToolRunner", () => {
  it("picks the runner named by --builder", () => {
    expect(createToolRunner().mode).toBe("native");
    expect(createToolRunner({ builder: "container", image: "x" }).mode).toBe("container");
    expect(() => createToolRunner({ builder: "docker" })).toThrow(UsageError);
  });
});

describe("the builder image recipe", () => {
  it("installs every package the formats' tools come from", async () => {
    const recipe = await loadRecipe(BUILDER_RECIPE_DIR);
    const listed = new Set(recipe.debian?.packages);
    for (const p of builderPackages()) expect(listed, p).toContain(p);
    // dash is there for syslinux's popen; nothing else beyond the tools.
    expect([...listed].filter((p) => !builderPackages().includes(p))).toEqual(["dash"]);
  });
});
