import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { OciCache } from "../cache/cache.js";
import { openLayer } from "../flatten/decompress.js";
import { flattenLayers } from "../flatten/flatten.js";
import { RegistryClient } from "../registry/client.js";
import type { ResolvedImage } from "../registry/pull.js";
import { ImageResolver, type ResolverOptions } from "../resolve/resolver.js";
import { startDockerEngine, type TestDockerEngine } from "../testing/docker-engine.js";
import { makeLayout } from "../testing/image-fixture.js";
import { pushWithSkopeo, startRegistry, type TestRegistry } from "../testing/registry.js";
import { DockerEngine } from "./docker-engine.js";
import { loadIntoDocker } from "./docker-source.js";
import { resolveOciLayout } from "./oci-layout-source.js";

const tmp = (prefix: string) => mkdtemp(join(tmpdir(), `kiln-docker-${prefix}-`));

async function fileText(cache: OciCache, image: ResolvedImage, path: string): Promise<string | undefined> {
  const layers = image.manifest.layers.map((l) => ({
    digest: l.digest,
    open: () => openLayer(cache.blobPath(l.digest), l.mediaType),
  }));
  let found: string | undefined;
  for await (const { entry, body } of flattenLayers(layers)) {
    if (!body) continue;
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c as Buffer);
    if (entry.path === path) found = Buffer.concat(chunks).toString();
  }
  return found;
}

