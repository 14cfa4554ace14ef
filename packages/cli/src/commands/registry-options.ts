import { UsageError } from "@kiln/spec/errors";
import type { OptionDecl } from "../declare.js";

/** Options shared by every command that reads images. */
export const imageOptions: readonly OptionDecl[] = [
  {
    flags: "--cache <dir>",
    description:
      "image cache directory (default: $KILN_CACHE, else $XDG_CACHE_HOME/kiln, else ~/.cache/kiln)",
  },
  {
    flags: "--arch <arch>",
    description: "platform architecture to select from multi-platform images (default: the host's)",
  },
  {
    flags: "--insecure-registry <host>",
    description: "reach this registry over plain HTTP (localhost always is)",
    repeatable: true,
  },
  {
    flags: "--mirror <registry=url>",
    description: "pull images of a registry from a mirror, e.g. docker.io=http://127.0.0.1:5000",
    repeatable: true,
  },
  { flags: "-q, --quiet", description: "print no progress" },
];

/** Just `--cache`, for commands that never reach a registry. */
export const cacheOnlyOptions: readonly OptionDecl[] = imageOptions.filter((o) =>
  o.flags.startsWith("--cache"),
);

export function mirrorsFrom(values: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const eq = v.indexOf("=");
    if (eq <= 0 || !/^https?:\/\//.test(v.slice(eq + 1))) {
      throw new UsageError(
        `--mirror "${v}" is not registry=url`,
        "e.g. --mirror docker.io=http://127.0.0.1:5000",
      );
    }
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}
