import { spawn } from "node:child_process";
import { appendFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, test } from "vitest";
import { statePaths } from "./state-dir.js";
import { Vm, type VmParts } from "./vm.js";

// A Vm over a stand-in process (sleep) and a console file written piece by piece, as QEMU's serial port
// writes it: waitForConsole must not answer from half a line.

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

async function standIn(): Promise<{ vm: Vm; console: string }> {
  const dir = await mkdtemp(join(tmpdir(), "kiln-vm-console-"));
  const paths = statePaths(dir);
  await writeFile(paths.console, "");
  const child = spawn("sleep", ["60"], { stdio: "ignore" });
  const parts = {
    child,
    argv: ["sleep", "60"],
    escapedCommand: "sleep 60",
    paths,
    ports: [],
    notices: [],
    detached: false,
    ownsState: true,
    stderr: () => "",
    timings: {},
    startedAt: Date.now(),
  } as unknown as VmParts;
  const vm = new Vm(parts);
  cleanup.push(async () => {
    child.kill("SIGKILL");
    await vm.exited;
    await rm(dir, { recursive: true, force: true });
  });
  return { vm, console: paths.console };
}

describe("Vm.waitForConsole", () => {
  test("answers only once the line is complete, so a capture is never cut short", async () => {
    const { vm, console } = await standIn();
    const waiting = vm.waitForConsole(/credentials: user=(\S+) password=(\S+)/, { timeoutMs: 10_000 });
    let answered = false;
    void waiting.then(() => {
      answered = true;
    });
    await appendFile(console, "[minio] kiln: MinIO credentials: user=kiln-abc password=hi3C9L");
    await sleep(600); // three polls of the console file
    expect(answered).toBe(false);
    await appendFile(console, "bid42xDB899 (stored in /var/exports/.kiln/credentials; shown once)\r\n");
    const m = await waiting;
    expect(m[2]).toBe("hi3C9Lbid42xDB899");
  });

  test("matches the last line without a newline once the VM has exited", async () => {
    const { vm, console } = await standIn();
    await appendFile(console, "Kernel panic - not syncing: no init found");
    await sleep(300);
    process.kill(vm.pid, "SIGKILL");
    await vm.exited;
    const m = await vm.waitForConsole(/not syncing: (.*)/, { timeoutMs: 1_000 });
    expect(m[1]).toBe("no init found");
  });
});
