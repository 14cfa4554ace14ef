import { describe, expect, test } from "vitest";
import { formatIssue, SpecError } from "./errors.js";
import { loadConfig } from "./load.js";

function issuesOf(...texts: string[]): string[] {
  try {
    loadConfig(texts.map((text, i) => ({ name: `f${i}.yml`, text })));
  } catch (e) {
    if (e instanceof SpecError) return e.issues.map(formatIssue);
    throw e;
  }
  throw new Error("expected the input to be invalid");
}

describe("loadConfig: errors", () => {
  test("every problem is reported at once, with file, line, column and field", () => {
    const issues = issuesOf(
      [
        "kernel:",
        "  image: linuxkit/kernel:6.6",
        "onboot:",
        "  - name: a",
        "    image: alpine",
        "    capabilites: [CAP_NET_ADMIN]",
        "    binds: [/only-one]",
        "services:",
        "  - name: s",
        "    image: alpine",
        "    uid: nobody-here",
        '    rlimits: ["nofile,1"]',
        "files:",
        "  - path: etc/x",
        "    contents: hi",
        "    mode: 0644",
      ].join("\n"),
    );
    expect(issues).toEqual([
      "f0.yml:6:5: onboot.0.capabilites: unknown field (did you mean `capabilities`?)",
      'f0.yml:7:13: onboot.0.binds.0: bind "/only-one" must be src:dst or src:dst:options (write binds as `/src:/dst[:opt,opt]`)',
      'f0.yml:11:10: services.0.uid: "nobody-here" is not the name of a container in this config',
      'f0.yml:12:15: services.0.rlimits.0: rlimit "nofile,1" must be name,soft,hard (write rlimits as `nofile,1024,4096`)',
      'f0.yml:16:11: files.0.mode: expected string, received number (quote octal modes, e.g. mode: "0644")',
    ]);
  });

  test("a missing required field points at its parent entry", () => {
    expect(issuesOf("services:\n  - image: alpine\n")).toEqual([
      "f0.yml:2:5: services.0.name: missing required field (expected string)",
    ]);
  });

  test("unknown top-level keys and wrong types", () => {
    expect(issuesOf("kernal:\n  image: x\ninit: linuxkit/init\n")).toEqual([
      "f0.yml:1:1: kernal: unknown field (did you mean `kernel`?)",
      "f0.yml:3:7: init: expected array, received string",
    ]);
  });

  test("YAML syntax errors and duplicate keys", () => {
    expect(issuesOf("kernel:\n  image: a\n  image: b\n")[0]).toMatch(/^f0\.yml:3:3: Map keys must be unique/);
    expect(issuesOf("onboot: [\n")[0]).toMatch(/^f0\.yml:\d+:\d+: .*\(fix the YAML syntax\)$/);
  });

  test("a document that is not a mapping", () => {
    expect(issuesOf("- a\n- b\n")).toEqual([
      "f0.yml:1:1: the document must be a mapping with keys such as kernel, init, onboot, services",
    ]);
  });

  test("bad image references, capabilities, namespaces and devices", () => {
    const issues = issuesOf(
      [
        "init: [Linuxkit/Init]",
        "onboot:",
        "  - name: a",
        '    image: "alpine:"',
        "    capabilities: [CAP_FLY]",
        "    net: sideways",
        "    devices: [{path: /dev/x, type: c, mode: '0666'}]",
      ].join("\n"),
    );
    expect(issues).toEqual([
      "f0.yml:1:8: init.0: repository names must be lowercase (write it like `docker.io/library/alpine:3.20` or `oci-layout:./dir:tag`)",
      'f0.yml:4:12: onboot.0.image: "" is not a valid tag (write it like `docker.io/library/alpine:3.20` or `oci-layout:./dir:tag`)',
      'f0.yml:5:20: onboot.0.capabilities.0: unknown capability "CAP_FLY" (use a name like CAP_NET_ADMIN, or all/none)',
      'f0.yml:6:10: onboot.0.net: "sideways" is not a namespace setting (use host, new, or a path such as /proc/1/ns/net)',
      "f0.yml:7:15: onboot.0.devices.0: a device needs `major` and `minor` unless its path is `all`",
    ]);
  });

  test("files need exactly one content source", () => {
    const issues = issuesOf(
      [
        "files:",
        "  - path: a",
        "  - path: b",
        "    contents: x",
        "    source: /etc/hostname",
        "  - path: c",
        "    directory: true",
        "    contents: x",
        "  - path: d",
        "    contents: x",
        "    optional: true",
      ].join("\n"),
    );
    expect(issues).toEqual([
      "f0.yml:2:5: files.0: a file needs one of contents, source, metadata, symlink or directory: true",
      "f0.yml:5:13: files.1.source: only one of contents, source may be given",
      "f0.yml:8:15: files.2.contents: a directory cannot also have contents, source, metadata or symlink",
      "f0.yml:11:15: files.3.optional: `optional` only applies to entries with a `source`",
    ]);
  });

  test("volumes: names, references and readonly binds", () => {
    const issues = issuesOf(
      [
        "volumes:",
        "  - name: Data",
        "  - name: ro",
        "    readonly: true",
        "services:",
        "  - name: s",
        "    image: alpine",
        "    binds: [ro:/data, missing:/x]",
      ].join("\n"),
    );
    expect(issues).toEqual([
      'f0.yml:2:11: volumes.0.name: "Data" is not a valid volume name (use a-z, 0-9, _ and -)',
      'f0.yml:8:13: services.0.binds.0: volume "ro" is readonly, so this bind needs the `ro` option',
      'f0.yml:8:23: services.0.binds.1: no volume named "missing" (declare it under `volumes:` or use an absolute path)',
    ]);
  });

  test("duplicate service names across files point at the second definition", () => {
    const a = "services:\n  - name: web\n    image: nginx\n";
    const b = "services:\n  - name: other\n    image: nginx\n  - name: web\n    image: nginx\n";
    expect(issuesOf(a, b)).toEqual([
      'f1.yml:4:11: services.1.name: duplicate service name "web" (first defined at f0.yml:2)',
    ]);
  });

  test("stdin cannot use references relative to the YAML file", () => {
    expect(() => loadConfig([{ name: "-", text: "init: ['@pkg:../images/init']\n" }])).toThrow(
      "`pkg` references are relative to the YAML file",
    );
  });
});

