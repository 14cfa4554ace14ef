// Test helpers: layers as real tar bytes, made with tar-stream or GNU tar, and flattened into plain objects.

import { execFileSync } from "node:child_process";
import { Readable } from "node:stream";
import { type Header, pack } from "tar-stream";
import type { Entry } from "../entry.js";
import { type FlattenOptions, flattenLayers, type LayerSource } from "../flatten.js";

export interface Spec extends Partial<Omit<Header, "pax">> {
  name: string;
  body?: string | Buffer;
  pax?: Record<string, string>;
}

/** A tar of these entries (files by default, mode 0644, mtime 0), made by tar-stream. */
export async function makeTar(specs: Spec[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of p) chunks.push(chunk as Buffer);
  })();
  for (const { body, ...header } of specs) {
    await new Promise<void>((resolve, reject) => {
      p.entry({ type: "file", mode: 0o644, mtime: new Date(0), ...header }, body ?? "", (err) =>
        err ? reject(err) : resolve(),
      );
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

export function layerOf(tarBytes: Buffer, digest = `sha256:${"ab".repeat(32)}`): LayerSource {
  return { digest, open: async () => Readable.from([tarBytes]) };
}

let counter = 0;
/** Layers from specs, each with its own digest sha256:000…0N. */
export async function layers(...specs: Spec[][]): Promise<LayerSource[]> {
  return Promise.all(
    specs.map(async (s) => layerOf(await makeTar(s), `sha256:${String(++counter).padStart(64, "0")}`)),
  );
}

/** A tar of a real directory, made by GNU tar. */
export function gnuTar(dir: string, args: string[] = []): Buffer {
  return execFileSync("tar", ["-C", dir, ...args, "-cf", "-", "."], { maxBuffer: 1 << 28, stdio: ["ignore", "pipe", "pipe"] });
}

export type Flat = Entry & { data?: string };

/** Flatten and read every body to a string. */
export async function flat(sources: LayerSource[] | AsyncIterable<LayerSource>, opts?: FlattenOptions): Promise<Flat[]> {
  const out: Flat[] = [];
  for await (const { entry, body } of flattenLayers(sources, opts)) {
    if (body === undefined) {
      out.push(entry);
      continue;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    out.push({ ...entry, data: Buffer.concat(chunks).toString() });
  }
  return out;
}

export const paths = (entries: Flat[]): string[] => entries.map((e) => e.path);
export const byPath = (entries: Flat[], path: string): Flat | undefined => entries.find((e) => e.path === path);
