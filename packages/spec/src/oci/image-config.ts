import { parse } from "yaml";
import { KilnError } from "../kiln-error.js";
import { type ImageConfigFields, labelSchema } from "../schema.js";

export const LABEL_KEY = "org.mobyproject.config";

/** The parts of an OCI image config that LinuxKit reads. `User` and the rest are ignored, as in LinuxKit. */
export interface ImageConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
}

/**
 * Parse and validate an image's `org.mobyproject.config` label. It is JSON (valid YAML), written by
 * `linuxkit pkg build` or `kiln pkg build`, and may not set `name` or `image`.
 */
export function parseLabel(imageRef: string, config: ImageConfig): ImageConfigFields {
  const text = config.Labels?.[LABEL_KEY];
  if (text === undefined || text === "") return {};
  const fail = (why: string) =>
    new KilnError(`image ${imageRef}: its ${LABEL_KEY} label is invalid: ${why}`, {
      hint: "rebuild the image with a valid `config:` block, or override the fields in the YAML",
    });
  let value: unknown;
  try {
    value = parse(text);
  } catch (e) {
    throw fail((e as Error).message.split("\n")[0]!);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw fail("it is not an object");
  const v = value as Record<string, unknown>;
  if ("name" in v) throw fail("name cannot be set in a label");
  if ("image" in v) throw fail("image cannot be set in a label");
  const r = labelSchema.safeParse(v);
  if (!r.success) {
    const first = r.error.issues[0]!;
    throw fail(`${first.path.join(".") || "(root)"}: ${first.message}`);
  }
  return r.data;
}
