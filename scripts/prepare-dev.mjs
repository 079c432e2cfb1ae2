// Gives a fresh clone working local secrets: copies .dev.vars.example to .dev.vars when missing.
import { copyFileSync, existsSync } from "node:fs";
import { parseArgs } from "node:util";

const USAGE = `Usage: node scripts/prepare-dev.mjs

The first step of \`npm run dev\`: in the current directory, copies .dev.vars.example to .dev.vars
(the local development keys) when .dev.vars is missing; leaves an existing .dev.vars alone.
Takes no options.

  -h, --help   this text

Example: node scripts/prepare-dev.mjs`;

try {
  if (parseArgs({ options: { help: { type: "boolean", short: "h" } } }).values.help) {
    console.log(USAGE);
    process.exit(0);
  }
} catch (error) {
  console.error(`prepare-dev.mjs: ${error.message} (see --help)`);
  process.exit(2);
}

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("Created .dev.vars from .dev.vars.example (local development keys).");
}
