import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { KilnError, UsageError } from "@kiln/spec/errors";
import { type AccelRequest, decideAccel, type GuestArch, type HostFacts, probeHostFacts } from "./accel.js";
import { type BootKind, detectBoot, type FirmwareRequest } from "./boot.js";
import { type DiskSpec, parseDiskSpec } from "./disk-spec.js";
import { prepareDisks } from "./disks.js";
import { findUefiFirmware, vmFirmwareCopy } from "./firmware.js";
import { checkVmName, findVm, registerVm, vmsDir } from "./managed.js";
import { createMetadataIso } from "./metadata-cd.js";
import { type NetworkMode, parseNetworking } from "./networking.js";
import { freePort } from "./ports.js";
import { type PortSpec, parsePublish } from "./publish.js";
import { buildQemuArgs, type GuestForward, type QemuPlan } from "./qemu-args.js";
import { QmpClient } from "./qmp.js";
import { escapeCommand } from "./shell-quote.js";
import { parseSize } from "./size.js";
import {
  checkSocketPaths,
  persistedMac,
  persistedUuid,
  runningPid,
  statePaths,
  writeVmInfo,
} from "./state-dir.js";
import { makeTempState, removeTempState } from "./temp-state.js";
import { findTool } from "./tools.js";
import { Vm } from "./vm.js";
import { VmError } from "./vm-error.js";

export interface StartVmOptions {
  /** What to boot, detected from the files: a LinuxKit output prefix, an ISO or a disk image. */
  image?: string;
  /** The same, saying which it is: PREFIX (PREFIX-kernel + -initrd.img or -squashfs.img)... */
  prefix?: string;
  /** ...an ISO... */
  iso?: string;
  /** ...or a disk image (raw, qcow2, vmdk, vhd, vhdx). */
  disk?: string;
  /** Skip boot-type detection (LinuxKit's --kernel, --squashfs, --iso). */
  boot?: BootKind;
  /** `auto` (default) detects UEFI from the image; `uefi` is LinuxKit's --uefi. */
  firmware?: FirmwareRequest;
  /** UEFI firmware code image; implies `firmware: "uefi"`. */
  fw?: string;
  /** Guest architecture, default the host's. */
  arch?: GuestArch;
  /** Default `auto`. */
  accel?: AccelRequest;
  /** Default 1. */
  cpus?: number;
  /** MiB, default 1024. */
  mem?: number;
  /** `--disk` specs (`[file=]PATH[,size=S][,format=F]`) or parsed ones. */
  disks?: readonly (string | DiskSpec)[];
  /** Size for disks without one: a number is MiB (the 2017 -disk-size flag), a string may have a unit. */
  diskSize?: number | string;
  /** Metadata for the guest, on a CD-ROM (volume cidata, file config). */
  data?: string | Uint8Array;
  /** The same, from a file. */
  dataFile?: string;
  /** `user` (default), `tap,IF`, `bridge,BR`, `none`, or parsed. */
  networking?: string | NetworkMode;
  /** `[IP:]HOST:GUEST[/proto]` specs or parsed ones; host port 0 picks a free port. */
  publish?: readonly (string | PortSpec)[];
  /** User networking with restrict=on: the guest reaches nothing but what is forwarded to it. */
  restrict?: boolean;
  /** Host services the guest may reach even when restricted. */
  guestForwards?: readonly GuestForward[];
  /** Extra kernel command line, for kernel and squashfs boots. */
  append?: string;
  /** State directory. Default: a new temp directory, removed when the Vm is disposed or the process exits. */
  state?: string;
  /** Register the VM under this name, for `kiln ps/stop/logs`. */
  name?: string;
  /** The directory of registered VMs (default vmsDir()). */
  vmsDir?: string;
  /**
   * `capture` (default): the console goes to STATE/console.log (and `vm.console`) only.
   * `inherit`: it is also on this process's stdio, interactive, Ctrl-A X to quit.
   */
  console?: "inherit" | "capture";
  /** Let QEMU outlive this process; disposing the Vm then leaves it running. */
  detach?: boolean;
  /** Let the guest reboot. By default a reboot, or a panic with panic=N, ends QEMU (-no-reboot). */
  reboot?: boolean;
  /** QEMU binary, default qemu-system-ARCH on $PATH. */
  qemu?: string;
  /** Extra -device values. */
  devices?: readonly string[];
  /** Relative paths are relative to this (default process.cwd()). */
  cwd?: string;
  /** Override what is known about the host (tests). */
  hostFacts?: HostFacts;
  /** Hears one-line notes: the accelerator fallback, disks created, size warnings. */
  onNotice?: (message: string) => void;
  /** How long QEMU may take to come up (default 30 s). */
  startTimeoutMs?: number;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
/** QEMUs this process owns die with it, even when a test forgets to stop them. */
function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const c of live) c.kill("SIGKILL");
    });
  }
  live.add(child);
  child.once("exit", () => live.delete(child));
}

