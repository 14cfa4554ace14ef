// How the disk and ISO writers call their tools: always in the writer's work directory, with the
// build's time stamp and the same environment, natively or in the builder image.

import { dirname } from "node:path";
import { KilnError } from "@kiln/spec";
import type { ToolResult } from "../tools/types.js";
import type { FormatContext } from "./types.js";

export type RunTool = (tool: string, args: string[], input?: { file: string }) => Promise<ToolResult>;

/**
 * A tool caller that may touch the work directory and the directories of `targets`. Everything else a
 * tool reads is staged into the work directory first (see stage.ts), so two directories are all the
 * builder container ever mounts.
 */
export function toolCaller(
  ctx: FormatContext,
  targets: readonly string[],
  epoch = Math.floor(ctx.mtime.getTime() / 1000),
): RunTool {
  const paths = [ctx.workDir, ...targets.map((t) => dirname(t))];
  // mtools, syslinux's installer, xorriso and sqfstar take "now" from SOURCE_DATE_EPOCH.
  const env = { SOURCE_DATE_EPOCH: String(epoch), MTOOLS_SKIP_CHECK: "1" };
  return (tool, args, input) =>
    ctx.tools.run({
      tool,
      args,
      paths,
      cwd: ctx.workDir,
      env,
      ...(input ? { input } : {}),
      signal: ctx.signal,
    });
}

/** The BIOS and EFI boot loaders kiln installs are x86 ones. */
export function requireAmd64(ctx: FormatContext, format: string): void {
  if (ctx.arch === "amd64") return;
  throw new KilnError(`--format ${format} is only available for amd64 in kiln, not ${ctx.arch}`, {
    hint: "build kernel+initrd, kernel+squashfs or tar for this architecture",
  });
}

/** `YYYYMMDDhhmmss` in UTC. */
export function utcStamp(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, "").slice(0, 14);
}
