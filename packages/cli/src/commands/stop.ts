import { UsageError } from "@kiln/spec/errors";
import type { CommandDecl } from "../declare.js";

export const stopCommand: CommandDecl = {
  name: "stop",
  summary: "Stop VMs: an ACPI power-off over QMP, and a kill only after the timeout",
  args: [
    {
      name: "names",
      description: "VM names (see kiln ps), or state directories",
      variadic: true,
      required: true,
    },
  ],
  options: [
    {
      flags: "-t, --timeout <seconds>",
      description: "how long the guest has to power off before QEMU is killed",
      default: "30",
    },
  ],
  examples: ["kiln stop minio", "kiln stop --timeout 5 web"],
  async run(names, o, ctx) {
    const seconds = Number(o.timeout);
    if (!(seconds >= 0)) throw new UsageError(`--timeout ${String(o.timeout)}: not a number of seconds`);
    const { findVm, stopManagedVm } = await import("@kiln/runner");
    const vms = await Promise.all(names.map((n) => findVm(n)));
    const results = await Promise.all(vms.map((vm) => stopManagedVm(vm, { timeoutMs: seconds * 1000 })));
    for (const [i, r] of results.entries()) {
      const name = vms[i]!.name;
      const secs = (r.durationMs / 1000).toFixed(1);
      if (r.alreadyStopped) ctx.stderr.write(`kiln: ${name} is not running\n`);
      else if (r.graceful) ctx.stdout.write(`stopped ${name} (powered off in ${secs} s)\n`);
      else {
        ctx.stderr.write(`kiln: ${name}: ${r.why}; killed QEMU\n`);
        ctx.stdout.write(`killed ${name}\n`);
      }
    }
    return 0;
  },
};
