/** A small argv parser: `--flag value`, `--flag=value`, boolean flags, repeatable flags. */
export interface ParsedArgs {
  command: string | undefined;
  positionals: string[];
  values: Map<string, string[]>;
  flags: Set<string>;
}

export interface ArgSpec {
  /** Options that take a value (repeatable). */
  valued: readonly string[];
  /** Options that take none. */
  boolean: readonly string[];
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function parseArgs(argv: readonly string[], spec: ArgSpec): ParsedArgs {
  const result: ParsedArgs = { command: undefined, positionals: [], values: new Map(), flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      if (result.command === undefined) result.command = arg;
      else result.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (spec.boolean.includes(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      result.flags.add(name);
    } else if (spec.valued.includes(name)) {
      const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
      result.values.set(name, [...(result.values.get(name) ?? []), value]);
    } else {
      throw new UsageError(`unknown option --${name} (see persona-mesh --help)`);
    }
  }
  return result;
}

export function lastValue(args: ParsedArgs, name: string): string | undefined {
  return args.values.get(name)?.at(-1);
}
