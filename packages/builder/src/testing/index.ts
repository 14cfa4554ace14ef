// Test support shared with other packages' tests (`@kiln/builder/testing`). Never part of the build.

export {
  APP_IMAGE,
  INIT_IMAGE,
  kernelImage,
  type LayerEntry,
  layerTar,
  putImage,
  type TestImage,
} from "../assemble/testdata/images.js";
export {
  applianceTar,
  BOOT_MARKER,
  busyboxInitrd,
  type FixtureContextOptions,
  fixtureContext,
  markerInit,
  type TarFixtureEntry,
  testKernel,
} from "./boot-fixture.js";
export { startDockerEngine, type TestDockerEngine } from "./docker-engine.js";
export { type Fault, type FaultProxy, startFaultProxy } from "./fault-proxy.js";
export { addImage, type FixtureFile, type FixtureImage, makeLayout, tarOf } from "./image-fixture.js";
export { type BootDrive, type BootOptions, type BootResult, bootImage, type DriveKind } from "./qemu-boot.js";
export { freePort, pushWithSkopeo, startRegistry, type TestRegistry } from "./registry.js";
