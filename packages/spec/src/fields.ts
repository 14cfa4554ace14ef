// Parsers for LinuxKit's string-encoded fields. They return an error string instead of throwing,
// so the loader can report every bad field with its position.

export interface Bind {
  source: string;
  destination: string;
  /** Options as written; empty when none were given. */
  options: string[];
  error?: string;
}

export function parseBind(text: string): Bind {
  const parts = text.split(":");
  if (parts.length < 2 || parts.length > 3) {
    return {
      source: "",
      destination: "",
      options: [],
      error: `bind "${text}" must be src:dst or src:dst:options`,
    };
  }
  const [source, destination, opts] = parts as [string, string, string | undefined];
  if (source === "" || destination === "") {
    return { source, destination, options: [], error: `bind "${text}" has an empty source or destination` };
  }
  if (!destination.startsWith("/")) {
    return {
      source,
      destination,
      options: [],
      error: `bind destination "${destination}" must be an absolute path`,
    };
  }
  const options = opts === undefined || opts === "" ? [] : opts.split(",");
  return { source, destination, options };
}

export interface Tmpfs {
  destination: string;
  options: string[];
  error?: string;
}

export function parseTmpfs(text: string): Tmpfs {
  const colon = text.indexOf(":");
  const destination = colon < 0 ? text : text.slice(0, colon);
  const options = colon < 0 || colon === text.length - 1 ? [] : text.slice(colon + 1).split(",");
  if (!destination.startsWith("/")) {
    return { destination, options, error: `tmpfs destination "${destination}" must be an absolute path` };
  }
  return { destination, options };
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
  if (t === "unlimited" || t === "infinity" || t === "-1") return RLIM_INFINITY;
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
  return /^0?[0-7]{1,4}$/.test(text) ? Number.parseInt(text, 8) : undefined;
}
