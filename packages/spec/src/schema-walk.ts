import type { z } from "zod";

type AnySchema = z.ZodType;

interface Def {
  type: string;
  innerType?: AnySchema;
  shape?: Record<string, AnySchema>;
  element?: AnySchema;
  valueType?: AnySchema;
  options?: AnySchema[];
}

function def(schema: AnySchema): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

function unwrap(schema: AnySchema): AnySchema {
  let s = schema;
  for (;;) {
    const d = def(s);
    if ((d.type === "optional" || d.type === "nullable" || d.type === "default") && d.innerType)
      s = d.innerType;
    else return s;
  }
}

function shapeOf(schema: AnySchema): Record<string, AnySchema> | undefined {
  const d = def(unwrap(schema));
  if (d.type === "object") return (unwrap(schema) as unknown as { shape: Record<string, AnySchema> }).shape;
  return undefined;
}

/** The schema that describes the value at `path`, for "did you mean" hints on unknown keys. */
export function schemaAt(root: AnySchema, path: ReadonlyArray<PropertyKey>): AnySchema | undefined {
  let s: AnySchema | undefined = root;
  for (const seg of path) {
    if (!s) return undefined;
    const u = unwrap(s);
    const d = def(u);
    if (d.type === "object") s = shapeOf(u)?.[String(seg)];
    else if (d.type === "array") s = d.element;
    else if (d.type === "record") s = d.valueType;
    else return undefined;
  }
  return s;
}

export function knownKeysAt(root: AnySchema, path: ReadonlyArray<PropertyKey>): string[] {
  const s = schemaAt(root, path);
  const shape = s ? shapeOf(s) : undefined;
  return shape ? Object.keys(shape) : [];
}

/** The value at a path of plain data, or undefined when the path leaves it. */
export function valueAt(js: unknown, path: readonly (string | number)[]): unknown {
  let v = js;
  for (const seg of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

/** A copy without the keys zod reported as unrecognized, so the rest can still be checked and reported. */
export function withoutUnknownKeys(
  js: Record<string, unknown>,
  issues: readonly z.core.$ZodIssue[],
): Record<string, unknown> {
  const copy = structuredClone(js);
  for (const issue of issues) {
    if (issue.code !== "unrecognized_keys") continue;
    const target = valueAt(
      copy,
      issue.path.filter((p): p is string | number => typeof p !== "symbol"),
    );
    if (target && typeof target === "object")
      for (const k of issue.keys) delete (target as Record<string, unknown>)[k];
  }
  return copy;
}
