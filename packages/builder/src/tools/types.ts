// External programs (xorriso, mksquashfs, grub-mkimage, ...) run through this, natively or inside the
// builder image, with the same bytes out either way.

export interface ToolInvocation {
  /** The program, e.g. "xorriso". */
  tool: string;
  args: string[];
  /** Directories the tool reads or writes; mounted at the same path inside the builder container. */
  paths: string[];
  cwd?: string;
  env?: Record<string, string>;
  /** Bytes for stdin, or a file path to stream into it. */
  input?: Buffer | { file: string };
  signal?: AbortSignal;
}

export interface ToolResult {
  stdout: string;
  stderr: string;
}

export interface ToolRunner {
  readonly mode: "native" | "container";
  run(invocation: ToolInvocation): Promise<ToolResult>;
  /** Fails with a clear error (the apt package and `--builder container`) when a tool is missing. */
  require(tools: string[]): Promise<void>;
}
