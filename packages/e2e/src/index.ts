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
export { type BindMount, Mc, RunningMc } from "./mc.js";
export { loadMcImage } from "./mc-image.js";
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
