// Commands and options are declared once, as data. The commander program and docs/cli.md are both
// generated from these declarations, so help text and documentation cannot drift apart.

export interface OptionDecl {
  /** Commander flags, e.g. `-f, --format <formats>`. */
  flags: string;
  description: string;
  default?: string | boolean | string[];
  /** Repeatable options collect their values into an array. */
  repeatable?: boolean;
  choices?: readonly string[];
}

export interface ArgDecl {
  name: string;
  description: string;
  variadic?: boolean;
  required?: boolean;
}

export interface CommandContext {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  cwd: string;
}

export interface CommandDecl {
  name: string;
  summary: string;
  /** Longer help, shown by `kiln help CMD` and in docs/cli.md. */
  details?: string;
  args?: readonly ArgDecl[];
  options?: readonly OptionDecl[];
  subcommands?: readonly CommandDecl[];
  examples?: readonly string[];
  /** Returns the process exit code. */
  run?: (args: string[], options: Record<string, unknown>, ctx: CommandContext) => Promise<number>;
}
