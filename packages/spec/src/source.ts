import {
  type Document,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  parseDocument,
} from "yaml";

/** A YAML document as given by the user: its display name (a path, or `-` for stdin) and its text. */
export interface SourceFile {
  name: string;
  text: string;
}

/** A parsed document that can answer "where is this path?" for error messages. */
export class LocatedDocument {
  readonly doc: Document.Parsed;
  private readonly lines: LineCounter;
  constructor(
    readonly file: string,
    text: string,
  ) {
    this.lines = new LineCounter();
    // uniqueKeys: LinuxKit's Go decoder rejects duplicate keys too.
    this.doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: false });
  }

  position(offset: number): { line: number; col: number } {
    const pos = this.lines.linePos(offset);
    return { line: pos.line, col: pos.col };
  }

  /**
   * Locate a path. When `key` is set, point at the key of the last segment (for unknown keys).
   * Paths that do not exist point at their deepest existing ancestor, which is where a user adds the field.
   */
  locate(path: ReadonlyArray<string | number | symbol>, key = false): { line: number; col: number } {
    let node: unknown = this.doc.contents;
    let offset = (node as Node | null)?.range?.[0] ?? 0;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      if (isMap(node)) {
        const pair = node.items.find((p: Pair) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        const keyNode = pair.key as Node;
        const last = i === path.length - 1;
        if (last && key) {
          offset = keyNode.range?.[0] ?? offset;
          break;
        }
        node = pair.value;
        offset = (pair.value as Node | null)?.range?.[0] ?? keyNode.range?.[0] ?? offset;
      } else if (isSeq(node) && typeof seg === "number") {
        const item = node.items[seg] as Node | undefined;
        if (!item) break;
        node = item;
        offset = item.range?.[0] ?? offset;
      } else {
        break;
      }
    }
    return this.position(offset);
  }
}
