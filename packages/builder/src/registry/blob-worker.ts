// The body of a blob-download worker thread: GET (following redirects, with Authorization only for
// the origin it was meant for, like transport.ts), hash and write a temp file, then report the digest
// and size. The main thread compares them with the descriptor before the file is renamed into the cache,
// so a blob is still verified before it lands. Moving this off the main thread spreads the hashing,
// HTTP parsing and stream handling of parallel layer downloads over every core.
//
// Workers are started from this function's source text (`new Worker(code, { eval: true })`), which works
// the same from the built JavaScript and from the TypeScript sources tests run. So it must be
// self-contained: no imports, no outer variables; node's modules come from process.getBuiltinModule.

/** main → worker */
export interface BlobJob {
  id: number;
  url: string;
  headers: Record<string, string>;
  /** The temp file to create (exclusively) and fill. */
  tmp: string;
  /** The descriptor's size: more bytes than this is an error at once. */
  size: number;
}

/** worker → main */
export type BlobJobMessage =
  | { id: number; type: "progress"; received: number }
  | { id: number; type: "done"; digest: string; size: number }
  /** The server answered something other than 200: the main thread's client deals with it. */
  | { id: number; type: "status"; status: number }
  | { id: number; type: "error"; message: string };

export function blobWorkerMain(): void {
  const { parentPort } = process.getBuiltinModule("node:worker_threads");
  const http = process.getBuiltinModule("node:http");
  const https = process.getBuiltinModule("node:https");
  const { createHash } = process.getBuiltinModule("node:crypto");
  const { open, rm } = process.getBuiltinModule("node:fs/promises");
  const BATCH = 1024 * 1024;
  // Each socket read arrives in a fresh 64 KiB buffer. Those are tiny objects on the V8 heap, so no
  // collection comes until V8's external-memory heuristic fires, tens of megabytes later, per thread.
  // A minor collection every few megabytes keeps a thread's dead buffers, and the process's RSS, small.
  const GC_EVERY = 4 * 1024 * 1024;
  const REPORT_EVERY = 8 * 1024 * 1024;
  let collect: (() => void) | undefined;
  try {
    process.getBuiltinModule("node:v8").setFlagsFromString("--expose-gc");
    const gc = process.getBuiltinModule("node:vm").runInNewContext("gc") as (o: object) => void;
    collect = () => gc({ type: "minor" });
  } catch {
    // without it, memory is only higher
  }
  const MAX_REDIRECTS = 5;

  const send = (url: URL, headers: Record<string, string>) =>
    new Promise<import("node:http").IncomingMessage>((resolve, reject) => {
      const req = (url.protocol === "https:" ? https.request : http.request)(
        url,
        { method: "GET", headers },
        resolve,
      );
      req.on("error", reject);
      req.end();
    });

  async function run(job: BlobJob): Promise<BlobJobMessage> {
    let url = new URL(job.url);
    const origin = url.origin;
    let res: import("node:http").IncomingMessage;
    for (let hop = 0; ; hop++) {
      const { authorization: _, ...anonymous } = job.headers;
      res = await send(url, url.origin === origin ? job.headers : anonymous);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (status >= 300 && status < 400 && location && hop < MAX_REDIRECTS) {
        res.resume();
        url = new URL(location, url);
        continue;
      }
      break;
    }
    if (res.statusCode !== 200) {
      res.resume();
      return { id: job.id, type: "status", status: res.statusCode ?? 0 };
    }
    const fh = await open(job.tmp, "wx", 0o644);
    const hash = createHash("sha256");
    let size = 0;
    try {
      // Socket chunks are ~64 KiB; gathering them into one reused 1 MiB buffer cuts the write calls
      // sixteenfold without allocating more (garbage buffers are what drives a thread's memory up).
      const batch = Buffer.allocUnsafe(BATCH);
      let pending = 0;
      let sinceCollect = 0;
      let reported = 0;
      const flush = async () => {
        for (let off = 0; off < pending; ) off += (await fh.write(batch, off, pending - off)).bytesWritten;
        pending = 0;
        if (size - reported >= REPORT_EVERY) {
          reported = size;
          parentPort!.postMessage({ id: job.id, type: "progress", received: size });
        }
      };
      for await (const chunk of res) {
        const buf = chunk as Buffer;
        size += buf.length;
        if (size > job.size) throw new Error(`more bytes than its descriptor's size ${job.size}`);
        hash.update(buf);
        sinceCollect += buf.length;
        if (sinceCollect >= GC_EVERY && collect) {
          sinceCollect = 0;
          collect();
        }
        for (let off = 0; off < buf.length; ) {
          const n = buf.copy(batch, pending, off);
          pending += n;
          off += n;
          if (pending === BATCH) await flush();
        }
      }
      if (pending > 0) await flush();
      if (reported !== size) parentPort!.postMessage({ id: job.id, type: "progress", received: size });
      await fh.sync();
    } catch (e) {
      res.destroy();
      await fh.close();
      await rm(job.tmp, { force: true });
      throw e;
    }
    await fh.close();
    return { id: job.id, type: "done", digest: `sha256:${hash.digest("hex")}`, size };
  }

  parentPort!.on("message", (job: BlobJob) => {
    run(job).then(
      (result) => parentPort!.postMessage(result),
      (e: Error) => parentPort!.postMessage({ id: job.id, type: "error", message: e.message ?? String(e) }),
    );
  });
}
