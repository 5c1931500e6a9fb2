// SPDX-License-Identifier: MIT
//
// Option tables of the `medunet` command and the parsing and help text built from them, so that
// each option is declared once with its type, default and description.

import { parseArgs } from 'node:util';

/** One command-line option. */
export interface OptionSpec {
  /** Long name without dashes, such as `batch-size`. */
  name: string;
  type: 'string' | 'boolean';
  /** May be given more than once; the values are collected in order. */
  multiple?: boolean;
  /** Placeholder in the help text, such as `PATH` or `N`. */
  value?: string;
  /** Default shown in the help text and used when the option is absent. */
  default?: string;
  /** Must be given. */
  required?: boolean;
  help: string;
}

/** One subcommand: its name, a summary line and its options. */
export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  options: OptionSpec[];
  examples: string[];
}

/** Options every subcommand accepts. */
export const COMMON_OPTIONS: OptionSpec[] = [
  { name: 'device', type: 'string', value: 'cpu|cuda|auto', default: 'auto', help: 'where to run the model; auto picks CUDA when available' },
  { name: 'threads', type: 'string', value: 'N', help: 'CPU threads for libtorch (default: every available CPU)' },
  { name: 'json', type: 'boolean', help: 'print one JSON object with the results as the last line of standard output' },
  { name: 'quiet', type: 'boolean', help: 'no progress display on standard error' },
  { name: 'help', type: 'boolean', help: 'show this help' },
];

/** A usage error: bad or missing options. The command prints it with the help hint and exits with 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parsed option values: strings, booleans, or arrays of strings for `multiple` options. */
export type OptionValues = Record<string, string | boolean | string[] | undefined>;

/** Parses `argv` against a command's options, applying defaults and checking required ones. */
export function parseOptions(command: CommandSpec, argv: string[]): OptionValues {
  const specs = [...command.options, ...COMMON_OPTIONS];
  const config: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const spec of specs) config[spec.name] = spec.multiple ? { type: spec.type, multiple: true } : { type: spec.type };
  let values: OptionValues;
  try {
    values = parseArgs({ args: argv, options: config, allowPositionals: false, strict: true }).values as OptionValues;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values['help']) return values;
  for (const spec of specs) {
    if (values[spec.name] === undefined && spec.default !== undefined) values[spec.name] = spec.default;
    if (spec.required && values[spec.name] === undefined) throw new UsageError(`--${spec.name} is required`);
  }
  return values;
}

/** Formats the help text of a command from its table. */
export function formatHelp(command: CommandSpec): string {
  const lines = [`Usage: ${command.usage}`, '', command.summary, '', 'Options:'];
  const specs = [...command.options, ...COMMON_OPTIONS];
  const labels = specs.map((spec) => `  --${spec.name}${spec.value ? ` ${spec.value}` : ''}`);
  const width = Math.max(...labels.map((label) => label.length)) + 2;
  specs.forEach((spec, i) => {
    const notes = [spec.required ? 'required' : '', spec.default !== undefined ? `default ${spec.default}` : '', spec.multiple ? 'repeatable' : '']
      .filter(Boolean)
      .join(', ');
    lines.push(`${(labels[i] as string).padEnd(width)}${spec.help}${notes ? ` (${notes})` : ''}`);
  });
  lines.push('', 'Examples:', ...command.examples.map((example) => `  ${example}`));
  return lines.join('\n');
}

/** Reads a string option, or undefined. */
export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** Reads a repeatable string option as an array. */
export function listOption(values: OptionValues, name: string): string[] {
  const value = values[name];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [String(value)];
}

/** Parses a numeric option; integer and range limits give a UsageError naming the option. */
export function numberOption(
  values: OptionValues,
  name: string,
  limits: { integer?: boolean; min?: number; max?: number } = {},
): number | undefined {
  const text = stringOption(values, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  const { integer = false, min = -Infinity, max = Infinity } = limits;
  const kind = integer ? 'an integer' : 'a number';
  if (text.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new UsageError(`--${name} must be ${kind}; got ${JSON.stringify(text)}`);
  }
  if (value < min || value > max) {
    const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new UsageError(`--${name} must be ${kind} ${range}; got ${text}`);
  }
  return value;
}

/**
 * Parses a slice list such as `50:64,100:114,7`: ranges are start:end with the end excluded, as
 * Python slices, and single numbers are single slices. Returns sorted, distinct indices, each
 * checked against `count` when given.
 */
export function parseSliceList(name: string, text: string, count?: number): number[] {
  const indices = new Set<number>();
  for (const part of text.split(',')) {
    const match = /^\s*(\d+)\s*(?::\s*(\d+)\s*)?$/.exec(part);
    if (!match) throw new UsageError(`--${name} must be a list like 50:64,100:114 (start:end, end excluded); got ${JSON.stringify(text)}`);
    const start = Number(match[1]);
    const end = match[2] === undefined ? start + 1 : Number(match[2]);
    if (end <= start) throw new UsageError(`--${name}: range ${part.trim()} is empty (the end is excluded)`);
    if (count !== undefined && end > count) {
      throw new UsageError(`--${name}: slice ${end - 1} is out of range; the volume has ${count} slices (0 to ${count - 1})`);
    }
    for (let i = start; i < end; i++) indices.add(i);
  }
  return [...indices].sort((a, b) => a - b);
}

/** Formats sorted indices back into the compact `start:end` list form. */
export function formatSliceList(indices: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < indices.length) {
    const start = indices[i] as number;
    let end = start + 1;
    while (i + 1 < indices.length && indices[i + 1] === end) {
      end++;
      i++;
    }
    parts.push(end === start + 1 ? String(start) : `${start}:${end}`);
    i++;
  }
  return parts.join(',');
}
