export { ALL_CAPABILITIES, isCapability } from "./capabilities.js";
export { renderDryRun, withDefaults } from "./dry-run.js";
export {
  didYouMean,
  formatIssue,
  formatPath,
  SpecError,
  type SpecIssue,
  type SpecWarning,
} from "./errors.js";
export {
  type Bind,
  parseBind,
  parseMode,
  parseRlimit,
  parseTmpfs,
  RLIM_INFINITY,
  type Rlimit,
  type Tmpfs,
} from "./fields.js";
export { allocateIds, FIRST_CONTAINER_ID, resolveId } from "./ids.js";
export {
  DEFAULT_REGISTRY,
  DEFAULT_TAG,
  type DockerArchiveRef,
  formatImageRef,
  type ImageRef,
  ImageRefError,
  normalizeImageRef,
  type OciLayoutRef,
  parseImageRef,
  parseRegistryRef,
  type RegistryRef,
} from "./image-ref.js";
export { jsonSchema, jsonSchemaText, SCHEMA_ID } from "./json-schema.js";
export { KilnError, UsageError } from "./kiln-error.js";
export { checkImageFields, type LoadedConfig, loadConfig, type Origin } from "./load.js";
export { type Bundle, bundlePrefix, type ContainerSection, planBundles, volumePath } from "./oci/bundles.js";
export { compareBytes, goMarshalIndent, goQuote } from "./oci/go-json.js";
export { type ImageConfig, LABEL_KEY, parseLabel } from "./oci/image-config.js";
export { type ContainerSource, toOciSpec } from "./oci/oci-config.js";
export { type BundlePlacement, toRuntime } from "./oci/runtime-config.js";
export type { LinuxkitRuntime, OciMount, OciSpec } from "./oci/spec-types.js";
export {
  configSchema,
  type DeviceEntry,
  type FileEntry,
  type ImageConfigFields,
  type ImageEntry,
  imageSchema,
  type KernelEntry,
  labelSchema,
  type MountEntry,
  type RawConfig,
  type ResourcesEntry,
  type RuntimeEntry,
  type VolumeEntry,
} from "./schema.js";
export { knownKeysAt, valueAt, withoutUnknownKeys } from "./schema-walk.js";
export { LocatedDocument, type SourceFile } from "./source.js";
