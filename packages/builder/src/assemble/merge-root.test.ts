import { expect, test } from "vitest";
import type { Entry, FlatEntry } from "../flatten/entry.js";
import { MergedRoot } from "./merge-root.js";

function dir(path: string, o: Partial<Entry> = {}): FlatEntry {
  return {
    entry: { path, type: "directory", mode: 0o755, uid: 0, gid: 0, mtime: new Date(0), size: 0, ...o },
  };
}

async function* stream(...entries: FlatEntry[]): AsyncGenerator<FlatEntry> {
  yield* entries;
}

async function merged(root: MergedRoot, ...entries: FlatEntry[]): Promise<string[]> {
  const out: string[] = [];
  for await (const { entry } of root.merge(stream(...entries)))
    out.push(`${entry.path}${entry.synthetic ? " (made up)" : ""}`);
  return out;
}

test("a made-up directory is dropped only where an earlier stream wrote its path", async () => {
  const root = new MergedRoot();
  expect(
    await merged(root, dir("usr", { mode: 0o775 }), dir("etc"), {
      entry: { ...dir("lib").entry, type: "symlink", linkname: "usr/lib" },
    }),
  ).toEqual(["usr", "etc", "lib"]);
  expect(
    await merged(
      root,
      dir("usr", { synthetic: true }),
      dir("usr/bin", { synthetic: true }),
      dir("lib", { synthetic: true }),
      dir("opt", { synthetic: true }),
      dir("etc", { mode: 0o700 }),
    ),
  ).toEqual(["usr/bin (made up)", "opt (made up)", "etc"]);
  // Made up by one image, then again by the next: written once. A real directory is always written.
  expect(
    await merged(root, dir("opt", { synthetic: true }), dir("usr/bin", { synthetic: true }), dir("opt")),
  ).toEqual(["opt"]);
});

test("each root starts empty", async () => {
  await merged(new MergedRoot(), dir("usr"));
  expect(await merged(new MergedRoot(), dir("usr", { synthetic: true }))).toEqual(["usr (made up)"]);
});
