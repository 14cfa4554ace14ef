import { mkdir, mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, expect, test } from "vitest";
import { fixVmdkCid } from "./vmdk.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kiln-vmdk-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Set the descriptor's CID line to `value` as qemu-img would print it (no leading zeros). */
async function setCid(path: string, value: string): Promise<void> {
  const fh = await open(path, "r+");
  try {
    const header = Buffer.alloc(512);
    await fh.read(header, 0, 512, 0);
    const offset = Number(header.readBigUInt64LE(28)) * 512;
    const length = Number(header.readBigUInt64LE(36)) * 512;
    const area = Buffer.alloc(length);
    await fh.read(area, 0, length, offset);
    const nul = area.indexOf(0);
    const text = area.toString("latin1", 0, nul).replace(/^CID=[0-9a-f]+$/m, `CID=${value}`);
    // As qemu rewrites a descriptor in place: the new text and its NUL, the old text's tail left behind.
    const out = Buffer.from(area);
    Buffer.from(`${text}\0`, "latin1").copy(out);
    await fh.write(out, 0, length, offset);
  } finally {
    await fh.close();
  }
}

test("the CID is replaced whatever its length, so the file does not depend on qemu-img's random CID", async () => {
  const raw = join(dir, "disk.raw");
  await writeFile(raw, Buffer.alloc(4 << 20, 7));
  const made: Buffer[] = [];
  // qemu-img prints CIDs below 0x10000000 with fewer than 8 digits (1 time in 16).
  for (const [i, cid] of ["1234abcd", "abc", "0"].entries()) {
    // The descriptor names the file, so each copy has the same name in its own directory.
    await mkdir(join(dir, `d${i}`));
    const vmdk = join(dir, `d${i}`, "disk.vmdk");
    const options = "adapter_type=lsilogic,subformat=streamOptimized,compat6";
    await execa("qemu-img", ["convert", "-q", "-f", "raw", "-O", "vmdk", "-o", options, raw, vmdk]);
    await setCid(vmdk, cid);
    await fixVmdkCid(vmdk, "0badf00d");
    made.push(await readFile(vmdk));
  }
  expect(made[0]!.toString("latin1")).toContain("\nCID=0badf00d\n");
  expect(made[1]!.equals(made[0]!)).toBe(true);
  expect(made[2]!.equals(made[0]!)).toBe(true);
  await execa("qemu-img", ["check", join(dir, "d1", "disk.vmdk")]);
});
