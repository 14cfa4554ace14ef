// `oci-layout:PATH[:TAG]`: an image from an OCI image layout directory or tar, imported into the cache.

import { resolve } from "node:path";
import { formatImageRef, KilnError, type OciLayoutRef } from "@kiln/spec";
import type { OciCache } from "../cache/cache.js";
import { type Descriptor, REF_NAME } from "../oci/types.js";
import { selectPlatform } from "../registry/platform.js";
import type { ResolvedImage } from "../registry/pull.js";
import { importPlatformImage } from "./import-image.js";
import { type LayoutSource, layoutFromArchive } from "./layout.js";
import { openSource } from "./open-source.js";

/** True when an index.json name is `tag` itself (skopeo writes bare tags) or a full name ending in `:tag`. */
function nameMatches(refName: string | undefined, tag: string): boolean {
  if (refName === undefined) return false;
  if (refName === tag) return true;
  const colon = refName.lastIndexOf(":");
  return colon > refName.lastIndexOf("/") && refName.slice(colon + 1) === tag;
}

function describeNames(manifests: readonly Descriptor[]): string {
  const names = manifests.map((d) => d.annotations?.[REF_NAME]).filter((n): n is string => !!n);
  return names.length > 0 ? `it has ${[...new Set(names)].join(", ")}` : "none of its images is named";
}

/** The entry of index.json that `tag` names; without a tag, the only one. Platforms choose among equals. */
export function pickLayoutRoot(
  layout: LayoutSource,
  tag: string | undefined,
  arch: string,
  text: string,
): Descriptor {
  const all = layout.index.manifests;
  if (all.length === 0)
    throw new KilnError(`${text}: the layout holds no images`, { hint: "check the path" });
  const exact = tag === undefined ? all : all.filter((d) => d.annotations?.[REF_NAME] === tag);
  const found =
    exact.length > 0 || tag === undefined
      ? exact
      : all.filter((d) => nameMatches(d.annotations?.[REF_NAME], tag));
  if (found.length === 0) {
    throw new KilnError(`${text}: the layout has no image tagged "${tag}" (${describeNames(all)})`, {
      hint: "write the tag after the path: oci-layout:PATH:TAG",
    });
  }
  if (found.length === 1) return found[0]!;
  // Several entries for one name, one per platform, is how some tools write a multi-platform layout.
  if (found.every((d) => d.platform)) return selectPlatform(found, arch, text);
  throw new KilnError(
    `${text}: the layout holds ${found.length} images and ${tag === undefined ? "no tag was given" : `"${tag}" names several`} (${describeNames(all)})`,
    {
      hint: "name one with oci-layout:PATH:TAG",
    },
  );
}

/** Import the image `ref` names into the cache, tagged `oci-layout:/abs/path[:tag]`, and resolve it. */
export async function resolveOciLayout(
  cache: OciCache,
  ref: OciLayoutRef,
  arch: string,
): Promise<ResolvedImage> {
  const path = resolve(ref.path);
  const name = formatImageRef({ ...ref, path });
  const opened = await openSource(cache, path, name);
  let layout: LayoutSource;
  let stored = 0;
  if (opened.kind === "directory") layout = opened.layout;
  else {
    const fromArchive = layoutFromArchive(cache, opened.contents);
    if (!fromArchive) {
      throw new KilnError(`${name}: ${path} is not an OCI image layout (it has no index.json)`, {
        hint: opened.contents.documents.has("manifest.json")
          ? `it looks like a docker save archive: use docker-archive:${ref.path}`
          : "give an OCI layout directory or a tar of one",
      });
    }
    layout = fromArchive;
    stored = opened.contents.stored;
  }
  const root = pickLayoutRoot(layout, ref.tag, arch, name);
  const image = await importPlatformImage(cache, layout, root, name, arch);
  return stored > 0 ? { ...image, fromCache: false } : image;
}
