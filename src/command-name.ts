/** Which command a command line runs, before commander parses it (to load only that command). */

const GLOBAL_OPTIONS_WITH_VALUE = new Set(["-C", "--dir", "-f", "--fleet"]);

/**
 * The command argv runs: the first argument that is not a global option or its value. Undefined when
 * an option comes first that is not -C/-f (--help, --version: they need every command).
 */
export function commandName(argv: string[]): string | undefined {
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (GLOBAL_OPTIONS_WITH_VALUE.has(arg)) i++;
    else if (/^(-[Cf].|--(dir|fleet)=)/.test(arg)) continue;
    else return arg.startsWith("-") ? undefined : arg;
  }
  return undefined;
}
