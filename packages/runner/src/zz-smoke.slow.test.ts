import { expect, test } from "vitest";
import { startVm } from "@kiln/runner";
import { makeBootFixture } from "@kiln/runner/testing";

test("smoke", async () => {
  await using fx = await makeBootFixture();
  const prefix = await fx.prefix("smoke");
  const t0 = Date.now();
  await using vm = await startVm({ prefix, mem: 512, accel: "auto", restrict: true, onNotice: (m) => console.log("NOTICE", m) });
  console.log("timings", vm.timings, vm.escapedCommand);
  const m = await vm.waitForConsole(/KILN-FIXTURE: ready/, { timeoutMs: 120_000 });
  console.log("ready after", Date.now() - t0);
  console.log("pd", await vm.qmp("system_powerdown").catch((e) => e));
  await new Promise((r) => setTimeout(r, 8000));
  console.log("after", vm.console);
  const exit = await vm.stop({ timeoutMs: 20_000 });
  console.log(exit, vm.console);
  expect(exit.reason).toBe("poweroff");
}, 300_000);
