import { stringify } from "yaml";
import type { LoadedConfig } from "./load.js";
import type { RawConfig } from "./schema.js";

const SECTION_ORDER = [
  "kernel",
  "init",
  "onboot",
  "onshutdown",
  "services",
  "files",
  "volumes",
  "trust",
] as const;

/** The config with LinuxKit's defaults spelled out, which is what a build will act on. */
export function withDefaults(config: RawConfig): RawConfig {
  const out: RawConfig = {};
  for (const key of SECTION_ORDER) {
    const value = config[key];
    if (value === undefined) continue;
    (out as Record<string, unknown>)[key] = value;
  }
  if (out.kernel)
    out.kernel = {
      ...out.kernel,
      binary: out.kernel.binary ?? "kernel",
      tar: out.kernel.tar ?? "kernel.tar",
    };
  if (out.files) {
    out.files = out.files.map((f) =>
      f.mode !== undefined || f.symlink !== undefined ? f : { ...f, mode: f.directory ? "0700" : "0600" },
    );
  }
  return out;
}

/** `kiln build --dry-run`: the merged, normalised YAML. */
export function renderDryRun(loaded: LoadedConfig): string {
  return stringify(withDefaults(loaded.config), { lineWidth: 0, indentSeq: true });
}
