import { Command, Option } from "commander";
import type { CommandContext, CommandDecl } from "./declare.js";
import { VERSION } from "./version.js";

export const PROGRAM_SUMMARY =
  "kiln: build LinuxKit appliances from YAML and OCI images, and boot them in QEMU";

function addCommand(
  parent: Command,
  decl: CommandDecl,
  ctx: CommandContext,
  setExit: (c: number) => void,
): void {
  const cmd = parent.command(decl.name).description(decl.summary);
  if (decl.details) cmd.addHelpText("after", `\n${decl.details}`);
  for (const a of decl.args ?? []) {
    const name = a.variadic ? `${a.name}...` : a.name;
    cmd.argument(a.required ? `<${name}>` : `[${name}]`, a.description);
  }
  for (const o of decl.options ?? []) {
    const opt = new Option(o.flags, o.description);
    if (o.choices) opt.choices(o.choices);
    if (o.repeatable) opt.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    if (o.default !== undefined) opt.default(o.default);
    cmd.addOption(opt);
  }
  if (decl.examples?.length)
    cmd.addHelpText("after", `\nExamples:\n${decl.examples.map((e) => `  $ ${e}`).join("\n")}`);
  for (const sub of decl.subcommands ?? []) addCommand(cmd, sub, ctx, setExit);
  const run = decl.run;
  if (run) {
    cmd.action(async (...argv: unknown[]) => {
      const command = argv[argv.length - 1] as Command;
      const positional = (argv.slice(0, -2) as Array<string | string[] | undefined>).flatMap((a) => a ?? []);
      setExit(await run(positional, command.opts(), ctx));
    });
  }
}

/** Build the commander program from the declarations. Parsing never calls process.exit. */
export function buildProgram(
  decls: readonly CommandDecl[],
  ctx: CommandContext,
  setExit: (code: number) => void,
): Command {
  const program = new Command("kiln")
    .description(PROGRAM_SUMMARY)
    .version(VERSION, "-V, --version")
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    });
  for (const d of decls) addCommand(program, d, ctx, setExit);
  return program;
}
