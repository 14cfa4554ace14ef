export { APPLIANCE_YAML, type Appliance, buildAppliance } from "./appliance.js";
export {
  type BootedAppliance,
  type BootFormat,
  type BootOptions,
  bootAppliance,
  CREDENTIALS_FROM_DATA,
  credentialsData,
  DISK_LEFT_ALONE,
  diskVirtualSize,
  FORMATTED,
  GENERATED_CREDENTIALS,
  onConsole,
  SERVICE_STARTED,
} from "./boot.js";
export { useDockerEngine } from "./docker.js";
export {
  bootFixture,
  buildFixture,
  countMatches,
  FIXTURES_DIR,
  type FixtureAppliance,
  type FixtureVm,
  inOrder,
} from "./fixture-appliance.js";
export { type BindMount, Mc, RunningMc } from "./mc.js";
export { loadMcImage } from "./mc-image.js";
export {
  type BootFilesResult,
  type BootTranscript,
  bootTranscript,
  compareKernelInitrd,
  compareTar,
  compareTarKernelInitrd,
  describe as describeOracleResult,
  type OracleOptions,
  type OracleResult,
} from "./oracle.js";
export {
  GOLDEN_DIR,
  type GoldenInput,
  goldenCase,
  goldenInputs,
  MINIMAL_HELLO,
  MINIMAL_PACKAGES,
  minimalCase,
  minioCase,
  type OracleCase,
  rootfsCase,
} from "./oracle-corpus.js";
export { type CpioView, readInitrd } from "./oracle-cpio.js";
export { compareTrees, compareViews, type Difference, firstDifference, summarise } from "./oracle-diff.js";
export { type LayerEntry, layerTar, pushSynthetic, type SyntheticImage } from "./oracle-fixtures.js";
export {
  APPLIANCE_PACKAGES,
  type PushedPackage,
  packagesOf,
  pushPackages,
  withRegistryRefs,
} from "./oracle-images.js";
export { KNOWN_DIFFERENCES, type KnownDifference, type Triage, triage } from "./oracle-known.js";
export {
  type BuildRequest,
  buildWithKiln,
  buildWithLinuxkit,
  linuxkitPeer,
  type PeerStatus,
  type RunResult,
} from "./oracle-peers.js";
export { readTarView, type TarView, type TreeEntry } from "./oracle-tar.js";
export {
  type Credentials,
  chunked,
  listAll,
  objectSha256,
  randomObject,
  type S3Target,
  s3Client,
  s3ErrorCode,
  waitForS3,
} from "./s3.js";
