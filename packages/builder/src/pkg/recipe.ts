// A package recipe, `DIR/build.yml`: read, validated against the format, and located for error messages.

import { readFile, stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import {
  checkImageFields,
  didYouMean,
  type ImageConfigFields,
  KilnError,
  knownKeysAt,
  LocatedDocument,
  labelSchema,
  parseMode,
  SpecError,
  type SpecIssue,
  valueAt,
  withoutUnknownKeys,
} from "@kiln/spec";
import { isMap } from "yaml";
import { z } from "zod";

export const RECIPE_FILE = "build.yml";

/** Image names: what follows `kiln.local/pkg/` in the cache, so a valid repository path component. */
const NAME = /^[a-z0-9]+(?:-+[a-z0-9]+)*$/;
/** A Debian package name, optionally pinned to a version as apt-get accepts it (`name=version`). */
const DEB_PACKAGE = /^[a-z0-9][a-z0-9+.-]+(?:=[A-Za-z0-9.+~:-]+)?$/;
const MODULE_NAME = /^[A-Za-z0-9_-]+$/;
/** A fixed module version: semver, pseudo-versions included. Queries (latest, upgrade, branches) are not. */
const GO_VERSION = /^v\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

const strings = z.array(z.string());

const goSchema = z
  .object({
    module: z.string().min(1).optional().describe("A remote module at a fixed version: `path@vX.Y.Z`."),
    path: z.string().min(1).optional().describe("A local module directory, relative to the recipe."),
    package: z
      .string()
      .optional()
      .describe("The package to build, relative to the module (default: its root)."),
    dest: z.string().min(1).describe("Where the binary goes in the image."),
  })
  .strict();

const fileSchema = z
  .object({
    src: z.string().min(1).optional().describe("A file or directory tree, relative to the recipe."),
    dst: z.string().min(1).describe("The path in the image."),
    mode: z.string().optional().describe('Octal mode string, e.g. "0755".'),
    contents: z.string().optional(),
    directory: z.boolean().optional(),
    symlink: z.string().min(1).optional(),
    concat: z
      .object({ dir: z.string().min(1), suffix: z.string().min(1) })
      .strict()
      .optional()
      .describe("The concatenation, in path order, of the image's files under `dir` ending in `suffix`."),
  })
  .strict();

export const recipeSchema = z
  .object({
    name: z.string().describe("The image name, [a-z0-9-]+."),
    debian: z
      .object({
        packages: strings.min(1),
        exclude: strings.optional(),
      })
      .strict()
      .optional(),
    kernel: z
      .object({
        package: z.string().min(1),
        modules: strings.optional(),
      })
      .strict()
      .optional(),
    go: z.array(goSchema).optional(),
    files: z.array(fileSchema).optional(),
    entrypoint: strings.optional(),
    cmd: strings.optional(),
    env: strings.optional(),
    workdir: z.string().optional(),
    config: labelSchema.optional(),
  })
  .strict();

type RawRecipe = z.infer<typeof recipeSchema>;
export type Path = ReadonlyArray<string | number>;

export type GoBuild =
  | { kind: "remote"; module: string; version: string; package: string; dest: string; at: Path }
  | { kind: "local"; dir: string; package: string; dest: string; at: Path };

export type FileSpec =
  | { kind: "copy"; src: string; dst: string; mode?: number; at: Path }
  | { kind: "contents"; dst: string; contents: string; mode?: number; at: Path }
  | { kind: "directory"; dst: string; mode?: number; at: Path }
  | { kind: "symlink"; dst: string; target: string; at: Path }
  | { kind: "concat"; dst: string; dir: string; suffix: string; mode?: number; at: Path };

/** The paths Debian packages are stripped of whatever the recipe says: documentation nobody reads in an image. */
export const DEFAULT_EXCLUDES = [
  "usr/share/doc",
  "usr/share/man",
  "usr/share/info",
  "usr/share/locale",
  "usr/share/lintian",
  "usr/share/bug",
];

export interface Recipe {
  /** The recipe directory, absolute. */
  dir: string;
  /** build.yml, as named in messages. */
  file: string;
  /** Its exact bytes: part of the tag. */
  bytes: Buffer;
  name: string;
  debian?: { packages: string[]; exclude: string[] };
  kernel?: { package: string; modules?: string[] };
  go: GoBuild[];
  files: FileSpec[];
  image: {
    entrypoint?: string[];
    cmd?: string[];
    env?: string[];
    workdir?: string;
    config?: ImageConfigFields;
  };
  /** A KilnError located at a field of the recipe, for problems found while building. */
  fail(at: Path, message: string, hint?: string): SpecError;
}

class Issues {
  readonly list: SpecIssue[] = [];
  constructor(readonly doc: LocatedDocument) {}
  error(_doc: LocatedDocument, path: Path, message: string, hint?: string, key = false): void {
    const issue: SpecIssue = { file: this.doc.file, ...this.doc.locate(path, key), path, message };
    if (hint) issue.hint = hint;
    this.list.push(issue);
  }
}

/** An image path as the tree keeps it: no leading slash, no "." parts; undefined if it climbs out. */
export function imagePath(p: string): string | undefined {
  const parts: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") return undefined;
    parts.push(part);
  }
  return parts.join("/");
}

