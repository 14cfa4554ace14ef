import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseRegistryRef } from "@kiln/spec";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { OciCache } from "../cache/cache.js";
import { sha256 } from "../cache/digest.js";
import { MediaType } from "../oci/types.js";
import { type Fault, startFaultProxy } from "../testing/fault-proxy.js";
import { makeLayout } from "../testing/image-fixture.js";
import { pushWithSkopeo, startRegistry, type TestRegistry } from "../testing/registry.js";
import type { BlobJobMessage } from "./blob-worker.js";
import { BLOB_WORKER_SOURCE } from "./blob-workers.js";
import { RegistryClient } from "./client.js";
import { pullImage } from "./pull.js";

// The worker-thread download path (blob-workers.ts), forced on for every blob with workerMinBytes: 0.
const ALL_IN_WORKERS = { workerMinBytes: 0 };
const blobFiles = async (dir: string) => (await readdir(join(dir, "blobs", "sha256"))).sort();
const tmp = () => mkdtemp(join(tmpdir(), "kiln-workers-"));

describe("blob downloads in worker threads, through injected faults", () => {
  let registry: TestRegistry;
  let layers: number;
  beforeAll(async () => {
    registry = await startRegistry();
    // Random bytes do not compress: each layer is a real multi-megabyte transfer.
    const layout = await makeLayout("v1", [
      { layers: [0, 1, 2].map((i) => [{ name: `l${i}`, content: randomBytes(2 * 1024 * 1024) }]) },
    ]);
    layers = 3;
    await pushWithSkopeo(layout.dir, "v1", registry, "kiln/workers");
  });
  afterAll(async () => registry?.stop());

  async function pullVia(faults: Fault[], client = new RegistryClient({ backoffMs: 5 })) {
    const proxy = await startFaultProxy(registry.host, faults);
    const dir = await tmp();
    const cache = await OciCache.open(dir);
    const progress: number[] = [];
    try {
      const result = await pullImage(client, cache, `${proxy.host}/kiln/workers:v1`, {
        ...ALL_IN_WORKERS,
        onProgress: (e) => progress.push(e.received),
      }).then(
        (image) => ({ image, error: undefined }),
        (error: Error) => ({ image: undefined, error }),
      );
      return { ...result, dir, cache, hits: proxy.hits, progress };
    } finally {
      await proxy.stop();
    }
  }

  test("a clean pull stores every blob verified, reporting progress", async () => {
    const r = await pullVia([]);
    expect(r.error).toBeUndefined();
    for (const d of [r.image!.manifest.config, ...r.image!.manifest.layers])
      await expect(r.cache.readBlob(d.digest)).resolves.toHaveLength(d.size);
    expect(r.image!.manifest.layers).toHaveLength(layers);
    expect(Math.max(...r.progress)).toBeGreaterThanOrEqual(2 * 1024 * 1024);
  });

  test("500s, 429s and dropped connections fall back to the client's retries", async () => {
    const r = await pullVia([
      { kind: "status", status: 500, times: 2 },
      { kind: "status", status: 429, times: 1, retryAfter: 0 },
      { kind: "drop", afterBytes: 256 * 1024, times: 2 },
    ]);
    expect(r.error).toBeUndefined();
    for (const d of r.image!.manifest.layers)
      await expect(r.cache.readBlob(d.digest)).resolves.toHaveLength(d.size);
  });

  test("a blob corrupted on every attempt fails with both digests and is never stored", async () => {
    const r = await pullVia([{ kind: "corrupt", times: 100 }]);
    expect(r.error?.message).toMatch(
      /content does not match its digest \(expected sha256:[0-9a-f]{64}, got sha256:/,
    );
    expect((await blobFiles(r.dir)).filter((f) => f.startsWith(".tmp"))).toEqual([]);
    expect(await blobFiles(r.dir)).toHaveLength(1); // the manifest only
  });

  test("a blob truncated on every attempt fails clearly and leaves nothing behind", async () => {
    const r = await pullVia([{ kind: "truncate", keepBytes: 1000, times: 100 }]);
    expect(r.error?.message).toMatch(/got 1000 bytes, its descriptor says \d+/);
    expect((await blobFiles(r.dir)).filter((f) => f.startsWith(".tmp"))).toEqual([]);
  });
});

describe("worker downloads and Authorization", () => {
  // A registry demanding a bearer token, redirecting blobs to "object storage" on another origin.
  const layer = randomBytes(3 * 1024 * 1024);
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", config: {} }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: sha256(config), size: config.length },
      layers: [{ mediaType: MediaType.ociLayer, digest: sha256(layer), size: layer.length }],
    }),
  );
  const storageSaw: IncomingHttpHeaders[] = [];
  let chunked = false;
  const registrySaw: IncomingHttpHeaders[] = [];
  let registryServer: Server;
  let storage: Server;
  let host = "";
  const listen = (s: Server) =>
    new Promise<number>((resolve) =>
      s.listen(0, "127.0.0.1", () => resolve((s.address() as { port: number }).port)),
    );

  beforeAll(async () => {
    storage = createServer((req, res) => {
      storageSaw.push(req.headers);
      const body = req.url?.includes(sha256(layer).slice(7)) ? layer : config;
      // Without a Content-Length node answers chunked: not the worker's fast path.
      res.writeHead(200, chunked ? {} : { "content-length": body.length });
      res.end(body);
    });
    const storagePort = await listen(storage);
    registryServer = createServer((req, res) => {
      const url = req.url ?? "";
      if (url.startsWith("/token")) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ token: "secret-token" }));
        return;
      }
      if (req.headers.authorization !== "Bearer secret-token") {
        res.writeHead(401, {
          "www-authenticate": `Bearer realm="http://${host}/token",service="test",scope="repository:kiln/app:pull"`,
        });
        res.end();
        return;
      }
      registrySaw.push(req.headers);
      if (url.includes("/manifests/")) {
        res.writeHead(200, { "content-type": MediaType.ociManifest, "content-length": manifest.length });
        res.end(manifest);
        return;
      }
      res.writeHead(307, { location: `http://127.0.0.1:${storagePort}/storage${url}?signed=1` });
      res.end();
    });
    host = `127.0.0.1:${await listen(registryServer)}`;
  });
  afterAll(() => {
    registryServer?.close();
    storage?.close();
  });

  test("the worker sends the token to the registry and never to the storage it is redirected to", async () => {
    const cache = await OciCache.open(await tmp());
    const image = await pullImage(
      new RegistryClient(),
      cache,
      parseRegistryRef(`${host}/kiln/app:v1`),
      ALL_IN_WORKERS,
    );
    // (Buffer.equals: vitest's deep equality takes seconds on megabytes.)
    expect((await cache.readBlob(image.manifest.layers[0]!.digest)).equals(layer)).toBe(true);
    expect(storageSaw.length).toBe(2);
    for (const h of storageSaw) expect(h.authorization).toBeUndefined();
    expect(
      registrySaw.filter((h) => h.authorization === "Bearer secret-token").length,
    ).toBeGreaterThanOrEqual(3);
  });

  test("a chunked blob response is handed back to the main thread's client, and still verified", async () => {
    chunked = true;
    try {
      const cache = await OciCache.open(await tmp());
      const image = await pullImage(new RegistryClient(), cache, `${host}/kiln/app:v1`, ALL_IN_WORKERS);
      expect((await cache.readBlob(image.manifest.layers[0]!.digest)).equals(layer)).toBe(true);
      for (const h of storageSaw) expect(h.authorization).toBeUndefined();
    } finally {
      chunked = false;
    }
  });
});

