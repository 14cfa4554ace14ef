#!/usr/bin/env node
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderCliDocs } from "./cli-docs.js";
import { commands } from "./commands/index.js";

const target = fileURLToPath(new URL("../../../docs/cli.md", import.meta.url));
writeFileSync(target, renderCliDocs(commands));
console.log(`wrote ${target}`);
