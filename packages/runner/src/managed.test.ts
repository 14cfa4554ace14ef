import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { defaultVmName, findVm, listVms, registerVm, vmsDir } from "./managed.js";
import { stopManagedVm } from "./managed-stop.js";
import { isVmProcess, statePaths, writeVmInfo } from "./state-dir.js";

const dir = mkdtempSync(join(tmpdir(), "kiln-managed-"));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A stand-in for QEMU: a process whose command line names its state directory and which serves QMP on
 * STATE/qmp.sock, powering off on system_powerdown unless it is `hung`.
 */
async function fakeVm(
  name: string,
  options: { hung?: boolean } = {},
): Promise<{ stateDir: string; child: ChildProcess }> {
  const stateDir = join(dir, `${name}-state`);
  mkdirSync(stateDir, { recursive: true });
  const script = `
    const net = require("node:net");
    const [sock, hung, deafFor] = process.argv.slice(1);
    let presses = 0;
    net.createServer((s) => {
      s.write(JSON.stringify({ QMP: { version: {}, capabilities: [] } }) + "\\r\\n");
      s.on("data", (d) => {
        for (const line of d.toString().split("\\n").filter(Boolean)) {
          const m = JSON.parse(line);
          s.write(JSON.stringify({ return: {}, id: m.id }) + "\\r\\n");
          if (m.execute === "system_powerdown" && hung !== "hung" && ++presses > Number(deafFor)) setTimeout(() => process.exit(0), 100);
        }
      });
    }).listen(sock);
    process.on("SIGTERM", () => { if (hung !== "hung") process.exit(0); });
    setInterval(() => {}, 1000);`;
  const child = spawn(
    process.execPath,
    ["-e", script, statePaths(stateDir).qmp, options.hung ? "hung" : "ok", String(options.deafFor ?? 0)],
    { stdio: "ignore" },
  );
  children.push(child);
  await writeVmInfo(statePaths(stateDir), {
    name,
    pid: child.pid!,
    startedAt: new Date().toISOString(),
    image: "/x",
    boot: "kernel",
    accel: "tcg",
    ports: [{ hostAddress: "127.0.0.1", hostPort: 8080, guestPort: 80, protocol: "tcp" }],
    detached: true,
  });
  for (let i = 0; i < 100; i++) {
    if (statSync(statePaths(stateDir).qmp, { throwIfNoEntry: false })?.isSocket()) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return { stateDir, child };
}

describe("vmsDir", () => {
  test("$KILN_VMS_DIR, else $XDG_RUNTIME_DIR/kiln/vms, else a per-user directory in $TMPDIR", () => {
    expect(vmsDir({ KILN_VMS_DIR: "/x/vms", XDG_RUNTIME_DIR: "/run/user/1" })).toBe("/x/vms");
    expect(vmsDir({ XDG_RUNTIME_DIR: "/run/user/1" })).toBe("/run/user/1/kiln/vms");
    expect(vmsDir({})).toMatch(/kiln-\w+\/vms$/);
  });

  test("default names come from the image's base name", () => {
    expect(defaultVmName("/out/minio")).toBe("minio");
    expect(defaultVmName("minio-efi")).toBe("minio-efi");
    expect(defaultVmName("./my appliance")).toBe("my-appliance");
  });
});

describe("registered VMs", () => {
  const reg = join(dir, "vms");

  test("a live VM is listed as running, with its pid and ports; the name finds it", async () => {
    const { stateDir, child } = await fakeVm("alpha");
    await registerVm("alpha", stateDir, reg);
    const [vm] = await listVms(reg);
    expect(vm).toMatchObject({ name: "alpha", stateDir, running: true, pid: child.pid });
    expect(vm!.info?.ports[0]).toMatchObject({ hostPort: 8080 });
    expect(await findVm("alpha", reg)).toMatchObject({ stateDir });
    expect(await findVm(stateDir, reg)).toMatchObject({ name: "alpha", running: true });
  });

  test("a pid that now belongs to another program is not the VM", () => {
    expect(isVmProcess(process.pid, join(dir, "alpha-state"))).toBe(false);
    expect(isVmProcess(2 ** 22 + 1, join(dir, "alpha-state"))).toBe(false);
  });

  test("a running VM's name cannot be taken; an exited one's can", async () => {
    const other = join(dir, "other-state");
    mkdirSync(other, { recursive: true });
    await expect(registerVm("alpha", other, reg)).rejects.toThrow(/already running/);
    await writeVmInfo(statePaths(other), {
      name: "beta",
      pid: 999999,
      startedAt: "",
      image: "",
      boot: "",
      accel: "",
      ports: [],
      detached: false,
    });
    await registerVm("beta", other, reg);
    const beta = (await listVms(reg)).find((v) => v.name === "beta");
    expect(beta).toMatchObject({ running: false });
    await registerVm("beta", join(dir, "alpha-state"), reg);
    expect((await findVm("beta", reg)).stateDir).toBe(join(dir, "alpha-state"));
  });

  test("entries whose state directory is gone are dropped; unknown names are errors", async () => {
    const gone = join(dir, "gone-state");
    mkdirSync(gone);
    await registerVm("gone", gone, reg);
    rmSync(gone, { recursive: true });
    expect((await listVms(reg)).map((v) => v.name)).not.toContain("gone");
    await expect(findVm("nope", reg)).rejects.toThrow(/no VM named nope/);
    await expect(registerVm("bad/name", gone, reg)).rejects.toThrow(/not a usable VM name/);
  });
});

describe("stopManagedVm", () => {
  test("a guest that powers off on the ACPI request stops gracefully", async () => {
    const { stateDir, child } = await fakeVm("polite");
    const exited = new Promise((r) => child.once("exit", r));
    const r = await stopManagedVm(
      { name: "polite", stateDir, running: true, pid: child.pid! },
      { timeoutMs: 5000 },
    );
    expect(r).toMatchObject({ graceful: true, alreadyStopped: false });
    await exited;
  });

  test("a guest that ignores it is killed once the timeout has passed, not before", async () => {
    const { stateDir, child } = await fakeVm("stubborn", { hung: true });
    const exited = new Promise((r) => child.once("exit", (_c, sig) => r(sig)));
    const r = await stopManagedVm(
      { name: "stubborn", stateDir, running: true, pid: child.pid! },
      { timeoutMs: 1000 },
    );
    expect(r.graceful).toBe(false);
    expect(r.why).toMatch(/did not power off within 1 s/);
    expect(r.durationMs).toBeGreaterThanOrEqual(1000);
    expect(await exited).toBe("SIGKILL"); // it ignored SIGTERM too
  });

  test("the button is pressed again for a guest that missed the first press", async () => {
    const { stateDir, child } = await fakeVm("sleepy", { deafFor: 1 });
    const r = await stopManagedVm(
      { name: "sleepy", stateDir, running: true, pid: child.pid! },
      { timeoutMs: 10_000 },
    );
    expect(r).toMatchObject({ graceful: true });
    expect(r.durationMs).toBeGreaterThanOrEqual(5000);
  });

  test("a VM that is not running is left alone", async () => {
    expect(await stopManagedVm({ name: "x", stateDir: dir, running: false })).toMatchObject({
      alreadyStopped: true,
    });
  });
});
