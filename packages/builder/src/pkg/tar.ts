// A deterministic tar of a tree: entries in the order given (path order), fixed mtimes, numeric owners only,
// no atime/ctime; ustar headers with PAX records only for what ustar cannot hold. Bodies are streamed.

import { once } from "node:events";
import type { Readable } from "node:stream";
import { type Header, pack } from "tar-stream";
import { openBody, type TreeEntry } from "./tree.js";

function header(e: TreeEntry["entry"]): Partial<Header> & Pick<Header, "name"> {
  const h: Partial<Header> & Pick<Header, "name"> = {
    // A trailing slash marks directories, as Docker and GNU tar write them.
    name: e.type === "directory" ? `${e.path}/` : e.path,
    type: e.type,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    mtime: e.mtime,
    size: e.type === "file" ? e.size : 0,
  };
  if (e.linkname !== undefined) h.linkname = e.linkname;
  if (e.devmajor !== undefined) h.devmajor = e.devmajor;
  if (e.devminor !== undefined) h.devminor = e.devminor;
  return h;
}

/** The tar stream of `entries`. Bodies are opened one at a time, when their turn comes. */
export function tarStream(entries: Iterable<TreeEntry>, signal?: AbortSignal): Readable {
  const p = pack();
  const produce = async (): Promise<void> => {
    for (const { entry, body } of entries) {
      signal?.throwIfAborted();
      let sink!: ReturnType<typeof p.entry>;
      const written = new Promise<void>((resolve, reject) => {
        sink = p.entry(header(entry), (err) => (err ? reject(err) : resolve()));
      });
      if (body) {
        for await (const chunk of openBody(body)) {
          if (!sink.write(chunk)) await once(sink as unknown as NodeJS.EventEmitter, "drain");
        }
        sink.end(undefined);
      }
      await written;
    }
    p.finalize();
  };
  produce().catch((err: unknown) => p.destroy(err as Error));
  return p as unknown as Readable;
}
