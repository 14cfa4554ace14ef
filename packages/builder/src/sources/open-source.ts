// A local image file or directory, opened for import: an OCI layout directory, or an archive read once.

import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { KilnError } from "@kiln/spec";
import type { OciCache } from "../cache/cache.js";
import { type ArchiveContents, readArchive } from "./archive.js";
import { type LayoutSource, openLayoutDir } from "./layout.js";

export type OpenedSource =
  | { kind: "directory"; layout: LayoutSource }
  | { kind: "archive"; contents: ArchiveContents };

/** Open `path` (absolute) as written in `text`, or `input` when the archive comes from a stream. */
export async function openSource(
  cache: OciCache,
  path: string,
  text: string,
  input?: NodeJS.ReadableStream,
): Promise<OpenedSource> {
  if (input) return { kind: "archive", contents: await readArchive(cache, input, text) };
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch {
    throw new KilnError(`${text}: ${path} does not exist`, {
      hint: "local image paths are relative to the YAML file that names them",
    });
  }
  if (isDirectory) return { kind: "directory", layout: await openLayoutDir(cache, path) };
  return { kind: "archive", contents: await readArchive(cache, createReadStream(path), path) };
}
