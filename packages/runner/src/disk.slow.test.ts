// A disk made on the first run keeps what the guest wrote into the second, which does not recreate it;
// --data reaches the guest as a CD-ROM it can mount.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BootFixture, fixtureLines, makeBootFixture } from "@kiln/runner/testing";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startVm } from "./start-vm.js";

let fx: BootFixture;
const dir = mkdtempSync(join(tmpdir(), "kiln-disk-run-"));
beforeAll(async () => {
  fx = await makeBootFixture();
});
afterAll(async () => {
  await fx?.[Symbol.asyncDispose]();
  rmSync(dir, { recursive: true, force: true });
});

const fingerprint = (path: string) => {
  const s = statSync(path);
  return {
    ino: s.ino,
    mtimeMs: s.mtimeMs,
    sha: createHash("sha256").update(readFileSync(path)).digest("hex"),
  };
};

test("data written to a new disk survives into a second run, which reuses the same file; --data is /dev/sr0", async () => {
  const disk = join(dir, "disk1.img");
  const state = join(dir, "vm-state");
  const data = 'hello from the host {"answer": 42}';
  const lean = { mem: 512, accel: "tcg", restrict: true, state, disks: [`${disk},size=64M`] } as const;
  {
    await using vm = await startVm({
      prefix: await fx.prefix("w"),
      append: "kiln.test=disk-write,data kiln.token=t0k3n",
      data,
      ...lean,
    });
    expect(vm.notices.some((n) => n.startsWith("created qcow2 disk"))).toBe(true);
    await vm.waitForConsole(/KILN-FIXTURE: data end/, { timeoutMs: 240_000 });
    const lines = fixtureLines(vm.console);
    expect(lines).toContain("disk written");
    expect(lines).toContain("data label cidata");
    expect(lines).toContain("data files config");
    const text = vm.console.replaceAll("\r", "");
    // init.sh prints the file, then a newline of its own, then the end marker.
    expect(text.slice(text.indexOf("data begin\n") + 11, text.indexOf("\nKILN-FIXTURE: data end"))).toBe(
      data,
    );
    await vm.waitForConsole(/KILN-FIXTURE: ready/, { timeoutMs: 60_000 });
    expect((await vm.stop({ timeoutMs: 60_000 })).reason).toBe("poweroff");
  }
  const before = fingerprint(disk);
  {
    await using vm = await startVm({ prefix: await fx.prefix("r"), append: "kiln.test=disk-read", ...lean });
    expect(vm.notices.some((n) => n.startsWith("created"))).toBe(false);
    expect(fingerprint(disk)).toEqual(before); // kiln itself did not touch it
    await vm.waitForConsole(/KILN-FIXTURE: disk says .*/, { timeoutMs: 240_000 });
    expect(fixtureLines(vm.console)).toContain("disk says kiln-disk-t0k3n");
    await vm.waitForConsole(/KILN-FIXTURE: ready/, { timeoutMs: 60_000 });
    expect((await vm.stop({ timeoutMs: 60_000 })).reason).toBe("poweroff");
  }
  expect(statSync(disk).ino).toBe(before.ino);
  // The state directory kept the VM's identity across the runs, LinuxKit's mac-addr among it.
  expect(readFileSync(join(state, "mac-addr"), "utf8")).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  expect(readFileSync(join(state, "console.log.1"), "utf8")).toContain("disk written");
});
