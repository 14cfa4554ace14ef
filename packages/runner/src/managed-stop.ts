import { setTimeout as sleep } from "node:timers/promises";
import type { ManagedVm } from "./managed.js";
import { QmpClient } from "./qmp.js";
import { isVmProcess, statePaths } from "./state-dir.js";
import { POWER_BUTTON_REPEAT_MS } from "./vm.js";

export interface StopResult {
  /** The guest powered off after the ACPI request. */
  graceful: boolean;
  /** It had exited already. */
  alreadyStopped: boolean;
  durationMs: number;
  /** Why it had to be killed, when it was. */
  why?: string;
}

async function gone(pid: number, stateDir: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isVmProcess(pid, stateDir)) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {}
}

/**
 * Stop a VM this process did not start: ACPI power-down over its QMP socket, then, only once
 * `timeoutMs` has passed, SIGTERM and finally SIGKILL.
 */
export async function stopManagedVm(
  vm: ManagedVm,
  options: { timeoutMs?: number } = {},
): Promise<StopResult> {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!vm.running || vm.pid === undefined) return { graceful: true, alreadyStopped: true, durationMs: 0 };
  const pid = vm.pid;
  let why: string;
  try {
    const qmp = await QmpClient.connect(statePaths(vm.stateDir).qmp, { timeoutMs: 3000 });
    let stopped: boolean;
    // Pressed again every 5 s, as Vm.stop does: a press before the guest listens for it is lost.
    const again = setInterval(
      () => void qmp.execute("system_powerdown").catch(() => {}),
      POWER_BUTTON_REPEAT_MS,
    );
    try {
      await qmp.execute("system_powerdown");
      stopped = await gone(pid, vm.stateDir, timeoutMs);
    } finally {
      clearInterval(again);
      await qmp.close();
    }
    if (stopped) return { graceful: true, alreadyStopped: false, durationMs: Date.now() - started };
    why = `the guest did not power off within ${(timeoutMs / 1000).toFixed(0)} s of the ACPI request`;
  } catch (e) {
    if (!isVmProcess(pid, vm.stateDir))
      return { graceful: true, alreadyStopped: false, durationMs: Date.now() - started };
    why = `could not ask for an ACPI power-off over QMP (${(e as Error).message})`;
  }
  signal(pid, "SIGTERM");
  if (!(await gone(pid, vm.stateDir, 3000))) {
    signal(pid, "SIGKILL");
    await gone(pid, vm.stateDir, 3000);
  }
  return { graceful: false, alreadyStopped: false, durationMs: Date.now() - started, why };
}
