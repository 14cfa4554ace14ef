import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { SpecError } from "./errors.js";
import { loadConfig } from "./load.js";

// Our own fixtures, shaped like LinuxKit v1.8.2's examples/ folder (see /work/research/linuxkit-config.md §12).
const DIR = new URL("./testdata/linuxkit-examples/", import.meta.url);
const INVALID = "static-ip-invalid.yml";

const EXPECTED = [
  "addbinds",
  "cadvisor",
  "containerd-debug",
  "dm-crypt-loop",
  "dm-crypt",
  "docker-for-mac",
  "docker",
  "getty",
  "hostmount-writeable-overlay",
  "influxdb-os",
  "logging",
  "minimal",
  "node_exporter",
  "openstack",
  "platform-aws",
  "platform-azure",
  "platform-equinixmetal.arm64",
  "platform-equinixmetal",
  "platform-gcp",
  "platform-hetzner",
  "platform-rt-for-vmware",
  "platform-scaleway",
  "platform-vmware",
  "platform-vultr",
  "redis-os",
  "sshd",
  "swap",
  "tpm",
  "volumes",
  "vpnkit-forwarder",
  "vsudd-containerd",
  "wireguard",
].map((n) => `${n}.yml`);

function source(name: string): { name: string; text: string } {
  const url = new URL(name, DIR);
  return { name: fileURLToPath(url), text: readFileSync(url, "utf8") };
}

const fixtures = readdirSync(DIR)
  .filter((f) => f.endsWith(".yml") && f !== INVALID)
  .sort();

describe("LinuxKit-shaped examples", () => {
  test("there is one fixture per LinuxKit example", () => {
    expect(fixtures).toEqual([...EXPECTED].sort());
  });

  test.each(fixtures)("%s validates and keeps every section it has", (name) => {
    const src = source(name);
    const { config } = loadConfig([src]);
    const sections = Object.keys(parse(src.text) as Record<string, unknown>).sort();
    expect(Object.keys(config).sort()).toEqual(sections);
  });

  test("a column-0 comment inside a literal block is rejected with a line number", () => {
    let error: unknown;
    try {
      loadConfig([source(INVALID)]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SpecError);
    const issues = (error as SpecError).issues;
    expect(issues.length).toBeGreaterThan(0);
    // The first problem is on the line after the comment, or on the comment itself.
    const lines = source(INVALID).text.split("\n");
    const comment = lines.findIndex((l) => l.startsWith("# options")) + 1;
    expect(issues[0]!.line).toBeGreaterThanOrEqual(comment);
    expect(issues[0]!.line).toBeLessThanOrEqual(comment + 1);
  });

  test("the arm64 fragment merged after the base keeps init and overrides the kernel fields it sets", () => {
    const base = source("platform-equinixmetal.yml");
    const arm = source("platform-equinixmetal.arm64.yml");
    const alone = loadConfig([base]).config;
    const { config } = loadConfig([base, arm]);
    expect(config.init).toEqual(alone.init);
    expect(config.init).toHaveLength(5);
    expect(config.kernel?.cmdline).toBe("console=ttyAMA0,115200");
    expect(config.kernel?.ucode).toBe("");
    expect(config.kernel?.image).toBe(alone.kernel?.image);
    expect(alone.kernel?.ucode).toBe("intel-ucode.cpio");
    // Lists append: the fragment's onboot entry comes after the base's.
    expect(config.onboot?.map((o) => o.name)).toEqual([
      ...(alone.onboot ?? []).map((o) => o.name),
      "modprobe",
    ]);
    expect(config.services).toEqual(alone.services);
    expect(config.files).toEqual(alone.files);
  });

  test("examples/minio.yml validates", () => {
    const url = new URL("../../../examples/minio.yml", import.meta.url);
    const { config } = loadConfig([{ name: fileURLToPath(url), text: readFileSync(url, "utf8") }]);
    expect(config.kernel).toBeDefined();
    expect(config.services?.length).toBeGreaterThan(0);
  });
});
