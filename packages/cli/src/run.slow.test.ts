// kiln run, ps, logs and stop through the real binary and real QEMU (TCG), on the runner's boot fixture.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type BootFixture, makeBootFixture } from "@kiln/runner/testing";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { kiln } from "./test-helpers.js";

const vms = mkdtempSync(join(tmpdir(), "kiln-vms-"));
process.env.KILN_VMS_DIR = vms;
const lean = ["--mem", "512", "--accel", "tcg", "--network-restrict"];
let fx: BootFixture;
beforeAll(async () => {
  fx = await makeBootFixture();
});
afterAll(async () => {
  for (const name of ["idle", "stuck"]) kiln(["stop", "--timeout", "1", name]);
  await fx?.[Symbol.asyncDispose]();
  rmSync(vms, { recursive: true, force: true });
});

async function waitForLog(name: string, pattern: RegExp, timeoutMs = 240_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = kiln(["logs", name]);
    if (pattern.test(r.stdout)) return r.stdout;
    if (Date.now() > deadline)
      throw new Error(`${pattern} not in kiln logs ${name}:\n${r.stdout}\n${r.stderr}`);
    await sleep(1000);
  }
}

/**
 * QEMU has exited: its pid is gone, or is a zombie. A detached QEMU's parent is init once kiln returns, and
 * some inits (this sandbox's among them) reap orphans only seconds later.
 */
function exited(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  return /\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
}

describe("kiln run in the foreground", () => {
  test("exits 0 when the guest powers off, with the console on stdout and in STATE/console.log", async () => {
    const prefix = await fx.prefix("bye", "kiln.test=poweroff");
    const r = kiln(["run", ...lean, prefix]);
    expect(r.stderr).toContain("bye powered off");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("KILN-FIXTURE: powering off");
    expect(r.stderr).toMatch(/no KVM|tcg/);
    expect(readFileSync(`${prefix}-state/console.log`, "utf8")).toContain("KILN-FIXTURE: powering off");
    expect(readFileSync(`${prefix}-state/qemu.cmdline`, "utf8")).toMatch(/^\S*qemu-system-x86_64 .*-kernel /);
  });

  test("exits 1 when the guest panics, with the panic and the last console lines on stderr", async () => {
    const r = kiln(["run", ...lean, "qemu", await fx.prefix("oops", "kiln.test=panic")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/kiln: error: the guest kernel panicked: Attempted to kill init/);
    expect(r.stderr).toContain("last console lines:");
    expect(r.stderr).toContain("command: ");
  });
});

describe("detached VMs: ps, logs, stop", () => {
  test("run --detach returns while the VM runs; ps lists it; logs shows its console; stop powers it off", async () => {
    const prefix = await fx.prefix("idle");
    const started = Date.now();
    const r = kiln(["run", ...lean, "--detach", "-p", "127.0.0.1:0:80", prefix]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("idle");
    expect(Date.now() - started).toBeLessThan(30_000); // far less than a boot under TCG

    const ps = kiln(["ps"]).stdout.split("\n");
    const row = ps.find((l) => l.startsWith("idle "));
    expect(row).toMatch(/^idle\s+\d+\s+\d+s\s+127\.0\.0\.1:\d+->80\/tcp\s+.*idle-state$/);
    const [entry] = JSON.parse(kiln(["ps", "--json"]).stdout);
    expect(entry).toMatchObject({ name: "idle", running: true, stateDir: `${prefix}-state` });
    expect(() => process.kill(entry.pid, 0)).not.toThrow();

    expect(await waitForLog("idle", /KILN-FIXTURE: ready/)).toContain("KILN-FIXTURE: booted");
    const stop = kiln(["stop", "idle"]);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toMatch(/^stopped idle \(powered off in [\d.]+ s\)/);
    expect(kiln(["logs", "idle"]).stdout).toContain("KILN-FIXTURE: power button");
    expect(kiln(["ps"]).stdout).not.toMatch(/^idle /m);
    expect(kiln(["ps", "--all"]).stdout).toMatch(/^idle\s+exited/m);
    expect(exited(entry.pid)).toBe(true);
  });

  test("stop falls back to killing a guest that ignores ACPI, only after --timeout", async () => {
    const prefix = await fx.prefix("stuck", "kiln.test=hang");
    expect(kiln(["run", ...lean, "-d", prefix]).code).toBe(0);
    await waitForLog("stuck", /KILN-FIXTURE: ready/);
    const started = Date.now();
    const r = kiln(["stop", "--timeout", "4", "stuck"]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4000);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("killed stuck");
    expect(r.stderr).toMatch(/did not power off within 4 s of the ACPI request; killed QEMU/);
    expect(kiln(["ps"]).stdout).not.toMatch(/^stuck /m);
  });

  test("a name in use by a running VM is refused", async () => {
    const prefix = await fx.prefix("twin");
    expect(kiln(["run", ...lean, "-d", "--name", "twin", prefix]).code).toBe(0);
    const again = kiln(["run", ...lean, "-d", "--name", "twin", "--state", `${prefix}-other-state`, prefix]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/a VM named twin is already running/);
    const sameState = kiln(["run", ...lean, "-d", "--name", "twin2", prefix]);
    expect(sameState.code).toBe(1);
    expect(sameState.stderr).toMatch(/is in use by a running VM/);
    expect(existsSync(`${prefix}-other-state/qemu.pid`)).toBe(false);
    expect(kiln(["stop", "--timeout", "1", "twin"]).code).toBe(0);
  });
});
