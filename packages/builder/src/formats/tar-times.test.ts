import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack } from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applianceTar } from "../testing/boot-fixture.js";
import { newestMtime } from "./tar-times.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kiln-tar-times-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("newestMtime", () => {
  it("finds the newest entry time, bodies skipped", async () => {
    const tar = join(dir, "a.tar");
    await applianceTar(tar, [
      { name: "old", content: Buffer.alloc(70_000), mtime: new Date("2001-01-01T00:00:00Z") },
      { name: "dir", type: "directory", mtime: new Date("2024-05-06T07:08:09Z") },
      { name: "dir/new", content: "x", mtime: new Date("2019-01-01T00:00:00Z") },
    ]);
    expect(await newestMtime(tar)).toBe(Date.UTC(2024, 4, 6, 7, 8, 9) / 1000);
  });

  it("prefers a PAX mtime record to the header's", async () => {
    const p = pack();
    const chunks: Buffer[] = [];
    p.on("data", (c: unknown) => chunks.push(c as Buffer));
    const done = new Promise<void>((resolve) => p.on("end", () => resolve()));
    p.entry({ name: "f", mtime: new Date(0), pax: { mtime: "2000000000.75" } }, "body");
    p.finalize();
    await done;
    const tar = join(dir, "pax.tar");
    await writeFile(tar, Buffer.concat(chunks));
    expect(await newestMtime(tar)).toBe(2000000000);
  });

  it("has no answer for an empty tar", async () => {
    const tar = join(dir, "empty.tar");
    await writeFile(tar, Buffer.alloc(1024));
    expect(await newestMtime(tar)).toBeUndefined();
  });
});
