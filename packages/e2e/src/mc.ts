import { setTimeout as sleep } from "node:timers/promises";
import { GenericContainer, type StartedTestContainer, Wait } from "testcontainers";

/** A host directory mounted into an `mc` container. */
export interface BindMount {
  source: string;
  target: string;
  mode?: "rw" | "ro";
}

/**
 * `mc` in containers, as the seed post runs it: host networking (the VM's port is published on the host's
 * 127.0.0.1) and host folders bind-mounted. Every container shares one config directory, so an alias set by one
 * is seen by the next, even in an image that has nothing but `mc`.
 */
export class Mc {
  constructor(
    readonly image: string,
    /** A host directory, mounted as mc's config directory in every container. */
    readonly configDir: string,
  ) {}

  private container(args: readonly string[], binds: readonly BindMount[]): GenericContainer {
    return new GenericContainer(this.image)
      .withNetworkMode("host")
      .withBindMounts([{ source: this.configDir, target: "/mc", mode: "rw" }, ...binds])
      .withEntrypoint(["/usr/bin/mc"])
      .withCommand(["--config-dir", "/mc", "--no-color", ...args]);
  }

  /** Runs one `mc` command to completion; throws with its output if it exits non-zero. */
  async run(args: readonly string[], binds: readonly BindMount[] = [], timeoutMs = 120_000): Promise<string> {
    const output = new OutputBuffer();
    const container = this.container(args, binds)
      .withWaitStrategy(Wait.forOneShotStartup())
      .withStartupTimeout(timeoutMs)
      .withLogConsumer((s) => output.attach(s));
    let started: StartedTestContainer | undefined;
    try {
      started = await container.start();
    } catch (err) {
      throw new Error(`mc ${args.join(" ")} failed: ${(err as Error).message}\n${await output.settled()}`);
    }
    await started.stop({ remove: true });
    return output.settled();
  }

  /** Starts a long-running `mc` command (e.g. `mirror --watch`); stop it with `stop()`. */
  async start(args: readonly string[], binds: readonly BindMount[] = []): Promise<RunningMc> {
    const output = new OutputBuffer();
    const started = await this.container(args, binds)
      .withLogConsumer((s) => output.attach(s))
      .start();
    return new RunningMc(started, output, args);
  }
}

export class RunningMc implements AsyncDisposable {
  constructor(
    readonly container: StartedTestContainer,
    private readonly output: OutputBuffer,
    private readonly args: readonly string[],
  ) {}

  get text(): string {
    return this.output.text;
  }

  /** Throws if the container has exited: a watcher that died cannot mirror anything. */
  async assertRunning(): Promise<void> {
    const { Running, ExitCode } = await inspectState(this.container);
    if (!Running) {
      throw new Error(`mc ${this.args.join(" ")} exited with code ${ExitCode}:\n${this.output.text}`);
    }
  }

  async stop(): Promise<void> {
    await this.container.stop({ remove: true, timeout: 5_000 });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop().catch(() => {});
  }
}

async function inspectState(c: StartedTestContainer): Promise<{ Running: boolean; ExitCode: number }> {
  const { getContainerRuntimeClient } = await import("testcontainers");
  const client = await getContainerRuntimeClient();
  const info = await client.container.inspect(client.container.getById(c.getId()));
  return { Running: Boolean(info.State.Running), ExitCode: info.State.ExitCode };
}

class OutputBuffer {
  text = "";
  private pending: Promise<void>[] = [];

  attach(stream: NodeJS.ReadableStream): void {
    this.pending.push(
      new Promise((resolve) => {
        stream.on("data", (chunk: Buffer | string) => {
          this.text += chunk.toString();
        });
        stream.on("end", () => resolve());
        stream.on("error", () => resolve());
      }),
    );
  }

  /** The whole output once the streams end, or what there is after a short grace period. */
  async settled(): Promise<string> {
    await Promise.race([Promise.all(this.pending), sleep(2_000)]);
    return this.text;
  }
}
