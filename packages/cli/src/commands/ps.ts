import type { CommandDecl } from "../declare.js";

function uptime(startedAt: string | undefined): string {
  if (!startedAt) return "-";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(startedAt)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, "0")}h`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return (
    rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")).join("\n") +
    "\n"
  );
}

export const psCommand: CommandDecl = {
  name: "ps",
  summary: "List the VMs kiln runs",
  details:
    "Every `kiln run` registers its VM by name in $KILN_VMS_DIR, else $XDG_RUNTIME_DIR/kiln/vms, else " +
    "$TMPDIR/kiln-UID/vms: a symlink to the VM's state directory, where vm.json says what it runs.",
  options: [
    { flags: "-a, --all", description: "also list VMs that have exited" },
    { flags: "--json", description: "print JSON" },
  ],
  async run(_args, o, ctx) {
    const { listVms } = await import("@kiln/runner");
    const vms = (await listVms()).filter((v) => o.all || v.running);
    if (o.json) {
      const out = vms.map((v) => ({
        name: v.name,
        running: v.running,
        pid: v.pid ?? null,
        stateDir: v.stateDir,
        startedAt: v.info?.startedAt ?? null,
        image: v.info?.image ?? null,
        ports: v.info?.ports ?? [],
      }));
      ctx.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      return 0;
    }
    const rows = [["NAME", "PID", "UPTIME", "PORTS", "STATE"]];
    for (const v of vms) {
      const ports = (v.info?.ports ?? []).map(
        (p) => `${p.hostAddress}:${p.hostPort}->${p.guestPort}/${p.protocol}`,
      );
      rows.push([
        v.name,
        v.running ? String(v.pid) : "exited",
        v.running ? uptime(v.info?.startedAt) : "-",
        ports.join(",") || "-",
        v.stateDir,
      ]);
    }
    ctx.stdout.write(table(rows));
    return 0;
  },
};
