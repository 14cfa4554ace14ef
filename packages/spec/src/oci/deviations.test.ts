// Behaviours where kiln differs from LinuxKit v1.8.2 on purpose (docs/compatibility.md).
// Each test states what LinuxKit does and what kiln does instead.
import { describe, expect, test } from "vitest";
import { loadConfig } from "../load.js";
import { planBundles } from "./bundles.js";

function bundle(yaml: string, name = "app") {
  const { config } = loadConfig([{ name: "d.yml", text: yaml }]);
  const b = planBundles(config, () => ({ Entrypoint: ["/x"] })).find((x) => x.name === name);
  if (!b) throw new Error(`no bundle ${name}`);
  return b;
}

describe("deliberate differences from LinuxKit", () => {
  test("uid/gid mappings keep containerID and hostID (LinuxKit writes 0 for both)", () => {
    const b = bundle(
      "services:\n  - name: app\n    image: a\n    userns: new\n    uidMappings: [{containerID: 0, hostID: 1000, size: 65536}]\n",
    );
    expect(b.spec.linux.uidMappings).toEqual([{ containerID: 0, hostID: 1000, size: 65536 }]);
  });

  test("camelCase resource keys take effect (LinuxKit accepts and silently drops them)", () => {
    const b = bundle(
      [
        "services:",
        "  - name: app",
        "    image: a",
        "    resources:",
        "      memory: {limit: 10, kernelTCP: 5, disableOOMKiller: true}",
        "      cpu: {realtimeRuntime: 1, realtimePeriod: 2}",
        "      blockio: {leafWeight: 10, weightDevice: [{major: 8, minor: 0, weight: 100}], throttleReadBpsDevice: [{major: 8, minor: 0, rate: 1024}]}",
        "      hugepageLimits: [{pageSize: 2MB, limit: 1024}]",
        "      network: {classID: 7}",
      ].join("\n"),
    );
    expect(b.spec.linux.resources).toEqual({
      memory: { limit: 10, kernelTCP: 5, disableOOMKiller: true },
      cpu: { realtimeRuntime: 1, realtimePeriod: 2 },
      blockIO: {
        leafWeight: 10,
        weightDevice: [{ major: 8, minor: 0, weight: 100 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1024 }],
      },
      hugepageLimits: [{ pageSize: "2MB", limit: 1024 }],
      network: { classID: 7 },
    });
  });

  test("`none` is a new namespace for ipc, uts and userns too (LinuxKit joins a namespace at the path `none`)", () => {
    const b = bundle(
      "services:\n  - name: app\n    image: a\n    ipc: none\n    uts: none\n    userns: none\n    net: none\n",
    );
    expect(b.spec.linux.namespaces).toEqual([
      { type: "network" },
      { type: "ipc" },
      { type: "uts" },
      { type: "pid" },
      { type: "user" },
      { type: "mount" },
    ]);
  });

  test("a bind mount whose source is a volume points at the volume (LinuxKit leaves the bare name)", () => {
    const b = bundle(
      "volumes: [{name: data}]\nservices:\n  - name: app\n    image: a\n    mounts: [{type: bind, source: data, destination: /data, options: [rbind]}]\n",
    );
    expect(b.spec.mounts.find((m) => m.destination === "/data")).toEqual({
      destination: "/data",
      type: "bind",
      source: "/containers/volumes/data/merged",
      options: ["rbind"],
    });
  });

  test("volumes declared in an earlier file can be bound from a later one (LinuxKit only sees the last file's)", () => {
    const { config } = loadConfig([
      { name: "base.yml", text: "volumes: [{name: data}]\n" },
      { name: "app.yml", text: "services:\n  - name: app\n    image: a\n    binds: [data:/data]\n" },
    ]);
    const [b] = planBundles(config, () => ({}));
    expect(b!.spec.mounts.find((m) => m.destination === "/data")?.source).toBe(
      "/containers/volumes/data/merged",
    );
  });

  test("`alpine` and `alpine:latest` are the same image and are unpacked once (LinuxKit unpacks both)", () => {
    const { config } = loadConfig([
      {
        name: "d.yml",
        text: "onboot:\n  - {name: a, image: alpine}\n  - {name: b, image: 'alpine:latest'}\n",
      },
    ]);
    const [a, b] = planBundles(config, () => ({}));
    expect(a!.unpacksImage).toBe(true);
    expect(b!.unpacksImage).toBe(false);
    expect(b!.placement.root).toBe("containers/onboot/000-a/lower");
  });
});

describe("LinuxKit behaviours kiln keeps", () => {
  test("label and YAML lists are concatenated with duplicates kept, as LinuxKit's mergeStrings does", () => {
    const { config } = loadConfig([
      { name: "d.yml", text: "services:\n  - name: app\n    image: a\n    capabilities.add: [CAP_CHOWN]\n" },
    ]);
    const [b] = planBundles(config, () => ({
      Labels: { "org.mobyproject.config": '{"capabilities":["CAP_CHOWN","CAP_KILL"]}' },
    }));
    expect(b!.spec.process.capabilities.effective).toEqual(["CAP_CHOWN", "CAP_KILL", "CAP_CHOWN"]);
    expect(b!.spec.process.capabilities.bounding).toEqual(["CAP_CHOWN", "CAP_KILL"]);
  });

  test("env replaces the image's environment, PATH included", () => {
    const { config } = loadConfig([
      { name: "d.yml", text: "services:\n  - {name: app, image: a, env: [A=1]}\n" },
    ]);
    const [b] = planBundles(config, () => ({ Env: ["PATH=/bin"] }));
    expect(b!.spec.process.env).toEqual(["A=1"]);
  });

  test("an invalid label names the image and the field", () => {
    const { config } = loadConfig([{ name: "d.yml", text: "services:\n  - {name: app, image: a}\n" }]);
    expect(() =>
      planBundles(config, () => ({ Labels: { "org.mobyproject.config": '{"capabilites":["CAP_CHOWN"]}' } })),
    ).toThrow("image docker.io/library/a:latest: its org.mobyproject.config label is invalid");
    expect(() =>
      planBundles(config, () => ({ Labels: { "org.mobyproject.config": '{"name":"x"}' } })),
    ).toThrow("name cannot be set in a label");
    expect(() =>
      planBundles(config, () => ({
        Labels: { "org.mobyproject.config": '{"capabilities":["all","CAP_X"]}' },
      })),
    ).toThrow(
      "services[0] (docker.io/library/a:latest): container app: unknown capability in capabilities: all",
    );
  });
});
