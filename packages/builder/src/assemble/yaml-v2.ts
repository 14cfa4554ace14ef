// YAML text exactly as Go's gopkg.in/yaml.v2 (v2.4.0, the version LinuxKit v1.8.2 vendors) writes it, for
// `files: [{metadata: yaml}]`. Only what a marshalled LinuxKit config needs: block mappings and sequences,
// `[]`/`{}` for empty ones, and scalars with yaml.v2's choice of style (plain, single-quoted, double-quoted
// or literal), its 80-column folding of long scalars and its natural order of map keys. Written from the
// behaviour of libyaml's emitter, which yaml.v2 is a translation of.

import { KilnError } from "@kiln/spec";

export type YNode =
  | { kind: "map"; entries: Array<[string, YNode]> }
  | { kind: "seq"; items: YNode[] }
  /** A string: quoted when it would read back as something else. */
  | { kind: "str"; value: string }
  /** A number, boolean or null: written as is. */
  | { kind: "raw"; text: string };

const BEST_WIDTH = 80;
const BEST_INDENT = 2;

type Style = "plain" | "single" | "double" | "literal";

const isBreak = (c: number | undefined) =>
  c === 0x0a || c === 0x0d || c === 0x85 || c === 0x2028 || c === 0x2029;
const isSpace = (c: number | undefined) => c === 0x20;
const isBlank = (c: number | undefined) => c === 0x20 || c === 0x09;
const isBlankz = (c: number | undefined) => c === undefined || c === 0 || isBlank(c) || isBreak(c);
// libyaml's is_printable, on code points rather than UTF-8 bytes.
const isPrintable = (c: number) =>
  c === 0x0a ||
  (c >= 0x20 && c <= 0x7e) ||
  (c >= 0xa0 && c <= 0xd7ff) ||
  (c >= 0xe000 && c <= 0xfffd && c !== 0xfeff);

// --- which strings must be quoted so they read back as strings (yaml.v2's resolve) ---

const SPECIAL_WORDS = new Set(
  [
    "y Y yes Yes YES true True TRUE on On ON",
    "n N no No NO false False FALSE off Off OFF",
    "~ null Null NULL .nan .NaN .NAN .inf .Inf .INF +.inf +.Inf +.INF -.inf -.Inf -.INF <<",
  ]
    .join(" ")
    .split(" "),
);
const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const BASE60_FLOAT = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;
const TIMESTAMP_DATE = /^(\d{4})-(\d{1,2})-(\d{1,2})$/;
const TIMESTAMP_TIME =
  /^(\d{4})-(\d{1,2})-(\d{1,2})[Tt ](\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?$/;

function goParseInt(s: string): boolean {
  // strconv.ParseInt/ParseUint with base 0, within 64 bits.
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[1-9][0-9]*|0)$/.exec(s);
  if (!m) return false;
  const body = m[2]!;
  let digits: string;
  let radix: number;
  if (/^0[xX]/.test(body)) [digits, radix] = [body.slice(2), 16];
  else if (/^0[bB]/.test(body)) [digits, radix] = [body.slice(2), 2];
  else if (/^0[oO]/.test(body)) [digits, radix] = [body.slice(2), 8];
  else if (body.length > 1 && body.startsWith("0")) [digits, radix] = [body.slice(1), 8];
  else [digits, radix] = [body, 10];
  let v = 0n;
  for (const d of digits.toLowerCase()) v = v * BigInt(radix) + BigInt(Number.parseInt(d, radix));
  return m[1] === "-" ? v <= 2n ** 63n : v < 2n ** 64n;
}

function isTimestamp(s: string): boolean {
  const valid = (y: number, mo: number, d: number) => {
    if (mo < 1 || mo > 12 || d < 1) return false;
    return d <= new Date(Date.UTC(y, mo, 0)).getUTCDate();
  };
  const date = TIMESTAMP_DATE.exec(s);
  if (date) return valid(Number(date[1]), Number(date[2]), Number(date[3]));
  const t = TIMESTAMP_TIME.exec(s);
  if (!t) return false;
  if (t[4]!.length > 2 || Number(t[5]) > 59 || Number(t[6]) > 59 || Number(t[4]) > 23) return false;
  if (/[Tt]/.test(s) && t[8] === undefined) return false;
  if (s.includes(" ") && t[8] !== undefined) return false;
  return valid(Number(t[1]), Number(t[2]), Number(t[3]));
}

