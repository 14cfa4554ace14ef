import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const owned = new Set<string>();
let hooked = false;

/**
 * A state directory for a VM whose caller gave none. It goes when the Vm is disposed, or at the latest
 * when this process exits, so forgotten VMs leave no directories behind.
 */
export async function makeTempState(): Promise<string> {
  if (!hooked) {
    hooked = true;
    process.once("exit", () => {
      for (const dir of owned) rmSync(dir, { recursive: true, force: true });
    });
  }
  const dir = await mkdtemp(join(tmpdir(), "kiln-vm-"));
  owned.add(dir);
  return dir;
}

export async function removeTempState(dir: string): Promise<void> {
  owned.delete(dir);
  await rm(dir, { recursive: true, force: true });
}
