import { UsageError } from "@kiln/spec";
import { describe, expect, test } from "vitest";
import { parseNetworking } from "./networking.js";
import { parsePublish } from "./publish.js";

describe("parsePublish", () => {
  test.for([
    ["9000:9000", { hostAddress: "127.0.0.1", hostPort: 9000, guestPort: 9000, protocol: "tcp" }],
    ["8080:80/tcp", { hostAddress: "127.0.0.1", hostPort: 8080, guestPort: 80, protocol: "tcp" }],
    ["5353:53/UDP", { hostAddress: "127.0.0.1", hostPort: 5353, guestPort: 53, protocol: "udp" }],
    ["0.0.0.0:8080:80", { hostAddress: "0.0.0.0", hostPort: 8080, guestPort: 80, protocol: "tcp" }],
    ["192.168.1.5:22:22/tcp", { hostAddress: "192.168.1.5", hostPort: 22, guestPort: 22, protocol: "tcp" }],
    ["[::1]:8443:443", { hostAddress: "::1", hostPort: 8443, guestPort: 443, protocol: "tcp" }],
    ["0:80", { hostAddress: "127.0.0.1", hostPort: 0, guestPort: 80, protocol: "tcp" }],
  ] as const)("%s", ([text, spec]) => {
    expect(parsePublish(text)).toEqual(spec);
  });

  test.for(["80", "a:80", "80:b", "80:0", "70000:80", "80:80/sctp", "host:80:80", "1:2:3:4", ""])(
    "%j is refused",
    (text) => {
      expect(() => parsePublish(text)).toThrow(UsageError);
    },
  );
});

describe("parseNetworking", () => {
  test.for([
    ["user", { mode: "user" }],
    ["default", { mode: "user" }],
    ["none", { mode: "none" }],
    ["tap,tap0", { mode: "tap", ifname: "tap0" }],
    ["bridge,br0", { mode: "bridge", bridge: "br0" }],
  ] as const)("%s", ([text, mode]) => {
    expect(parseNetworking(text)).toEqual(mode);
  });

  test.for(["tap", "bridge", "tap,a,b", "user,x", "vde", ""])("%j is refused", (text) => {
    expect(() => parseNetworking(text)).toThrow(UsageError);
  });
});
