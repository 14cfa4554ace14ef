import { open } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { KilnError } from "@kiln/spec/errors";
import type { CommandDecl } from "../declare.js";

export const logsCommand: CommandDecl = {
  name: "logs",
  summary: "Print a VM's serial console (STATE/console.log)",
  args: [{ name: "name", description: "VM name (see kiln ps), or its state directory", required: true }],
  options: [{ flags: "-f, --follow", description: "keep printing new output until the VM exits" }],
  examples: ["kiln logs minio", "kiln logs -f minio"],
  async run([name], o, ctx) {
    const { FileTail, findVm, isVmProcess, statePaths } = await import("@kiln/runner");
    const vm = await findVm(name!);
    const path = statePaths(vm.stateDir).console;
    if (!o.follow) {
      const fh = await open(path, "r").catch(() => {
        throw new KilnError(`${name}: no console log at ${path}`, {
          hint: "the VM has not printed anything yet",
        });
      });
      try {
        for await (const chunk of fh.createReadStream()) ctx.stdout.write(chunk);
      } finally {
        await fh.close();
      }
      return 0;
    }
    const tail = new FileTail(path, (t) => ctx.stdout.write(t)).start(100);
    while (vm.pid !== undefined && isVmProcess(vm.pid, vm.stateDir)) await sleep(250);
    await tail.stop();
    return 0;
  },
};
