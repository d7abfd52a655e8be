/**
 * The command-line parsing the example scripts share: node's parseArgs in strict mode (an unknown flag is an
 * error), with integer flags checked and every error carrying the script's usage.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandLine<O extends Options> {
  values: ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>['values'];
  positionals: string[];
  /** The value of an integer flag, at least `min`; otherwise an error naming the flag, with the usage. */
  int(flag: keyof O & string, min: number): number;
  /** An error with the usage appended. */
  fail(message: string): Error;
}

export function parseCommandLine<O extends Options>(argv: readonly string[], options: O, usage: string): CommandLine<O> {
  const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options });
  const fail = (message: string) => new Error(`${message}\n${usage}`);
  const int = (flag: keyof O & string, min: number): number => {
    const value = (values as Record<string, unknown>)[flag];
    const n = Number(value);
    if (typeof value !== 'string' || !Number.isInteger(n) || n < min) throw fail(`--${flag} must be an integer >= ${min}, got ${String(value)}`);
    return n;
  };
  return { values, positionals, int, fail };
}
