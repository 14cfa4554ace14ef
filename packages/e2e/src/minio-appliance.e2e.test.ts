// The MinIO appliance of examples/minio.yml, end to end and for real: built by `kiln build`, booted in QEMU
// (TCG here) with a 4 GiB data disk, used with the `minio` client from the host and with `mc` in containers as
// the 2017 seed post did, then powered off, killed and booted again on the same disk.
//
// Boots are expensive under TCG, so this file boots one disk three times and its describe blocks run in
// order, each continuing from the state the previous one left: buckets → mirroring → persistence → crash safety.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startDockerEngine } from "@kiln/builder/testing";
import type { Client } from "minio";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Appliance, buildAppliance } from "./appliance.js";
import {
  type BootedAppliance,
  bootAppliance,
  CREDENTIALS_FROM_DATA,
  DISK_LEFT_ALONE,
  diskVirtualSize,
  FORMATTED,
  onConsole,
  SERVICE_STARTED,
} from "./boot.js";
import { useDockerEngine } from "./docker.js";
import { Mc } from "./mc.js";
import { loadMcImage } from "./mc-image.js";
import {
  type Credentials,
  chunked,
  describeError,
  listAll,
  type ObjectSpec,
  objectSha256,
  randomObject,
  s3Client,
  s3ErrorCode,
  sha256Hex,
} from "./s3.js";
import { recordTiming } from "./timings.js";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

let appliance: Appliance;
let mcImage: string;
let work: string;
let disk: string;
let vm: BootedAppliance | undefined;
const credentials: Credentials = {
  user: `e2e${randomBytes(4).toString("hex")}`,
  password: randomBytes(18).toString("base64url"),
};

/** Every bucket the appliance acknowledged creating. */
const buckets = new Set<string>();
async function makeBucket(b: BootedAppliance, name: string): Promise<void> {
  await s3Client(b.target).makeBucket(name);
  buckets.add(name);
}

/** Every object the appliance acknowledged, with its checksum: what must survive power-offs and crashes. */
const acknowledged = new Map<string, { bucket: string; key: string; sha256: string }>();
function remember(bucket: string, o: ObjectSpec): void {
  acknowledged.set(`${bucket}/${o.key}`, { bucket, key: o.key, sha256: o.sha256 });
}

async function boot(label: string): Promise<BootedAppliance> {
  await vm?.[Symbol.asyncDispose]();
  vm = undefined;
  vm = await bootAppliance({ appliance, format: "kernel+initrd", disk, credentials, label });
  return vm;
}

function current(): BootedAppliance {
  if (vm === undefined) throw new Error("the appliance is not running: an earlier step failed to boot it");
  return vm;
}

beforeAll(async () => {
  appliance = await buildAppliance();
  const docker = await startDockerEngine();
  useDockerEngine(docker.host);
  mcImage = await loadMcImage(docker.engine);
  work = await mkdtemp(join(tmpdir(), "kiln-e2e-"));
  disk = join(work, "disk1.img");
}, 60 * 60_000);

afterAll(async () => {
  await vm?.[Symbol.asyncDispose]();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
}, 120_000);

