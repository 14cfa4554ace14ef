import { type FSWatcher, watch } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { StringDecoder } from "node:string_decoder";

/**
 * Follow a file that another process appends to (QEMU's console log): calls `onText` with each new
 * piece, decoded as UTF-8. It wakes on inotify events for the directory and, as a fallback, on a timer.
 */
export class FileTail {
  readonly #path: string;
  readonly #onText: (text: string) => void;
  readonly #decoder = new StringDecoder("utf8");
  #fh: FileHandle | undefined;
  #offset = 0;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reading: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(path: string, onText: (text: string) => void) {
    this.#path = path;
    this.#onText = onText;
  }

  start(pollMs = 200): this {
    try {
      this.#watcher = watch(dirname(this.#path), (_event, name) => {
        if (name === null || name === basename(this.#path)) void this.poll();
      });
      this.#watcher.on("error", () => {});
      this.#watcher.unref();
    } catch {
      // no inotify: the timer alone does it
    }
    this.#timer = setInterval(() => void this.poll(), pollMs);
    this.#timer.unref();
    void this.poll();
    return this;
  }

  /** Read whatever is new now. Concurrent calls coalesce into one more read. */
  poll(): Promise<void> {
    if (this.#reading) {
      this.#again = true;
      return this.#reading;
    }
    this.#reading = (async () => {
      do {
        this.#again = false;
        await this.#readNew();
      } while (this.#again);
    })().finally(() => {
      this.#reading = undefined;
    });
    return this.#reading;
  }

  async #readNew(): Promise<void> {
    if (!this.#fh) {
      try {
        this.#fh = await open(this.#path, "r");
      } catch {
        return;
      }
    }
    const { size } = await this.#fh.stat();
    if (size < this.#offset) this.#offset = 0; // truncated: a new run started writing it
    while (this.#offset < size) {
      const buf = Buffer.alloc(Math.min(size - this.#offset, 1 << 20));
      const { bytesRead } = await this.#fh.read(buf, 0, buf.length, this.#offset);
      if (bytesRead === 0) break;
      this.#offset += bytesRead;
      const text = this.#decoder.write(buf.subarray(0, bytesRead));
      if (text) this.#onText(text);
    }
  }

  /** Read what is left and stop following. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#watcher?.close();
    clearInterval(this.#timer);
    await this.poll();
    const rest = this.#decoder.end();
    if (rest) this.#onText(rest);
    await this.#fh?.close();
    this.#fh = undefined;
  }
}
