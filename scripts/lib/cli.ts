// The scripts' shared command-line shape: --help and -h print the usage on stdout and exit 0 before
// the script does anything; a bad command line prints one line and "see --help" on stderr and exits 2.
import path from "node:path";
import { type ParseArgsConfig, parseArgs } from "node:util";

const HELP = { help: { type: "boolean", short: "h" } } as const;

type WithHelp<T extends ParseArgsConfig> = Omit<T, "options"> & { options: T["options"] & typeof HELP };

/** The running script's name, for error lines: "bench.ts". */
const command = () => path.basename(process.argv[1] ?? "script");

/** node:util parseArgs with --help and -h added: prints `usage` and exits 0 on either, exits 2 on what parseArgs rejects. */
export function parseCommandLine<const T extends ParseArgsConfig>(usage: string, config: T): ReturnType<typeof parseArgs<WithHelp<T>>> {
  let parsed: ReturnType<typeof parseArgs<WithHelp<T>>>;
  try {
    parsed = parseArgs({ ...config, options: { ...config.options, ...HELP } } as WithHelp<T>);
  } catch (error) {
    usageError(error instanceof Error ? error.message : String(error));
  }
  if ((parsed.values as { help?: boolean }).help) exitWithUsage(usage);
  return parsed;
}

/** For scripts that hand their arguments on (to wrangler, vitest): --help or -h anywhere prints `usage` and exits 0. */
export function exitWithUsageIfAsked(usage: string, argv: readonly string[] = process.argv.slice(2)): void {
  if (argv.includes("--help") || argv.includes("-h")) exitWithUsage(usage);
}

function exitWithUsage(usage: string): never {
  console.log(usage);
  process.exit(0);
}

/** A bad command line: one line on stderr, exit 2. */
export function usageError(message: string): never {
  console.error(`${command()}: ${message} (see --help)`);
  process.exit(2);
}
