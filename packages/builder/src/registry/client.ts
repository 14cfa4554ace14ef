import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { KilnError, type RegistryRef } from "@kiln/spec";
import { parseChallenge } from "./challenge.js";
import type { Credential } from "./credentials.js";
import { get, readAll, send, type TransportResponse } from "./transport.js";

export interface RegistryOptions {
  /** Registries reached over plain HTTP. localhost and 127.0.0.0/8 always are. */
  insecure?: readonly string[];
  /** Pull-through mirrors: registry domain → base URL, e.g. `docker.io` → `http://127.0.0.1:5000`. */
  mirrors?: Readonly<Record<string, string>>;
  credentials?: { get(host: string): Promise<Credential | undefined> };
  /** Attempts per request for 429, 5xx and connection errors. */
  attempts?: number;
  /** First backoff delay; doubles each attempt. */
  backoffMs?: number;
  userAgent?: string;
}

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
}

const RETRYABLE = new Set([429, 500, 502, 503, 504]);

function isLoopback(host: string): boolean {
  const h = host.replace(/:\d+$/, "");
  return h === "localhost" || h === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

function displayRef(ref: RegistryRef): string {
  return `${ref.domain}/${ref.path}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/**
 * An OCI distribution (v2) client on node:http(s): anonymous, basic and bearer-token auth from the
 * registry's challenge, plain HTTP for loopback and --insecure-registry hosts, mirrors, and retries
 * with backoff. Redirects to blob storage are followed without the Authorization header
 * (transport.ts), so credentials never leak to a CDN.
 */
export class RegistryClient {
  private readonly tokens = new Map<string, string>();
  private readonly attempts: number;
  private readonly backoffMs: number;

  constructor(private readonly options: RegistryOptions = {}) {
    this.attempts = options.attempts ?? 5;
    this.backoffMs = options.backoffMs ?? 250;
  }

  /** Base URL of the registry API that serves `domain`, honouring mirrors. */
  baseUrl(domain: string): string {
    const mirror = this.options.mirrors?.[domain];
    if (mirror) return mirror.replace(/\/+$/, "");
    const host = domain === "docker.io" ? "registry-1.docker.io" : domain;
    const insecure = isLoopback(host) || (this.options.insecure ?? []).includes(domain);
    return `${insecure ? "http" : "https"}://${host}`;
  }

  async manifest(ref: RegistryRef, reference: string, accept: readonly string[]): Promise<FetchedManifest> {
    const res = await this.request(ref, `/v2/${ref.path}/manifests/${reference}`, {
      headers: { accept: accept.join(", ") },
    });
    const bytes = await readAll(res.body);
    const mediaType = String(res.headers["content-type"] ?? "")
      .split(";")[0]!
      .trim();
    return { bytes, mediaType };
  }

  /**
   * The URL and headers of a blob GET as this client would first send it (mirror, plain HTTP, the token
   * it holds), for a download made elsewhere: a worker thread (blob-workers.ts). Anything but a 200
   * there is handed back to `blob()`, which deals with challenges, retries and errors.
   */
  blobTarget(ref: RegistryRef, digest: string): { url: string; headers: Record<string, string> } {
    const base = this.baseUrl(ref.domain);
    const headers: Record<string, string> = { "user-agent": this.options.userAgent ?? "kiln" };
    const token = this.tokens.get(`${base}|${ref.path}`);
    if (token) headers.authorization = token;
    return { url: `${base}/v2/${ref.path}/blobs/${digest}`, headers };
  }

  /** The blob's body as a stream. The caller verifies it (OciCache.writeBlob). */
  async blob(ref: RegistryRef, digest: string): Promise<Readable> {
    const res = await this.request(ref, `/v2/${ref.path}/blobs/${digest}`, {});
    return res.body;
  }

  /** Whether the repository has the blob (HEAD), so a push can skip it. */
  async hasBlob(ref: RegistryRef, digest: string): Promise<boolean> {
    const res = await this.request(ref, `/v2/${ref.path}/blobs/${digest}`, {
      method: "HEAD",
      action: "push",
      missingOk: true,
    });
    res.body.resume();
    return res.status !== 404;
  }

  /**
   * Upload a blob in one piece: POST for an upload session, then PUT its bytes with the digest, which the
   * registry checks. `open` is called again for each attempt.
   */
  async pushBlob(
    ref: RegistryRef,
    blob: { digest: string; size: number },
    open: () => Buffer | NodeJS.ReadableStream,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const started = await this.request(ref, `/v2/${ref.path}/blobs/uploads/`, {
        method: "POST",
        action: "push",
        headers: { "content-length": "0" },
      });
      started.body.resume();
      const location = started.headers.location;
      if (!location) {
        throw new KilnError(`${displayRef(ref)}: the registry started an upload without a Location`, {
          hint: "the registry does not speak the OCI distribution API",
        });
      }
      const url = new URL(location, this.baseUrl(ref.domain));
      url.searchParams.set("digest", blob.digest);
      try {
        const res = await this.request(ref, "", {
          url: url.toString(),
          method: "PUT",
          action: "push",
          headers: { "content-type": "application/octet-stream", "content-length": String(blob.size) },
          body: open,
          once: true,
        });
        res.body.resume();
        return;
      } catch (e) {
        // A session is single-use: a broken PUT starts over with a new one.
        if (attempt >= this.attempts || !(e instanceof RetryableUpload))
          throw e instanceof RetryableUpload ? e.cause : e;
        await sleep(this.backoffMs * 2 ** (attempt - 1));
      }
    }
  }

  /** PUT a manifest under a tag (or its digest); returns the digest the registry reports. */
  async putManifest(
    ref: RegistryRef,
    reference: string,
    bytes: Buffer,
    mediaType: string,
  ): Promise<string | undefined> {
    const res = await this.request(ref, `/v2/${ref.path}/manifests/${reference}`, {
      method: "PUT",
      action: "push",
      headers: { "content-type": mediaType, "content-length": String(bytes.length) },
      body: () => bytes,
    });
    res.body.resume();
    const digest = res.headers["docker-content-digest"];
    return typeof digest === "string" ? digest : undefined;
  }

  private async request(
    ref: RegistryRef,
    path: string,
    init: {
      headers?: Record<string, string>;
      method?: string;
      /** An absolute URL (an upload Location) instead of `path`. */
      url?: string;
      body?: () => Buffer | NodeJS.ReadableStream;
      action?: "pull" | "push";
      /** Return a 404 instead of throwing (HEAD checks). */
      missingOk?: boolean;
      /** A body that cannot be resent here: connection failures throw RetryableUpload for the caller. */
      once?: boolean;
    },
  ): Promise<TransportResponse> {
    const base = this.baseUrl(ref.domain);
    const url = init.url ?? `${base}${path}`;
    const method = init.method ?? "GET";
    const scopeKey = `${base}|${ref.path}`;
    let authTried = false;
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = {
        "user-agent": this.options.userAgent ?? "kiln",
        ...init.headers,
      };
      const token = this.tokens.get(scopeKey);
      if (token) headers.authorization = token;
      let res: TransportResponse;
      try {
        res = method === "GET" ? await get(url, headers) : await send(method, url, headers, init.body?.());
      } catch (e) {
        if (init.once) {
          throw new RetryableUpload(
            new KilnError(`upload to ${base} for ${displayRef(ref)} failed: ${causeOf(e)}`, {
              hint: "check that the registry is reachable and try again",
            }),
          );
        }
        if (attempt < this.attempts) {
          await sleep(this.backoffMs * 2 ** (attempt - 1));
          continue;
        }
        throw new KilnError(`cannot reach ${base} for ${displayRef(ref)}: ${causeOf(e)}`, {
          hint: `check the registry address; plain-HTTP registries other than localhost need --insecure-registry ${ref.domain}`,
        });
      }
      if (res.status === 401 && !authTried) {
        authTried = true;
        res.body.resume();
        const challenge = parseChallenge(String(res.headers["www-authenticate"] ?? ""));
        const auth = await this.authorize(ref, challenge, base, init.action);
        if (auth) {
          this.tokens.set(scopeKey, auth);
          attempt--;
          continue;
        }
      }
      if (RETRYABLE.has(res.status) && init.once) {
        res.body.resume();
        throw new RetryableUpload(this.httpError(ref, res.status, path || url, init.action));
      }
      if (RETRYABLE.has(res.status) && attempt < this.attempts) {
        res.body.resume();
        const retryAfter = Number(res.headers["retry-after"]);
        await sleep(
          Number.isFinite(retryAfter) && retryAfter > 0
            ? Math.min(retryAfter * 1000, 30_000)
            : this.backoffMs * 2 ** (attempt - 1),
        );
        continue;
      }
      if ((res.status >= 200 && res.status < 300) || (init.missingOk && res.status === 404)) return res;
      // A HEAD answered with a redirect to blob storage: the blob is there.
      if (method === "HEAD" && res.status >= 300 && res.status < 400) return res;
      res.body.resume();
      throw this.httpError(ref, res.status, path || url, init.action);
    }
  }

  private async authorize(
    ref: RegistryRef,
    challenge: ReturnType<typeof parseChallenge>,
    base: string,
    action: "pull" | "push" = "pull",
  ): Promise<string | undefined> {
    if (!challenge) return undefined;
    const cred = await this.options.credentials?.get(ref.domain);
    if (challenge.scheme === "basic") {
      return cred
        ? `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString("base64")}`
        : undefined;
    }
    if (challenge.scheme !== "bearer" || !challenge.params.realm) return undefined;
    const url = new URL(challenge.params.realm);
    if (challenge.params.service) url.searchParams.set("service", challenge.params.service);
    url.searchParams.set(
      "scope",
      challenge.params.scope ?? `repository:${ref.path}:${action === "push" ? "pull,push" : "pull"}`,
    );
    const headers: Record<string, string> = {};
    if (cred)
      headers.authorization = `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString("base64")}`;
    const res = await fetch(url, { headers });
    if (!res.ok) {
      await res.body?.cancel();
      throw this.httpError(
        ref,
        res.status === 401 || res.status === 403 ? res.status : 401,
        `token from ${url.origin} (${base})`,
        action,
      );
    }
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    return token ? `Bearer ${token}` : undefined;
  }

  private httpError(
    ref: RegistryRef,
    status: number,
    what: string,
    action: "pull" | "push" = "pull",
  ): KilnError {
    const name = displayRef(ref);
    if (status === 401 || status === 403) {
      return new KilnError(`not authorized to ${action} ${name} (HTTP ${status})`, {
        hint: `log in with \`docker login ${ref.domain}\` (kiln reads ~/.docker/config.json and credential helpers), or check the name`,
      });
    }
    if (status === 404) {
      return new KilnError(`${name} was not found on ${ref.domain} (HTTP 404)`, {
        hint: "check the repository name and tag; a local image can be used with --docker, oci-layout: or docker-archive:",
      });
    }
    return new KilnError(`registry ${ref.domain} answered HTTP ${status} for ${name} (${what})`, {
      hint: "the registry may be down; try again later",
    });
  }
}

/** An upload that failed in a way a new upload session may fix. */
class RetryableUpload extends Error {
  constructor(override readonly cause: unknown) {
    super("upload failed", { cause });
  }
}

function causeOf(e: unknown): string {
  const err = e as { code?: string; cause?: { code?: string; message?: string }; message?: string };
  return err.code ?? err.cause?.code ?? err.cause?.message ?? err.message ?? String(e);
}
