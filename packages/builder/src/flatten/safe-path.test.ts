import { KilnError } from "@kiln/spec";
import { describe, expect, test } from "vitest";
import { normaliseLayerPath, normaliseLinkTarget, symlinkEscapes } from "./safe-path.js";

const digest = "sha256:0123456789abcdef0123456789abcdef";

describe("normaliseLayerPath", () => {
  test.for([
    ["./usr/bin/", "usr/bin"],
    ["usr//bin/./x", "usr/bin/x"],
    ["././a", "a"],
    ["./", ""],
    [".", ""],
    ["a b/ü", "a b/ü"],
    ["...", "..."],
    ["..a/b..", "..a/b.."],
  ])("%j → %j", ([raw, expected]) => {
    expect(normaliseLayerPath(raw!, digest)).toBe(expected);
  });

  test.for([
    ["/etc/passwd", 'layer sha256:0123456789ab…: entry "/etc/passwd" is an absolute path'],
    ["../etc", 'layer sha256:0123456789ab…: entry "../etc" climbs out of the image root'],
    ["a/../../etc", "climbs out of the image root"],
    ["a/..", "climbs out of the image root"],
    ["a\0b", "contains a NUL byte"],
  ])("rejects %j", ([raw, message]) => {
    let error: unknown;
    try {
      normaliseLayerPath(raw!, digest);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(KilnError);
    expect((error as KilnError).message).toContain(message);
    expect((error as KilnError).hint).toMatch(/malformed or hostile/);
  });
});

describe("normaliseLinkTarget", () => {
  test("normalises like entry paths", () => {
    expect(normaliseLinkTarget("h", "./bin//busybox", digest)).toBe("bin/busybox");
  });
  test.for(["/bin/busybox", "../x", "./", ""])("rejects %j", (raw) => {
    expect(() => normaliseLinkTarget("h", raw, digest)).toThrow(/hardlink "h" → /);
  });
});

describe("symlinkEscapes", () => {
  test.for([
    ["a", "/etc/shadow", false],
    ["a", "b", false],
    ["a", ".", false],
    ["a", "..", true],
    ["a", "../etc", true],
    ["a/b", "../etc", false],
    ["a/b", "../../etc", true],
    ["a/b/c", "../../x/../y", false],
    ["a/b/c", "../../x/../../y", true],
    ["a/b", "./.././../etc", true],
    ["a/b", "x//y/../..", false],
  ] as const)("%s → %s escapes: %s", ([link, target, escapes]) => {
    expect(symlinkEscapes(link, target)).toBe(escapes);
  });
});
