// Runs the tools installed on this machine.

import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { loadExeca } from "../load-execa.js";
import { missingToolsError, SYSTEM_PATH, text, toolEnv, toolFailedError } from "./env.js";
import type { ToolInvocation, ToolResult, ToolRunner } from "./types.js";

export class NativeToolRunner implements ToolRunner {
  readonly mode = "native" as const;
  /** The user's PATH first, then the system directories a non-root PATH often lacks. */
  readonly #path: string;
  readonly #found = new Set<string>();

  /** `searchPath` replaces that search path entirely (tests use it to hide installed tools). */
  constructor(options: { searchPath?: string } = {}) {
    const dirs = options.searchPath?.split(delimiter) ?? [
      ...(process.env.PATH ?? "").split(delimiter),
      ...SYSTEM_PATH.split(":"),
    ];
    this.#path = [...new Set(dirs.filter(Boolean))].join(delimiter);
  }

  async require(tools: string[]): Promise<void> {
    const missing: string[] = [];
    for (const tool of tools) {
      if (this.#found.has(tool)) continue;
      if (await this.#exists(tool)) this.#found.add(tool);
      else missing.push(tool);
    }
    if (missing.length > 0) throw missingToolsError(missing, "this machine");
  }

  async run(inv: ToolInvocation): Promise<ToolResult> {
    inv.signal?.throwIfAborted();
    const { execa } = await loadExeca();
    const result = await execa(inv.tool, inv.args, {
      cwd: inv.cwd,
      env: toolEnv(this.#path, inv.env),
      extendEnv: false,
      ...(Buffer.isBuffer(inv.input) ? { input: inv.input } : {}),
      ...(inv.input && !Buffer.isBuffer(inv.input) ? { inputFile: inv.input.file } : {}),
      ...(inv.signal ? { cancelSignal: inv.signal } : {}),
      reject: false,
      stripFinalNewline: false,
    });
    if (inv.signal?.aborted) throw inv.signal.reason;
    if ((result as { code?: string }).code === "ENOENT") throw missingToolsError([inv.tool], "this machine");
    if (result.failed) {
      throw toolFailedError(inv, result.exitCode, text(result.stderr) || text(result.shortMessage));
    }
    return { stdout: text(result.stdout), stderr: text(result.stderr) };
  }

  async #exists(tool: string): Promise<boolean> {
    if (tool.startsWith("/"))
      return access(tool, constants.R_OK).then(
        () => true,
        () => false,
      );
    for (const dir of this.#path.split(delimiter)) {
      const ok = await access(join(dir, tool), constants.X_OK).then(
        () => true,
        () => false,
      );
      if (ok) return true;
    }
    return false;
  }
}
