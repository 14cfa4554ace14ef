import { chmod, mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { OciCache } from "../cache/cache.js";
import { makeLayout } from "../testing/image-fixture.js";
import { pushWithSkopeo, startRegistry, type TestRegistry } from "../testing/registry.js";
import { RegistryClient } from "./client.js";
import { DockerCredentials } from "./credentials.js";
import { pullImage } from "./pull.js";

const tmp = () => mkdtemp(join(tmpdir(), "kiln-pull-"));
const blobCount = async (cache: string) =>
  (await readdir(join(cache, "blobs", "sha256"))).filter((n) => !n.startsWith(".")).length;

describe("pulling from a real registry (docker-registry on 127.0.0.1)", () => {
  let registry: TestRegistry;
  let multiDigest: string;

  beforeAll(async () => {
    registry = await startRegistry();
    const single = await makeLayout("v1", [
      {
        layers: [
          [
            { name: "etc/", type: "directory" },
            { name: "etc/motd", content: "hello from layer 1\n" },
          ],
          [{ name: "bin/app", content: "#!/bin/sh\necho hi\n", mode: 0o755 }],
        ],
        config: {
          Entrypoint: ["/bin/app"],
          Env: ["PATH=/bin"],
          Labels: { "org.mobyproject.config": '{"net":"host"}' },
        },
      },
    ]);
    await pushWithSkopeo(single.dir, "v1", registry, "kiln/app");
    const multi = await makeLayout("v2", [
      { architecture: "amd64", layers: [[{ name: "arch", content: "amd64\n" }]] },
      { architecture: "arm64", layers: [[{ name: "arch", content: "arm64\n" }]] },
    ]);
    await pushWithSkopeo(multi.dir, "v2", registry, "kiln/multi", { all: true });
    multiDigest = multi.root.digest;
  });
  afterAll(async () => registry?.stop());

  test("pulls an image whose blobs are verified, readable by skopeo and unpackable by umoci", async () => {
    const dir = await tmp();
    const cache = await OciCache.open(dir);
    const image = await pullImage(new RegistryClient(), cache, `${registry.host}/kiln/app:v1`);
    expect(image.fromCache).toBe(false);
    expect(image.name).toBe(`${registry.host}/kiln/app:v1`);
    expect(image.manifest.layers).toHaveLength(2);
    expect(image.config.config?.Entrypoint).toEqual(["/bin/app"]);
    const remote = await execa("skopeo", [
      "inspect",
      "--raw",
      "--tls-verify=false",
      `docker://${registry.host}/kiln/app:v1`,
    ]);
    expect(image.manifestDescriptor.digest).toBe(
      `sha256:${(await import("node:crypto")).createHash("sha256").update(remote.stdout).digest("hex")}`,
    );
    const local = await execa("skopeo", ["inspect", `oci:${dir}:${image.name}`]);
    expect(JSON.parse(local.stdout).Layers).toEqual(image.manifest.layers.map((l) => l.digest));
    const bundle = await tmp();
    await execa("umoci", ["unpack", "--rootless", "--image", `${dir}:${image.name}`, join(bundle, "b")]);
    expect((await readdir(join(bundle, "b", "rootfs", "etc"))).sort()).toEqual(["motd"]);
  });

  test("a complete cached image needs no network at all, and --pull does", async () => {
    const dir = await tmp();
    const cache = await OciCache.open(dir);
    const other = await startRegistry();
    const layout = await makeLayout("v1", [{ layers: [[{ name: "x", content: "x" }]] }]);
    await pushWithSkopeo(layout.dir, "v1", other, "kiln/offline");
    await pullImage(new RegistryClient(), cache, `${other.host}/kiln/offline:v1`);
    await other.stop();
    const again = await pullImage(
      new RegistryClient({ attempts: 1 }),
      cache,
      `${other.host}/kiln/offline:v1`,
    );
    expect(again.fromCache).toBe(true);
    await expect(
      pullImage(new RegistryClient({ attempts: 1 }), cache, `${other.host}/kiln/offline:v1`, { force: true }),
    ).rejects.toThrow(`cannot reach http://${other.host}`);
  });

  test("from a multi-platform index, only the selected platform's blobs are fetched", async () => {
    const dir = await tmp();
    const cache = await OciCache.open(dir);
    const image = await pullImage(new RegistryClient(), cache, `${registry.host}/kiln/multi:v2`, {
      arch: "arm64",
    });
    expect(image.root.digest).toBe(multiDigest);
    expect(image.manifestDescriptor.platform?.architecture).toBe("arm64");
    // index + arm64 manifest + its config + its one layer; nothing of amd64.
    expect(await blobCount(dir)).toBe(4);
    await expect(
      pullImage(new RegistryClient(), cache, `${registry.host}/kiln/multi:v2`, { arch: "s390x" }),
    ).rejects.toThrow("has no linux/s390x image (it has linux/amd64, linux/arm64)");
  });

  test("a missing image is an error that names it and says what to do", async () => {
    const cache = await OciCache.open(await tmp());
    await expect(pullImage(new RegistryClient(), cache, `${registry.host}/kiln/nope:v1`)).rejects.toThrow(
      `${registry.host}/kiln/nope:v1 was not found on ${registry.host} (HTTP 404)`,
    );
  });
});

describe("a registry with htpasswd auth", () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: { user: "kiln", password: "s3cret-pass" } });
    const layout = await makeLayout("v1", [{ layers: [[{ name: "private", content: "secret\n" }]] }]);
    await pushWithSkopeo(layout.dir, "v1", registry, "team/private");
  });
  afterAll(async () => registry?.stop());

  test("without credentials the pull is refused with a hint to log in", async () => {
    const cache = await OciCache.open(await tmp());
    const creds = new DockerCredentials(await tmp());
    await expect(
      pullImage(new RegistryClient({ credentials: creds }), cache, `${registry.host}/team/private:v1`),
    ).rejects.toThrow(`not authorized to pull ${registry.host}/team/private:v1`);
  });

  test("credentials from config.json `auths` work", async () => {
    const configDir = await tmp();
    const auth = Buffer.from("kiln:s3cret-pass").toString("base64");
    await writeFile(join(configDir, "config.json"), JSON.stringify({ auths: { [registry.host]: { auth } } }));
    const cache = await OciCache.open(await tmp());
    const image = await pullImage(
      new RegistryClient({ credentials: new DockerCredentials(configDir) }),
      cache,
      `${registry.host}/team/private:v1`,
    );
    expect(image.manifest.layers).toHaveLength(1);
  });

  test("credentials from a docker-credential helper (credHelpers) work", async () => {
    const configDir = await tmp();
    const bin = await tmp();
    const helper = join(bin, "docker-credential-kilntest");
    await writeFile(
      helper,
      `#!/bin/sh\nread server\nif [ "$server" = "${registry.host}" ]; then echo '{"ServerURL":"'$server'","Username":"kiln","Secret":"s3cret-pass"}'; else echo "credentials not found in native keychain"; exit 1; fi\n`,
    );
    await chmod(helper, 0o755);
    await writeFile(
      join(configDir, "config.json"),
      JSON.stringify({ credHelpers: { [registry.host]: "kilntest" } }),
    );
    const oldPath = process.env.PATH;
    process.env.PATH = `${bin}:${oldPath}`;
    try {
      const cache = await OciCache.open(await tmp());
      const image = await pullImage(
        new RegistryClient({ credentials: new DockerCredentials(configDir) }),
        cache,
        `${registry.host}/team/private:v1`,
      );
      expect(image.fromCache).toBe(false);
    } finally {
      process.env.PATH = oldPath;
    }
  });
});
