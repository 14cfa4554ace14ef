import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { SpecError } from "./errors.js";
import { loadConfig } from "./load.js";

// A valid document that touches most of the format, so mutations land in every part of the schema.
const SEED = `kernel:
  image: linuxkit/kernel:6.6.71
  cmdline: "console=ttyS0 console=tty0"
  tar: kernel.tar
init:
  - linuxkit/init:v1.0
  - linuxkit/runc:v1.0
onboot:
  - name: sysctl
    image: linuxkit/sysctl:v1.0
    readonly: true
    capabilities: [CAP_SYS_ADMIN]
  - name: format
    image: linuxkit/format:v1.0
    binds.add: ["/dev:/dev"]
    devices:
      - path: all
        type: b
onshutdown:
  - name: bye
    image: busybox
    command: ["/bin/echo", "bye"]
services:
  - name: web
    image: nginx:1.27
    net: host
    pid: host
    uid: web
    env: ["PATH=/usr/bin:/bin", "A=b"]
    rlimits: ["nofile,1024,4096"]
    sysctl:
      net.core.somaxconn: "1024"
    resources:
      memory:
        limit: 1048576
    runtime:
      mkdir: [/var/lib/web]
      interfaces:
        - name: eth1
          add: veth
          peer: veth1
files:
  - path: etc/motd
    contents: "hello"
    mode: "0644"
  - path: etc/web
    directory: true
    uid: web
volumes:
  - name: data
    readonly: false
trust:
  org: [linuxkit]
`;

const SCALARS = [
  "",
  "0",
  "-1",
  "true",
  "null",
  "~",
  "[]",
  "{}",
  "'x'",
  '"a:b"',
  "all",
  "0644",
  "1e9",
  "*a",
  "&a x",
  "!!str 3",
];
const lines = SEED.split("\n");

type Mutation =
  | { kind: "deleteChar"; at: number; n: number }
  | { kind: "insertChar"; at: number; text: string }
  | { kind: "dropLine"; line: number }
  | { kind: "duplicateLine"; line: number }
  | { kind: "swapLines"; a: number; b: number }
  | { kind: "replaceValue"; line: number; value: string }
  | { kind: "reindent"; line: number; delta: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant("deleteChar" as const),
    at: fc.nat(SEED.length),
    n: fc.integer({ min: 1, max: 8 }),
  }),
  fc.record({
    kind: fc.constant("insertChar" as const),
    at: fc.nat(SEED.length),
    text: fc.oneof(
      fc.constantFrom(":", "-", " ", "\n", "\t", "[", "{", '"', "'", "#", "&", "*", "|", ">", "%", "@"),
      fc.string({ maxLength: 6 }),
    ),
  }),
  fc.record({ kind: fc.constant("dropLine" as const), line: fc.nat(lines.length - 1) }),
  fc.record({ kind: fc.constant("duplicateLine" as const), line: fc.nat(lines.length - 1) }),
  fc.record({
    kind: fc.constant("swapLines" as const),
    a: fc.nat(lines.length - 1),
    b: fc.nat(lines.length - 1),
  }),
  fc.record({
    kind: fc.constant("replaceValue" as const),
    line: fc.nat(lines.length - 1),
    value: fc.constantFrom(...SCALARS),
  }),
  fc.record({
    kind: fc.constant("reindent" as const),
    line: fc.nat(lines.length - 1),
    delta: fc.integer({ min: -4, max: 4 }),
  }),
);

function apply(text: string, m: Mutation): string {
  const ls = text.split("\n");
  const at = (i: number) => Math.min(i, ls.length - 1);
  switch (m.kind) {
    case "deleteChar":
      return text.slice(0, m.at) + text.slice(m.at + m.n);
    case "insertChar":
      return text.slice(0, m.at) + m.text + text.slice(m.at);
    case "dropLine":
      ls.splice(at(m.line), 1);
      break;
    case "duplicateLine":
      ls.splice(at(m.line), 0, ls[at(m.line)]!);
      break;
    case "swapLines": {
      const [a, b] = [at(m.a), at(m.b)];
      [ls[a], ls[b]] = [ls[b]!, ls[a]!];
      break;
    }
    case "replaceValue": {
      const l = ls[at(m.line)]!;
      const colon = l.indexOf(": ");
      ls[at(m.line)] =
        colon >= 0 ? `${l.slice(0, colon + 2)}${m.value}` : `${l.replace(/- .*/, "- ")}${m.value}`;
      break;
    }
    case "reindent": {
      const l = ls[at(m.line)]!;
      ls[at(m.line)] =
        m.delta > 0 ? " ".repeat(m.delta) + l : l.slice(Math.min(-m.delta, l.length - l.trimStart().length));
      break;
    }
  }
  return ls.join("\n");
}

describe("loadConfig under random mutation", () => {
  test("the seed is valid", () => {
    expect(() => loadConfig([{ name: "seed.yml", text: SEED }])).not.toThrow();
  });

  test("10,000 mutated documents end in a config or in typed errors with positions", () => {
    let valid = 0;
    let invalid = 0;
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => {
        const text = ms.reduce(apply, SEED);
        const lineCount = text.split("\n").length;
        try {
          const r = loadConfig([{ name: "m.yml", text }]);
          expect(typeof r.config).toBe("object");
          valid++;
        } catch (e) {
          if (!(e instanceof SpecError)) throw e;
          expect(e.issues.length).toBeGreaterThan(0);
          for (const issue of e.issues) {
            expect(issue.file).toBe("m.yml");
            expect(issue.line).toBeGreaterThanOrEqual(1);
            expect(issue.line).toBeLessThanOrEqual(lineCount + 1);
            expect(issue.col).toBeGreaterThanOrEqual(1);
            expect(issue.message.length).toBeGreaterThan(0);
          }
          invalid++;
        }
      }),
      { numRuns: 10_000, seed: Number(process.env.KILN_FUZZ_SEED ?? 20261123) },
    );
    // Both outcomes must be common, or the mutations are not exercising the validator.
    expect(valid).toBeGreaterThan(500);
    expect(invalid).toBeGreaterThan(2000);
  }, 120_000);
});
