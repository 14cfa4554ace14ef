// How long `kiln run` takes to get QEMU going, and how long the test fixture takes to boot under TCG.
// Prints Markdown tables for docs/benchmarks.md.
//   npm run build && npx tsx --conditions=@kiln/source bench/run-qemu.ts [runs=5] [boots=3]
//
// 1. kiln's overhead: `strace -f --seccomp-bpf -e trace=execve` timestamps the exec of node (kiln starts)
//    and of qemu-system-x86_64 (QEMU starts) in one `kiln run --detach`; the difference is kiln's time,
//    split into node's own start-up (the exec of `node -e ""` to its exit) and the rest.
// 2. In-process, startVm's own share: Vm.timings (startVm called → QEMU spawned → QMP says running).
// 3. Boot to the fixture's marker, for kernel+initrd, a BIOS ISO and an EFI ISO, from startVm's call.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { startVm } from "../packages/runner/src/index.ts";
import { makeBootFixture } from "../packages/runner/src/testing/index.ts";

const runs = Number(process.argv[2] ?? 5);
const boots = Number(process.argv[3] ?? 3);
const kilnBin = fileURLToPath(new URL("../packages/cli/dist/main.js", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "kiln-bench-run-"));
const env = { ...process.env, KILN_VMS_DIR: join(work, "vms") };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => x.toFixed(0);

/** Seconds since midnight of each execve in an `strace -tt` log whose program matches. */
function execTimes(log: string, program: RegExp): number[] {
  return log
    .split("\n")
    .filter((l) => /execve\(/.test(l) && program.test(l) && !/ENOENT/.test(l))
    .map((l) => {
      const [h, m, s] = /(\d+):(\d+):(\d+\.\d+)/.exec(l)!.slice(1).map(Number);
      return h! * 3600 + m! * 60 + s!;
    });
}

const fx = await makeBootFixture(join(work, "fixture"));
try {
  const prefix = await fx.prefix("bench");
  const overhead: number[] = [];
  const nodeStart: number[] = [];
  for (let i = 0; i < runs; i++) {
    const log = join(work, `strace-${i}.log`);
    // strace -f follows the detached QEMU too and ends only with it: read the log once kiln has returned.
    const strace = spawn(
      "strace",
      [
        "-f",
        "--seccomp-bpf",
        "-tt",
        "-e",
        "trace=execve",
        "-o",
        log,
        process.execPath,
        kilnBin,
        "run",
        "--detach",
        "--mem",
        "512",
        "--accel",
        "tcg",
        "--network-restrict",
        "--name",
        `bench${i}`,
        prefix,
      ],
      { env, stdio: "ignore" },
    );
    let text = "";
    const kilnExited = () => {
      const pid = /^(\d+) /.exec(text)?.[1];
      return pid !== undefined && new RegExp(`^${pid} +[\\d:.]+ \\+\\+\\+ exited`, "m").test(text);
    };
    for (let t = 0; t < 600 && !kilnExited(); t++) {
      await sleep(100);
      text = readFileSync(log, "utf8");
    }
    const [kiln] = execTimes(text, /node/);
    const [qemu] = execTimes(text, /qemu-system-x86_64/);
    if (kiln === undefined || qemu === undefined) throw new Error(`no execs in ${log}:\n${text}`);
    overhead.push((qemu - kiln) * 1000);
    execFileSync(process.execPath, [kilnBin, "stop", "--timeout", "0", `bench${i}`], {
      env,
      stdio: "ignore",
    });
    await new Promise((r) => strace.once("exit", r));
    const bare = join(work, `node-${i}.log`);
    spawnSync("strace", [
      "-f",
      "--seccomp-bpf",
      "-tt",
      "-e",
      "trace=execve,exit_group",
      "-o",
      bare,
      process.execPath,
      "-e",
      "",
    ]);
    const b = readFileSync(bare, "utf8").split("\n");
    const t = (l: string | undefined) => {
      const [h, m, s] = /(\d+):(\d+):(\d+\.\d+)/
        .exec(l ?? "")!
        .slice(1)
        .map(Number);
      return h! * 3600 + m! * 60 + s!;
    };
    nodeStart.push(
      (t(b.find((l) => l.includes("exit_group"))) - t(b.find((l) => l.includes("execve")))) * 1000,
    );
  }

  const inProcess: { spawn: number; running: number }[] = [];
  for (let i = 0; i < runs; i++) {
    await using vm = await startVm({
      prefix,
      mem: 512,
      accel: "tcg",
      restrict: true,
      append: "kiln.test=hang",
    });
    inProcess.push({
      spawn: vm.timings.spawned - vm.timings.startCalled,
      running: vm.timings.running - vm.timings.startCalled,
    });
  }

  const kinds = [
    ["kernel+initrd", { prefix }],
    ["BIOS ISO (SeaBIOS, isolinux)", { image: await fx.biosIso() }],
    ["EFI ISO (OVMF, GRUB)", { image: await fx.efiIso() }],
  ] as const;
  const bootRows: string[] = [];
  for (const [label, target] of kinds) {
    const booted: number[] = [];
    const ready: number[] = [];
    for (let i = 0; i < boots; i++) {
      const t0 = performance.now();
      await using vm = await startVm({ ...target, mem: 512, accel: "tcg", restrict: true });
      await vm.waitForConsole(/KILN-FIXTURE: booted/, { timeoutMs: 300_000 });
      booted.push(performance.now() - t0);
      await vm.waitForConsole(/KILN-FIXTURE: ready/, { timeoutMs: 300_000 });
      ready.push(performance.now() - t0);
      await vm.stop({ timeoutMs: 30_000 });
    }
    bootRows.push(
      `| ${label} | ${(median(booted) / 1000).toFixed(1)} | ${(median(ready) / 1000).toFixed(1)} |`,
    );
  }

  console.log(`kiln run --detach, ${runs} runs, medians (ms):\n`);
  console.log(
    '| exec of node → exec of QEMU | of which node\'s own start-up (`node -e ""`) | startVm() → spawn (in-process) | startVm() → QMP running |',
  );
  console.log("| --- | --- | --- | --- |");
  console.log(
    `| ${ms(median(overhead))} | ${ms(median(nodeStart))} | ${ms(median(inProcess.map((x) => x.spawn)))} | ${ms(median(inProcess.map((x) => x.running)))} |`,
  );
  console.log(`\nBoot under TCG (-m 512, 1 CPU), ${boots} boots each, medians (s) from startVm():\n`);
  console.log("| boot | to init's first line | to ready (acpid listening) |");
  console.log("| --- | --- | --- |");
  for (const r of bootRows) console.log(r);
} finally {
  await fx[Symbol.asyncDispose]();
  rmSync(work, { recursive: true, force: true });
}
