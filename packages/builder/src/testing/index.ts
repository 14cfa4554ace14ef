// Test support shared with other packages' tests (`@kiln/builder/testing`). Never part of the build.
export { type Fault, type FaultProxy, startFaultProxy } from "./fault-proxy.js";
export { addImage, type FixtureFile, type FixtureImage, makeLayout, tarOf } from "./image-fixture.js";
export { freePort, pushWithSkopeo, startRegistry, type TestRegistry } from "./registry.js";
