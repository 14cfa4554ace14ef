import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { KilnError } from "@kiln/spec/errors";

/** The files a VM keeps in its state directory. */
export interface StatePaths {
  dir: string;
  /** QEMU's -pidfile. */
  pid: string;
  /** The NIC's MAC, kept across runs (LinuxKit's file name). */
  mac: string;
  /** The SMBIOS UUID, kept across runs like the MAC. */
  uuid: string;
  /** A QMP socket for anyone: `kiln stop`, scripts, `socat`. */
  qmp: string;
  /** A QMP socket held by the process that started the VM, for its events. */
  qmpOwner: string;
  /** Everything the serial console printed in this run (the previous run's is console.log.1). */
  console: string;
  /** The serial console as a socket, when it is not on stdio. */
  consoleSocket: string;
  /** The exact QEMU command line, shell-quoted. */
  cmdline: string;
  /** QEMU's own stderr, for detached VMs. */
  qemuLog: string;
  /** What `kiln ps` shows: name, pid, ports, start time. */
  info: string;
}

export function statePaths(dir: string): StatePaths {
  return {
    dir,
    pid: join(dir, "qemu.pid"),
    mac: join(dir, "mac-addr"),
    uuid: join(dir, "uuid"),
    qmp: join(dir, "qmp.sock"),
    qmpOwner: join(dir, "qmp-owner.sock"),
    console: join(dir, "console.log"),
    consoleSocket: join(dir, "console.sock"),
    cmdline: join(dir, "qemu.cmdline"),
    qemuLog: join(dir, "qemu.log"),
    info: join(dir, "vm.json"),
  };
}

/** Unix socket paths are limited to 107 bytes (104 on macOS). */
export function checkSocketPaths(paths: StatePaths): void {
  const longest = [paths.qmp, paths.qmpOwner, paths.consoleSocket].reduce((a, b) =>
    Buffer.byteLength(b) > Buffer.byteLength(a) ? b : a,
  );
  if (Buffer.byteLength(longest) > 100) {
    throw new KilnError(
      `state directory ${paths.dir} is too deep for QEMU's sockets (${longest} is over 100 bytes)`,
      {
        hint: "pass a shorter --state directory",
      },
    );
  }
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode: 0o644 });
  await rename(tmp, path);
}

/** A random, unicast, locally administered MAC. */
export function randomMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
}

/** The MAC in STATE/mac-addr, made on the first run. */
export async function persistedMac(paths: StatePaths): Promise<string> {
  const have = await readFile(paths.mac, "utf8").catch(() => undefined);
  if (have !== undefined) {
    const mac = have.trim().toLowerCase();
    if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac)) {
      throw new KilnError(`${paths.mac}: "${have.trim()}" is not a MAC address`, {
        hint: "fix or delete the file; a new MAC is made when it is missing",
      });
    }
    return mac;
  }
  const mac = randomMac();
  await writeAtomic(paths.mac, mac);
  return mac;
}

/** The UUID in STATE/uuid, made on the first run. */
export async function persistedUuid(paths: StatePaths): Promise<string> {
  const have = (await readFile(paths.uuid, "utf8").catch(() => ""))?.trim();
  if (/^[0-9a-f-]{36}$/i.test(have)) return have;
  const uuid = randomUUID();
  await writeAtomic(paths.uuid, uuid);
  return uuid;
}

/** What a VM records about itself in STATE/vm.json. */
export interface VmInfo {
  name?: string;
  pid: number;
  startedAt: string;
  image: string;
  boot: string;
  accel: string;
  ports: { hostAddress: string; hostPort: number; guestPort: number; protocol: string }[];
  detached: boolean;
}

export async function writeVmInfo(paths: StatePaths, info: VmInfo): Promise<void> {
  await writeAtomic(paths.info, `${JSON.stringify(info, null, 2)}\n`);
}

export function readVmInfo(paths: StatePaths): VmInfo | undefined {
  try {
    return JSON.parse(readFileSync(paths.info, "utf8")) as VmInfo;
  } catch {
    return undefined;
  }
}

/**
 * Is `pid` a live process, and (where /proc tells) a QEMU using this state directory? Zombies count as
 * dead, and so does a pid the kernel has given to another program.
 */
export function isVmProcess(pid: number, stateDir: string): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  if (process.platform !== "linux") return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    if (/\) Z /.test(stat)) return false;
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(stateDir);
  } catch {
    return false;
  }
}

/** The pid of a QEMU still running on this state directory, if any. */
export async function runningPid(paths: StatePaths): Promise<number | undefined> {
  const text = await readFile(paths.pid, "utf8").catch(() => "");
  const pid = Number.parseInt(text.trim(), 10);
  return isVmProcess(pid, paths.dir) ? pid : undefined;
}
