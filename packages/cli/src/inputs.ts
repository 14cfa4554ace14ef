import { readFile } from "node:fs/promises";
import type { SourceFile } from "@kiln/spec";
import { KilnError } from "@kiln/spec/errors";

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/** Read the YAML files named on the command line; `-` is standard input (read once). */
export async function readSources(
  paths: readonly string[],
  stdin: NodeJS.ReadableStream,
): Promise<SourceFile[]> {
  let stdinUsed = false;
  const out: SourceFile[] = [];
  for (const path of paths) {
    if (path === "-") {
      if (stdinUsed) throw new KilnError("`-` (standard input) can be given only once");
      stdinUsed = true;
      out.push({ name: "-", text: await readStdin(stdin) });
      continue;
    }
    try {
      out.push({ name: path, text: await readFile(path, "utf8") });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why =
        code === "ENOENT"
          ? "no such file"
          : code === "EISDIR"
            ? "is a directory"
            : code === "EACCES"
              ? "permission denied"
              : String(code);
      throw new KilnError(`cannot read ${path}: ${why}`, {
        hint: "pass the path of a LinuxKit YAML file, or - for stdin",
      });
    }
  }
  return out;
}
