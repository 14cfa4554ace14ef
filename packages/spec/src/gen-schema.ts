#!/usr/bin/env node
// Writes schema/kiln.schema.json at the repository root; a test fails when the committed copy is stale.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { jsonSchemaText } from "./json-schema.js";

const target = fileURLToPath(new URL("../../../schema/kiln.schema.json", import.meta.url));
writeFileSync(target, jsonSchemaText());
console.log(`wrote ${target}`);
