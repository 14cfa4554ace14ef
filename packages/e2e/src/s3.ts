import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "minio";

export interface Credentials {
  user: string;
  password: string;
}

export interface S3Target {
  /** e.g. http://127.0.0.1:39000 */
  endpoint: string;
  credentials: Credentials;
}

export interface ClientOptions {
  /** Multipart uploads split objects larger than this; the client's default is 64 MiB. */
  partSize?: number;
}

export function s3Client(target: S3Target, options: ClientOptions = {}): Client {
  const url = new URL(target.endpoint);
  return new Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: url.protocol === "https:",
    accessKey: target.credentials.user,
    secretKey: target.credentials.password,
    // A fixed region spares one GetBucketLocation round trip per bucket, slow under TCG.
    region: "us-east-1",
    ...(options.partSize === undefined ? {} : { partSize: options.partSize }),
  });
}

export interface WaitOptions {
  timeoutMs: number;
  /** Called between attempts; throw from it to give up early (e.g. the VM died). */
  check?: () => void;
}

/**
 * Waits until MinIO answers its readiness probe and then a signed ListBuckets: readiness alone can come before
 * the credentials are loaded, and ListBuckets alone cannot tell "not up yet" from "refused".
 */
export async function waitForS3(target: S3Target, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const client = s3Client(target);
  let last = "no answer yet";
  for (;;) {
    options.check?.();
    try {
      const res = await fetch(new URL("/minio/health/ready", target.endpoint), {
        signal: AbortSignal.timeout(5_000),
      });
      if (res.ok) {
        await client.listBuckets();
        return;
      }
      last = `/minio/health/ready answered ${res.status}`;
    } catch (err) {
      last = describeError(err);
    }
    if (Date.now() > deadline) {
      throw new Error(`S3 at ${target.endpoint} not ready after ${options.timeoutMs / 1000} s: ${last}`);
    }
    await sleep(1_000);
  }
}

export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const cause = err.cause instanceof Error ? ` (${err.cause.message})` : "";
    return `${typeof code === "string" ? `${code}: ` : ""}${err.message}${cause}`;
  }
  return String(err);
}

export function sha256Hex(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The SHA-256 of an object as the server returns it, streamed. */
export async function objectSha256(client: Client, bucket: string, key: string): Promise<string> {
  try {
    const stream = await client.getObject(bucket, key);
    const hash = createHash("sha256");
    for await (const chunk of stream) hash.update(chunk as Buffer);
    return hash.digest("hex");
  } catch (err) {
    // The client's errors do not say which object they are about.
    if (err instanceof Error) err.message = `${bucket}/${key}: ${err.message}`;
    throw err;
  }
}

export interface ObjectSpec {
  key: string;
  body: Buffer;
  sha256: string;
}

/** `body` as a stream of `size`-byte chunks. */
export function chunked(body: Buffer, size: number): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < body.length; i += size) yield body.subarray(i, i + size);
    })(),
  );
}

export function randomObject(key: string, size: number): ObjectSpec {
  const body = randomBytes(size);
  return { key, body, sha256: sha256Hex(body) };
}

/** Every key under a prefix, with sizes and ETags, in listing order. */
export async function listAll(
  client: Client,
  bucket: string,
  prefix = "",
): Promise<{ name: string; size: number; etag: string }[]> {
  const out: { name: string; size: number; etag: string }[] = [];
  for await (const item of client.listObjectsV2(bucket, prefix, true)) {
    const o = item as { name?: string; size: number; etag: string };
    if (o.name !== undefined) out.push({ name: o.name, size: o.size, etag: o.etag });
  }
  return out;
}

/** The S3 error code of a rejected request (`AccessDenied`, `InvalidAccessKeyId`, `NoSuchKey`...). */
export async function s3ErrorCode(request: Promise<unknown>): Promise<string> {
  try {
    await request;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string") return code;
    throw err;
  }
  throw new Error("the request succeeded but was expected to be refused");
}
