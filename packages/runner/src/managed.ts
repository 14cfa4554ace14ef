import { mkdir, readdir, readlink, rename, rm, stat, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { KilnError, UsageError } from "@kiln/spec/errors";
import { isVmProcess, readVmInfo, statePaths, type VmInfo } from "./state-dir.js";

/**
 * Where named VMs are registered, one symlink per VM pointing at its state directory:
 * $KILN_VMS_DIR, else $XDG_RUNTIME_DIR/kiln/vms, else $TMPDIR/kiln-UID/vms.
 */
export function vmsDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KILN_VMS_DIR) return resolve(env.KILN_VMS_DIR);
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, "kiln", "vms");
  return join(tmpdir(), `kiln-${process.getuid?.() ?? "user"}`, "vms");
}

export interface ManagedVm {
  name: string;
  stateDir: string;
  running: boolean;
  /** QEMU's pid when it is running. */
  pid?: number;
  info?: VmInfo;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export function checkVmName(name: string): void {
  if (!NAME.test(name)) {
    throw new UsageError(
      `--name ${name}: not a usable VM name`,
      "use letters, digits, '.', '_' and '-', starting with a letter or digit",
    );
  }
}

/** A VM name from an image path: minio from minio, minio.iso or /out/minio-kernel's prefix. */
export function defaultVmName(prefix: string): string {
  const base = prefix.split("/").pop() ?? "vm";
  const clean = base.replace(/[^A-Za-z0-9_.-]/g, "-").replace(/^[^A-Za-z0-9]+/, "");
  return clean.slice(0, 63) || "vm";
}

function describe(name: string, stateDir: string): ManagedVm {
  const info = readVmInfo(statePaths(stateDir));
  const running = info !== undefined && isVmProcess(info.pid, stateDir);
  return { name, stateDir, running, ...(running ? { pid: info.pid } : {}), ...(info ? { info } : {}) };
}

async function entry(dir: string, name: string): Promise<ManagedVm | undefined> {
  const target = await readlink(join(dir, name)).catch(() => undefined);
  return target === undefined ? undefined : describe(name, target);
}

/**
 * Register `name` → `stateDir`. A name held by a running VM is refused; one left by a VM that has exited
 * is taken over.
 */
export async function registerVm(name: string, stateDir: string, dir = vmsDir()): Promise<void> {
  checkVmName(name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const old = await entry(dir, name);
  if (old?.running && old.stateDir !== stateDir) {
    throw new KilnError(`a VM named ${name} is already running (pid ${old.pid}, state ${old.stateDir})`, {
      hint: `stop it with \`kiln stop ${name}\`, or pass --name`,
    });
  }
  const tmp = join(dir, `.${name}.${process.pid}`);
  await rm(tmp, { force: true });
  await symlink(stateDir, tmp);
  await rename(tmp, join(dir, name));
}

/** Every registered VM (running or not), by name; entries whose state directory is gone are dropped. */
export async function listVms(dir = vmsDir()): Promise<ManagedVm[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: ManagedVm[] = [];
  for (const name of names.filter((n) => !n.startsWith(".")).sort()) {
    const vm = await entry(dir, name);
    if (!vm) continue;
    if (!(await stat(vm.stateDir).catch(() => undefined))) {
      await rm(join(dir, name), { force: true });
      continue;
    }
    out.push(vm);
  }
  return out;
}

/** A VM by registered name, or by its state directory's path. */
export async function findVm(nameOrDir: string, dir = vmsDir()): Promise<ManagedVm> {
  const byName = NAME.test(nameOrDir) ? await entry(dir, nameOrDir) : undefined;
  if (byName) return byName;
  if (nameOrDir.includes("/") || isAbsolute(nameOrDir)) {
    const stateDir = resolve(nameOrDir);
    if (readVmInfo(statePaths(stateDir)))
      return describe(readVmInfo(statePaths(stateDir))?.name ?? nameOrDir, stateDir);
  }
  throw new KilnError(`no VM named ${nameOrDir}`, {
    hint: "`kiln ps --all` lists them; a state directory path works too",
  });
}