describe("loadConfig: merge and normalisation", () => {
  test("later files override kernel fields and append list sections", () => {
    const base = [
      "kernel: {image: linuxkit/kernel:6.6, cmdline: console=ttyS0}",
      "init: [linuxkit/init:a]",
      "onboot: [{name: one, image: alpine}]",
      "files: [{path: a, contents: x}]",
    ].join("\n");
    const extra = [
      "kernel: {image: linuxkit/kernel:6.1}",
      "init: [linuxkit/runc:b]",
      "onboot: [{name: two, image: busybox}]",
      "volumes: [{name: v}]",
    ].join("\n");
    const { config } = loadConfig([
      { name: "base.yml", text: base },
      { name: "extra.yml", text: extra },
    ]);
    expect(config.kernel).toEqual({ image: "docker.io/linuxkit/kernel:6.1", cmdline: "console=ttyS0" });
    expect(config.init).toEqual(["docker.io/linuxkit/init:a", "docker.io/linuxkit/runc:b"]);
    expect(config.onboot?.map((o) => [o.name, o.image])).toEqual([
      ["one", "docker.io/library/alpine:latest"],
      ["two", "docker.io/library/busybox:latest"],
    ]);
    expect(config.files).toEqual([{ path: "a", contents: "x" }]);
    expect(config.volumes).toEqual([{ name: "v" }]);
  });

  test("@pkg and local references resolve against the YAML file's directory", () => {
    const { config } = loadConfig([
      { name: "/work/app/examples/x.yml", text: "init: ['@pkg:../images/init', 'oci-layout:./lay:v1']\n" },
    ]);
    expect(config.init).toEqual(["@pkg:/work/app/images/init", "oci-layout:/work/app/examples/lay:v1"]);
  });

  test("trust is accepted with a warning that it is ignored", () => {
    const r = loadConfig([{ name: "t.yml", text: "trust:\n  org: [linuxkit]\n" }]);
    expect(r.warnings.map(formatIssue)).toEqual([
      "t.yml:1:1: trust: `trust` is ignored: LinuxKit removed content trust in 2021; pin images by digest",
    ]);
  });

  test("the 2017 outputs key is deprecated and names the formats it maps to", () => {
    const text = "outputs:\n  - format: kernel+initrd\n  - format: iso-bios\n  - format: iso-efi\n";
    const r = loadConfig([{ name: "m.yml", text }]);
    expect(r.legacyFormats).toEqual(["kernel+initrd", "iso-bios", "iso-efi"]);
    expect(r.warnings.map(formatIssue)).toEqual([
      "m.yml:1:1: outputs: `outputs` is deprecated (2017 moby format); use `kiln build --format kernel+initrd,iso-bios,iso-efi`",
    ]);
  });

  test("an empty document is a valid, empty config", () => {
    expect(loadConfig([{ name: "e.yml", text: "" }]).config).toEqual({});
  });
});