function reportZod(js: unknown, issue: z.core.$ZodIssue, sink: Issues): void {
  const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
  if (issue.code === "unrecognized_keys") {
    const known = knownKeysAt(recipeSchema, path);
    for (const key of issue.keys) {
      const hint = didYouMean(key, known) ?? (known.length ? `allowed here: ${known.join(", ")}` : undefined);
      sink.error(sink.doc, [...path, key], "unknown field", hint, true);
    }
    return;
  }
  if (issue.code === "invalid_type" && valueAt(js, path) === undefined) {
    sink.error(sink.doc, path, `missing required field (expected ${issue.expected})`, undefined, true);
    return;
  }
  const hint =
    path[path.length - 1] === "mode" && typeof valueAt(js, path) === "number"
      ? 'quote octal modes, e.g. mode: "0644"'
      : undefined;
  sink.error(sink.doc, path, issue.message.replace(/^Invalid input: /, ""), hint);
}

/** The sections, and list entries, that pass the schema on their own. Bad entries leave holes, so indices hold. */
function wellFormedParts(js: Record<string, unknown>): RawRecipe {
  const out: Record<string, unknown> = {};
  const lists = { go: goSchema, files: fileSchema } as const;
  for (const [key, value] of Object.entries(js)) {
    const element = lists[key as keyof typeof lists];
    if (element && Array.isArray(value)) {
      const kept: unknown[] = new Array(value.length);
      value.forEach((item, i) => {
        const r = element.safeParse(item);
        if (r.success) kept[i] = r.data;
      });
      out[key] = kept;
      continue;
    }
    const schema = recipeSchema.shape[key as keyof typeof recipeSchema.shape];
    const r = schema?.safeParse(value);
    if (r?.success) out[key] = r.data;
  }
  return out as RawRecipe;
}

async function exists(p: string): Promise<"file" | "directory" | undefined> {
  try {
    const s = await stat(p);
    return s.isDirectory() ? "directory" : "file";
  } catch {
    return undefined;
  }
}

function mode(sink: Issues, at: Path, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = parseMode(value);
  if (m === undefined)
    sink.error(sink.doc, at, `"${value}" is not an octal mode`, 'quote it, e.g. mode: "0755"');
  return m;
}

function destination(sink: Issues, at: Path, value: string, allowRoot: boolean): string {
  const p = imagePath(value);
  if (p === undefined) {
    sink.error(sink.doc, at, `"${value}" climbs out of the image root`, "use a path such as /usr/bin/x");
    return "";
  }
  if (p === "" && !allowRoot)
    sink.error(sink.doc, at, "the image root cannot be replaced", "name a file under /");
  return p;
}

