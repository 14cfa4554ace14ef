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
