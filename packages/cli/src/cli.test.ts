import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jsonSchemaText } from "@kiln/spec";
import { describe, expect, test } from "vitest";
import { renderCliDocs } from "./cli-docs.js";
import { commands } from "./commands/index.js";
import { kiln, REPO_ROOT } from "./test-helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "kiln-cli-"));
function file(name: string, text: string): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

describe("kiln --help / --version", () => {
  test("--version prints the package version", () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "packages/cli/package.json"), "utf8"));
    const r = kiln(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });
  test("--help lists every declared command", () => {
    const r = kiln(["--help"]);
    expect(r.code).toBe(0);
    for (const c of commands) expect(r.stdout).toContain(c.name);
  });
  test("a mistyped command is a usage error with a suggestion", () => {
    const r = kiln(["biuld"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Did you mean build?");
  });
  test("a missing argument is a usage error", () => {
    expect(kiln(["validate"]).code).toBe(2);
  });
});

describe("kiln validate", () => {
  test("valid input exits 0", () => {
    const r = kiln(["validate", "examples/minio.yml"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });
  test("invalid input exits 1 with one positioned line per problem and no stack", () => {
    const p = file(
      "bad.yml",
      "onboot:\n  - name: a\n    image: alpine\n    capabilites: [all]\n    pid: 3\n",
    );
    const r = kiln(["validate", p]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      [
        `${p}:4:5: onboot.0.capabilites: unknown field (did you mean \`capabilities\`?)`,
        `${p}:5:10: onboot.0.pid: expected string, received number`,
        "kiln: 2 problems found",
        "",
      ].join("\n"),
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
  test("--json reports problems on stdout", () => {
    const p = file("bad2.yml", "services:\n  - name: s\n");
    const r = kiln(["validate", "--json", p]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({
      valid: false,
      warnings: [],
      errors: [
        {
          file: p,
          line: 2,
          col: 5,
          path: ["services", 0, "image"],
          message: "missing required field (expected string)",
        },
      ],
    });
  });
  test("--json on valid input includes the warnings", () => {
    const r = kiln(["validate", "--json", "-"], { input: "trust:\n  org: [linuxkit]\n" });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.valid).toBe(true);
    expect(report.warnings).toHaveLength(1);
    expect(report.warnings[0]).toMatchObject({ file: "-", line: 1, path: ["trust"] });
  });
  test("a missing file is a known error with a hint", () => {
    const r = kiln(["validate", "no-such.yml"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "kiln: error: cannot read no-such.yml: no such file (hint: pass the path of a LinuxKit YAML file, or - for stdin)\n",
    );
  });
});

describe("kiln build --dry-run", () => {
  test("prints the merged, normalised YAML with defaults filled in", () => {
    const base = file(
      "base.yml",
      "kernel:\n  image: linuxkit/kernel:6.6\n  cmdline: console=ttyS0\ninit: [linuxkit/init:v1]\n",
    );
    const extra = file(
      "extra.yml",
      "onboot:\n  - name: one\n    image: alpine\nfiles:\n  - path: etc/motd\n    contents: hi\n",
    );
    const r = kiln(["build", "--dry-run", base, extra]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        "kernel:",
        "  image: docker.io/linuxkit/kernel:6.6",
        "  cmdline: console=ttyS0",
        "  binary: kernel",
        "  tar: kernel.tar",
        "init:",
        "  - docker.io/linuxkit/init:v1",
        "onboot:",
        "  - name: one",
        "    image: docker.io/library/alpine:latest",
        "files:",
        "  - path: etc/motd",
        "    contents: hi",
        '    mode: "0600"',
        "",
      ].join("\n"),
    );
    expect(r.stderr).toBe("formats: kernel+initrd\n");
  });
  test("the 2017 outputs key maps to formats, with a deprecation warning", () => {
    const p = file("old.yml", "outputs:\n  - format: kernel+initrd\n  - format: iso-efi\n");
    const r = kiln(["build", "--dry-run", p]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("use `kiln build --format kernel+initrd,iso-efi`");
    expect(r.stderr).toContain("formats: kernel+initrd,iso-efi\n");
  });
  test("--format wins over outputs", () => {
    const p = file("old2.yml", "outputs:\n  - format: iso-bios\n");
    const r = kiln(["build", "--dry-run", "-f", "tar", "--format", "iso-efi,tar", p]);
    expect(r.stderr).toContain("formats: tar,iso-efi\n");
  });
});

describe("generated files are fresh", () => {
  test("docs/cli.md matches the command declarations (run `npm run docs`)", () => {
    expect(readFileSync(join(REPO_ROOT, "docs/cli.md"), "utf8")).toBe(renderCliDocs(commands));
  });
  test("schema/kiln.schema.json matches the schema (run `npm run schema`)", () => {
    expect(readFileSync(join(REPO_ROOT, "schema/kiln.schema.json"), "utf8")).toBe(jsonSchemaText());
  });
});
