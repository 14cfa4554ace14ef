import { defineConfig } from "vitest/config";

// Workspace packages resolve to their TypeScript sources in tests, so the fast loop needs no build.
// The CLI tests still spawn the built `kiln` binary, which is why `npm test` builds first.
const sourceConditions = ["@kiln/source", "import", "node", "default"];

export default defineConfig({
  resolve: { conditions: sourceConditions },
  ssr: { resolve: { conditions: sourceConditions } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["packages/*/src/**/*.test.ts"],
          exclude: ["**/*.slow.test.ts", "**/*.e2e.test.ts", "**/node_modules/**", "**/dist/**"],
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          // Boots, registries and containers: real and slow, kept out of `npm test`.
          name: "slow",
          include: ["packages/*/src/**/*.slow.test.ts", "packages/e2e/src/**/*.e2e.test.ts"],
          exclude: ["**/node_modules/**", "**/dist/**"],
          testTimeout: 600_000,
          hookTimeout: 900_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
