// JSON exactly as Go's json.MarshalIndent writes it, which is what LinuxKit puts in config.json and
// runtime.json: members in insertion order, `[]`/`{}` for empty containers, HTML-safe escapes
// (`<` → `\u003c`), exact uint64 values (bigint), and no trailing newline.

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f",
};

function escapeChar(ch: string): string {
  const short = SHORT_ESCAPES[ch];
  if (short) return short;
  return `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

export function goQuote(s: string): string {
  // Lone surrogates are invalid UTF-8 once encoded, which Go writes as U+FFFD.
  const wellFormed = s.replace(
    /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    "\uFFFD",
  );
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what Go escapes.
  return `"${wellFormed.replace(/["\\\u0000-\u001f<>&\u2028\u2029]/g, escapeChar)}"`;
}

function encode(value: unknown, indent: string, depth: number, out: string[]): void {
  if (value === null || value === undefined) {
    out.push("null");
  } else if (typeof value === "string") {
    out.push(goQuote(value));
  } else if (typeof value === "bigint") {
    out.push(value.toString());
  } else if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`cannot encode ${value} as JSON`);
    out.push(String(value));
  } else if (typeof value === "boolean") {
    out.push(value ? "true" : "false");
  } else if (Array.isArray(value)) {
    if (value.length === 0) {
      out.push("[]");
      return;
    }
    const inner = indent.repeat(depth + 1);
    out.push("[\n");
    value.forEach((item, i) => {
      out.push(inner);
      encode(item, indent, depth + 1, out);
      out.push(i < value.length - 1 ? ",\n" : "\n");
    });
    out.push(`${indent.repeat(depth)}]`);
  } else if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    if (entries.length === 0) {
      out.push("{}");
      return;
    }
    const inner = indent.repeat(depth + 1);
    out.push("{\n");
    entries.forEach(([k, v], i) => {
      out.push(`${inner}${goQuote(k)}: `);
      encode(v, indent, depth + 1, out);
      out.push(i < entries.length - 1 ? ",\n" : "\n");
    });
    out.push(`${indent.repeat(depth)}}`);
  } else {
    throw new Error(`cannot encode a ${typeof value} as JSON`);
  }
}

/** `json.MarshalIndent(value, "", "    ")`. Members whose value is `undefined` are left out (Go's omitempty). */
export function goMarshalIndent(value: unknown, indent = "    "): string {
  const out: string[] = [];
  encode(value, indent, 0, out);
  return out.join("");
}

/** Go marshals maps with their keys sorted byte-wise. */
export function sortedMap<T>(m: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(m).sort(compareBytes)) out[k] = m[k]!;
  return out;
}

/** Byte-wise comparison of UTF-8 strings, as Go's `<` on strings (not locale order). */
export function compareBytes(a: string, b: string): number {
  const ba = Buffer.from(a, "utf8");
  const bb = Buffer.from(b, "utf8");
  return Buffer.compare(ba, bb);
}
