import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DISK_LEFT_ALONE, FORMATTED } from "./boot.js";
import {
  bootFixture,
  buildFixture,
  countMatches,
  type FixtureAppliance,
  inOrder,
} from "./fixture-appliance.js";

// The base images (images/init, runc, format, mount, containerd, ca-certificates) proved by booting the small
// appliances in fixtures/ under QEMU, built by the real `kiln build` and booted by `startVm`. TCG boots take
// 15-40 s on a loaded 2-core machine; every wait below has several times that.

const execFileAsync = promisify(execFile);
const BOOT_MS = 4 * 60_000;
const STOP_MS = 90_000;

describe.sequential("base images boot under QEMU", () => {
  test(
    "a minimal appliance runs onboot in order, then its service, then onshutdown at poweroff",
    async () => {
      const fixture = await buildFixture("minimal");
      await using booted = await bootFixture(fixture, "base-images-minimal");
      const { vm } = booted;
      await booted.check(async () => {
        await vm.waitForConsole(/\[sleeper\] kiln-test: sleeper up/, { timeoutMs: BOOT_MS });
        inOrder(vm.console, [
          /kiln-init: onboot 000-first: started/,
          /\[000-first\] kiln-test: first ran/,
          /kiln-init: onboot 000-first: exited 0/,
          /kiln-init: onboot 001-second: started/,
          /\[001-second\] kiln-test: second ran/,
          // A failing onboot container is reported with its status, and the boot goes on.
          /kiln-init: onboot 001-second: exited 3/,
          /kiln-init: service sleeper: started/,
          /\[sleeper\] kiln-test: sleeper up/,
        ]);
        // Nothing of shutdown has happened yet.
        expect(vm.console).not.toMatch(/goodbye/);

        const before = vm.consoleLength;
        const exit = await vm.stop({ timeoutMs: STOP_MS });
        const shutdown = vm.console.slice(before);
        const [, , goodbyeExited, off] = inOrder(shutdown, [
          /kiln-init: onshutdown 000-goodbye: started/,
          /\[000-goodbye\] kiln-test: goodbye ran/,
          /kiln-init: onshutdown 000-goodbye: exited 0/,
          /kiln-init: powering off/,
        ]);
        // Services get SIGTERM only after onshutdown, and before the power goes. The service's last line and init's
        // report of its exit come through different pipes, so their relative order is not fixed.
        const terminated = shutdown.slice(goodbyeExited, off);
        expect(terminated).toMatch(/\[sleeper\] kiln-test: sleeper got SIGTERM/);
        expect(terminated).toMatch(/kiln-init: service sleeper: exited 0/);
        expect(exit).toMatchObject({ reason: "poweroff", ok: true, code: 0 });
      });
    },
    50 * 60_000,
  );

  describe.sequential("format and mount keep one data disk across two boots", () => {
    let fixture: FixtureAppliance;
    let workDir: string;
    let disk: string;
    let marker: string;

    beforeAll(async () => {
      fixture = await buildFixture("minimal-format");
      workDir = await mkdtemp(join(tmpdir(), "kiln-base-images-"));
      disk = join(workDir, "data.img");
    }, 50 * 60_000);
    afterAll(async () => {
      if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
    });

    test(
      "first boot: the runner creates a blank disk, format partitions and formats it, mount mounts it",
      async () => {
        expect(existsSync(disk), "the disk exists before the first boot").toBe(false);
        await using booted = await bootFixture(fixture, "base-images-format-1", {
          disks: [`${disk},size=64M,format=raw`],
        });
        const { vm } = booted;
        await booted.check(async () => {
          const m = await vm.waitForConsole(/\[002-marker\] kiln-test: marker written: ([0-9a-f]{16})/, {
            timeoutMs: BOOT_MS,
          });
          marker = m[1]!;
          await vm.waitForConsole(/kiln-init: onboot 002-marker: exited/, { timeoutMs: 60_000 });
          inOrder(vm.console, [
            /kiln-init: onboot 000-format: started/,
            new RegExp(`\\[000-format\\] ${FORMATTED.source}`),
            /kiln-init: onboot 000-format: exited 0/,
            /\[001-mount\] mountie: mounted \S+ \(ext4\) on \/var\/exports/,
            /kiln-init: onboot 001-mount: exited 0/,
            /\[002-marker\] kiln-test: marker written/,
            /kiln-init: onboot 002-marker: exited 0/,
          ]);
          expect(await vm.stop({ timeoutMs: STOP_MS })).toMatchObject({
            reason: "poweroff",
            ok: true,
            code: 0,
          });
        });
        // Seen from the host: the disk the runner made has the size asked for and now one Linux partition.
        expect((await stat(disk)).size).toBe(64 * 1024 * 1024);
        const { stdout } = await execFileAsync("sfdisk", ["--json", disk]);
        const table = (JSON.parse(stdout) as { partitiontable: { partitions: { type: string }[] } })
          .partitiontable;
        expect(table.partitions.map((p) => p.type)).toEqual(["83"]);
      },
      10 * 60_000,
    );

    test(
      "second boot: format leaves the disk alone and the marker is still there",
      async () => {
        expect(marker, "the first boot wrote no marker").toBeDefined();
        await using booted = await bootFixture(fixture, "base-images-format-2", {
          disks: [`${disk},size=64M,format=raw`],
        });
        const { vm } = booted;
        await booted.check(async () => {
          const m = await vm.waitForConsole(
            /\[002-marker\] kiln-test: marker (found|written): ([0-9a-f]{16})/,
            {
              timeoutMs: BOOT_MS,
            },
          );
          expect(m[0]).toBe(`[002-marker] kiln-test: marker found: ${marker}`);
          inOrder(vm.console, [
            /kiln-init: onboot 000-format: started/,
            /\[000-format\] format: \S+ holds .*: skipping it/,
            /kiln-init: onboot 000-format: exited 0/,
            /\[001-mount\] mountie: mounted \S+ \(ext4\) on \/var\/exports/,
          ]);
          expect(vm.console).toMatch(DISK_LEFT_ALONE);
          expect(vm.console).not.toMatch(FORMATTED);
          expect(await vm.stop({ timeoutMs: STOP_MS })).toMatchObject({
            reason: "poweroff",
            ok: true,
            code: 0,
          });
        });
      },
      10 * 60_000,
    );
  });

  test(
    "the seed post's init list (init, runc, containerd, ca-certificates) starts the service once",
    async () => {
      // The first run builds the containerd image (about 40 MiB of Debian packages) into the shared cache.
      const fixture = await buildFixture("minimal-seed");
      await using booted = await bootFixture(fixture, "base-images-seed");
      const { vm } = booted;
      await booted.check(async () => {
        await vm.waitForConsole(/\[sleeper\] kiln-test: sleeper up/, { timeoutMs: BOOT_MS });
        inOrder(vm.console, [
          /containerd is installed but not started/,
          /kiln-init: service sleeper: started/,
        ]);
        // A second start (an init.d hook, containerd restoring a task) would come right after the first.
        await new Promise((r) => setTimeout(r, 5_000));
        expect(await vm.stop({ timeoutMs: STOP_MS })).toMatchObject({
          reason: "poweroff",
          ok: true,
          code: 0,
        });
        expect(countMatches(vm.console, /kiln-init: service sleeper: started/)).toBe(1);
        expect(countMatches(vm.console, /\[sleeper\] kiln-test: sleeper up/)).toBe(1);
        const certs = /\[sleeper\] kiln-test: ca bundle (\d+) certificates/.exec(vm.console);
        expect(Number(certs?.[1] ?? 0), "certificates the service sees in /etc/ssl/certs").toBeGreaterThan(
          100,
        );
      });
    },
    50 * 60_000,
  );
});