async function checkGo(recipeDir: string, raw: RawRecipe, sink: Issues): Promise<GoBuild[]> {
  const out: GoBuild[] = [];
  for (const [i, g] of (raw.go ?? []).entries()) {
    if (g === undefined) continue;
    const at = ["go", i];
    const dest = destination(sink, [...at, "dest"], g.dest, false);
    const pkg = g.package ?? "";
    if (imagePath(pkg) === undefined && g.module !== undefined) {
      sink.error(sink.doc, [...at, "package"], "a package cannot climb out of its module");
    }
    if ((g.module === undefined) === (g.path === undefined)) {
      sink.error(sink.doc, at, "give exactly one of `module` (remote) or `path` (local)");
      continue;
    }
    if (g.module !== undefined) {
      const atSign = g.module.lastIndexOf("@");
      const version = atSign === -1 ? "" : g.module.slice(atSign + 1);
      if (!GO_VERSION.test(version)) {
        sink.error(
          sink.doc,
          [...at, "module"],
          atSign === -1 ? "a remote module needs a fixed version" : `"${version}" is not a fixed version`,
          "pin it, e.g. module@v1.2.3 or a pseudo-version (`go list -m -json MODULE@COMMIT` prints one)",
        );
        continue;
      }
      out.push({ kind: "remote", module: g.module.slice(0, atSign), version, package: pkg, dest, at });
    } else {
      const dir = resolve(recipeDir, g.path!);
      if ((await exists(join(dir, "go.mod"))) !== "file") {
        sink.error(
          sink.doc,
          [...at, "path"],
          `${dir} is not a Go module (no go.mod)`,
          "point it at a module directory",
        );
        continue;
      }
      out.push({ kind: "local", dir, package: pkg, dest, at });
    }
  }
  return out;
}

async function checkFiles(recipeDir: string, raw: RawRecipe, sink: Issues): Promise<FileSpec[]> {
  const out: FileSpec[] = [];
  for (const [i, f] of (raw.files ?? []).entries()) {
    if (f === undefined) continue;
    const at = ["files", i];
    const kinds = (["src", "contents", "directory", "symlink", "concat"] as const).filter(
      (k) => f[k] !== undefined && f[k] !== false,
    );
    if (kinds.length !== 1) {
      sink.error(
        sink.doc,
        kinds.length === 0 ? at : [...at, kinds[1]!],
        kinds.length === 0
          ? "an entry needs one of src, contents, directory: true, symlink or concat"
          : `only one of ${kinds.join(", ")} may be given`,
      );
      continue;
    }
    const m = mode(sink, [...at, "mode"], f.mode);
    const common = m === undefined ? { at } : { at, mode: m };
    if (f.src !== undefined) {
      const src = resolve(recipeDir, f.src);
      const kind = await exists(src);
      if (!kind) {
        sink.error(
          sink.doc,
          [...at, "src"],
          `${src} does not exist`,
          "paths are relative to the recipe directory",
        );
        continue;
      }
      // A file copied to "dir/" lands inside it, as cp does, rather than replacing the directory.
      const dst = kind === "file" && f.dst.endsWith("/") ? `${f.dst}${basename(src)}` : f.dst;
      out.push({
        kind: "copy",
        src,
        dst: destination(sink, [...at, "dst"], dst, kind === "directory"),
        ...common,
      });
    } else if (f.contents !== undefined) {
      out.push({
        kind: "contents",
        dst: destination(sink, [...at, "dst"], f.dst, false),
        contents: f.contents,
        ...common,
      });
    } else if (f.directory) {
      out.push({ kind: "directory", dst: destination(sink, [...at, "dst"], f.dst, false), ...common });
    } else if (f.symlink !== undefined) {
      if (f.mode !== undefined) sink.error(sink.doc, [...at, "mode"], "a symlink has no mode of its own");
      out.push({
        kind: "symlink",
        dst: destination(sink, [...at, "dst"], f.dst, false),
        target: f.symlink,
        at,
      });
    } else if (f.concat !== undefined) {
      const dir = destination(sink, [...at, "concat", "dir"], f.concat.dir, true);
      out.push({
        kind: "concat",
        dst: destination(sink, [...at, "dst"], f.dst, false),
        dir,
        suffix: f.concat.suffix,
        ...common,
      });
    }
  }
  return out;
}

