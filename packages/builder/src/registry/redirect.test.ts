import { mkdtemp } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseRegistryRef } from "@kiln/spec";
import { afterAll, beforeAll, expect, test } from "vitest";
import { OciCache } from "../cache/cache.js";
import { sha256 } from "../cache/digest.js";
import { MediaType } from "../oci/types.js";
import { RegistryClient } from "./client.js";
import { pullImage } from "./pull.js";

// A registry that demands a bearer token and redirects blob downloads to "object storage" on another
// origin, the way Docker Hub and most clouds do. Both are loopback servers written for this test.
const layer = Buffer.from("layer bytes");
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
const tokenRequests: string[] = [];
let registry: Server;
let storage: Server;
let registryHost = "";

const listen = (s: Server) =>
  new Promise<number>((resolve) =>
    s.listen(0, "127.0.0.1", () => resolve((s.address() as { port: number }).port)),
  );

beforeAll(async () => {
  storage = createServer((req, res) => {
    storageSaw.push(req.headers);
    const body = req.url?.includes(sha256(layer).slice(7)) ? layer : config;
    res.writeHead(200, { "content-length": body.length });
    res.end(body);
  });
  const storagePort = await listen(storage);
  registry = createServer((req, res) => {
    const url = req.url ?? "";
    if (url.startsWith("/token")) {
      tokenRequests.push(url);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ token: "t0ken" }));
      return;
    }
    if (req.headers.authorization !== "Bearer t0ken") {
      res.writeHead(401, {
        "www-authenticate": `Bearer realm="http://${registryHost}/token",service="test-registry",scope="repository:team/app:pull"`,
      });
      res.end();
      return;
    }
    if (url.includes("/manifests/")) {
      res.writeHead(200, { "content-type": MediaType.ociManifest, "content-length": manifest.length });
      res.end(manifest);
      return;
    }
    const digest = url.split("/blobs/")[1] ?? "";
    res.writeHead(307, {
      location: `http://127.0.0.1:${storagePort}/bucket/${digest.slice(7)}?signature=abc`,
    });
    res.end();
  });
  registryHost = `127.0.0.1:${await listen(registry)}`;
});

afterAll(() => {
  registry?.close();
  storage?.close();
});

test("bearer token from the challenge, and blob redirects that never carry Authorization to the other origin", async () => {
  const cache = await OciCache.open(await mkdtemp(join(tmpdir(), "kiln-redirect-")));
  const image = await pullImage(new RegistryClient(), cache, parseRegistryRef(`${registryHost}/team/app:v1`));
  expect(image.manifest.layers[0]?.digest).toBe(sha256(layer));
  expect(await cache.readBlob(sha256(layer))).toEqual(layer);
  expect(tokenRequests[0]).toBe("/token?service=test-registry&scope=repository%3Ateam%2Fapp%3Apull");
  expect(storageSaw).toHaveLength(2);
  for (const headers of storageSaw) expect(headers.authorization).toBeUndefined();
});
