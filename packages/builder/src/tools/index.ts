// The one place that picks native or container tools for a build.

import { UsageError } from "@kiln/spec";
import { ContainerToolRunner, type ContainerToolRunnerOptions } from "./container.js";
import { NativeToolRunner } from "./native.js";
import type { ToolRunner } from "./types.js";

export type BuilderMode = "native" | "container";
export const BUILDER_MODES: readonly BuilderMode[] = ["native", "container"];

export interface ToolRunnerOptions extends ContainerToolRunnerOptions {
  /** `--builder`: run the tools installed here, or the ones in the builder image. @default "native" */
  builder?: string;
}

export function createToolRunner(options: ToolRunnerOptions = {}): ToolRunner {
  const mode = options.builder ?? "native";
  if (mode === "native") return new NativeToolRunner();
  if (mode === "container") return new ContainerToolRunner(options);
  throw new UsageError(`--builder ${mode} is not a builder`, `use one of: ${BUILDER_MODES.join(", ")}`);
}
