// A small pool of blob-download worker threads (blob-worker.ts), one per core at most, plus the main
// thread for one job while no thread has started yet: a thread takes ~0.1 s (more on a busy machine) to
// boot, and the first layer need not wait for it.

import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { type BlobJob, type BlobJobMessage, blobDownloader } from "./blob-worker.js";

// Transpilers that keep function names (esbuild's keepNames, as tsx uses) wrap nested functions in a
// `__name(fn, "name")` helper that the worker would not have; a no-op one keeps the source runnable.
/** The worker thread's code, for `new Worker(BLOB_WORKER_SOURCE, { eval: true })`. */
export const BLOB_WORKER_SOURCE = `var __name = (fn) => fn;
const run = (${blobDownloader.toString()})();
const { parentPort } = process.getBuiltinModule("node:worker_threads");
const post = (m) => parentPort.postMessage(m);
parentPort.on("message", (job) =>
  run(job, post).then(post, (e) => post({ id: job.id, type: "error", message: (e && e.message) || String(e) })),
);`;

export type BlobResult = Exclude<BlobJobMessage, { type: "progress" }>;

interface Pending {
  resolve(result: BlobResult): void;
  onProgress?: (received: number) => void;
  worker: Worker;
}

let inProcess: ReturnType<typeof blobDownloader> | undefined;

export class BlobWorkers {
  private readonly workers: Worker[] = [];
  private readonly busy = new Map<Worker, number>();
  private readonly pending = new Map<number, Pending>();
  private readonly online = new Set<Worker>();
  private localBusy = false;
  private nextId = 0;
  private readonly size: number;

  /** At most `size` threads, started as jobs arrive. */
  constructor(size: number = availableParallelism()) {
    this.size = Math.max(1, size);
  }

  private pick(): Worker {
    if (this.workers.length < this.size) {
      const worker = new Worker(BLOB_WORKER_SOURCE, { eval: true });
      worker.on("message", (m: BlobJobMessage) => this.receive(m));
      worker.once("online", () => this.online.add(worker));
      // A crashed worker fails its jobs as errors; the caller then downloads them in the main thread.
      worker.on("error", (e) => this.fail(worker, e.message));
      worker.on("exit", () => this.fail(worker, "the download worker exited"));
      this.workers.push(worker);
      this.busy.set(worker, 0);
      return worker;
    }
    return this.workers.reduce((a, b) => (this.busy.get(a)! <= this.busy.get(b)! ? a : b));
  }

  private receive(m: BlobJobMessage): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.type === "progress") {
      p.onProgress?.(m.received);
      return;
    }
    this.settle(m.id, p, m);
  }

  private settle(id: number, p: Pending, result: BlobResult): void {
    this.pending.delete(id);
    const left = (this.busy.get(p.worker) ?? 1) - 1;
    if (this.busy.has(p.worker)) this.busy.set(p.worker, left);
    if (left === 0) p.worker.unref(); // an idle pool never keeps the process alive
    p.resolve(result);
  }

  private fail(worker: Worker, message: string): void {
    const i = this.workers.indexOf(worker);
    if (i >= 0) this.workers.splice(i, 1);
    this.busy.delete(worker);
    this.online.delete(worker);
    for (const [id, p] of this.pending)
      if (p.worker === worker) this.settle(id, p, { id, type: "error", message });
  }

  /** Start every thread now, idle (so not keeping the process alive) until jobs arrive. */
  warm(): void {
    while (this.workers.length < this.size) this.pick().unref();
  }

  /** Download one blob into `job.tmp`. Never rejects: failures come back as results. */
  fetch(job: Omit<BlobJob, "id">, onProgress?: (received: number) => void): Promise<BlobResult> {
    const id = this.nextId++;
    if (!this.localBusy && this.online.size === 0) return this.fetchHere({ ...job, id }, onProgress);
    const worker = this.pick();
    this.busy.set(worker, this.busy.get(worker)! + 1);
    worker.ref();
    return new Promise((resolve) => {
      this.pending.set(id, { resolve, onProgress, worker });
      worker.postMessage({ ...job, id });
    });
  }

  private async fetchHere(job: BlobJob, onProgress?: (received: number) => void): Promise<BlobResult> {
    this.localBusy = true;
    inProcess ??= blobDownloader();
    try {
      const result = await inProcess(job, (m) => {
        if (m.type === "progress") onProgress?.(m.received);
      });
      return result as BlobResult;
    } catch (e) {
      return { id: job.id, type: "error", message: (e as Error).message ?? String(e) };
    } finally {
      this.localBusy = false;
    }
  }

  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

let shared: BlobWorkers | undefined;
let users = 0;

/**
 * The process's pool, for one pull until `release` is called. A build pulls its images at once, and a pool
 * per image started a thread per core for each (six on two cores for a three-image appliance, each with
 * its own heap); pulls that overlap share one. The threads end when the last pull releases it, so their
 * memory is not held through the rest of a build.
 */
export function acquireBlobWorkers(): { workers: BlobWorkers; release: () => Promise<void> } {
  shared ??= new BlobWorkers();
  const workers = shared;
  users++;
  let released = false;
  return {
    workers,
    release: async () => {
      if (released) return;
      released = true;
      if (--users === 0 && shared === workers) {
        shared = undefined;
        await workers.close();
      }
    },
  };
}
