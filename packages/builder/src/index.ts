export { type AssembleInput, applianceMetadata, assembleAppliance } from "./assemble/assemble.js";
export { type ApplianceImage, cachedImage, linuxkitName } from "./assemble/image.js";
export { type BuildOptions, type BuildResult, buildAppliance, configImages } from "./build/build.js";
export { type QuickRequest, recordQuick, SETTLE_MS } from "./build/quick-record.js";
export { DEFAULT_SIZE, parseSize } from "./build/size.js";
export { defaultCacheDir, OciCache } from "./cache/cache.js";
export { DigestMismatchError, sha256 } from "./cache/digest.js";
export { collectGarbage, reachableBlobs } from "./cache/gc.js";
export { type LayerCompression, layerCompression, openLayer } from "./flatten/decompress.js";
export type { Entry, EntryType, FlatEntry } from "./flatten/entry.js";
export { type FlattenOptions, flattenLayers, type LayerSource } from "./flatten/flatten.js";
export { normaliseLayerPath, symlinkEscapes } from "./flatten/safe-path.js";
export { BootIds } from "./formats/boot-ids.js";
export { COMPRESSIONS, type Compression, compress, GZIP_LEVEL, gzipParallel } from "./formats/compress.js";
export { writeCpio } from "./formats/cpio.js";
export { dockerFormat } from "./formats/docker.js";
export { initrdStream, writeInitrd } from "./formats/initrd.js";
export { isoBiosFormat } from "./formats/iso-bios.js";
export { isoEfiFormat, isoEfiInitrdFormat } from "./formats/iso-efi.js";
export { kernelInitrdFormat } from "./formats/kernel-initrd.js";
export { kernelSquashfsFormat } from "./formats/kernel-squashfs.js";
export { qcow2BiosFormat, qcow2EfiFormat } from "./formats/qcow2.js";
export { rawBiosFormat } from "./formats/raw-bios.js";
export { rawEfiFormat } from "./formats/raw-efi.js";
export { FORMATS, formatWriter, PLANNED_FORMATS } from "./formats/registry.js";
export { tarFormat, writeTarFile } from "./formats/tar.js";
export { tarKernelInitrdFormat } from "./formats/tar-kernel-initrd.js";
export type { FormatContext, FormatWriter } from "./formats/types.js";
export { fixVhdFooter, vhdFormat } from "./formats/vhd.js";
export { fixVmdkCid, vmdkFormat } from "./formats/vmdk.js";
export {
  type Descriptor,
  type ImageConfigBlob,
  type ImageIndex,
  type ImageManifest,
  MediaType,
  type Platform,
  REF_NAME,
} from "./oci/types.js";
export {
  type BuiltPackage,
  buildPackage,
  type PackageOptions,
  type PackageTagOptions,
  packageTag,
} from "./pkg/build.js";
export { loadRecipe, type Recipe } from "./pkg/recipe.js";
export { PKG_REPOSITORY, RECIPE_FORMAT_VERSION } from "./pkg/tag.js";
export { RegistryClient, type RegistryOptions } from "./registry/client.js";
export { type Credential, DockerCredentials } from "./registry/credentials.js";
export { hostArch, selectPlatform } from "./registry/platform.js";
export { type PullOptions, pullImage, type ResolvedImage, resolveCached } from "./registry/pull.js";
export { type PushedImage, type PushOptions, pushImage } from "./registry/push.js";
export { ImageResolver, type ResolverOptions, type SourceHandler } from "./resolve/resolver.js";
export { type ArchiveContents, readArchive } from "./sources/archive.js";
export {
  checkArchitecture,
  convertDockerImage,
  type DockerArchiveEntry,
  dockerArchiveEntries,
  resolveDockerArchive,
} from "./sources/docker-archive-source.js";
export { DockerEngine, type EngineImage } from "./sources/docker-engine.js";
export { dockerCacheName, loadIntoDocker, resolveFromDocker } from "./sources/docker-source.js";
export { DEFAULT_EPOCH, outputTime } from "./sources/epoch.js";
export { type ImportedImage, importImageFile } from "./sources/import-file.js";
export { pickLayoutRoot, resolveOciLayout } from "./sources/oci-layout-source.js";
export { type ArchiveOutput, writeTar } from "./sources/tar-output.js";
export { type ChunkSink, encodeHeader, TarWriter } from "./sources/tar-writer.js";
export { dockerTag, writeDockerArchive } from "./sources/write-docker-archive.js";
export { writeFilesystem } from "./sources/write-filesystem.js";
export { writeOciLayout } from "./sources/write-oci-layout.js";
export { BUILDER_RECIPE_DIR, type BuilderImageOptions, ensureBuilderImage } from "./tools/builder-image.js";
export { ContainerToolRunner, type ContainerToolRunnerOptions, mountRoots } from "./tools/container.js";
export { BUILDER_MODES, type BuilderMode, createToolRunner, type ToolRunnerOptions } from "./tools/index.js";
export { NativeToolRunner } from "./tools/native.js";
export { aptPackageFor, builderPackages } from "./tools/packages.js";
export type { ToolInvocation, ToolResult, ToolRunner } from "./tools/types.js";
