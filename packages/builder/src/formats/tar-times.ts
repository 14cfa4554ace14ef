// The newest modification time in a tar, read from the headers alone (file bodies are skipped, not read).

import { open } from "node:fs/promises";

const BLOCK = 512;

function octalOrBinary(field: Buffer): number {
  // GNU base-256 for values too large for octal: high bit of the first byte set.
  if ((field[0] ?? 0) & 0x80) {
    let n = (field[0] ?? 0) & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + (field[i] ?? 0);
    return n;
  }
  const text = field.toString("latin1").replace(/\0.*$/s, "").trim();
  return text ? Number.parseInt(text, 8) : 0;
}

/** PAX records (`LEN key=value\n`...): only mtime matters here. */
function paxMtime(body: Buffer): number | undefined {
  let found: number | undefined;
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(0x20, at);
    if (space < 0) break;
    const len = Number.parseInt(body.toString("latin1", at, space), 10);
    if (!(len > 0)) break;
    const record = body.toString("utf8", space + 1, at + len - 1);
    if (record.startsWith("mtime=")) found = Math.floor(Number(record.slice(6)));
    at += len;
  }
  return found;
}

/** The largest mtime (seconds) of any entry, or undefined for an empty tar. */
export async function newestMtime(path: string): Promise<number | undefined> {
  const fh = await open(path, "r");
  try {
    const header = Buffer.alloc(BLOCK);
    let pos = 0;
    let newest: number | undefined;
    let paxNext: number | undefined;
    let globalPax: number | undefined;
    for (;;) {
      const { bytesRead } = await fh.read(header, 0, BLOCK, pos);
      if (bytesRead < BLOCK || header.every((b) => b === 0)) break;
      const size = octalOrBinary(header.subarray(124, 136));
      const type = String.fromCharCode(header[156] ?? 0);
      const body = Math.ceil(size / BLOCK) * BLOCK;
      if (type === "x" || type === "g") {
        const records = Buffer.alloc(size);
        await fh.read(records, 0, size, pos + BLOCK);
        const m = paxMtime(records);
        if (type === "x") paxNext = m;
        else globalPax = m ?? globalPax;
      } else if (type !== "L" && type !== "K") {
        const m = paxNext ?? globalPax ?? octalOrBinary(header.subarray(136, 148));
        newest = newest === undefined ? m : Math.max(newest, m);
        paxNext = undefined;
      }
      pos += BLOCK + body;
    }
    return newest;
  } finally {
    await fh.close();
  }
}
