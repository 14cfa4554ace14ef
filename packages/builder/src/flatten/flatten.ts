// An image's layers → one ordered stream of entries: whiteouts applied, paths and links checked.
//
// Two passes, so that memory never holds contents, only one small record per path:
//  1. Read every layer's headers, bottom to top, draining the contents, and build the final tree (tree.ts):
//     whiteouts and opaque directories applied, every hostile path, link and parent rejected. Within a layer,
//     its whiteouts are applied first, since they only ever hide what the layers *below* put there. Going
//     bottom to top (not top to bottom) is what lets "is this parent a symlink?" and "does this hardlink's
//     target exist?" be answered as an extractor would meet them. Nothing is yielded before the whole image
//     has been checked, so a hostile layer yields nothing at all.
//  2. Read the layers again, bottom to top, and yield each surviving entry at its slot: the order the layer
//     tars give them, layers bottom to top. Nothing is sorted here; assembly does that.

import { KilnError } from "@kiln/spec";
import { entryBody } from "./body.js";
import type { Entry, FlatEntry } from "./entry.js";
import { readHeader } from "./header.js";
import { CORRUPT_HINT, layerError } from "./layer-error.js";
import { drain, readTar, type TarItem } from "./tar-reader.js";
import { type Placement, placement, Tree, type TreeNode } from "./tree.js";

export interface LayerSource {
  /** The layer's digest, to name it in errors. */
  digest: string;
  /**
   * A fresh *uncompressed* tar stream of the layer (see `openLayer` for compressed blobs). Called twice per
   * flatten, and both calls must give the same bytes.
   */
  open(): Promise<NodeJS.ReadableStream>;
}

export interface FlattenOptions {
  signal?: AbortSignal;
}

async function* items(layer: LayerSource): AsyncGenerator<TarItem> {
  let input: NodeJS.ReadableStream;
  try {
    input = await layer.open();
  } catch (err) {
    if (err instanceof KilnError) throw err;
    throw layerError(layer.digest, `cannot open it: ${(err as Error).message}`, CORRUPT_HINT, err);
  }
  try {
    yield* readTar(input);
  } catch (err) {
    if (err instanceof KilnError || (err as Error).name === "AbortError") throw err;
    throw layerError(layer.digest, `cannot read it as a tar: ${(err as Error).message}`, CORRUPT_HINT, err);
  }
}

/** Pass 1: one layer's headers into the tree. */
async function scan(tree: Tree, layer: LayerSource, layerIndex: number, signal?: AbortSignal): Promise<void> {
  const whiteouts: string[] = [];
  const opaques: string[] = [];
  const placed: { index: number; entry: Placement }[] = [];
  let index = 0;
  for await (const item of items(layer)) {
    signal?.throwIfAborted();
    const read = readHeader(item.header, item.paxRaw, layer.digest);
    await drain(item);
    if (read.kind === "entry") placed.push({ index, entry: placement(read.entry) });
    else if (read.kind === "whiteout") whiteouts.push(read.path);
    else if (read.kind === "opaque") opaques.push(read.path);
    index++;
  }
  for (const path of opaques) tree.clear(path);
  for (const path of whiteouts) tree.remove(path);
  for (const { index, entry } of placed) tree.add(entry, layerIndex, index);
}

function changed(layer: LayerSource): KilnError {
  return layerError(
    layer.digest,
    "its contents changed between two reads",
    "LayerSource.open() must give the same bytes every time",
  );
}

/** Pass 2: one layer's surviving entries, at their slots. */
async function* emit(
  layer: LayerSource,
  slots: Map<number, TreeNode[]>,
  signal?: AbortSignal,
): AsyncGenerator<FlatEntry> {
  let remaining = slots.size;
  if (remaining === 0) return;
  let index = 0;
  for await (const item of items(layer)) {
    signal?.throwIfAborted();
    const nodes = slots.get(index++);
    if (nodes === undefined) {
      await drain(item);
      continue;
    }
    let settle = (): Promise<void> => drain(item);
    for (const node of nodes) {
      if (!node.own || node.type === "directory") {
        if (node.own) own(item, node, layer);
        yield { entry: node.dir! };
        continue;
      }
      const entry = own(item, node, layer);
      if (entry.type === "file") {
        const handed = entryBody(item, (err) =>
          layerError(layer.digest, `cannot read "${entry.path}": ${err.message}`, CORRUPT_HINT, err),
        );
        settle = handed.settle;
        yield { entry, body: handed.body };
      } else {
        yield { entry };
      }
    }
    await settle();
    if (--remaining === 0) break;
  }
  if (remaining > 0) throw changed(layer);
}

/** The entry at a node's own slot, checked against what pass 1 saw there. */
function own(item: TarItem, node: TreeNode, layer: LayerSource): Entry {
  const read = readHeader(item.header, item.paxRaw, layer.digest);
  if (read.kind !== "entry" || read.entry.path !== node.path || read.entry.type !== node.type)
    throw changed(layer);
  return read.entry;
}

/**
 * Flatten an image's layers (bottom first, as a manifest lists them) into one stream of entries.
 *
 * Every layer is read twice: once, headers only, to check everything and work out what survives, then
 * again to yield it. A hostile or broken layer (absolute or ".." paths, a symlink climbing out of the root,
 * an entry under a symlinked directory, a hardlink to a missing, removed or replaced target) throws a
 * KilnError naming the layer and the entry before anything is yielded.
 *
 * Each file comes with a `body` stream. Consume it (read it to the end, pipe it and wait for the end, or
 * `resume()` it) before pulling the next entry: the layer is one stream, so the next entry's header lies
 * after this body. If you pull the next entry without having started on the body, or after destroying it,
 * the rest of it is discarded; if it is flowing (piped), the next entry waits for it to end.
 */
export async function* flattenLayers(
  layers: AsyncIterable<LayerSource> | Iterable<LayerSource>,
  opts: FlattenOptions = {},
): AsyncGenerator<FlatEntry> {
  const list: LayerSource[] = [];
  for await (const layer of layers) list.push(layer);
  const tree = new Tree(list.map((layer) => layer.digest));
  for (const [i, layer] of list.entries()) await scan(tree, layer, i, opts.signal);
  const slots = tree.finish();
  for (const [i, layer] of list.entries()) yield* emit(layer, slots[i]!, opts.signal);
}
