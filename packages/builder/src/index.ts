export { defaultCacheDir, OciCache } from "./cache/cache.js";
export { DigestMismatchError, sha256 } from "./cache/digest.js";
export { collectGarbage, reachableBlobs } from "./cache/gc.js";
export { type LayerCompression, layerCompression, openLayer } from "./flatten/decompress.js";
export type { Entry, EntryType, FlatEntry } from "./flatten/entry.js";
export { type FlattenOptions, flattenLayers, type LayerSource } from "./flatten/flatten.js";
export { normaliseLayerPath, symlinkEscapes } from "./flatten/safe-path.js";
export {
  type Descriptor,
  type ImageConfigBlob,
  type ImageIndex,
  type ImageManifest,
  MediaType,
  type Platform,
  REF_NAME,
} from "./oci/types.js";
export { RegistryClient, type RegistryOptions } from "./registry/client.js";
export { type Credential, DockerCredentials } from "./registry/credentials.js";
export { hostArch, selectPlatform } from "./registry/platform.js";
export { type PullOptions, pullImage, type ResolvedImage, resolveCached } from "./registry/pull.js";
export { ImageResolver, type ResolverOptions, type SourceHandler } from "./resolve/resolver.js";
