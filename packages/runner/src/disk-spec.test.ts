import { UsageError } from "@kiln/spec";
import { describe, expect, test } from "vitest";
import { parseDiskSpec } from "./disk-spec.js";
import { formatSize, parseSize } from "./size.js";

const GiB = 2 ** 30;
const MiB = 2 ** 20;

describe("parseSize", () => {
  test.for([
    ["4G", 4 * GiB],
    ["4096M", 4096 * MiB],
    ["512MiB", 512 * MiB],
    ["2GB", 2 * GiB],
    ["1.5G", 1.5 * GiB],
    ["1T", 1024 * GiB],
    ["65536K", 64 * MiB],
    ["4g", 4 * GiB],
  ] as const)("%s is %d bytes", ([text, bytes]) => {
    expect(parseSize(text, "G", "size").bytes).toBe(bytes);
  });

  test("a bare number is in the unit the flag reads it in", () => {
    expect(parseSize("4", "G", "size").bytes).toBe(4 * GiB);
    expect(parseSize("4096", "M", "--disk-size").bytes).toBe(4096 * MiB);
  });

  test("a bare number that looks like MiB where GiB is meant warns, and still means GiB", () => {
    const r = parseSize("4096", "G", "--disk d.img: size");
    expect(r.bytes).toBe(4096 * GiB);
    expect(r.warning).toMatch(/4096 GiB.*4096M/);
    expect(parseSize("8", "G", "size").warning).toBeUndefined();
    expect(parseSize("4096M", "G", "size").warning).toBeUndefined();
    expect(parseSize("4096", "M", "size").warning).toBeUndefined();
  });

  test.for(["", "big", "4X", "-1G", "1.2.3G", "0", "100K"])("%j is refused", (text) => {
    expect(() => parseSize(text, "G", "size")).toThrow(UsageError);
  });

  test("formatSize", () => {
    expect(formatSize(4 * GiB)).toBe("4 GiB");
    expect(formatSize(1536 * MiB)).toBe("1.5 GiB");
    expect(formatSize(64 * MiB)).toBe("64 MiB");
  });
});

describe("parseDiskSpec", () => {
  test.for([
    ["disk1.img", { path: "disk1.img" }],
    ["file=disk1.img", { path: "disk1.img" }],
    ["disk1.img,size=4G", { path: "disk1.img", sizeBytes: 4 * GiB }],
    ["file=d.qcow2,size=512M,format=qcow2", { path: "d.qcow2", sizeBytes: 512 * MiB, format: "qcow2" }],
    ["size=1G", { sizeBytes: GiB }],
    ["d.raw,format=raw,if=ide", { path: "d.raw", format: "raw", interface: "ide" }],
    ["/abs/path/x.img,size=2", { path: "/abs/path/x.img", sizeBytes: 2 * GiB }],
  ] as const)("%s", ([text, spec]) => {
    expect(parseDiskSpec(text)).toEqual(spec);
  });

  test("a MiB-looking bare size is passed to warn", () => {
    const warnings: string[] = [];
    expect(parseDiskSpec("d.img,size=4096", (w) => warnings.push(w)).sizeBytes).toBe(4096 * GiB);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("--disk d.img,size=4096");
  });

  test.for([
    ["d.img,format=vdi", /unknown format "vdi"/],
    ["d.img,colour=red", /unknown key "colour"/],
    ["d.img,if=nvme", /unknown interface/],
    ["format=raw", /needs a file or a size/],
    ["a.img,file=b.img", /more than one file/],
    ["d.img,size=lots", /not a size/],
  ] as const)("%s is a usage error", ([text, message]) => {
    expect(() => parseDiskSpec(text)).toThrow(message);
    try {
      parseDiskSpec(text);
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
    }
  });
});
