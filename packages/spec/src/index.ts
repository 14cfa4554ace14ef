export { ALL_CAPABILITIES, canonicalCapability } from "./capabilities.js";
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
export { type LoadedConfig, loadConfig, type Origin } from "./load.js";
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
export type { SourceFile } from "./source.js";
