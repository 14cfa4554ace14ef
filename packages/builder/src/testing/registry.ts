// A real OCI registry for tests: Debian's docker-registry (CNCF distribution), on 127.0.0.1 at a free port.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface TestRegistry {
  host: string;
  url: string;
  user?: string;
  password?: string;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startRegistry(
  options: { auth?: { user: string; password: string } } = {},
): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), "kiln-registry-"));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  let auth = "";
  if (options.auth) {
    const { stdout } = await execa("htpasswd", ["-Bbn", options.auth.user, options.auth.password]);
    await writeFile(join(dir, "htpasswd"), `${stdout.trim()}\n`);
    auth = `auth:\n  htpasswd:\n    realm: kiln-test\n    path: ${join(dir, "htpasswd")}\n`;
  }
  const config = [
    "version: 0.1",
    "log:\n  level: error",
    `storage:\n  filesystem:\n    rootdirectory: ${join(dir, "data")}\n  delete:\n    enabled: true`,
    `http:\n  addr: ${host}\n  secret: kiln-test-secret`,
    auth,
  ].join("\n");
  await writeFile(join(dir, "config.yml"), config);
  const child: ChildProcess = spawn("docker-registry", ["serve", join(dir, "config.yml")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const res = await fetch(`http://${host}/v2/`);
      await res.body?.cancel();
      if (res.status === 200 || res.status === 401) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`docker-registry did not start on ${host}: ${stderr}`);
    }
    await sleep(50);
  }
  const stop = async () => {
    child.kill("SIGTERM");
    await rm(dir, { recursive: true, force: true });
  };
  const reg: TestRegistry = { host, url: `http://${host}`, stop, [Symbol.asyncDispose]: stop };
  if (options.auth) {
    reg.user = options.auth.user;
    reg.password = options.auth.password;
  }
  return reg;
}

/** Copy an OCI layout image into the registry with skopeo, an independent implementation. */
export async function pushWithSkopeo(
  layout: string,
  tag: string,
  registry: TestRegistry,
  repo: string,
  options: { all?: boolean } = {},
): Promise<void> {
  const creds = registry.user ? ["--dest-creds", `${registry.user}:${registry.password}`] : [];
  await execa("skopeo", [
    "copy",
    "--quiet",
    ...(options.all ? ["--all"] : []),
    "--dest-tls-verify=false",
    ...creds,
    `oci:${layout}:${tag}`,
    `docker://${registry.host}/${repo}:${tag}`,
  ]);
}
