import { PassThrough } from "node:stream";
import { KilnError } from "@kiln/spec";
import { describe, expect, test } from "vitest";
import type { CommandContext, CommandDecl } from "./declare.js";
import { main } from "./main.js";

function context() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const read = (s: PassThrough) => () => (s.read() as Buffer | null)?.toString("utf8") ?? "";
  const ctx: CommandContext = { stdout, stderr, stdin: new PassThrough(), cwd: process.cwd() };
  return { ctx, out: read(stdout), err: read(stderr) };
}

const failing = (error: unknown): CommandDecl => ({
  name: "boom",
  summary: "fails",
  async run() {
    throw error;
  },
});

describe("the CLI error boundary", () => {
  test("a known error prints one line with its hint, no stack, and its exit code", async () => {
    const { ctx, err } = context();
    const code = await main(["boom"], ctx, [
      failing(new KilnError("the disk is full", { hint: "free some space" })),
    ]);
    expect(code).toBe(1);
    expect(err()).toBe("kiln: error: the disk is full (hint: free some space)\n");
  });

  test("an unexpected error is called a bug and printed with its stack", async () => {
    const { ctx, err } = context();
    const code = await main(["boom"], ctx, [failing(new TypeError("x is not a function"))]);
    expect(code).toBe(70);
    const text = err();
    expect(text).toContain("This is a bug in kiln");
    expect(text).toContain("TypeError: x is not a function");
    expect(text).toMatch(/\n\s+at /);
  });

  test("--help exits 0 and writes to stdout", async () => {
    const { ctx, out } = context();
    expect(await main(["--help"], ctx)).toBe(0);
    expect(out()).toContain("Usage: kiln");
  });
});