function checkSimple(raw: RawRecipe, sink: Issues): void {
  if (raw.name !== undefined && !NAME.test(raw.name)) {
    sink.error(
      sink.doc,
      ["name"],
      `"${raw.name}" is not a valid image name`,
      "use a-z, 0-9 and -, e.g. runc",
    );
  }
  raw.debian?.packages.forEach((p, i) => {
    if (!DEB_PACKAGE.test(p))
      sink.error(
        sink.doc,
        ["debian", "packages", i],
        `"${p}" is not a Debian package name`,
        "e.g. runc or runc=1.1.5+ds1-1",
      );
  });
  raw.debian?.exclude?.forEach((p, i) => {
    const path = imagePath(p);
    if (path === undefined || path === "")
      sink.error(
        sink.doc,
        ["debian", "exclude", i],
        `"${p}" is not a path in the image`,
        "e.g. usr/share/bash-completion",
      );
  });
  if (raw.kernel && !DEB_PACKAGE.test(raw.kernel.package)) {
    sink.error(
      sink.doc,
      ["kernel", "package"],
      `"${raw.kernel.package}" is not a Debian package name`,
      "e.g. linux-image-amd64",
    );
  }
  raw.kernel?.modules?.forEach((m, i) => {
    if (!MODULE_NAME.test(m))
      sink.error(sink.doc, ["kernel", "modules", i], `"${m}" is not a module name`, "e.g. virtio_blk");
  });
  raw.env?.forEach((e, i) => {
    if (!/^[^=]+=/.test(e))
      sink.error(sink.doc, ["env", i], `"${e}" is not NAME=VALUE`, "e.g. PATH=/usr/bin:/bin");
  });
  if (raw.workdir !== undefined && !raw.workdir.startsWith("/")) {
    sink.error(sink.doc, ["workdir"], "the working directory must be absolute", "e.g. /");
  }
  if (raw.config) checkImageFields(sink.doc, ["config"], raw.config, sink);
}

/**
 * Read and check `DIR/build.yml`. Every problem is reported at once, as a SpecError whose lines read
 * `FILE:LINE:COL: field: message (hint)`; local sources named by the recipe must exist.
 */
export async function loadRecipe(dir: string): Promise<Recipe> {
  const absDir = resolve(dir);
  const file = join(dir, RECIPE_FILE);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new KilnError(`${file}: cannot read the package recipe (${code ?? (e as Error).message})`, {
      hint: `a package directory holds a ${RECIPE_FILE}; see docs/packages.md`,
    });
  }
  const doc = new LocatedDocument(file, bytes.toString("utf8"));
  const sink = new Issues(doc);
  const fail = () => new SpecError(sink.list);
  if (doc.doc.errors.length > 0) {
    for (const e of doc.doc.errors) {
      const message = e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
      sink.list.push({ file, ...doc.position(e.pos[0]), path: [], message, hint: "fix the YAML syntax" });
    }
    throw fail();
  }
  let js: unknown;
  try {
    js = doc.doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    sink.list.push({
      file,
      line: 1,
      col: 1,
      path: [],
      message: (e as Error).message,
      hint: "fix the YAML aliases",
    });
    throw fail();
  }
  if (js === null || typeof js !== "object" || Array.isArray(js) || !isMap(doc.doc.contents)) {
    sink.error(doc, [], "a recipe must be a mapping with at least `name:`", "see docs/packages.md");
    throw fail();
  }
  const parsed = recipeSchema.safeParse(js);
  let raw: RawRecipe;
  if (parsed.success) {
    raw = parsed.data;
  } else {
    for (const issue of parsed.error.issues) reportZod(js, issue, sink);
    // Go on checking what is well-formed, so that one pass reports every problem.
    raw = wellFormedParts(withoutUnknownKeys(js as Record<string, unknown>, parsed.error.issues));
  }
  checkSimple(raw, sink);
  const go = await checkGo(absDir, raw, sink);
  const files = await checkFiles(absDir, raw, sink);
  if (sink.list.length > 0) {
    sink.list.sort((a, b) => a.line - b.line || a.col - b.col);
    throw fail();
  }
  const recipe: Recipe = {
    dir: absDir,
    file,
    bytes,
    name: raw.name,
    go,
    files,
    image: {},
    fail(at, message, hint) {
      const issue: SpecIssue = { file, ...doc.locate(at), path: at, message };
      if (hint) issue.hint = hint;
      return new SpecError([issue]);
    },
  };
  if (raw.debian) {
    recipe.debian = {
      packages: raw.debian.packages,
      exclude: (raw.debian.exclude ?? []).map((p) => imagePath(p)!),
    };
  }
  if (raw.kernel) recipe.kernel = raw.kernel;
  for (const key of ["entrypoint", "cmd", "env", "workdir", "config"] as const) {
    if (raw[key] !== undefined) (recipe.image as Record<string, unknown>)[key] = raw[key];
  }
  return recipe;
}
