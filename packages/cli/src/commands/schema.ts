import type { CommandDecl } from "../declare.js";

export const schemaCommand: CommandDecl = {
  name: "schema",
  summary: "Print the JSON Schema of the YAML format, for editors",
  details: "The same schema is committed as schema/kiln.schema.json.",
  async run(_args, _options, ctx) {
    const { jsonSchemaText } = await import("@kiln/spec");
    ctx.stdout.write(jsonSchemaText());
    return 0;
  },
};
