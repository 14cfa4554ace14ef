// A tar entry's contents as a plain Node Readable that the consumer can read, pipe, destroy or ignore.

import { Readable } from "node:stream";
import type { TarItem } from "./tar-reader.js";

export interface EntryBody {
  body: Readable;
  /**
   * Resolves once the tar entry's contents have been read through, by the consumer or discarded here,
   * which is what the tar reader needs before it can move on. Never rejects: a failure comes out of the
   * tar reader on the next pull, and out of the body to whoever reads it.
   */
  settle(): Promise<void>;
}

/** `fail` turns the tar reader's error into the one the body's reader sees. */
export function entryBody(item: TarItem, fail: (err: Error) => Error): EntryBody {
  const { stream: source, state } = item;
  const body = new Readable({
    read() {
      source.resume();
    },
    destroy(err, callback) {
      source.resume(); // the consumer gave up: let the rest flow to nowhere
      callback(err);
    },
  });
  // The same error also reaches whoever pulls the next entry, so an unread body's error must not crash.
  body.on("error", () => {});
  const end = (): void => {
    if (body.destroyed) return;
    if (state.ended) body.push(null);
    else body.destroy(fail(state.error ?? new Error("the tar entry was cut short")));
  };
  if (state.ended || state.closed || state.error !== undefined) {
    end();
  } else {
    source.on("data", (chunk: unknown) => {
      if (!body.destroyed && !body.push(chunk)) source.pause();
    });
    void state.settled.then(end);
  }
  return {
    body,
    settle() {
      // Never started, or paused and left: discard the rest rather than wait forever.
      if (!body.destroyed && !body.readableEnded && body.readableFlowing !== true) body.resume();
      return state.settled;
    },
  };
}
