// The download a blob-worker thread runs: GET (following redirects, with Authorization only for
// the origin it was meant for, like transport.ts), hash and write a temp file, then report the digest
// and size. The main thread compares them with the descriptor before the file is renamed into the cache,
// so a blob is still verified before it lands.
//
// Why: one Node stream that downloads, hashes and writes tops out far below the disk and the network,
// because every 64 KiB socket read becomes a new Buffer, an HTTP-parser callback, a stream push and a
// promise, and the dead buffers pile up until V8 collects them. Here the socket reads straight into one
// reused 1 MiB buffer (net/tls `onread`), which is hashed in place and written as it fills: no
// allocation per read, and less than half the CPU. Running it in worker threads spreads parallel layers
// over every core. Only Content-Length bodies take this path; anything else is answered "unsupported",
// and the main thread's client downloads that blob the ordinary way.
//
// Workers are started from blobDownloader's source text (`new Worker(code, { eval: true })`), which works
// the same from the built JavaScript and from the TypeScript sources tests run. So it must be
// self-contained: no imports, no outer variables; node's modules come from process.getBuiltinModule.

/** main → worker */
export interface BlobJob {
  id: number;
  url: string;
  headers: Record<string, string>;
  /** The temp file to create (exclusively) and fill. */
  tmp: string;
  /** The descriptor's size: a body of another length is refused before it is read. */
  size: number;
}

/** worker → main */
export type BlobJobMessage =
  | { id: number; type: "progress"; received: number }
  | { id: number; type: "done"; digest: string; size: number }
  /** Not a plain 200 with a Content-Length (an error status, chunked...): the main thread's client takes it. */
  | { id: number; type: "status"; status: number }
  | { id: number; type: "error"; message: string };

/** Reports and results of one job; in a worker thread they are posted to the main thread. */
export type BlobPost = (message: BlobJobMessage) => void;

