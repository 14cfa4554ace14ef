import { isIP } from "node:net";
import { UsageError } from "@kiln/spec/errors";

export type Protocol = "tcp" | "udp";

export interface PortSpec {
  /** The host address to bind: 127.0.0.1 unless one is given. */
  hostAddress: string;
  /** 0 lets kiln pick a free port; the chosen one is in `vm.ports`. */
  hostPort: number;
  guestPort: number;
  protocol: Protocol;
}

function port(text: string, what: string, spec: string, allowZero: boolean): number {
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= (allowZero ? 0 : 1) && n <= 65535)) {
    throw new UsageError(`--publish ${spec}: ${what} "${text}" is not a port number`, "ports are 1-65535");
  }
  return n;
}

/**
 * One `--publish` value: `[IP:]HOST:GUEST[/tcp|udp]`. Unlike LinuxKit, which binds every interface, the
 * host side binds 127.0.0.1 unless an address is given (`0.0.0.0:8080:80` to expose it). `[::1]:80:80`
 * binds an IPv6 address.
 */
export function parsePublish(spec: string): PortSpec {
  let rest = spec.trim();
  let protocol: Protocol = "tcp";
  const slash = rest.lastIndexOf("/");
  if (slash >= 0) {
    const p = rest.slice(slash + 1).toLowerCase();
    if (p !== "tcp" && p !== "udp") throw new UsageError(`--publish ${spec}: protocol must be tcp or udp`);
    protocol = p;
    rest = rest.slice(0, slash);
  }
  let hostAddress = "127.0.0.1";
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(rest);
  if (v6) {
    hostAddress = v6[1]!;
    rest = v6[2]!;
  }
  const parts = rest.split(":");
  if (!v6 && parts.length === 3) hostAddress = parts.shift()!;
  if (parts.length !== 2) {
    throw new UsageError(`--publish ${spec}: expected [IP:]HOST:GUEST[/tcp|udp]`, "e.g. --publish 9000:9000");
  }
  if (isIP(hostAddress) === 0)
    throw new UsageError(`--publish ${spec}: "${hostAddress}" is not an IP address`);
  return {
    hostAddress,
    hostPort: port(parts[0]!, "host port", spec, true),
    guestPort: port(parts[1]!, "guest port", spec, false),
    protocol,
  };
}
