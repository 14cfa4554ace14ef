import { describe, expect, test } from "vitest";
import { acquireBlobWorkers } from "./blob-workers.js";

describe("acquireBlobWorkers", () => {
  test("pulls that overlap share one pool, and the last release ends it", async () => {
    const a = acquireBlobWorkers();
    const b = acquireBlobWorkers();
    expect(b.workers).toBe(a.workers);
    await a.release();
    await a.release(); // a second release of the same pull does not end the pool under b
    const c = acquireBlobWorkers();
    expect(c.workers).toBe(a.workers);
    await b.release();
    await c.release();
    const d = acquireBlobWorkers();
    expect(d.workers).not.toBe(a.workers);
    await d.release();
  });
});
