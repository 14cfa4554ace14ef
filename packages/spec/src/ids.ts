import type { RawConfig } from "./schema.js";

export const FIRST_CONTAINER_ID = 100;

/**
 * uid/gid allocation, as LinuxKit's build does it: onboot, then onshutdown, then services, from 100
 * in YAML order. A repeated name keeps the later id (the counter still advances).
 */
export function allocateIds(config: RawConfig): Map<string, number> {
  const ids = new Map<string, number>();
  let next = FIRST_CONTAINER_ID;
  for (const section of ["onboot", "onshutdown", "services"] as const) {
    for (const entry of config[section] ?? []) ids.set(entry.name, next++);
  }
  return ids;
}

/** A uid/gid as written (number or container name) to its number; `""` and `root` are 0. */
export function resolveId(value: number | string | undefined, ids: ReadonlyMap<string, number>): number {
  if (value === undefined || value === "" || value === "root") return 0;
  if (typeof value === "number") return value;
  const id = ids.get(value);
  if (id === undefined) throw new Error(`cannot find id: ${value}`);
  return id;
}
