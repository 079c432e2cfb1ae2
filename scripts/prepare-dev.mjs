// Gives a fresh clone working local secrets: copies .dev.vars.example to .dev.vars when missing.
import { copyFileSync, existsSync } from "node:fs";

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("Created .dev.vars from .dev.vars.example (local development keys).");
}
