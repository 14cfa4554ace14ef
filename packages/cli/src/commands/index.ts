import type { CommandDecl } from "../declare.js";
import { buildCommand } from "./build.js";
import { cacheCommand } from "./cache.js";
import { logsCommand } from "./logs.js";
import { pkgCommand } from "./pkg.js";
import { psCommand } from "./ps.js";
import { runCommand } from "./run.js";
import { schemaCommand } from "./schema.js";
import { stopCommand } from "./stop.js";
import { validateCommand } from "./validate.js";

/** Every `kiln` command, in the order help lists them. */
export const commands: readonly CommandDecl[] = [
  buildCommand,
  validateCommand,
  runCommand,
  psCommand,
  logsCommand,
  stopCommand,
  pkgCommand,
  cacheCommand,
  schemaCommand,
];
