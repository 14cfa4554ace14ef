import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";
import { makeTempState, removeTempState } from "./temp-state.js";

test("a temp state directory goes on removal, or when the process exits", async () => {
  const dir = await makeTempState();
  expect(existsSync(dir)).toBe(true);
  await removeTempState(dir);
  expect(existsSync(dir)).toBe(false);

  const module = fileURLToPath(new URL("./temp-state.ts", import.meta.url));
  const script = `import(${JSON.stringify(module)}).then(async (m) => { const d = await m.makeTempState(); console.log(d); })`;
  const leaked = execFileSync(process.execPath, ["--import", "tsx", "-e", script], {
    encoding: "utf8",
  }).trim();
  expect(leaked).toMatch(/kiln-vm-/);
  expect(existsSync(leaked)).toBe(false);
});
