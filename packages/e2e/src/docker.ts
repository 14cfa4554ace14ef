/**
 * Points testcontainers at the Docker engine the tests share (`startDockerEngine()` from
 * `@kiln/builder/testing`, or the one scripts/e2e-setup.sh starts on the same socket). Ryuk is off because its
 * image cannot be pulled here, and the host override is needed because the engine runs without a bridge.
 */
export function useDockerEngine(host: string): void {
  process.env.DOCKER_HOST = host;
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
  process.env.TESTCONTAINERS_HOST_OVERRIDE ??= "127.0.0.1";
}
