// SPDX-License-Identifier: MIT
//
// Entry point of the `medunet` command: picks the subcommand, prints help, and turns errors into
// a one-line message on standard error and an exit status (2 for usage errors, 1 for failures).

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatHelp, parseOptions, UsageError, type CommandSpec, type OptionValues } from './options.js';
import { evaluateSpec, predictSpec, trainSpec } from './specs.js';

/** A subcommand: its option table and a loader of the function that runs it. */
export interface Command {
  spec: CommandSpec;
  /** Imports the implementation on use, because it loads the native addon. */
  load(): Promise<{ run(values: OptionValues): Promise<Record<string, unknown>> }>;
}

const COMMANDS: Command[] = [
  { spec: trainSpec, load: () => import('./train.js') },
  { spec: predictSpec, load: () => import('./predict.js') },
  { spec: evaluateSpec, load: () => import('./evaluate.js') },
];

function topLevelHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.spec.name.length)) + 4;
  return [
    'Usage: medunet <command> [options]',
    '',
    'Trains and runs U-Net segmentation of NIfTI volumes on libtorch.',
    '',
    'Commands:',
    ...COMMANDS.map((command) => `  ${command.spec.name.padEnd(width)}${command.spec.summary}`),
    '',
    "Run 'medunet <command> --help' for a command's options.",
  ].join('\n');
}

/**
 * Runs the command line `argv` (without the node and script paths) and returns the exit status.
 * Results go to standard output; progress, warnings and errors go to standard error.
 */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${topLevelHelp()}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    const { native } = await import('../native.js');
    process.stdout.write(`medunet ${native.versions.medunet} (libtorch ${native.versions.torch})\n`);
    return 0;
  }
  const command = COMMANDS.find((candidate) => candidate.spec.name === name);
  if (command === undefined) {
    process.stderr.write(`medunet: unknown command ${JSON.stringify(name)}; expected one of ${COMMANDS.map((c) => c.spec.name).join(', ')}\n`);
    return 2;
  }
  try {
    const values = parseOptions(command.spec, rest);
    if (values['help']) {
      process.stdout.write(`${formatHelp(command.spec)}\n`);
      return 0;
    }
    const { run } = await command.load();
    const summary = await run(values);
    if (values['json']) process.stdout.write(`${JSON.stringify(summary)}\n`);
    return 0;
  } catch (error) {
    const err = error as Error & { code?: string };
    // With --json the last line of standard output is a JSON object on failure too.
    if (rest.includes('--json')) {
      const status = error instanceof UsageError ? 2 : 1;
      process.stdout.write(`${JSON.stringify({ command: name, error: err.message, code: err.code ?? (status === 2 ? 'ERR_USAGE' : null), status })}\n`);
    }
    if (error instanceof UsageError) {
      process.stderr.write(`medunet ${name}: ${err.message}\nRun 'medunet ${name} --help' for the options.\n`);
      return 2;
    }
    process.stderr.write(`medunet ${name}: ${err.message}\n`);
    if (process.env['MEDUNET_DEBUG']) process.stderr.write(`${err.stack ?? ''}\n`);
    return 1;
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    // A script path that cannot be resolved is not this file.
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (status) => {
      process.exitCode = status;
    },
    (error: unknown) => {
      process.stderr.write(`medunet: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