describe("buckets", () => {
  beforeAll(async () => {
    const b = await boot("buckets");
    await onConsole(b, async () => {
      // The runner creates the missing disk at the requested size; the appliance formats it on first boot.
      expect(await diskVirtualSize(disk)).toBe(4 * GiB);
      expect(b.vm.console).toMatch(FORMATTED);
      expect(b.vm.console).toMatch(CREDENTIALS_FROM_DATA);
    });
  }, 15 * 60_000);

  it("creates a bucket, and puts, gets, lists and deletes objects", async () => {
    const b = current();
    await onConsole(b, async () => {
      const s3 = s3Client(b.target);
      await makeBucket(b, "photos");
      expect((await s3.listBuckets()).map((x) => x.name)).toContain("photos");

      const objects = [
        randomObject("2017/04/27/breakout.jpg", 300_000),
        randomObject("2017/04/27/notes.txt", 1_234),
        randomObject("empty", 0),
      ];
      for (const o of objects) {
        await s3.putObject("photos", o.key, o.body, o.body.length);
        remember("photos", o);
      }
      for (const o of objects) expect(await objectSha256(s3, "photos", o.key), o.key).toBe(o.sha256);

      const listed = await listAll(s3, "photos");
      expect(listed.map((x) => [x.name, x.size]).sort()).toEqual(
        objects.map((o) => [o.key, o.body.length]).sort(),
      );
      expect((await listAll(s3, "photos", "2017/")).map((x) => x.name).sort()).toEqual([
        "2017/04/27/breakout.jpg",
        "2017/04/27/notes.txt",
      ]);

      await s3.removeObject("photos", "2017/04/27/notes.txt");
      acknowledged.delete("photos/2017/04/27/notes.txt");
      expect(await s3ErrorCode(s3.statObject("photos", "2017/04/27/notes.txt"))).toBe("NotFound");
      expect((await listAll(s3, "photos")).map((x) => x.name).sort()).toEqual([
        "2017/04/27/breakout.jpg",
        "empty",
      ]);
    });
  });

  it(
    "stores a 72 MiB multipart upload intact",
    async () => {
      const b = current();
      await onConsole(b, async () => {
        // 16 MiB parts force a five-part upload; the ETag's "-5" suffix proves the server assembled parts.
        const s3 = s3Client(b.target, { partSize: 16 * MiB });
        await makeBucket(b, "big");
        const o = randomObject("disk-image.raw", 72 * MiB);
        // A stream, not a Buffer: the client uploads Buffers in one request whatever their size.
        const info = await s3.putObject("big", o.key, chunked(o.body, MiB), o.body.length);
        remember("big", o);
        expect(info.etag).toMatch(/-5$/);
        const st = await s3.statObject("big", o.key);
        expect(st.size).toBe(72 * MiB);
        expect(await objectSha256(s3, "big", o.key)).toBe(o.sha256);
      });
    },
    15 * 60_000,
  );

  it("refuses wrong credentials", async () => {
    const b = current();
    await onConsole(b, async () => {
      const wrongPassword = s3Client({
        endpoint: b.target.endpoint,
        credentials: { user: credentials.user, password: `${credentials.password}x` },
      });
      const unknownUser = s3Client({
        endpoint: b.target.endpoint,
        credentials: { user: "nobody-here", password: credentials.password },
      });
      expect(["SignatureDoesNotMatch", "AccessDenied"]).toContain(
        await s3ErrorCode(wrongPassword.listBuckets()),
      );
      expect(["InvalidAccessKeyId", "AccessDenied"]).toContain(await s3ErrorCode(unknownUser.listBuckets()));
      expect(["InvalidAccessKeyId", "AccessDenied"]).toContain(
        await s3ErrorCode(unknownUser.putObject("photos", "intruder", Buffer.from("x"), 1)),
      );
      // The refused write left nothing behind.
      const s3 = s3Client(b.target);
      expect((await listAll(s3, "photos")).map((x) => x.name)).not.toContain("intruder");
    });
  });
});

describe("mirroring with mc, as the seed post", () => {
  let mc: Mc;
  let downloads: string;
  let out: string;

  beforeAll(async () => {
    const dirs = join(work, "mc");
    downloads = join(dirs, "Downloads");
    out = join(dirs, "out");
    await mkdir(join(dirs, "config"), { recursive: true });
    await mkdir(downloads, { recursive: true });
    await mkdir(out, { recursive: true });
    mc = new Mc(mcImage, join(dirs, "config"));
  });

  it(
    "mc mirror --watch uploads the folder, then a file added while it watches",
    async () => {
      const b = current();
      await onConsole(b, async () => {
        const initial = [randomObject("report.pdf", 2 * MiB), randomObject("music/track01.flac", 700_000)];
        for (const o of initial) {
          await mkdir(join(downloads, o.key, ".."), { recursive: true });
          await writeFile(join(downloads, o.key), o.body);
        }

        await mc.run(["alias", "set", "s3", b.target.endpoint, credentials.user, credentials.password]);
        await mc.run(["mb", "s3/downloads"]);
        buckets.add("downloads");
        await using watcher = await mc.start(
          ["mirror", "--watch", "/data", "s3/downloads"],
          [{ source: downloads, target: "/data", mode: "ro" }],
        );

        const s3 = s3Client(b.target);
        const alive = () => watcher.assertRunning();
        await eventually(
          120_000,
          async () => {
            const names = (await listAll(s3, "downloads")).map((x) => x.name).sort();
            expect(names).toEqual(initial.map((o) => o.key).sort());
          },
          alive,
        );
        for (const o of initial) expect(await objectSha256(s3, "downloads", o.key), o.key).toBe(o.sha256);

        // "download another file and you'll see it get synced up automatically"
        const late = randomObject("late-download.iso", 3 * MiB);
        const before = Date.now();
        await writeFile(join(downloads, late.key), late.body);
        await eventually(
          30_000,
          async () => expect(await objectSha256(s3, "downloads", late.key)).toBe(late.sha256),
          alive,
        );
        const ms = Date.now() - before;
        await recordTiming("mc-watch-latency", ms, "a file added to the watched folder, readable from S3");
        expect(ms / 1000, "a watched file should arrive within seconds").toBeLessThan(30);
        for (const o of [...initial, late]) remember("downloads", o);
      });
    },
    10 * 60_000,
  );

  it(
    "mc mirror pulls the bucket down into another folder, every checksum matching",
    async () => {
      const b = current();
      await onConsole(b, async () => {
        await mc.run(["mirror", "s3/downloads", "/out"], [{ source: out, target: "/out", mode: "rw" }]);
        const expected = [...acknowledged.values()].filter((o) => o.bucket === "downloads");
        expect(expected.length).toBe(3);
        const pulled = await walkFiles(out);
        expect(pulled.sort()).toEqual(expected.map((o) => o.key).sort());
        for (const o of expected) expect(sha256Hex(await readFile(join(out, o.key))), o.key).toBe(o.sha256);
      });
    },
    10 * 60_000,
  );
});

