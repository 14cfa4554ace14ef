import { describe, expect, test } from "vitest";
import { formatImageRef, ImageRefError, normalizeImageRef, parseImageRef } from "./image-ref.js";

describe("normalizeImageRef", () => {
  test.for([
    ["redis", "docker.io/library/redis:latest"],
    ["redis:7", "docker.io/library/redis:7"],
    ["linuxkit/init:v1.2", "docker.io/linuxkit/init:v1.2"],
    ["index.docker.io/library/alpine:3.20", "docker.io/library/alpine:3.20"],
    ["docker.io/alpine", "docker.io/library/alpine:latest"],
    ["localhost/kiln/init", "localhost/kiln/init:latest"],
    ["127.0.0.1:5000/kiln/init:dev", "127.0.0.1:5000/kiln/init:dev"],
    ["registry.example.com:8443/a/b/c:1.0", "registry.example.com:8443/a/b/c:1.0"],
    [`alpine@sha256:${"a".repeat(64)}`, `docker.io/library/alpine@sha256:${"a".repeat(64)}`],
    [`alpine:3.20@sha256:${"b".repeat(64)}`, `docker.io/library/alpine:3.20@sha256:${"b".repeat(64)}`],
    ["quay.io/minio/minio:RELEASE.2025-10-15T17-29-55Z", "quay.io/minio/minio:RELEASE.2025-10-15T17-29-55Z"],
  ])("%s → %s", ([input, expected]) => {
    expect(normalizeImageRef(input!)).toBe(expected);
  });

  test("keeps the parts apart", () => {
    expect(parseImageRef("127.0.0.1:5000/kiln/init:dev")).toEqual({
      kind: "registry",
      domain: "127.0.0.1:5000",
      path: "kiln/init",
      tag: "dev",
    });
  });

  test.for([
    ["", "empty reference"],
    ["Redis", "lowercase"],
    ["redis:", "not a valid tag"],
    ["redis:-x", "not a valid tag"],
    ["alpine@sha256:abc", "not a valid digest"],
    [`alpine@sha256:${"A".repeat(64)}`, "64 lowercase hex"],
    ["a//b", "not a valid repository name component"],
    [" redis", "white space"],
  ])("rejects %j", ([input, reason]) => {
    expect(() => parseImageRef(input!)).toThrow(ImageRefError);
    expect(() => parseImageRef(input!)).toThrow(reason!);
  });
});

describe("local references", () => {
  test("oci-layout with and without a tag", () => {
    expect(parseImageRef("oci-layout:./out/layout:v1")).toEqual({
      kind: "oci-layout",
      path: "./out/layout",
      tag: "v1",
    });
    expect(parseImageRef("oci-layout:/abs/layout")).toEqual({ kind: "oci-layout", path: "/abs/layout" });
  });
  test("docker-archive and @pkg", () => {
    expect(parseImageRef("docker-archive:img.tar")).toEqual({ kind: "docker-archive", path: "img.tar" });
    expect(formatImageRef(parseImageRef("@pkg:../images/init"))).toBe("@pkg:../images/init");
  });
  test("an empty path is an error", () => {
    expect(() => parseImageRef("oci-layout:")).toThrow("missing the layout path");
    expect(() => parseImageRef("@pkg:")).toThrow("missing the package directory");
  });
});
