import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startDockerEngine, startRegistry, type TestRegistry } from "@kiln/builder/testing";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { kiln, REPO_ROOT } from "./test-helpers.js";

/** Every temp directory of this file, removed at the end. */
const scratch = mkdtempSync(join(tmpdir(), "kiln-pkg-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const BIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));

/** The manifest digest skopeo, an independent client, sees at `ref`. */
function skopeoDigest(...args: string[]): string {
  return JSON.parse(execFileSync("skopeo", ["inspect", ...args], { encoding: "utf8" })).Digest;
}

async function recipe(name: string, extra = ""): Promise<string> {
  const dir = await mkdtemp(join(scratch, "kiln-cli-pkg-"));
  await mkdir(join(dir, "rootfs", "etc"), { recursive: true });
  await writeFile(join(dir, "rootfs", "etc", "greeting"), "kiln\n");
  await writeFile(
    join(dir, "build.yml"),
    `name: ${name}\ndebian:\n  packages: [busybox-static]\nfiles:\n  - {src: rootfs/, dst: /}\n  - {dst: /bin/sh, symlink: busybox}\ncmd: ["/bin/sh"]\n${extra}`,
  );
  return dir;
}

describe("kiln pkg", () => {
  let registry: TestRegistry;
  let cache: string;
  let dir: string;
  beforeAll(async () => {
    registry = await startRegistry();
    cache = await mkdtemp(join(scratch, "kiln-cli-pkg-cache-"));
    dir = await recipe("cli-sample");
  });
  afterAll(async () => registry?.stop());

  test("build prints NAME<TAB>DIGEST, builds once, and show-tag names the same image without building", async () => {
    const built = kiln(["pkg", "build", "--cache", cache, dir]);
    expect(built.stderr).toContain("cli-sample: building kiln.local/pkg/cli-sample:");
    expect(built.code).toBe(0);
    expect(built.stdout).toMatch(/^kiln\.local\/pkg\/cli-sample:[0-9a-f]{16}\tsha256:[0-9a-f]{64}\n$/);
    const [name, digest] = built.stdout.trim().split("\t");

    const again = kiln(["pkg", "build", "--cache", cache, dir]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(built.stdout);
    expect(again.stderr).toContain(`cli-sample: up to date (${name})`);

    const tag = kiln(["pkg", "show-tag", "--cache", cache, dir]);
    expect(tag.stdout).toBe(`${name}\n`);

    const quiet = kiln(["pkg", "build", "-q", "--force", "--cache", cache, dir]);
    expect(quiet.stderr).toBe("");
    expect(quiet.stdout).toBe(built.stdout);

    expect(skopeoDigest(`oci:${cache}:${name}`)).toBe(digest);
  });

  test("--push uploads to a registry, --output writes an OCI layout; both read back by skopeo", async () => {
    const layout = join(await mkdtemp(join(scratch, "kiln-cli-pkg-out-")), "layout");
    const target = `${registry.host}/kiln/cli-sample:dev`;
    const r = kiln([
      "pkg",
      "build",
      "--cache",
      cache,
      "--push",
      target,
      "--output",
      `oci-layout:${layout}:dev`,
      dir,
    ]);
    expect(r.stderr).toContain(`pushed ${target}`);
    expect(r.code).toBe(0);
    const [built, pushed] = r.stdout.trim().split("\n");
    const digest = built!.split("\t")[1];
    expect(pushed).toBe(`${target}\t${digest}`);
    expect(skopeoDigest("--tls-verify=false", `docker://${target}`)).toBe(digest);
    expect(skopeoDigest(`oci:${layout}:dev`)).toBe(digest);
  });

  test("several recipes with --push push each to PREFIX/NAME:TAG", async () => {
    const second = await recipe("cli-other", "env: [A=1]\n");
    const r = kiln([
      "pkg",
      "build",
      "-q",
      "--cache",
      cache,
      "--push",
      `${registry.host}/prefix`,
      dir,
      second,
    ]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(new RegExp(`^${registry.host}/prefix/cli-sample:[0-9a-f]{16}\\t`));
    expect(lines[3]).toMatch(new RegExp(`^${registry.host}/prefix/cli-other:[0-9a-f]{16}\\t`));
    const tagged = kiln([
      "pkg",
      "build",
      "--cache",
      cache,
      "--push",
      `${registry.host}/prefix:x`,
      dir,
      second,
    ]);
    expect(tagged.code).toBe(2);
    expect(tagged.stderr).toContain("with several recipes, --push names a repository prefix");
  });

  test("--docker loads the image into the Docker engine", async () => {
    const engine = await startDockerEngine();
    const r = spawnSync(process.execPath, [BIN, "pkg", "build", "--cache", cache, "--docker", dir], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      env: { ...process.env, DOCKER_HOST: engine.host },
    });
    expect(r.stderr).toMatch(/cli-sample: Loaded image: kiln\.local\/pkg\/cli-sample:[0-9a-f]{16}/);
    expect(r.status).toBe(0);
    const name = r.stdout.split("\t")[0]!;
    const ran = await engine.docker([
      "run",
      "--rm",
      "--network",
      "none",
      name,
      "/bin/busybox",
      "cat",
      "/etc/greeting",
    ]);
    expect(ran.stdout).toBe("kiln");
  });

  test("a bad recipe exits 1 with located problems; a bad --output is a usage error", async () => {
    const bad = await mkdtemp(join(scratch, "kiln-cli-pkg-bad-"));
    await writeFile(join(bad, "build.yml"), "name: ok\ndebian:\n  packages: [no-such-package-kiln]\n");
    const r = kiln(["pkg", "build", "--cache", cache, bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${join(bad, "build.yml")}:3:14: debian.packages.0: apt cannot resolve no-such-package-kiln`,
    );
    expect(r.stderr).toContain("kiln: 1 problem found");
    expect(r.stderr).not.toMatch(/\n\s+at /);

    const usage = kiln(["pkg", "build", "--cache", cache, "--output", "dir:/tmp/x", dir]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("--output dir:/tmp/x is not oci-layout:PATH[:TAG]");

    const missing = kiln(["pkg", "show-tag", "--cache", cache, join(bad, "nope")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /kiln: error: .*nope\/build\.yml: cannot read the package recipe \(ENOENT\) \(hint: /,
    );
  });
});
