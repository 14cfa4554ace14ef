// Each init image may carry Alpine's package database; unpacked one after the other, the last would hide
// the others. LinuxKit appends one more copy holding all of them, so `apk` in the appliance sees every
// package the init images installed. The databases are small and held in memory.

import { Readable } from "node:stream";
import type { FlatEntry } from "../flatten/entry.js";
import { readAll, regularFile } from "./entries.js";

export const APK_DB = "lib/apk/db/installed";

export class ApkDatabases {
  private readonly dbs: Buffer[] = [];

  /** Pass `entries` through, keeping a copy of each package database on the way. */
  async *watch(entries: AsyncIterable<FlatEntry>): AsyncGenerator<FlatEntry> {
    for await (const fe of entries) {
      if (fe.entry.path !== APK_DB || fe.entry.type !== "file") {
        yield fe;
        continue;
      }
      const bytes = await readAll(fe.body);
      this.dbs.push(bytes);
      yield { entry: fe.entry, body: Readable.from([bytes]) };
    }
  }

  /**
   * The union, when there is more than one database to unite. Its time stamp is the Unix epoch, as in
   * LinuxKit (which leaves it unset); fixed either way, so reproducible.
   */
  *union(): Generator<FlatEntry> {
    if (this.dbs.length < 2) return;
    const content = Buffer.concat(this.dbs.flatMap((db) => [db, Buffer.from("\n\n")]));
    yield regularFile(APK_DB, content, new Date(0), { source: "LINUXKIT.apkinit", location: "init" });
  }
}
