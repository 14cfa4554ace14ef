export { renderCliDocs } from "./cli-docs.js";
export { commands } from "./commands/index.js";
export type { ArgDecl, CommandContext, CommandDecl, OptionDecl } from "./declare.js";
export { main } from "./main.js";