describe("worker downloads over TLS", () => {
  // A certificate only the child process below trusts (NODE_EXTRA_CA_CERTS is read at start-up).
  let dir: string;
  let server: import("node:https").Server;
  let port = 0;
  // Big enough that TLS hands over data while earlier buffers are still being written.
  const body = randomBytes(24 * 1024 * 1024 + 17);
  beforeAll(async () => {
    dir = await tmp();
    await execa("openssl", [
      ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"],
      ...[
        "-addext",
        "subjectAltName=DNS:localhost",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ],
    ]);
    const { createServer: createHttps } = await import("node:https");
    server = createHttps(
      { key: await readFile(join(dir, "key.pem")), cert: await readFile(join(dir, "cert.pem")) },
      (_req, res) => {
        res.writeHead(200, { "content-length": body.length });
        res.end(body);
      },
    );
    port = await new Promise<number>((resolve) =>
      server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
    );
  });
  afterAll(() => server?.close());

  /** Run one worker job in a fresh node whose trust store may include the test certificate. */
  async function inChild(trust: boolean): Promise<BlobJobMessage> {
    const script = `
      const { Worker } = require("node:worker_threads");
      const w = new Worker(process.env.SOURCE, { eval: true });
      w.on("message", (m) => { if (m.type !== "progress") { console.log(JSON.stringify(m)); w.terminate(); } });
      w.postMessage(JSON.parse(process.env.JOB));`;
    const job = {
      id: 1,
      url: `https://localhost:${port}/v2/x/blobs/y`,
      headers: {},
      tmp: join(dir, `out-${trust}`),
      size: body.length,
    };
    const { stdout } = await execa(process.execPath, ["-e", script], {
      env: {
        SOURCE: BLOB_WORKER_SOURCE,
        JOB: JSON.stringify(job),
        ...(trust ? { NODE_EXTRA_CA_CERTS: join(dir, "cert.pem") } : {}),
      },
    });
    return JSON.parse(stdout) as BlobJobMessage;
  }

  test("an https blob is read into the reused buffer, hashed and written whole", async () => {
    expect(await inChild(true)).toEqual({ id: 1, type: "done", digest: sha256(body), size: body.length });
    expect((await readFile(join(dir, "out-true"))).equals(body)).toBe(true);
  });

  test("the certificate is verified: an untrusted one is an error and nothing is written", async () => {
    const result = await inChild(false);
    expect(result).toMatchObject({
      type: "error",
      message: expect.stringMatching(/self-signed certificate/),
    });
    await expect(readFile(join(dir, "out-false"))).rejects.toThrow(/ENOENT/);
  });
});
