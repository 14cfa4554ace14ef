import { execFileSync } from "node:child_process";
import { expect, test } from "vitest";
import { escapeCommand, qemuValue, shellQuote } from "./shell-quote.js";

test("plain words stay plain; anything else is single-quoted so a shell reads it back exactly", () => {
  expect(shellQuote("-m")).toBe("-m");
  expect(shellQuote("file=/a/b.img,format=raw")).toBe("file=/a/b.img,format=raw");
  const tricky = ["console=ttyS0 quiet", "it's", "", "$HOME", "a\nb", "*"];
  const line = escapeCommand(["printf", "%s\\0", ...tricky]);
  expect(execFileSync("sh", ["-c", line], { encoding: "utf8" }).split("\0").slice(0, -1)).toEqual(tricky);
});

test("QEMU option values double their commas", () => {
  expect(qemuValue("/a,b/c")).toBe("/a,,b/c");
});