describe("the Docker engine as an image source and a target (a real dockerd, images loaded, never pulled)", () => {
  let docker: TestDockerEngine;
  let registry: TestRegistry;
  let busybox: ResolvedImage;
  let busyboxCache: OciCache;
  const suffix = `${process.pid}`;

  beforeAll(async () => {
    docker = await startDockerEngine();
    registry = await startRegistry();
    const layout = await makeLayout("v1", [
      {
        layers: [
          [
            { name: "bin/", type: "directory" },
            { name: "bin/busybox", content: await readFile("/bin/busybox"), mode: 0o755 },
          ],
          [{ name: "etc/motd", content: "from a kiln fixture\n" }],
        ],
        config: { Entrypoint: ["/bin/busybox"], Cmd: ["cat", "/etc/motd"] },
      },
    ]);
    busyboxCache = await OciCache.open(await tmp("cache"));
    busybox = await resolveOciLayout(
      busyboxCache,
      { kind: "oci-layout", path: layout.dir, tag: "v1" },
      "amd64",
    );
  });
  afterAll(async () => registry?.stop());

  test("loadIntoDocker: docker image inspect sees the image and docker run runs it", async () => {
    const tag = `kiln-test/busybox:load-${suffix}`;
    const loaded = await loadIntoDocker(busyboxCache, busybox, tag, docker.engine);
    expect(loaded).toEqual([`Loaded image: ${tag}`]);
    const inspect = JSON.parse((await docker.docker(["image", "inspect", tag])).stdout) as [
      { Id: string; Architecture: string; Config: { Entrypoint: string[] } },
    ];
    expect(inspect[0].Id).toBe(busybox.manifest.config.digest);
    expect(inspect[0].Config.Entrypoint).toEqual(["/bin/busybox"]);
    const run = await docker.docker(["run", "--rm", "--network", "none", tag]);
    expect(run.stdout).toBe("from a kiln fixture");
    await docker.docker(["image", "rm", tag]);
  });

  test("a failed load is a clear error, not a hang", async () => {
    await expect(loadIntoDocker(busyboxCache, busybox, "Not A Valid Tag", docker.engine)).rejects.toThrow(
      /"Not A Valid Tag" is not a valid Docker image name/,
    );
    const nowhere = new DockerEngine("unix:///nonexistent/docker.sock");
    await expect(loadIntoDocker(busyboxCache, busybox, "kiln-test/x:y", nowhere)).rejects.toThrow(
      /cannot reach the Docker engine at unix:\/\/\/nonexistent\/docker.sock: ENOENT/,
    );
  });

  test("--docker looks in the engine first, then the cache and the registry; --pull skips the engine", async () => {
    const ref = `${registry.host}/kiln/order:v1`;
    const fromRegistry = await makeLayout("v1", [{ layers: [[{ name: "from", content: "registry\n" }]] }]);
    await pushWithSkopeo(fromRegistry.dir, "v1", registry, "kiln/order");
    const fromDocker = await makeLayout("v1", [{ layers: [[{ name: "from", content: "docker\n" }]] }]);
    const archive = join(await tmp("archive"), "order.tar");
    await execa("skopeo", [
      "copy",
      "--quiet",
      `oci:${fromDocker.dir}:v1`,
      `docker-archive:${archive}:${ref}`,
    ]);
    await docker.docker(["load", "-i", archive]);

    const cache = await OciCache.open(await tmp("order-cache"));
    const lines: string[] = [];
    const base: ResolverOptions = {
      cache,
      client: new RegistryClient(),
      arch: "amd64",
      engine: docker.engine,
    };
    const resolve = (o: Partial<ResolverOptions>) =>
      new ImageResolver({ ...base, log: (l) => lines.push(l), ...o });

    const viaDocker = await resolve({ docker: true }).resolve(ref);
    expect(viaDocker.name).toBe(`docker:${ref}`);
    expect(viaDocker.fromCache).toBe(false);
    expect(await fileText(cache, viaDocker, "from")).toBe("docker\n");
    expect(lines).toContain(`${ref}: exporting from the Docker engine`);

    // The engine's image ID is already in the cache: nothing is exported again.
    lines.length = 0;
    const again = await resolve({ docker: true }).resolve(ref);
    expect(again.fromCache).toBe(true);
    expect(lines).toEqual([]);

    const plain = await resolve({}).resolve(ref);
    expect(plain.name).toBe(ref);
    expect(await fileText(cache, plain, "from")).toBe("registry\n");

    const pulled = await resolve({ docker: true, pull: true }).resolve(ref);
    expect(pulled.name).toBe(ref);
    expect(pulled.fromCache).toBe(false);

    // An image the engine does not have comes from the cache (or the registry) as without --docker.
    const onlyRegistry = `${registry.host}/kiln/only-registry:v1`;
    await pushWithSkopeo(fromRegistry.dir, "v1", registry, "kiln/only-registry");
    const fallback = await resolve({ docker: true }).resolve(onlyRegistry);
    expect(fallback.name).toBe(onlyRegistry);

    // No engine at all: --docker only adds a place to look, and says why it was skipped.
    lines.length = 0;
    const noEngine = new DockerEngine("unix:///nonexistent/docker.sock");
    const without = await resolve({ docker: true, engine: noEngine }).resolve(ref);
    expect(without.name).toBe(ref);
    expect(lines.join("\n")).toMatch(/--docker: cannot reach the Docker engine at unix:\/\/\/nonexistent/);
    await docker.docker(["image", "rm", ref]);
  });

  test("an image from a real `docker save` (Docker's own archive layout) resolves as docker-archive:", async () => {
    const tag = `kiln-test/busybox:save-${suffix}`;
    await loadIntoDocker(busyboxCache, busybox, tag, docker.engine);
    const archive = join(await tmp("save"), "busybox.tar");
    await docker.docker(["save", "-o", archive, tag]);
    const cache = await OciCache.open(await tmp("save-cache"));
    const image = await new ImageResolver({ cache, client: new RegistryClient(), arch: "amd64" }).resolve(
      `docker-archive:${archive}`,
    );
    expect(image.manifest.config.digest).toBe(busybox.manifest.config.digest);
    expect(image.manifest.layers).toHaveLength(2);
    expect(await fileText(cache, image, "etc/motd")).toBe("from a kiln fixture\n");
    await docker.docker(["image", "rm", tag]);
  });
});
