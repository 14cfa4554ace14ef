// A real Docker engine for tests: dockerd on its own socket and data root, with no bridge and no
// iptables rules, so it touches neither the host's networks nor a system dockerd. Started on first use
// and left running, so every test file (and every test run) shares one. Images are loaded, never pulled.
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdir, open, readFile, rm } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { execa, type Result } from "execa";
import { DockerEngine } from "../sources/docker-engine.js";

const ROOT = "/tmp/kiln-dockerd";
const SOCKET = "/tmp/kiln-dockerd.sock";
const LOCK = `${ROOT}.lock`;

export interface TestDockerEngine {
  /** For DOCKER_HOST or `docker -H`. */
  host: string;
  engine: DockerEngine;
  /** The docker CLI against this engine. */
  docker(args: readonly string[], options?: { input?: string; inputFile?: string }): Promise<Result>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function takeLock(): Promise<boolean> {
  try {
    const fh = await open(LOCK, "wx");
    await fh.writeFile(String(process.pid));
    await fh.close();
    return true;
  } catch {
    const holder = Number(await readFile(LOCK, "utf8").catch(() => "0"));
    if (!holder || !alive(holder)) {
      await rm(LOCK, { force: true }); // the starter died; try again
      return takeLock();
    }
    return false;
  }
}

async function waitFor(engine: DockerEngine, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await engine.ping()) return true;
    await sleep(200);
  }
  return false;
}

/** The shared test engine, started if it is not running. Needs root and dockerd (apt docker.io). */
export async function startDockerEngine(): Promise<TestDockerEngine> {
  const host = `unix://${SOCKET}`;
  const engine = new DockerEngine(host);
  const handle: TestDockerEngine = {
    host,
    engine,
    docker: (args, options = {}) => execa("docker", ["-H", host, ...args], options),
  };
  if (await engine.ping()) return handle;
  await mkdir(ROOT, { recursive: true });
  if (!(await takeLock())) {
    if (await waitFor(engine, 90_000)) return handle;
    throw new Error(
      `another process is starting dockerd on ${SOCKET} and it has not come up; see ${ROOT}/dockerd.log`,
    );
  }
  try {
    const log = openSync(`${ROOT}/dockerd.log`, "a");
    const child = spawn(
      "dockerd",
      [
        "--bridge=none",
        "--iptables=false",
        "--ip6tables=false",
        `--data-root=${ROOT}/data`,
        `--exec-root=${ROOT}/exec`,
        `--pidfile=${ROOT}/dockerd.pid`,
        `--host=${host}`,
      ],
      { detached: true, stdio: ["ignore", log, log] },
    );
    closeSync(log);
    let failed: Error | undefined;
    child.once("error", (e) => {
      failed = e;
    });
    child.unref();
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline && !failed && child.exitCode === null) {
      if (await engine.ping()) return handle;
      await sleep(200);
    }
    const why =
      failed?.message ??
      (child.exitCode !== null ? `it exited with ${child.exitCode}` : "it did not answer in 90 s");
    throw new Error(
      `cannot start dockerd for the tests (${why}); see ${ROOT}/dockerd.log. It needs root and apt's docker.io`,
    );
  } finally {
    await rm(LOCK, { force: true });
  }
}
