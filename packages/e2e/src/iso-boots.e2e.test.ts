// The appliance's ISO outputs boot too (BIOS via SeaBIOS, UEFI via OVMF), and an appliance started with no
// `--data` makes its own credentials: printed once on the first boot's console, kept on the data disk for the
// next. One disk, two boots: the BIOS ISO first, then the EFI ISO.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Appliance, buildAppliance } from "./appliance.js";
import {
  type BootedAppliance,
  bootAppliance,
  DISK_LEFT_ALONE,
  FORMATTED,
  GENERATED_CREDENTIALS,
  onConsole,
} from "./boot.js";
import { type Credentials, objectSha256, randomObject, s3Client, s3ErrorCode } from "./s3.js";

let appliance: Appliance;
let work: string;
let disk: string;
let vm: BootedAppliance | undefined;
let generated: Credentials | undefined;
const first = randomObject("from-the-bios-iso.bin", 1_500_000);

beforeAll(async () => {
  appliance = await buildAppliance();
  work = await mkdtemp(join(tmpdir(), "kiln-e2e-iso-"));
  disk = join(work, "disk1.img");
}, 60 * 60_000);

afterAll(async () => {
  await vm?.[Symbol.asyncDispose]();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
}, 120_000);

describe("the BIOS ISO, with no --data", () => {
  it(
    "boots, generates credentials, prints them once and serves a bucket with them",
    async () => {
      vm = await bootAppliance({ appliance, format: "iso-bios", disk, label: "iso-bios" });
      const b = vm;
      await onConsole(b, async () => {
        expect(b.vm.console).toMatch(FORMATTED);
        generated = b.target.credentials;
        expect(generated.user).not.toBe("minioadmin");
        expect(generated.password.length).toBeGreaterThanOrEqual(16);
        expect(b.vm.console.match(new RegExp(GENERATED_CREDENTIALS, "g"))?.length).toBe(1);

        const s3 = s3Client(b.target);
        await s3.makeBucket("iso");
        await s3.putObject("iso", first.key, first.body, first.body.length);
        expect(await objectSha256(s3, "iso", first.key)).toBe(first.sha256);

        // MinIO's well-known default must not open this appliance.
        const defaults = s3Client({
          endpoint: b.target.endpoint,
          credentials: { user: "minioadmin", password: "minioadmin" },
        });
        expect(["InvalidAccessKeyId", "AccessDenied"]).toContain(await s3ErrorCode(defaults.listBuckets()));

        expect(await b.vm.stop({ timeoutMs: 120_000 })).toMatchObject({ reason: "poweroff", ok: true });
      });
      await b.saveConsole();
      vm = undefined;
    },
    20 * 60_000,
  );
});

describe("the EFI ISO, on the same disk", () => {
  it(
    "boots under OVMF, keeps the generated credentials without printing them again, and serves the bucket",
    async () => {
      if (generated === undefined)
        throw new Error("the BIOS ISO boot failed, so there are no credentials to reuse");
      vm = await bootAppliance({
        appliance,
        format: "iso-efi",
        disk,
        credentials: generated,
        passAsData: false,
        label: "iso-efi",
      });
      const b = vm;
      await onConsole(b, async () => {
        expect(b.vm.console).not.toMatch(GENERATED_CREDENTIALS);
        expect(b.vm.console).toMatch(DISK_LEFT_ALONE);
        const s3 = s3Client(b.target);
        expect(await objectSha256(s3, "iso", first.key)).toBe(first.sha256);
        const second = randomObject("from-the-efi-iso.bin", 800_000);
        await s3.putObject("iso", second.key, second.body, second.body.length);
        expect(await objectSha256(s3, "iso", second.key)).toBe(second.sha256);
        expect(await b.vm.stop({ timeoutMs: 120_000 })).toMatchObject({ reason: "poweroff", ok: true });
      });
      await b.saveConsole();
      vm = undefined;
    },
    20 * 60_000,
  );
});
