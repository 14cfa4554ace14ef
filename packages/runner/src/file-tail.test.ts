import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { FileTail } from "./file-tail.js";

const dir = mkdtempSync(join(tmpdir(), "kiln-tail-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
};

test("follows a file from before it exists, through appends, split UTF-8 and truncation", async () => {
  const path = join(dir, "console.log");
  let text = "";
  const tail = new FileTail(path, (t) => {
    text += t;
  }).start(50);
  writeFileSync(path, "booting\n");
  await until(() => text === "booting\n");
  const euro = Buffer.from("€");
  appendFileSync(path, Buffer.concat([Buffer.from("price "), euro.subarray(0, 1)]));
  await until(() => text === "booting\nprice ");
  appendFileSync(path, Buffer.concat([euro.subarray(1), Buffer.from("5\n")]));
  await until(() => text.endsWith("price €5\n"));
  writeFileSync(path, "new run\n"); // QEMU truncates the log when it starts again
  await until(() => text.endsWith("new run\n"));
  appendFileSync(path, "last words");
  await tail.stop();
  expect(text.endsWith("last words")).toBe(true);
});