describe("persistence across a graceful power-off", () => {
  const marker = randomObject(".kiln-e2e/marker", 4_096);

  it(
    "powers off cleanly when asked",
    async () => {
      const b = current();
      await onConsole(b, async () => {
        const s3 = s3Client(b.target);
        await makeBucket(b, "kiln-e2e");
        await s3.putObject("kiln-e2e", marker.key, marker.body, marker.body.length);
        remember("kiln-e2e", marker);
        const exit = await b.vm.stop({ timeoutMs: 120_000 });
        expect(exit, "QEMU should exit by itself after the ACPI power-down").toMatchObject({
          reason: "poweroff",
          ok: true,
        });
        expect(b.vm.console).toMatch(/kiln-init: powering off/);
      });
      await b.saveConsole();
      vm = undefined;
    },
    5 * 60_000,
  );

  it(
    "boots again on the same disk without reformatting it, with every object and the credentials intact",
    async () => {
      if (!acknowledged.has(`kiln-e2e/${marker.key}`)) {
        throw new Error("the first boot stored no marker object, so there is no persistence to check");
      }
      const diskBefore = await stat(disk);
      const b = await boot("persistence");
      await onConsole(b, async () => {
        expect((await stat(disk)).ino, "the runner must reuse the disk, not recreate it").toBe(
          diskBefore.ino,
        );
        expect(b.vm.console).toMatch(SERVICE_STARTED);
        const s3 = s3Client(b.target);
        expect(await objectSha256(s3, "kiln-e2e", marker.key)).toBe(marker.sha256);
        expect(await damagedObjects(s3), "acknowledged objects missing or changed").toEqual([]);
        expect((await s3.listBuckets()).map((x) => x.name).sort()).toEqual([...buckets].sort());
        expect(b.vm.console, "the format container must leave a disk in use alone").toMatch(DISK_LEFT_ALONE);
        expect(b.vm.console).not.toMatch(FORMATTED);
      });
    },
    15 * 60_000,
  );
});

describe("crash safety", () => {
  it(
    "keeps every acknowledged object when QEMU is SIGKILLed",
    async () => {
      const b = current();
      await onConsole(b, async () => {
        const s3 = s3Client(b.target);
        await makeBucket(b, "crash");
        // Each put resolves only when MinIO has answered 200: those are the writes a crash must not lose.
        for (let i = 0; i < 20; i++) {
          const o = randomObject(`burst/${String(i).padStart(2, "0")}.bin`, 64 * 1024 + i * 997);
          await s3.putObject("crash", o.key, o.body, o.body.length);
          remember("crash", o);
        }
        const big = randomObject("burst/big.bin", 24 * MiB);
        await s3.putObject("crash", big.key, big.body, big.body.length);
        remember("crash", big);
        // SIGKILL, not the runner's kill() (SIGTERM first): QEMU gets no chance to do anything on the way out.
        process.kill(b.vm.pid, "SIGKILL");
        expect((await b.vm.exited).signal).toBe("SIGKILL");
      });
      await b.saveConsole();
      vm = undefined;

      const after = await boot("crash-safety");
      await onConsole(after, async () => {
        const s3 = s3Client(after.target);
        expect(await damagedObjects(s3), "acknowledged objects missing or changed").toEqual([]);
        expect((await listAll(s3, "crash")).length).toBe(21);
      });
    },
    20 * 60_000,
  );
});

/** The acknowledged objects that are gone or whose bytes changed, each with what is wrong. */
async function damagedObjects(s3: Client): Promise<string[]> {
  const damaged: string[] = [];
  for (const o of acknowledged.values()) {
    try {
      if ((await objectSha256(s3, o.bucket, o.key)) !== o.sha256)
        damaged.push(`${o.bucket}/${o.key}: changed`);
    } catch (err) {
      damaged.push(describeError(err));
    }
  }
  return damaged;
}

/**
 * Retries `check` until it passes or `timeoutMs` is over, then throws its last failure. `guard` runs before each
 * try and fails at once (e.g. the watcher died: waiting longer cannot help).
 */
async function eventually(
  timeoutMs: number,
  check: () => Promise<void>,
  guard?: () => Promise<void>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await guard?.();
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await sleep(500);
  }
}

async function walkFiles(dir: string, prefix = ""): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...(await walkFiles(join(dir, e.name), `${prefix}${e.name}/`)));
    else out.push(`${prefix}${e.name}`);
  }
  return out;
}