function target(o: StartVmOptions): { path: string; kind?: BootKind } {
  const given = [
    ["image", o.image],
    ["prefix", o.prefix],
    ["iso", o.iso],
    ["disk", o.disk],
  ].filter(([, v]) => v !== undefined) as [string, string][];
  if (given.length !== 1) throw new UsageError("startVm: give exactly one of image, prefix, iso, disk");
  const [key, path] = given[0]!;
  const kind = o.boot ?? ({ iso: "iso", disk: "disk" } as Record<string, BootKind>)[key];
  return kind === undefined ? { path } : { path, kind };
}

/** Boot a VM. See StartVmOptions; the returned Vm is running (QMP said so). */
export async function startVm(options: StartVmOptions): Promise<Vm> {
  const startCalled = performance.now();
  const notices: string[] = [];
  const notice = (m: string) => {
    notices.push(m);
    options.onNotice?.(m);
  };
  const cwd = options.cwd ?? process.cwd();
  const { path, kind } = target(options);
  const arch = options.arch ?? "x86_64";
  const cpus = options.cpus ?? 1;
  const mem = options.mem ?? 1024;
  if (!(Number.isInteger(cpus) && cpus >= 1))
    throw new UsageError(`--cpus ${cpus}: must be a whole number, 1 or more`);
  if (!(Number.isInteger(mem) && mem >= 16))
    throw new UsageError(`--mem ${mem}: must be a whole number of MiB, 16 or more`);
  if (options.data !== undefined && options.dataFile !== undefined) {
    throw new UsageError(
      "--data and --data-file: give one or the other",
      "both become the metadata CD's config file",
    );
  }
  const network =
    typeof options.networking === "string"
      ? parseNetworking(options.networking)
      : (options.networking ?? { mode: "user" });
  const publish = (options.publish ?? []).map((p) => (typeof p === "string" ? parsePublish(p) : { ...p }));
  if (network.mode !== "user" && (publish.length || options.restrict || options.guestForwards?.length)) {
    throw new UsageError(`--publish and --network-restrict need user networking, not ${network.mode}`);
  }
  const diskSpecs = (options.disks ?? []).map((d) => (typeof d === "string" ? parseDiskSpec(d, notice) : d));
  const defaultSize =
    options.diskSize === undefined
      ? undefined
      : typeof options.diskSize === "number"
        ? options.diskSize * 2 ** 20
        : parseSize(options.diskSize, "M", "--disk-size").bytes;
  // --disk-size alone is the 2017 form: one disk in the state directory.
  if (defaultSize !== undefined && diskSpecs.length === 0) diskSpecs.push({});
  if (options.name !== undefined) checkVmName(options.name);
  const detach = options.detach ?? false;
  const consoleMode = detach ? "capture" : (options.console ?? "capture");

  let qemuImgPath: string | undefined;
  const qemuImg = () => {
    qemuImgPath ??= findTool("qemu-img");
    return qemuImgPath;
  };
  const firmwareRequest: FirmwareRequest = options.fw !== undefined ? "uefi" : (options.firmware ?? "auto");
  const boot = await detectBoot(resolve(cwd, path), {
    ...(kind ? { kind } : {}),
    firmware: firmwareRequest,
    qemuImg,
    onNotice: notice,
  });
  const qemu = findTool(options.qemu ?? `qemu-system-${arch}`);

  const facts = options.hostFacts ?? (await probeHostFacts());
  const decision = decideAccel(options.accel ?? "auto", arch, facts);
  if (decision.note) notice(decision.note);

  const ownsState = options.state === undefined;
  let child: ChildProcess | undefined;
  const stateDir = ownsState ? await makeTempState() : resolve(cwd, options.state!);
  try {
    await mkdir(stateDir, { recursive: true });
    const paths = statePaths(stateDir);
    checkSocketPaths(paths);
    const busy = await runningPid(paths);
    if (busy !== undefined) {
      throw new KilnError(`state directory ${stateDir} is in use by a running VM (QEMU pid ${busy})`, {
        hint: "stop that VM first, or pass another --state",
      });
    }
    const registry = options.vmsDir ?? vmsDir();
    if (options.name !== undefined) {
      const other = await findVm(options.name, registry).catch(() => undefined);
      if (other?.running && other.stateDir !== stateDir) {
        throw new KilnError(`a VM named ${options.name} is already running (pid ${other.pid})`, {
          hint: `stop it with \`kiln stop ${options.name}\`, or pass --name`,
        });
      }
    }

    let firmware: QemuPlan["firmware"];
    if (boot.uefi) {
      const fw = findUefiFirmware(arch, options.fw);
      const copy = await vmFirmwareCopy(fw, stateDir);
      firmware = fw.varsTemplate ? { code: fw.code, vars: copy } : { combined: copy };
    }
    const cdroms: string[] = [];
    if (options.data !== undefined || options.dataFile !== undefined) {
      const bytes =
        options.dataFile !== undefined
          ? await readFile(resolve(cwd, options.dataFile)).catch((e: NodeJS.ErrnoException) => {
              throw new KilnError(`--data-file ${options.dataFile}: cannot read it (${e.code})`);
            })
          : typeof options.data === "string"
            ? Buffer.from(options.data)
            : options.data!;
      cdroms.push(await createMetadataIso(findTool("xorriso"), stateDir, bytes));
    }
    const disks = await prepareDisks(diskSpecs, {
      stateDir,
      cwd,
      qemuImg,
      onNotice: notice,
      ...(defaultSize === undefined ? {} : { defaultSizeBytes: defaultSize }),
    });
    for (const p of publish) if (p.hostPort === 0) p.hostPort = await freePort(p.hostAddress);
    const [mac, uuid] = await Promise.all([persistedMac(paths), persistedUuid(paths)]);
    const plan: QemuPlan = {
      arch,
      accel: decision.accel,
      cpus,
      memMiB: mem,
      uuid,
      ...(options.name ? { name: options.name } : {}),
      boot,
      ...(options.append ? { append: options.append } : {}),
      ...(firmware ? { firmware } : {}),
      disks,
      cdroms,
      network,
      publish,
      restrict: options.restrict ?? false,
      ...(options.guestForwards ? { guestForwards: options.guestForwards } : {}),
      mac,
      paths,
      console: consoleMode === "inherit" ? "stdio" : "socket",
      reboot: options.reboot ?? false,
      ...(options.devices ? { devices: options.devices } : {}),
    };
    const args = buildQemuArgs(plan);
    const argv = [qemu, ...args];
    const escapedCommand = escapeCommand(argv);
    await Promise.all([
      writeFile(paths.cmdline, `${escapedCommand}\n`),
      rename(paths.console, `${paths.console}.1`).catch(() => {}),
      ...[paths.qmp, paths.qmpOwner, paths.consoleSocket, paths.pid].map((p) => rm(p, { force: true })),
    ]);

    let stderr = "";
    const keepStderr = (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-16_384);
    };
    if (detach) {
      mkdirSync(stateDir, { recursive: true });
      const log = openSync(paths.qemuLog, "w");
      child = spawn(qemu, args, { stdio: ["ignore", "ignore", log], detached: true });
      closeSync(log);
    } else {
      child = spawn(qemu, args, {
        stdio: [
          consoleMode === "inherit" ? "inherit" : "ignore",
          consoleMode === "inherit" ? "inherit" : "ignore",
          "pipe",
        ],
      });
      track(child);
      child.stderr!.on("data", (d: Buffer) => {
        keepStderr(d);
        if (consoleMode === "inherit") process.stderr.write(d);
      });
    }
    const proc: ChildProcess = child;
    const spawned = performance.now();
    const startedAt = Date.now();
    const spawnError = new Promise<Error>((r) => proc.once("error", r));
    const exitedEarly = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
    let exitCode: number | null | undefined;
    void exitedEarly.then((c) => {
      exitCode = c;
    });
    const failure = (message: string, code: number | null = null) =>
      new VmError(message, {
        escapedCommand,
        qemuExitCode: code,
        durationMs: Date.now() - startedAt,
        consoleTail: [],
        qemuStderr: detach ? "" : stderr,
        stateDir,
      });

    let qmp: QmpClient;
    try {
      qmp = await Promise.race([
        QmpClient.connectWhenReady(paths.qmpOwner, {
          timeoutMs: options.startTimeoutMs ?? 30_000,
          alive: () => exitCode === undefined,
        }),
        spawnError.then((e) => {
          throw failure(`could not start ${qemu}: ${e.message}`);
        }),
        exitedEarly.then(async (code) => {
          if (detach) stderr = await readFile(paths.qemuLog, "utf8").catch(() => "");
          throw failure(`QEMU exited during start-up (exit code ${code}): ${lastLine(stderr)}`, code);
        }),
      ]);
    } catch (e) {
      if (exitCode === undefined) proc.kill("SIGKILL");
      if (e instanceof VmError) throw e;
      throw failure(`QEMU did not open its QMP socket: ${(e as Error).message}`);
    }
    const status = await qmp.execute<{ status: string }>("query-status");
    if (status.status !== "running") notice(`QEMU reports the VM as ${status.status}`);
    const running = performance.now();

    await writeVmInfo(paths, {
      ...(options.name ? { name: options.name } : {}),
      pid: proc.pid!,
      startedAt: new Date(startedAt).toISOString(),
      image: boot.kind === "iso" || boot.kind === "disk" ? boot.path : boot.prefix,
      boot: `${boot.kind}${boot.uefi ? " (UEFI)" : ""}`,
      accel: decision.accel,
      ports: publish,
      detached: detach,
    });
    if (options.name !== undefined) await registerVm(options.name, stateDir, registry);

    const vm = new Vm({
      ...(options.name ? { name: options.name } : {}),
      child: proc,
      qmp,
      argv,
      escapedCommand,
      paths,
      boot,
      accel: decision.accel,
      ports: publish,
      notices,
      detached: detach,
      ownsState,
      stderr: () => stderr,
      timings: { startCalled, spawned, running },
      startedAt,
    });
    if (detach) await vm.release();
    return vm;
  } catch (e) {
    // Whatever failed after the spawn, no QEMU is left behind.
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    if (ownsState) await removeTempState(stateDir);
    throw e;
  }
}

function lastLine(text: string): string {
  return (
    text
      .trim()
      .split("\n")
      .pop()
      ?.replace(/^qemu-system-\w+: /, "") || "no message"
  );
}
