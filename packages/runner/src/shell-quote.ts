const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quote one argument for a POSIX shell; plain words stay as they are. */
export function shellQuote(arg: string): string {
  if (arg !== "" && SAFE.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** A command line a user can paste into a shell to run exactly the same process. */
export function escapeCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(" ");
}

/** QEMU's option syntax (`key=value,key=value`) escapes a comma inside a value by doubling it. */
export function qemuValue(value: string): string {
  return value.replaceAll(",", ",,");
}
