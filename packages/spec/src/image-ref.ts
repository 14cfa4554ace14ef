// Image references, normalised the way Docker and LinuxKit do it:
// `redis` → `docker.io/library/redis:latest`, `foo/bar` → `docker.io/foo/bar:latest`.
// Besides registry references, kiln accepts LinuxKit's `@pkg:DIR` (a package recipe, built on demand)
// and two local forms (documented in docs/images.md): `oci-layout:PATH[:TAG]` and `docker-archive:FILE`.

export const DEFAULT_REGISTRY = "docker.io";
export const DEFAULT_TAG = "latest";

export interface RegistryRef {
  kind: "registry";
  /** Registry host, with port if given: `docker.io`, `127.0.0.1:5000`. */
  domain: string;
  /** Repository path within the registry: `library/redis`. */
  path: string;
  tag?: string;
  digest?: string;
}

export interface OciLayoutRef {
  kind: "oci-layout";
  path: string;
  tag?: string;
}

export interface DockerArchiveRef {
  kind: "docker-archive";
  path: string;
}

/** `@pkg:DIR`: the image built from the recipe in DIR, relative to the YAML file that names it. */
export interface PkgRef {
  kind: "pkg";
  path: string;
}

export type ImageRef = RegistryRef | OciLayoutRef | DockerArchiveRef | PkgRef;

export class ImageRefError extends Error {
  constructor(
    readonly ref: string,
    readonly reason: string,
  ) {
    super(`invalid image reference "${ref}": ${reason}`);
    this.name = "ImageRefError";
  }
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const DOMAIN =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$/;

export function parseImageRef(input: string): ImageRef {
  if (input.startsWith("@pkg:")) {
    const path = input.slice("@pkg:".length);
    if (path === "") throw new ImageRefError(input, "missing the package directory after `@pkg:`");
    return { kind: "pkg", path };
  }
  if (input.startsWith("oci-layout:")) {
    const rest = input.slice("oci-layout:".length);
    if (rest === "") throw new ImageRefError(input, "missing the layout path after `oci-layout:`");
    // The tag follows the last colon, unless that colon belongs to the path (e.g. a Windows drive letter).
    const colon = rest.lastIndexOf(":");
    if (colon > 0 && !rest.slice(colon + 1).includes("/")) {
      const tag = rest.slice(colon + 1);
      if (!TAG.test(tag)) throw new ImageRefError(input, `"${tag}" is not a valid tag`);
      return { kind: "oci-layout", path: rest.slice(0, colon), tag };
    }
    return { kind: "oci-layout", path: rest };
  }
  if (input.startsWith("docker-archive:")) {
    const path = input.slice("docker-archive:".length);
    if (path === "") throw new ImageRefError(input, "missing the archive path after `docker-archive:`");
    return { kind: "docker-archive", path };
  }
  return parseRegistryRef(input);
}

export function parseRegistryRef(input: string): RegistryRef {
  if (input === "") throw new ImageRefError(input, "empty reference");
  if (input !== input.trim()) throw new ImageRefError(input, "leading or trailing white space");
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new ImageRefError(input, `"${digest}" is not a valid digest`);
    if (digest.startsWith("sha256:") && !/^sha256:[a-f0-9]{64}$/.test(digest)) {
      throw new ImageRefError(input, "a sha256 digest has exactly 64 lowercase hex characters");
    }
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const lastColon = rest.lastIndexOf(":");
  if (lastColon > lastSlash) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) throw new ImageRefError(input, `"${tag}" is not a valid tag`);
  }
  let domain = DEFAULT_REGISTRY;
  let path = rest;
  const firstSlash = rest.indexOf("/");
  if (firstSlash >= 0) {
    const first = rest.slice(0, firstSlash);
    if (
      first.includes(".") ||
      first.includes(":") ||
      first === "localhost" ||
      first !== first.toLowerCase()
    ) {
      domain = first;
      path = rest.slice(firstSlash + 1);
      if (!DOMAIN.test(domain)) throw new ImageRefError(input, `"${domain}" is not a valid registry host`);
    }
  }
  if (domain === "index.docker.io") domain = DEFAULT_REGISTRY;
  if (path === "") throw new ImageRefError(input, "missing the repository name");
  for (const component of path.split("/")) {
    if (!COMPONENT.test(component)) {
      const reason =
        component !== component.toLowerCase()
          ? "repository names must be lowercase"
          : `"${component}" is not a valid repository name component`;
      throw new ImageRefError(input, reason);
    }
  }
  if (domain === DEFAULT_REGISTRY && !path.includes("/")) path = `library/${path}`;
  if (domain.length + 1 + path.length > 255)
    throw new ImageRefError(input, "name longer than 255 characters");
  const ref: RegistryRef = { kind: "registry", domain, path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** The fully expanded form LinuxKit records in its cache: `docker.io/library/redis:latest`. */
export function formatImageRef(ref: ImageRef): string {
  switch (ref.kind) {
    case "oci-layout":
      return `oci-layout:${ref.path}${ref.tag !== undefined ? `:${ref.tag}` : ""}`;
    case "docker-archive":
      return `docker-archive:${ref.path}`;
    case "pkg":
      return `@pkg:${ref.path}`;
    case "registry": {
      const tag = ref.tag ?? (ref.digest === undefined ? DEFAULT_TAG : undefined);
      return `${ref.domain}/${ref.path}${tag !== undefined ? `:${tag}` : ""}${ref.digest !== undefined ? `@${ref.digest}` : ""}`;
    }
  }
}

export function normalizeImageRef(input: string): string {
  return formatImageRef(parseImageRef(input));
}
