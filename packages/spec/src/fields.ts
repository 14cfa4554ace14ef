// Parsers for LinuxKit's string-encoded fields. They return an error string instead of throwing,
// so the loader can report every bad field with its position.

export interface Bind {
  source: string;
  destination: string;
  /** Options as written; empty when none were given. */
  options: string[];
  /** A third `:` part was written, even an empty one. */
  explicitOptions: boolean;
  error?: string;
}

export function parseBind(text: string): Bind {
  const parts = text.split(":");
  if (parts.length < 2 || parts.length > 3) {
    const error = `bind "${text}" must be src:dst or src:dst:options`;
    return { source: "", destination: "", options: [], explicitOptions: false, error };
  }
  const [source, destination, opts] = parts as [string, string, string | undefined];
  const explicitOptions = opts !== undefined;
  // LinuxKit splits the options as written, so `a:b:` keeps one empty option.
  const options = opts === undefined ? [] : opts.split(",");
  const bind = { source, destination, options, explicitOptions };
  if (source === "" || destination === "") {
    return { ...bind, error: `bind "${text}" has an empty source or destination` };
  }
  if (!destination.startsWith("/")) {
    return { ...bind, error: `bind destination "${destination}" must be an absolute path` };
  }
  return bind;
}

/** The mount options LinuxKit gives a bind: `rw,rbind,rshared` by default, else the given ones plus `rbind`. */
export function bindOptions(bind: Bind): string[] {
  return bind.explicitOptions ? [...bind.options, "rbind"] : ["rw", "rbind", "rshared"];
}

export interface Tmpfs {
  destination: string;
  /** Undefined when no options were written; `/x:` gives `[""]`, as in LinuxKit. */
  options: string[] | undefined;
  error?: string;
}

export function parseTmpfs(text: string): Tmpfs {
  const parts = text.split(":");
  if (parts.length > 2)
    return { destination: "", options: undefined, error: `tmpfs "${text}" has too many ':'` };
  const destination = parts[0]!;
  const options = parts.length === 2 ? parts[1]!.split(",") : undefined;
  if (!destination.startsWith("/")) {
    return { destination, options, error: `tmpfs destination "${destination}" must be an absolute path` };
  }
  return { destination, options };
}

export interface MountSpec {
  destination: string;
  type: string;
  source: string;
  options: string[] | undefined;
  error?: string;
}

const TYPE_FROM_SOURCE = new Set(["mqueue", "devpts", "proc", "sysfs", "cgroup"]);
const DESTINATION_FROM_TYPE: Record<string, string> = {
  proc: "/proc",
  devpts: "/dev/pts",
  sysfs: "/sys",
  cgroup: "/sys/fs/cgroup",
  mqueue: "/dev/mqueue",
};

/** Fill a `mounts` entry the way LinuxKit does: type from source, source from type, destination from type. */
export function normalizeMount(m: {
  destination?: string | undefined;
  type?: string | undefined;
  source?: string | undefined;
  options?: string[] | undefined;
}): MountSpec {
  let type = m.type ?? "";
  let source = m.source ?? "";
  let destination = m.destination ?? "";
  if (type === "" && TYPE_FROM_SOURCE.has(source)) type = source;
  else if (type === "" && destination === "/dev") type = "tmpfs";
  if (type === "") {
    return {
      destination,
      type,
      source,
      options: m.options,
      error: `mount for destination "${destination}" is missing a type`,
    };
  }
  if (source === "") source = type;
  if (destination === "") destination = DESTINATION_FROM_TYPE[type] ?? "";
  if (destination === "") {
    return {
      destination,
      type,
      source,
      options: m.options,
      error: `mount of type "${type}" is missing a destination`,
    };
  }
  return { destination, type, source, options: m.options };
}

const RLIMITS = [
  "AS",
  "CORE",
  "CPU",
  "DATA",
  "FSIZE",
  "LOCKS",
  "MEMLOCK",
  "MSGQUEUE",
  "NICE",
  "NOFILE",
  "NPROC",
  "RSS",
  "RTPRIO",
  "RTTIME",
  "SIGPENDING",
  "STACK",
];

/** RLIM_INFINITY as runc reads it: the all-ones uint64, which a JS number cannot hold exactly. */
export const RLIM_INFINITY = 18446744073709551615n;

export interface Rlimit {
  type: string;
  soft: bigint;
  hard: bigint;
  error?: string;
}

function parseLimit(v: string): bigint | undefined {
  const t = v.trim().toLowerCase();
  if (t === "unlimited") return RLIM_INFINITY;
  if (!/^\d+$/.test(t)) return undefined;
  const n = BigInt(t);
  return n <= RLIM_INFINITY ? n : undefined;
}

export function parseRlimit(text: string): Rlimit {
  const parts = text.split(",");
  const bad = (error: string): Rlimit => ({ type: "", soft: 0n, hard: 0n, error });
  if (parts.length !== 3) return bad(`rlimit "${text}" must be name,soft,hard`);
  let name = parts[0]!.trim().toUpperCase();
  if (name.startsWith("RLIMIT_")) name = name.slice("RLIMIT_".length);
  if (!RLIMITS.includes(name))
    return bad(`unknown rlimit "${parts[0]}"; known: ${RLIMITS.map((r) => r.toLowerCase()).join(", ")}`);
  const soft = parseLimit(parts[1]!);
  const hard = parseLimit(parts[2]!);
  if (soft === undefined || hard === undefined)
    return bad(`rlimit "${text}" needs numeric limits or "unlimited"`);
  if (soft > hard) return bad(`rlimit "${text}" has a soft limit above its hard limit`);
  return { type: `RLIMIT_${name}`, soft, hard };
}

/** Parse an octal mode string such as "0644"; undefined when it is not one. */
export function parseMode(text: string): number | undefined {
  if (!/^[0-7]{1,6}$/.test(text)) return undefined;
  const mode = Number.parseInt(text, 8);
  return mode <= 0o7777 ? mode : undefined;
}