/** True when yaml.v2 would read the unquoted text as a number, boolean, null or time stamp. */
export function resolvesToNonString(s: string): boolean {
  if (s === "" || SPECIAL_WORDS.has(s)) return true;
  const c = s[0]!;
  if (c === ".") return /^\.[0-9]+([eE][-+]?[0-9]+)?$/.test(s);
  if (!/[-+0-9]/.test(c)) return false;
  if (/^\d/.test(c) && isTimestamp(s)) return true;
  const plain = s.replaceAll("_", "");
  if (goParseInt(plain)) return true;
  if (YAML_FLOAT.test(plain)) return true;
  if (/^-?0b[01]+$/.test(plain)) return true;
  return false;
}

// --- libyaml's scalar analysis ---

interface Analysis {
  multiline: boolean;
  flowPlain: boolean;
  blockPlain: boolean;
  singleQuoted: boolean;
  block: boolean;
}

function analyze(cps: number[]): Analysis {
  if (cps.length === 0) {
    return { multiline: false, flowPlain: false, blockPlain: true, singleQuoted: true, block: false };
  }
  let blockIndicators = false;
  let flowIndicators = false;
  let lineBreaks = false;
  let specialCharacters = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let previousSpace = false;
  let previousBreak = false;
  const head = String.fromCodePoint(...cps.slice(0, 3));
  if (head === "---" || head === "...") {
    blockIndicators = true;
    flowIndicators = true;
  }
  let precededByWhitespace = true;
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!;
    const followedByWhitespace = i + 1 >= cps.length || isBlank(cps[i + 1]);
    const ch = String.fromCodePoint(c);
    if (i === 0) {
      if ("#,[]{}&*!|>'\"%@`".includes(ch)) {
        flowIndicators = true;
        blockIndicators = true;
      } else if (ch === "?" || ch === ":") {
        flowIndicators = true;
        if (followedByWhitespace) blockIndicators = true;
      } else if (ch === "-" && followedByWhitespace) {
        flowIndicators = true;
        blockIndicators = true;
      }
    } else if (",?[]{}".includes(ch)) {
      flowIndicators = true;
    } else if (ch === ":") {
      flowIndicators = true;
      if (followedByWhitespace) blockIndicators = true;
    } else if (ch === "#" && precededByWhitespace) {
      flowIndicators = true;
      blockIndicators = true;
    }
    if (!isPrintable(c)) specialCharacters = true;
    if (isSpace(c)) {
      if (i === 0) leadingSpace = true;
      if (i === cps.length - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak(c)) {
      lineBreaks = true;
      if (i === 0) leadingBreak = true;
      if (i === cps.length - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = isBlankz(c);
  }
  const a: Analysis = {
    multiline: lineBreaks,
    flowPlain: true,
    blockPlain: true,
    singleQuoted: true,
    block: true,
  };
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) a.flowPlain = a.blockPlain = false;
  if (trailingSpace) a.block = false;
  if (breakSpace) a.flowPlain = a.blockPlain = a.singleQuoted = false;
  if (spaceBreak || specialCharacters) a.flowPlain = a.blockPlain = a.singleQuoted = a.block = false;
  if (lineBreaks) a.flowPlain = a.blockPlain = false;
  if (flowIndicators) a.flowPlain = false;
  if (blockIndicators) a.blockPlain = false;
  return a;
}

// --- the emitter ---

class Emitter {
  private out = "";
  private column = 0;
  private indent = -1;
  private readonly indents: number[] = [];
  private whitespace = true;
  private indention = true;
  private flowLevel = 0;

  text(): string {
    return this.out;
  }

  private put(s: string): void {
    this.out += s;
    this.column += [...s].length;
  }

  private putBreak(): void {
    this.out += "\n";
    this.column = 0;
  }

  private increaseIndent(flow: boolean, indentless: boolean): void {
    this.indents.push(this.indent);
    if (this.indent < 0) this.indent = flow ? BEST_INDENT : 0;
    else if (!indentless) this.indent += BEST_INDENT;
  }

  private popIndent(): void {
    this.indent = this.indents.pop()!;
  }

  writeIndent(): void {
    const indent = Math.max(this.indent, 0);
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace))
      this.putBreak();
    while (this.column < indent) this.put(" ");
    this.whitespace = true;
    this.indention = true;
  }

  private indicator(s: string, needWhitespace: boolean, isWhitespace: boolean, isIndention: boolean): void {
    if (needWhitespace && !this.whitespace) this.put(" ");
    this.put(s);
    this.whitespace = isWhitespace;
    this.indention = this.indention && isIndention;
  }

  node(n: YNode, ctx: { mapping: boolean; simpleKey: boolean }): void {
    if (n.kind === "map") {
      if (n.entries.length === 0) this.emptyFlow("{", "}");
      else this.blockMapping(n.entries);
    } else if (n.kind === "seq") {
      if (n.items.length === 0) this.emptyFlow("[", "]");
      else this.blockSequence(n.items, ctx.mapping);
    } else if (n.kind === "raw") {
      this.scalar(n.text, "plain", false, ctx.simpleKey);
    } else {
      this.scalar(n.value, "string", true, ctx.simpleKey);
    }
  }

  private emptyFlow(open: string, close: string): void {
    this.indicator(open, true, true, false);
    this.increaseIndent(true, false);
    this.flowLevel++;
    this.flowLevel--;
    this.popIndent();
    this.indicator(close, false, false, false);
  }

  private blockMapping(entries: Array<[string, YNode]>): void {
    this.increaseIndent(false, false);
    for (const [key, value] of entries) {
      this.writeIndent();
      if ([...key].length > 128 || analyze(codePoints(key)).multiline) {
        throw new KilnError(
          `metadata: the map key ${JSON.stringify(key)} is too long to write as LinuxKit does`,
          {
            hint: "use a key of at most 128 characters on one line",
          },
        );
      }
      this.node({ kind: "str", value: key }, { mapping: true, simpleKey: true });
      this.indicator(":", false, false, false);
      this.node(value, { mapping: true, simpleKey: false });
    }
    this.popIndent();
  }

  private blockSequence(items: YNode[], mappingContext: boolean): void {
    this.increaseIndent(false, mappingContext && !this.indention);
    for (const item of items) {
      this.writeIndent();
      this.indicator("-", true, false, true);
      this.node(item, { mapping: false, simpleKey: false });
    }
    this.popIndent();
  }

  private scalar(
    value: string,
    requested: "plain" | "string",
    checkResolve: boolean,
    simpleKey: boolean,
  ): void {
    const cps = codePoints(value);
    const a = analyze(cps);
    let style: Style;
    if (requested === "plain") style = "plain";
    else if (value.includes("\n")) style = "literal";
    else if (checkResolve && (resolvesToNonString(value) || isBase60(value))) style = "double";
    else style = "plain";
    if (simpleKey && a.multiline) style = "double";
    if (style === "plain") {
      if ((this.flowLevel > 0 && !a.flowPlain) || (this.flowLevel === 0 && !a.blockPlain)) style = "single";
      if (cps.length === 0 && (this.flowLevel > 0 || simpleKey)) style = "single";
    }
    if (style === "single" && !a.singleQuoted) style = "double";
    if (style === "literal" && (!a.block || this.flowLevel > 0 || simpleKey)) style = "double";

    this.increaseIndent(true, false);
    const allowBreaks = !simpleKey;
    if (style === "plain") this.plain(cps, allowBreaks);
    else if (style === "single") this.singleQuoted(cps, allowBreaks);
    else if (style === "double") this.doubleQuoted(cps, allowBreaks);
    else this.literal(cps);
    this.popIndent();
  }

  private plain(cps: number[], allowBreaks: boolean): void {
    if (!this.whitespace) this.put(" ");
    let spaces = false;
    let breaks = false;
    for (let i = 0; i < cps.length; i++) {
      const c = cps[i]!;
      if (isSpace(c)) {
        if (allowBreaks && !spaces && this.column > BEST_WIDTH && !isSpace(cps[i + 1])) this.writeIndent();
        else this.put(" ");
        spaces = true;
      } else if (isBreak(c)) {
        if (!breaks && c === 0x0a) this.putBreak();
        this.writeBreak(c);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        this.put(String.fromCodePoint(c));
        this.indention = false;
        spaces = false;
        breaks = false;
      }
    }
    this.whitespace = false;
    this.indention = false;
  }

  private writeBreak(c: number): void {
    if (c === 0x0a) this.putBreak();
    else {
      this.out += String.fromCodePoint(c);
      this.column = 0;
    }
  }

  private singleQuoted(cps: number[], allowBreaks: boolean): void {
    this.indicator("'", true, false, false);
    let spaces = false;
    let breaks = false;
    for (let i = 0; i < cps.length; i++) {
      const c = cps[i]!;
      if (isSpace(c)) {
        if (
          allowBreaks &&
          !spaces &&
          this.column > BEST_WIDTH &&
          i > 0 &&
          i < cps.length - 1 &&
          !isSpace(cps[i + 1])
        )
          this.writeIndent();
        else this.put(" ");
        spaces = true;
      } else if (isBreak(c)) {
        if (!breaks && c === 0x0a) this.putBreak();
        this.writeBreak(c);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        if (c === 0x27) this.put("'");
        this.put(String.fromCodePoint(c));
        this.indention = false;
        spaces = false;
        breaks = false;
      }
    }
    this.indicator("'", false, false, false);
    this.whitespace = false;
    this.indention = false;
  }

  private doubleQuoted(cps: number[], allowBreaks: boolean): void {
    this.indicator('"', true, false, false);
    let spaces = false;
    for (let i = 0; i < cps.length; i++) {
      const c = cps[i]!;
      if (!isPrintable(c) || c === 0xfeff || isBreak(c) || c === 0x22 || c === 0x5c) {
        this.put(`\\${escapeOf(c)}`);
        spaces = false;
      } else if (isSpace(c)) {
        if (allowBreaks && !spaces && this.column > BEST_WIDTH && i > 0 && i < cps.length - 1) {
          this.writeIndent();
          if (isSpace(cps[i + 1])) this.put("\\");
        } else {
          this.put(" ");
        }
        spaces = true;
      } else {
        this.put(String.fromCodePoint(c));
        spaces = false;
      }
    }
    this.indicator('"', false, false, false);
    this.whitespace = false;
    this.indention = false;
  }

  private literal(cps: number[]): void {
    this.indicator("|", true, false, false);
    if (isSpace(cps[0]) || isBreak(cps[0])) this.indicator(String(BEST_INDENT), false, false, false);
    let chomp = "";
    const last = cps[cps.length - 1];
    if (cps.length === 0 || !isBreak(last)) chomp = "-";
    else if (cps.length === 1 || isBreak(cps[cps.length - 2])) chomp = "+";
    if (chomp) this.indicator(chomp, false, false, false);
    this.putBreak();
    this.indention = true;
    this.whitespace = true;
    let breaks = true;
    for (const c of cps) {
      if (isBreak(c)) {
        this.writeBreak(c);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        this.put(String.fromCodePoint(c));
        this.indention = false;
        breaks = false;
      }
    }
  }
}

