// One tar stream as a pull-based sequence of entries, on top of tar-stream's extract.

import { Buffer } from "node:buffer";
import { extract as createExtract, type Extract, type Header } from "tar-stream";

/** tar-stream's entry stream (a streamx Readable, with the entry's header). */
export type TarEntryStream = Extract extends AsyncIterable<infer S> ? S : never;

export interface TarItem {
  header: Header;
  stream: TarEntryStream;
  /** The raw bytes of this entry's own PAX extended header, if it had one. */
  paxRaw: Buffer | undefined;
  /** How far the stream has got, recorded from the moment it was handed out, so no event is missed. */
  state: StreamState;
}

export interface StreamState {
  ended: boolean;
  closed: boolean;
  error: Error | undefined;
  /** Resolves (never rejects) once the stream has ended, failed or been destroyed. */
  settled: Promise<void>;
}

function watch(stream: TarEntryStream): StreamState {
  let settle = (): void => {};
  const state: StreamState = {
    ended: false,
    closed: false,
    error: undefined,
    settled: new Promise((resolve) => {
      settle = resolve;
    }),
  };
  stream.on("error", (err: Error) => {
    state.error = err;
    settle();
  });
  stream.once("end", () => {
    state.ended = true;
    settle();
  });
  stream.once("close", () => {
    state.closed = true;
    settle();
  });
  if (stream.destroyed) {
    state.closed = true;
    settle();
  }
  return state;
}

interface ExtractInternals {
  _decodeLongHeader(buf: Uint8Array): void;
  _header: { type?: string } | null;
  _pax: object | null;
}

// tar-stream decodes PAX records as UTF-8 text, which mangles binary values such as the
// SCHILY.xattr.security.capability of a setcap'd binary. So we also keep each PAX header's raw bytes,
// keyed by the decoded record object tar-stream then hands out as `header.pax`. This reaches into one
// private method of tar-stream 3; the check below makes an upgrade that renames it fail loudly in tests.
function capturePax(extract: Extract, raw: WeakMap<object, Buffer>): void {
  const internals = extract as unknown as ExtractInternals;
  const decode = internals._decodeLongHeader;
  if (typeof decode !== "function")
    throw new Error("tar-stream internals changed: _decodeLongHeader is gone");
  internals._decodeLongHeader = function (this: ExtractInternals, buf: Uint8Array) {
    decode.call(this, buf);
    if (this._header?.type === "pax-header" && this._pax !== null) raw.set(this._pax, Buffer.from(buf));
  };
}

/**
 * The entries of one uncompressed tar. The caller must drain each item's stream (read it or `resume()` it)
 * before pulling the next item. Leaving the loop early destroys `input`.
 */
export async function* readTar(input: NodeJS.ReadableStream): AsyncGenerator<TarItem> {
  const extract = createExtract();
  const raw = new WeakMap<object, Buffer>();
  capturePax(extract, raw);
  const onError = (err: Error): void => {
    extract.destroy(err);
  };
  input.on("error", onError);
  input.pipe(extract as unknown as NodeJS.WritableStream);
  try {
    for await (const stream of extract) {
      const pax = stream.header.pax;
      const paxRaw = typeof pax === "object" && pax !== null ? raw.get(pax) : undefined;
      yield { header: stream.header, stream, paxRaw, state: watch(stream) };
    }
  } finally {
    input.unpipe(extract as unknown as NodeJS.WritableStream);
    input.removeListener("error", onError);
    input.on("error", () => {}); // a late error from a stream we are abandoning is no longer anyone's business
    (input as { destroy?: () => void }).destroy?.();
  }
}

/**
 * Let a tar entry's contents flow to nowhere, and wait until they have. Resolves on failure too: the
 * failure itself comes out of `readTar` when the next item is pulled.
 */
export function drain(item: TarItem): Promise<void> {
  item.stream.resume();
  return item.state.settled;
}
