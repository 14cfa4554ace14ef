// kiln run/ps/logs/stop without booting anything: usage errors and the empty cases, through the real binary.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { kiln } from "./test-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "kiln-run-cli-"));
process.env.KILN_VMS_DIR = join(dir, "vms");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("kiln run: usage", () => {
  test.for([
    [["run"], /missing required argument/],
    [["run", "a", "b"], /expected \[qemu\] IMAGE, got a b/],
    [["run", "qemu"], /expected \[qemu\] IMAGE/],
    [["run", "--uefi", "--bios", "x"], /--uefi and --bios/],
    [["run", "--kernel", "--iso", "x"], /one boot type at most/],
    [["run", "--disk", "d.img,colour=red", "x"], /unknown key "colour"/],
    [["run", "--publish", "80", "x"], /expected \[IP:\]HOST:GUEST/],
    [["run", "--networking", "tap", "x"], /tap needs one interface/],
    [["run", "--accel", "xen", "x"], /argument 'xen' is invalid/],
    [["run", "--cpus", "two", "x"], /--cpus two: not a whole number/],
    [["run", "--data", "a", "--data-file", "b", "x"], /--data and --data-file/],
    [["run", "--networking", "none", "-p", "80:80", "x"], /need user networking/],
  ] as const)("kiln %j exits 2", ([args, message]) => {
    const r = kiln([...args], { cwd: dir });
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
  });

  test("an image that does not exist says what kiln looked for, exit 1", () => {
    const r = kiln(["run", "qemu", "nothing-here"], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/nothing-here: no such file, and no \S*nothing-here-kernel either/);
    expect(r.stderr).not.toMatch(/at .*\.js/); // no stack
  });

  test("a kernel without its initrd names the missing file", () => {
    writeFileSync(join(dir, "half-kernel"), "x");
    const r = kiln(["run", "half"], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/half-initrd.img: no such file/);
  });
});

describe("kiln ps / logs / stop with nothing running", () => {
  test("ps prints only its header", () => {
    const r = kiln(["ps"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual([
      expect.stringMatching(/^NAME\s+PID\s+UPTIME\s+PORTS\s+STATE$/),
    ]);
    expect(JSON.parse(kiln(["ps", "--json"]).stdout)).toEqual([]);
  });

  test("stop and logs of an unknown VM are errors that point at ps", () => {
    for (const args of [
      ["stop", "ghost"],
      ["logs", "ghost"],
    ]) {
      const r = kiln(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/no VM named ghost.*kiln ps/);
    }
  });

  test("stop --timeout must be a number", () => {
    expect(kiln(["stop", "--timeout", "soon", "x"]).code).toBe(2);
  });
});