function codePoints(s: string): number[] {
  return [...s].map((ch) => ch.codePointAt(0)!);
}

function isBase60(s: string): boolean {
  if (s === "" || !/^[-+0-9]/.test(s) || !s.includes(":")) return false;
  return BASE60_FLOAT.test(s);
}

const SHORT_ESCAPES: Record<number, string> = {
  0: "0",
  7: "a",
  8: "b",
  9: "t",
  10: "n",
  11: "v",
  12: "f",
  13: "r",
  27: "e",
  34: '"',
  92: "\\",
  133: "N",
  160: "_",
  8232: "L",
  8233: "P",
};

function escapeOf(c: number): string {
  const short = SHORT_ESCAPES[c];
  if (short !== undefined) return short;
  const hex = c.toString(16).toUpperCase();
  if (c <= 0xff) return `x${hex.padStart(2, "0")}`;
  if (c <= 0xffff) return `u${hex.padStart(4, "0")}`;
  return `U${hex.padStart(8, "0")}`;
}

/** yaml.v2's order of map keys: letters before digits, runs of digits compared as numbers. */
export function yamlV2KeyLess(a: string, b: string): boolean {
  const ar = [...a];
  const br = [...b];
  const isLetter = (ch: string) => /\p{L}/u.test(ch);
  const isDigit = (ch: string | undefined) => ch !== undefined && /\p{Nd}/u.test(ch);
  for (let i = 0; i < ar.length && i < br.length; i++) {
    if (ar[i] === br[i]) continue;
    const al = isLetter(ar[i]!);
    const bl = isLetter(br[i]!);
    if (al && bl) return ar[i]!.codePointAt(0)! < br[i]!.codePointAt(0)!;
    if (al || bl) return bl;
    let an = 0n;
    let bn = 0n;
    if (ar[i] === "0" || br[i] === "0") {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]); j--) {
        if (ar[j] !== "0") {
          an = 1n;
          bn = 1n;
          break;
        }
      }
    }
    let ai = i;
    for (; ai < ar.length && isDigit(ar[ai]); ai++) an = an * 10n + BigInt(ar[ai]!.codePointAt(0)! - 48);
    let bi = i;
    for (; bi < br.length && isDigit(br[bi]); bi++) bn = bn * 10n + BigInt(br[bi]!.codePointAt(0)! - 48);
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return ar[i]!.codePointAt(0)! < br[i]!.codePointAt(0)!;
  }
  return ar.length < br.length;
}

/** `yaml.Marshal(value)` of gopkg.in/yaml.v2, for a document whose root is a mapping. */
export function marshalYamlV2(root: YNode): string {
  const e = new Emitter();
  e.node(root, { mapping: false, simpleKey: false });
  e.writeIndent();
  return e.text();
}
