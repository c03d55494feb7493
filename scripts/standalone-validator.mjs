// The part both validator generators share: an ajv-compiled validator as an ES module for src/, with a
// header naming its generator and an exported hash of what it was made from, formatted by prettier.
import * as prettier from "prettier";

/**
 * `ajv` compiles `schema` to standalone code (`ajv` created with `code: {source: true, esm: true}`); the
 * module exports `hashName` = `hash`, which the loader compares to tell a stale file.
 */
export async function standaloneModule({ ajv, schema, header, hashName, hash, file, require }) {
  const standalone = require("ajv/dist/standalone").default;
  const code = standalone(ajv, ajv.compile(schema));
  const text = [
    `// ${header}: do not edit.`,
    "/* eslint-disable */",
    "// @ts-nocheck",
    'import { createRequire } from "node:module";',
    "const require = createRequire(import.meta.url);",
    `export const ${hashName} = "${hash}";`,
    code.replace(/^"use strict";/, ""),
  ].join("\n");
  return prettier.format(text, { ...(await prettier.resolveConfig(file)), filepath: file });
}
