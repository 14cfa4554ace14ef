// A minimal client of the Docker Engine API over its unix socket (or tcp://), on node:http: enough to see
// whether the engine has an image, export it as a docker-archive, and load one into it.

import { type IncomingMessage, request } from "node:http";
import type { Readable } from "node:stream";
import { KilnError } from "@kiln/spec";

/** What kiln reads of `GET /images/{name}/json`. */
export interface EngineImage {
  Id: string;
  Architecture?: string;
  Os?: string;
  RepoTags?: string[] | null;
}

interface Endpoint {
  socketPath?: string;
  host?: string;
  port?: number;
  /** As the user wrote it, for messages. */
  address: string;
}

function endpointOf(dockerHost: string | undefined): Endpoint {
  const address = dockerHost || "unix:///var/run/docker.sock";
  if (address.startsWith("unix://")) return { socketPath: address.slice("unix://".length), address };
  if (address.startsWith("tcp://") || address.startsWith("http://")) {
    const url = new URL(address.replace(/^tcp:/, "http:"));
    return { host: url.hostname, port: Number(url.port || 2375), address };
  }
  throw new KilnError(`DOCKER_HOST "${address}" is not a unix:// or tcp:// address`, {
    hint: "kiln talks to the engine over its unix socket or plain tcp; e.g. DOCKER_HOST=unix:///var/run/docker.sock",
  });
}

async function readText(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function engineMessage(text: string): string {
  try {
    return (JSON.parse(text) as { message?: string }).message ?? text.trim();
  } catch {
    return text.trim();
  }
}

export class DockerEngine {
  readonly endpoint: Endpoint;

  /** `dockerHost` as in DOCKER_HOST; by default the environment's, else /var/run/docker.sock. */
  constructor(dockerHost: string | undefined = process.env.DOCKER_HOST) {
    this.endpoint = endpointOf(dockerHost);
  }

  private send(
    method: string,
    path: string,
    options: { body?: Readable; headers?: Record<string, string> } = {},
  ): Promise<IncomingMessage> {
    const { socketPath, host, port } = this.endpoint;
    return new Promise((resolve, reject) => {
      const req = request(
        { method, path, headers: options.headers, ...(socketPath ? { socketPath } : { host, port }) },
        resolve,
      );
      // A failing body is the writer's error to report, not a sign that the engine is unreachable.
      let bodyError: Error | undefined;
      req.on("error", (e) => reject(bodyError ?? this.unreachable(e)));
      if (options.body) {
        options.body.on("error", (e) => {
          bodyError = e;
          req.destroy(e);
        });
        options.body.pipe(req);
      } else req.end();
    });
  }

  private unreachable(e: Error): KilnError {
    if (e instanceof KilnError) return e;
    const code = (e as NodeJS.ErrnoException).code ?? e.message;
    return new KilnError(`cannot reach the Docker engine at ${this.endpoint.address}: ${code}`, {
      hint: "start dockerd, or point DOCKER_HOST at it (e.g. unix:///var/run/docker.sock)",
      cause: e,
    });
  }

  private async failure(res: IncomingMessage, what: string): Promise<KilnError> {
    const message = engineMessage(await readText(res));
    return new KilnError(`the Docker engine refused to ${what} (HTTP ${res.statusCode}): ${message}`, {
      hint: "check the image name and the engine's log",
    });
  }

  /** True when the engine answers at all. */
  async ping(): Promise<boolean> {
    try {
      const res = await this.send("GET", "/_ping");
      await readText(res);
      return res.statusCode === 200;
    } catch {
      return false;
    }
  }

  /** The engine's image of that name, or undefined when it has none. */
  async inspect(name: string): Promise<EngineImage | undefined> {
    const res = await this.send("GET", `/images/${name}/json`);
    if (res.statusCode === 404) {
      await readText(res);
      return undefined;
    }
    if (res.statusCode !== 200) throw await this.failure(res, `inspect ${name}`);
    return JSON.parse(await readText(res)) as EngineImage;
  }

  /** `docker save NAME` as a stream: a docker-archive tar. */
  async save(name: string): Promise<Readable> {
    const res = await this.send("GET", `/images/get?names=${encodeURIComponent(name)}`);
    if (res.statusCode !== 200) throw await this.failure(res, `export ${name}`);
    return res;
  }

  /** `docker load` of a docker-archive stream. Returns the engine's "Loaded image: …" lines. */
  async load(archive: Readable): Promise<string[]> {
    const res = await this.send("POST", "/images/load?quiet=1", {
      body: archive,
      headers: { "content-type": "application/x-tar" },
    });
    if (res.statusCode !== 200) throw await this.failure(res, "load the image");
    const loaded: string[] = [];
    for (const line of (await readText(res)).split("\n")) {
      if (!line.trim()) continue;
      const msg = JSON.parse(line) as { stream?: string; error?: string; errorDetail?: { message?: string } };
      const error = msg.errorDetail?.message ?? msg.error;
      if (error)
        throw new KilnError(`the Docker engine could not load the image: ${error}`, {
          hint: "see the engine's log",
        });
      if (msg.stream?.trim()) loaded.push(msg.stream.trim());
    }
    return loaded;
  }
}
