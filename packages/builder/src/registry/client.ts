import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { KilnError, type RegistryRef } from "@kiln/spec";
import { parseChallenge } from "./challenge.js";
import type { Credential } from "./credentials.js";
import { get, readAll, type TransportResponse } from "./transport.js";

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

  /** The blob's body as a stream. The caller verifies it (OciCache.writeBlob). */
  async blob(ref: RegistryRef, digest: string): Promise<Readable> {
    const res = await this.request(ref, `/v2/${ref.path}/blobs/${digest}`, {});
    return res.body;
  }

  private async request(
    ref: RegistryRef,
    path: string,
    init: { headers?: Record<string, string> },
  ): Promise<TransportResponse> {
    const base = this.baseUrl(ref.domain);
    const url = `${base}${path}`;
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
        res = await get(url, headers);
      } catch (e) {
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
        const auth = await this.authorize(ref, challenge, base);
        if (auth) {
          this.tokens.set(scopeKey, auth);
          attempt--;
          continue;
        }
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
      if (res.status >= 200 && res.status < 300) return res;
      res.body.resume();
      throw this.httpError(ref, res.status, path);
    }
  }

  private async authorize(
    ref: RegistryRef,
    challenge: ReturnType<typeof parseChallenge>,
    base: string,
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
    url.searchParams.set("scope", challenge.params.scope ?? `repository:${ref.path}:pull`);
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
      );
    }
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    return token ? `Bearer ${token}` : undefined;
  }

  private httpError(ref: RegistryRef, status: number, what: string): KilnError {
    const name = displayRef(ref);
    if (status === 401 || status === 403) {
      return new KilnError(`not authorized to pull ${name} (HTTP ${status})`, {
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

function causeOf(e: unknown): string {
  const err = e as { code?: string; cause?: { code?: string; message?: string }; message?: string };
  return err.code ?? err.cause?.code ?? err.cause?.message ?? err.message ?? String(e);
}
