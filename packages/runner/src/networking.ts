import { UsageError } from "@kiln/spec/errors";

export type NetworkMode =
  | { mode: "user" }
  | { mode: "tap"; ifname: string }
  | { mode: "bridge"; bridge: string }
  | { mode: "none" };

/** `--networking user|tap,IF|bridge,BR|none` (LinuxKit's values; `default` is user). */
export function parseNetworking(text: string): NetworkMode {
  const [mode, arg, ...extra] = text.split(",");
  const need = (what: string) => {
    if (!arg || extra.length)
      throw new UsageError(
        `--networking ${text}: ${mode} needs one ${what}`,
        `e.g. ${mode},${what === "interface" ? "tap0" : "br0"}`,
      );
    return arg;
  };
  switch (mode) {
    case "user":
    case "default":
      if (arg !== undefined) throw new UsageError(`--networking ${text}: user takes no argument`);
      return { mode: "user" };
    case "tap":
      return { mode: "tap", ifname: need("interface") };
    case "bridge":
      return { mode: "bridge", bridge: need("bridge") };
    case "none":
      if (arg !== undefined) throw new UsageError(`--networking ${text}: none takes no argument`);
      return { mode: "none" };
    default:
      throw new UsageError(
        `--networking ${text}: unknown mode "${mode}"`,
        "use user, tap,IF, bridge,BR or none",
      );
  }
}