/** Makes the download function. Runs in a worker (see blob-workers.ts) or, for one job at a time, in-process. */
export function blobDownloader(): (job: BlobJob, post: BlobPost) => Promise<BlobJobMessage> {
  const net = process.getBuiltinModule("node:net");
  const tls = process.getBuiltinModule("node:tls");
  const { createHash } = process.getBuiltinModule("node:crypto");
  const { open, rm } = process.getBuiltinModule("node:fs/promises");
  type FileHandle = import("node:fs/promises").FileHandle;
  type Hash = import("node:crypto").Hash;

  const BATCH = 1024 * 1024;
  const HEAD_MAX = 64 * 1024;
  const REPORT_EVERY = 8 * 1024 * 1024;
  const MAX_REDIRECTS = 5;

  interface Head {
    status: number;
    headers: Record<string, string>;
  }

  function parseHead(text: string): Head {
    const [statusLine = "", ...lines] = text.split("\r\n");
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      const key = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
    }
    return { status, headers };
  }

  /** Where the body of a 200 goes; `accept` says how long it is, or undefined to take no body. */
  interface BodySink {
    accept(head: Head): number | undefined;
    bytes(view: Buffer): void;
    write(buffer: Buffer, count: number): Promise<void>;
  }

  /**
   * One GET on a connection of its own. Resolves with the response head once the body (if taken) is on
   * disk. The socket reads into a 1 MiB buffer; a full one is queued for writing and reading goes on
   * into another. A buffer is reused only after its write has finished, whatever the socket does: TLS
   * may hand over data it has already decrypted after a pause, and the bytes hashed must be the bytes
   * written. Two full buffers waiting pause the socket.
   */
  function exchange(url: URL, headers: Record<string, string>, sink: BodySink): Promise<Head> {
    return new Promise((resolve, reject) => {
      const free: Buffer[] = [];
      const take = () => free.pop() ?? Buffer.allocUnsafe(BATCH);
      let current = take();
      let pending = 0; // bytes in `current` (the head, until it is parsed)
      const queue: Array<{ buffer: Buffer; count: number }> = [];
      let writing = false;
      let paused = false;
      let head: Head | undefined;
      let remaining = 0;
      let settled = false;
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        socket.destroy();
        if (err) reject(err);
        else resolve(head!);
      };
      const pump = () => {
        if (writing || settled) return;
        const next = queue.shift();
        if (!next) {
          if (head && remaining === 0) finish();
          return;
        }
        writing = true;
        sink.write(next.buffer, next.count).then(() => {
          writing = false;
          free.push(next.buffer);
          if (paused && queue.length < 2) {
            paused = false;
            socket.resume();
          }
          pump();
        }, finish);
      };
      /** `n` body bytes have landed at current[pending..]. False pauses the socket. */
      const body = (n: number): boolean => {
        if (n > remaining) {
          finish(new Error("the server sent more bytes than its Content-Length"));
          return false;
        }
        sink.bytes(current.subarray(pending, pending + n));
        pending += n;
        remaining -= n;
        if (pending === current.length || remaining === 0) {
          queue.push({ buffer: current, count: pending });
          current = take();
          pending = 0;
          pump();
        }
        paused = queue.length >= 2;
        return !paused;
      };
      const read = (n: number): boolean => {
        if (settled) return false;
        if (head) return body(n);
        pending += n;
        const end = current.subarray(0, pending).indexOf("\r\n\r\n");
        if (end < 0) {
          if (pending < HEAD_MAX) return true;
          finish(new Error("the response headers are too large"));
          return false;
        }
        head = parseHead(current.toString("latin1", 0, end));
        let length: number | undefined;
        try {
          length = sink.accept(head);
        } catch (e) {
          finish(e as Error);
          return false;
        }
        if (length === undefined) {
          finish();
          return false;
        }
        remaining = length;
        const extra = pending - (end + 4);
        current.copyWithin(0, end + 4, pending);
        pending = 0;
        return body(extra);
      };
      const secure = url.protocol === "https:";
      const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
      const port = Number(url.port || (secure ? 443 : 80));
      const onread = { buffer: () => current.subarray(pending), callback: read };
      // tls.connect takes `onread` like net.connect (node >= 14.5); @types/node does not list it.
      const socket = secure
        ? tls.connect({
            host,
            port,
            servername: net.isIP(host) ? undefined : host,
            onread,
            ALPNProtocols: ["http/1.1"],
          } as import("node:tls").ConnectionOptions)
        : net.connect({ host, port, onread });
      const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`];
      for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
      lines.push("Accept-Encoding: identity", "Connection: close", "", "");
      socket.once(secure ? "secureConnect" : "connect", () => socket.write(lines.join("\r\n")));
      socket.on("error", (e) => finish(e));
      const closed = () => {
        // A complete body may still be on its way to the disk; the last write then settles.
        if (head && remaining === 0) return;
        finish(
          new Error(
            head
              ? `the connection closed ${remaining} bytes short`
              : "the connection closed without a response",
          ),
        );
      };
      socket.on("end", closed);
      socket.on("close", closed);
    });
  }

  async function run(job: BlobJob, post: BlobPost): Promise<BlobJobMessage> {
    let fh: FileHandle | undefined;
    let hash: Hash | undefined;
    let received = 0;
    let written = 0;
    let reported = 0;
    let notPlain: number | undefined;
    let redirect: string | undefined;
    const sink: BodySink = {
      accept(head) {
        const location = head.headers.location;
        if (head.status >= 300 && head.status < 400 && location) {
          redirect = location;
          return undefined;
        }
        const length = head.headers["content-length"];
        const identity = (head.headers["content-encoding"] ?? "identity") === "identity";
        if (head.status !== 200 || head.headers["transfer-encoding"] || length === undefined || !identity) {
          notPlain = head.status;
          return undefined;
        }
        if (Number(length) !== job.size) {
          throw new Error(`the server sends ${length} bytes, the descriptor says ${job.size}`);
        }
        hash = createHash("sha256");
        return job.size;
      },
      bytes(view) {
        hash!.update(view);
        received += view.length;
      },
      async write(buffer, count) {
        for (let off = 0; off < count; ) off += (await fh!.write(buffer, off, count - off)).bytesWritten;
        written += count;
        if (written - reported >= REPORT_EVERY || written === job.size) {
          reported = written;
          post({ id: job.id, type: "progress", received: written });
        }
      },
    };
    fh = await open(job.tmp, "wx", 0o644);
    try {
      let url = new URL(job.url);
      const origin = url.origin;
      for (let hop = 0; ; hop++) {
        redirect = undefined;
        const { authorization: _, ...anonymous } = job.headers;
        await exchange(url, url.origin === origin ? job.headers : anonymous, sink);
        if (redirect === undefined || hop >= MAX_REDIRECTS) break;
        url = new URL(redirect, url);
      }
      if (hash === undefined) {
        await fh.close();
        await rm(job.tmp, { force: true });
        return { id: job.id, type: "status", status: notPlain ?? 0 };
      }
      // The digest is of the bytes received; it may stand for the file only if every one was written.
      if (written !== received) throw new Error(`received ${received} bytes but wrote ${written}`);
      await fh.sync();
      await fh.close();
      return { id: job.id, type: "done", digest: `sha256:${hash.digest("hex")}`, size: written };
    } catch (e) {
      await fh.close().catch(() => {});
      await rm(job.tmp, { force: true });
      throw e;
    }
  }

  return run;
}
