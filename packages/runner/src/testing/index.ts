// Test support shared with other packages' tests (`@kiln/runner/testing`). Never part of the build.
export {
  type BootFixture,
  FIXTURE_CMDLINE,
  fixtureLines,
  MARKER,
  makeBootFixture,
  type TestKernel,
  testKernel,
} from "./boot-fixture.js";
