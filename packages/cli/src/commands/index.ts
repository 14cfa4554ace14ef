import type { CommandDecl } from "../declare.js";
import { buildCommand } from "./build.js";
import { cacheCommand } from "./cache.js";
import { pkgCommand } from "./pkg.js";
import { schemaCommand } from "./schema.js";
import { validateCommand } from "./validate.js";

/** Every `kiln` command, in the order help lists them. */
export const commands: readonly CommandDecl[] = [
  buildCommand,
  validateCommand,
  pkgCommand,
  cacheCommand,
  schemaCommand,
];
