import { describe, expect, test } from "vitest";
import { type Descriptor, MediaType, REF_NAME } from "../oci/types.js";
import type { LayoutSource } from "./layout.js";
import { pickLayoutRoot } from "./oci-layout-source.js";

const d = (hex: string, name?: string, arch?: string): Descriptor => ({
  mediaType: MediaType.ociManifest,
  digest: `sha256:${hex.repeat(64)}`,
  size: 1,
  ...(name ? { annotations: { [REF_NAME]: name } } : {}),
  ...(arch ? { platform: { architecture: arch, os: "linux" } } : {}),
});
const layout = (...manifests: Descriptor[]): LayoutSource => ({
  what: "/l",
  index: { schemaVersion: 2, manifests },
  has: async () => true,
  fetch: async () => false,
});

describe("pickLayoutRoot: which index.json entry an oci-layout: reference means", () => {
  test("a bare tag (skopeo's way) or a full name ending in :TAG", () => {
    expect(pickLayoutRoot(layout(d("a", "v1"), d("b", "v2")), "v2", "amd64", "x").digest).toBe(d("b").digest);
    expect(pickLayoutRoot(layout(d("a", "docker.io/library/alpine:3.20")), "3.20", "amd64", "x").digest).toBe(
      d("a").digest,
    );
    // An exact name wins over a suffix match.
    expect(pickLayoutRoot(layout(d("a", "x/y:v1"), d("b", "v1")), "v1", "amd64", "x").digest).toBe(
      d("b").digest,
    );
  });

  test("no tag: the only image, else an error listing the names", () => {
    expect(pickLayoutRoot(layout(d("a")), undefined, "amd64", "x").digest).toBe(d("a").digest);
    expect(() => pickLayoutRoot(layout(d("a", "v1"), d("b", "v2")), undefined, "amd64", "x")).toThrow(
      /holds 2 images and no tag was given \(it has v1, v2\)/,
    );
    expect(() => pickLayoutRoot(layout(), undefined, "amd64", "x")).toThrow(/holds no images/);
  });

  test("one name per platform: the architecture chooses", () => {
    const l = layout(d("a", "v1", "amd64"), d("b", "v1", "arm64"));
    expect(pickLayoutRoot(l, "v1", "arm64", "x").digest).toBe(d("b").digest);
    expect(() => pickLayoutRoot(l, "v1", "s390x", "x")).toThrow(/has no linux\/s390x image/);
  });

  test("an unknown tag names what is there", () => {
    expect(() => pickLayoutRoot(layout(d("a", "v1")), "v9", "amd64", "oci-layout:/l:v9")).toThrow(
      'oci-layout:/l:v9: the layout has no image tagged "v9" (it has v1)',
    );
  });
});
