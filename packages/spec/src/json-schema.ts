import { z } from "zod";
import { configSchema } from "./schema.js";

export const SCHEMA_ID = "https://kiln.dev/schema/kiln.schema.json";

/** JSON Schema for editors (yaml-language-server), generated from the same zod schema the loader uses. */
export function jsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { target: "draft-07", io: "input" }) as Record<string, unknown>;
  return { ...schema, $id: SCHEMA_ID, title: "kiln / LinuxKit appliance YAML" };
}

export function jsonSchemaText(): string {
  return `${JSON.stringify(jsonSchema(), null, 2)}\n`;
}
