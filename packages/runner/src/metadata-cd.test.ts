import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { createMetadataIso } from "./metadata-cd.js";
import { findTool } from "./tools.js";

const dir = mkdtempSync(join(tmpdir(), "kiln-meta-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("the metadata CD is ISO9660, volume cidata, one file config with the bytes, reproducibly", async () => {
  const data = Buffer.from('{"hostname": "minio", "ünïcode": true}\n\0binary\xff');
  const iso = await createMetadataIso(findTool("xorriso"), dir, data);
  expect(iso).toBe(join(dir, "data.iso"));
  const bytes = readFileSync(iso);
  // The primary volume descriptor: sector 16, volume id at offset 40, 32 bytes space-padded.
  expect(bytes.toString("latin1", 16 * 2048 + 1, 16 * 2048 + 6)).toBe("CD001");
  expect(bytes.toString("latin1", 16 * 2048 + 40, 16 * 2048 + 72).trim()).toBe("cidata");
  const listing = execFileSync("xorriso", ["-indev", iso, "-find", "/", "-type", "f"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  expect(listing.trim().split("\n")).toEqual(["'/config'"]);
  execFileSync("xorriso", ["-osirrox", "on", "-indev", iso, "-extract", "/config", join(dir, "out")], {
    stdio: "ignore",
  });
  expect(readFileSync(join(dir, "out"))).toEqual(data);

  await new Promise((r) => setTimeout(r, 1100)); // a later second, so that a timestamp would show
  const again = await createMetadataIso(findTool("xorriso"), dir, data);
  expect(readFileSync(again)).toEqual(bytes);
  expect(
    execFileSync("ls", ["-a", dir], { encoding: "utf8" })
      .split("\n")
      .filter((f) => f.startsWith(".data")),
  ).toEqual([]);
});
