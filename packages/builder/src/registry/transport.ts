import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";

export interface TransportResponse {
  status: number;
  headers: IncomingMessage["headers"];
  body: IncomingMessage;
  /** The URL that answered, after redirects. */
  url: string;
}

const MAX_REDIRECTS = 5;

function once(url: URL, headers: Record<string, string>): Promise<IncomingMessage> {
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: "GET", headers }, resolve);
    req.on("error", reject);
    req.end();
  });
}

/**
 * GET over node:http(s), following redirects by hand. `Authorization` goes only to the origin it was
 * meant for: registries redirect blob downloads to object storage, which must never see the token.
 * Node streams here, rather than fetch's web streams, keep memory lower on large blobs.
 */
export async function get(target: string, headers: Record<string, string>): Promise<TransportResponse> {
  let url = new URL(target);
  const origin = url.origin;
  for (let hop = 0; ; hop++) {
    const sent = url.origin === origin ? headers : withoutAuthorization(headers);
    const res = await once(url, sent);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (status >= 300 && status < 400 && location && hop < MAX_REDIRECTS) {
      res.resume();
      url = new URL(location, url);
      continue;
    }
    return { status, headers: res.headers, body: res, url: url.toString() };
  }
}

/**
 * One request with any method and an optional body, not following redirects (uploads answer 201/202 with a
 * Location the caller follows itself, and a body cannot be sent twice).
 */
export function send(
  method: string,
  target: string,
  headers: Record<string, string>,
  body?: Buffer | NodeJS.ReadableStream,
): Promise<TransportResponse> {
  const url = new URL(target);
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) =>
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url: url.toString() }),
    );
    req.on("error", reject);
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else {
      body.on("error", (e: Error) => req.destroy(e));
      body.pipe(req);
    }
  });
}

function withoutAuthorization(headers: Record<string, string>): Record<string, string> {
  const { authorization: _, ...rest } = headers;
  return rest;
}

export async function readAll(body: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
