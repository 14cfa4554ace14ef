import type { CommandDecl } from "./declare.js";
import { PROGRAM_SUMMARY } from "./program.js";

function usage(path: string, d: CommandDecl): string {
  const args = (d.args ?? []).map((a) => {
    const n = a.variadic ? `${a.name.toUpperCase()}...` : a.name.toUpperCase();
    return a.required ? n : `[${n}]`;
  });
  const opts = d.options?.length ? ["[options]"] : [];
  const subs = d.subcommands?.length ? ["COMMAND"] : [];
  return ["kiln", path, ...opts, ...subs, ...args].join(" ");
}

function section(path: string, d: CommandDecl, level: number): string[] {
  const out = [`${"#".repeat(level)} \`kiln ${path}\``, "", d.summary + ".", ""];
  if (d.details) out.push(d.details, "");
  out.push("```", usage(path, d), "```", "");
  if (d.args?.length) {
    out.push("| argument | description |", "| --- | --- |");
    for (const a of d.args)
      out.push(`| \`${a.name.toUpperCase()}${a.variadic ? "..." : ""}\` | ${a.description} |`);
    out.push("");
  }
  if (d.options?.length) {
    out.push("| option | description | default |", "| --- | --- | --- |");
    for (const o of d.options) {
      const extra = [
        o.repeatable ? "repeatable" : "",
        o.choices ? `one of ${o.choices.join(", ")}` : "",
      ].filter(Boolean);
      const desc = extra.length ? `${o.description} (${extra.join("; ")})` : o.description;
      const def = o.default === undefined ? "" : `\`${String(o.default)}\``;
      out.push(`| \`${o.flags}\` | ${desc} | ${def} |`);
    }
    out.push("");
  }
  if (d.examples?.length) out.push("Examples:", "", "```sh", ...d.examples, "```", "");
  for (const s of d.subcommands ?? []) out.push(...section(`${path} ${s.name}`, s, level + 1));
  return out;
}

/** docs/cli.md, generated from the same declarations the program is built from. */
export function renderCliDocs(decls: readonly CommandDecl[]): string {
  const out = [
    "# kiln command line",
    "",
    "<!-- Generated from packages/cli/src/commands by `npm run docs`. Do not edit by hand: a test fails when it is stale. -->",
    "",
    PROGRAM_SUMMARY + ".",
    "",
    "Global options: `-V, --version` prints the version; `-h, --help` prints help for any command.",
    "",
    "Exit status: 0 on success, 1 when the input is invalid or the work failed, 2 on a usage error, 70 on an internal error (a bug).",
    "",
    "| command | summary |",
    "| --- | --- |",
    ...decls.map((d) => `| [\`kiln ${d.name}\`](#kiln-${d.name}) | ${d.summary} |`),
    "",
  ];
  for (const d of decls) out.push(...section(d.name, d, 2));
  return `${out.join("\n").trimEnd()}\n`;
}
