import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { startVm, type Vm } from "@kiln/runner";
import type { Appliance } from "./appliance.js";
import { resultsDir } from "./paths.js";
import { type Credentials, describeError, type S3Target, waitForS3 } from "./s3.js";
import { recordTiming } from "./timings.js";

const execFileAsync = promisify(execFile);

export type BootFormat = "kernel+initrd" | "iso-bios" | "iso-efi";

export interface BootOptions {
  appliance: Appliance;
  format: BootFormat;
  /** The data disk: created at 4 GiB when missing, reused as it is otherwise. */
  disk: string;
  /**
   * Passed to the appliance with `--data` (unless `passAsData` is false: then only used to connect, e.g. the
   * ones a previous boot generated). Without them the appliance generates its own and prints them.
   */
  credentials?: Credentials;
  passAsData?: boolean;
  /** Names the console log under test-results/e2e/. */
  label: string;
  timeoutMs?: number;
}

export interface BootedAppliance extends AsyncDisposable {
  vm: Vm;
  target: S3Target;
  label: string;
  /** Milliseconds from QEMU's start to S3 answering. */
  bootMs: number;
  /** Writes the console so far to test-results/e2e/LABEL.console.log and returns the path. */
  saveConsole(): Promise<string>;
}

/** The line the appliance prints once, when it generates credentials on first boot. */
export const GENERATED_CREDENTIALS = /kiln: MinIO credentials: user=(\S+) password=(\S+)/;
export const SERVICE_STARTED = /kiln-init: service minio: started/;
/** minio-start found the `--data` credentials that metadata wrote to /run/config. */
export const CREDENTIALS_FROM_DATA = /kiln: MinIO credentials from \/run\/config\/minio\/root_user/;
/** The format onboot container's log: it formatted a blank disk... */
export const FORMATTED = /format: making an? \S+ filesystem on \S+/;
/** ...or left a disk in use alone. */
export const DISK_LEFT_ALONE = /format: (\S+ holds .*: (skipping it|leaving it alone)|no blank disk found)/;

/** The JSON the metadata image expands into /run/config/minio/root_user and root_password. */
export function credentialsData(c: Credentials): string {
  return JSON.stringify({
    minio: { entries: { root_user: { content: c.user }, root_password: { content: c.password } } },
  });
}

/**
 * Boots the appliance with its data disk and waits until S3 answers with the credentials (given, or parsed from
 * the console when generated). The S3 port is published on 127.0.0.1 only, and the guest reaches nothing else.
 */
export async function bootAppliance(options: BootOptions): Promise<BootedAppliance> {
  // A boot to S3 takes about 30 s under TCG here; the rest is room for a loaded CI machine.
  const timeoutMs = options.timeoutMs ?? 8 * 60_000;
  const started = Date.now();
  const vm = await startVm({
    ...bootSource(options.appliance, options.format),
    // As the seed post's `-disk-size 4096 -disk disk1.img`: created when missing, reused as it is otherwise.
    disks: [`${options.disk},size=4G`],
    // Host port 0: the runner picks a free one on 127.0.0.1.
    publish: ["127.0.0.1:0:9000"],
    restrict: true,
    mem: 2048,
    cpus: 1,
    console: "capture",
    ...(options.credentials === undefined || options.passAsData === false
      ? {}
      : { data: credentialsData(options.credentials) }),
  });
  const port = vm.ports.find((p) => p.guestPort === 9000)!.hostPort;
  const booted = session(vm, options.label, port, options.credentials, started);
  try {
    const credentials =
      options.credentials ?? (await generatedCredentials(vm, started + timeoutMs - Date.now()));
    booted.target.credentials = credentials;
    await waitForS3(booted.target, {
      timeoutMs: Math.max(started + timeoutMs - Date.now(), 1_000),
      check: () => {
        if (vm.exitInfo !== undefined)
          throw vm.error(`QEMU exited (${vm.exitInfo.reason}) before S3 answered`);
      },
    });
    booted.bootMs = Date.now() - started;
    await recordTiming("boot", booted.bootMs, `${options.label} (${options.format})`);
    return booted;
  } catch (err) {
    await vm.kill().catch(() => {});
    if (err instanceof Error && vm.exitInfo?.reason !== "killed" && MINIO_LISTENING.test(vm.console)) {
      err.message +=
        " (MinIO was listening in the guest but never answered through the published port: is the guest's" +
        " eth0 up with an address? See the dhcpcd onboot container's lines below)";
    }
    throw await withConsole(err, booted);
  }
}

const MINIO_LISTENING = /\[minio\] API: http/;

function bootSource(a: Appliance, format: BootFormat): { prefix: string } | { iso: string } {
  switch (format) {
    case "kernel+initrd":
      return { prefix: join(a.dir, "minio") };
    case "iso-bios":
      return { iso: a.iso };
    case "iso-efi":
      return { iso: a.efiIso };
  }
}

async function generatedCredentials(vm: Vm, timeoutMs: number): Promise<Credentials> {
  const m = await vm.waitForConsole(GENERATED_CREDENTIALS, { timeoutMs: Math.max(timeoutMs, 1_000) });
  return { user: m[1]!, password: m[2]! };
}

function session(
  vm: Vm,
  label: string,
  port: number,
  credentials: Credentials | undefined,
  started: number,
): BootedAppliance {
  const s: BootedAppliance = {
    vm,
    label,
    target: { endpoint: `http://127.0.0.1:${port}`, credentials: credentials ?? { user: "", password: "" } },
    bootMs: Date.now() - started,
    async saveConsole() {
      await mkdir(resultsDir(), { recursive: true });
      const file = join(resultsDir(), `${label}.console.log`);
      await writeFile(file, vm.console);
      return file;
    },
    async [Symbol.asyncDispose]() {
      await s.saveConsole().catch(() => {});
      await vm[Symbol.asyncDispose]();
    },
  };
  return s;
}

/**
 * Adds the console's tail to a failure and writes the whole console under test-results/e2e/, so a red test says
 * what the appliance was doing. The original error object is kept (its type and diff stay intact).
 */
export async function withConsole(err: unknown, booted: BootedAppliance): Promise<unknown> {
  let file = "(could not write the console log)";
  try {
    file = await booted.saveConsole();
  } catch {}
  const tail = booted.vm.console.trimEnd().split("\n").slice(-40).join("\n");
  const note = `\n--- ${booted.label}: last console lines (full log: ${file}) ---\n${tail}\n---`;
  if (err instanceof Error) {
    err.message += note;
    return err;
  }
  return new Error(`${describeError(err)}${note}`);
}

/** Runs `fn`; a failure carries the appliance's console. */
export async function onConsole<T>(booted: BootedAppliance, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw await withConsole(err, booted);
  }
}

/** A disk image's size as the guest sees it (qcow2 files are smaller), read while QEMU may hold it open. */
export async function diskVirtualSize(path: string): Promise<number> {
  const { stdout } = await execFileAsync("qemu-img", ["info", "-U", "--output=json", path]);
  return (JSON.parse(stdout) as { "virtual-size": number })["virtual-size"];
}
