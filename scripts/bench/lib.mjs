// SPDX-License-Identifier: MIT
//
// The parts of scripts/bench.mjs that do no benchmarking: argument parsing, the case plan,
// medians, ratios, targets and table formatting. Kept apart so that tests can run them on fixed
// inputs (test/unit/bench/harness.test.ts).

export const CASE_NUMBERS = [1, 2, 3, 4];

export const USAGE = `Usage: node scripts/bench.mjs [options]   (npm run bench -- [options])

Runs medunet and PyTorch (/usr/bin/python3, the same libtorch) on the same work, one child
process per side, case and repeat, alternating sides, and prints the medians and ratios.

Options:
  --quick          fewer configurations, slices, repeats and iterations
  --repeats N      child processes per side and configuration (default 2, 1 with --quick)
  --cases LIST     comma-separated case numbers (default 1,2,3,4):
                     1 training throughput, 2 whole-volume prediction,
                     3 data path and data wait, 4 peak memory (of the case 1 and 2 children)
  --no-write       print only; leave BENCHMARKS.md as it is
  --markdown       print Markdown tables instead of plain text
  --from-json FILE render the raw results of an earlier run (out/bench-results.json) again
  --help           print this text`;

/**
 * Error for an invalid command-line argument; scripts/bench.mjs prints its message and the usage.
 * `code` uses the names of Node.js's `util.parseArgs` errors.
 */
export class UsageError extends Error {
  constructor(message, code) {
    super(message);
    this.name = 'UsageError';
    this.code = code;
  }
}

const UNKNOWN_OPTION = 'ERR_PARSE_ARGS_UNKNOWN_OPTION';
const INVALID_VALUE = 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE';
const UNEXPECTED_POSITIONAL = 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL';

/**
 * Parses the command-line arguments (without `node` and the script path).
 *
 * @returns {{ quick: boolean, repeats: number, cases: number[], write: boolean, markdown: boolean, help: boolean, fromJson: string | null }}
 * @throws UsageError for an unknown option or a bad value.
 */
export function parseArgs(argv) {
  const options = { quick: false, repeats: null, cases: [...CASE_NUMBERS], write: true, markdown: false, help: false, fromJson: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, null];
    const value = () => {
      if (inline !== null) return inline;
      const next = argv[i + 1];
      // An option in place of the value means that the value was left out.
      if (next === undefined || next.startsWith('--')) throw new UsageError(`\`${name}\` is missing its value`, INVALID_VALUE);
      i++;
      return next;
    };
    if (name === '--quick') options.quick = true;
    else if (name === '--no-write') options.write = false;
    else if (name === '--markdown') options.markdown = true;
    else if (name === '--help' || name === '-h') options.help = true;
    else if (name === '--repeats') options.repeats = parseRepeats(value());
    else if (name === '--cases') options.cases = parseCases(value());
    else if (name === '--from-json') options.fromJson = value();
    else if (!arg.startsWith('-')) throw new UsageError(`unexpected argument \`${arg}\`; the script takes only options, see --help`, UNEXPECTED_POSITIONAL);
    else throw new UsageError(`unknown option \`${arg}\`; see --help`, UNKNOWN_OPTION);
  }
  if (options.repeats === null) options.repeats = options.quick ? 1 : 2;
  return options;
}

function parseRepeats(text) {
  const repeats = Number(text);
  if (!/^\d+$/.test(text) || repeats < 1 || repeats > 50) {
    throw new UsageError(`\`--repeats\` must be an integer in [1, 50]; got ${JSON.stringify(text)}`, INVALID_VALUE);
  }
  return repeats;
}

function parseCases(text) {
  const parts = text.split(',').map((part) => part.trim());
  const cases = parts.map(Number);
  if (parts.some((part) => !/^\d+$/.test(part)) || cases.some((n) => !CASE_NUMBERS.includes(n))) {
    throw new UsageError(`\`--cases\` must be a comma-separated list of ${CASE_NUMBERS.join(', ')}; got ${JSON.stringify(text)}`, INVALID_VALUE);
  }
  return [...new Set(cases)].sort((a, b) => a - b);
}

/** Error for a `--from-json` file that cannot be rendered; the message starts with the file's path. */
export class ResultsFileError extends Error {
  constructor(path, problem) {
    super(`${path}: ${problem}`);
    this.name = 'ResultsFileError';
    this.path = path;
  }
}

/**
 * Parses the text of a `--from-json` file and checks that it holds the raw results of a run, as
 * scripts/bench.mjs saves them in out/bench-results.json.
 *
 * @param {string} path - The file's path, for the messages.
 * @param {string} text - The file's contents.
 * @throws ResultsFileError for text that is not JSON or lacks a field that rendering reads.
 */
export function parseResults(path, text) {
  let report;
  try {
    report = JSON.parse(text);
  } catch (error) {
    throw new ResultsFileError(path, `is not valid JSON (${error.message})`);
  }
  if (report === null || typeof report !== 'object' || Array.isArray(report)) {
    throw new ResultsFileError(path, 'does not contain a JSON object; expected the raw results that `npm run bench` saves in out/bench-results.json');
  }
  const missing = [];
  if (!Array.isArray(report.train)) missing.push('train (an array)');
  if (!Array.isArray(report.predict)) missing.push('predict (an array)');
  if (report.data === undefined) missing.push('data (an object or null)');
  if (report.setup === null || typeof report.setup !== 'object') missing.push('setup (an object)');
  if (report.meta === null || typeof report.meta !== 'object' || !Array.isArray(report.meta.argv)) missing.push('meta.argv (an array)');
  if (missing.length > 0) {
    throw new ResultsFileError(path, `is missing ${missing.join(', ')}; expected the raw results that \`npm run bench\` saves in out/bench-results.json`);
  }
  return report;
}

/**
 * Lists the configurations to run. Case 4 adds no runs of its own: it reads the peak memory of
 * the case 1 and case 2 children, so asking for case 4 alone runs those children too.
 *
 * Iteration and repeat counts are small because, on the 2-CPU machine of BENCHMARKS.md, one
 * width-64 training step took 5 to 17 seconds and one width-64 slice 1 to 4 in prediction. For
 * the same reason the width-64 prediction covers 4 evenly spaced slices rather than all of them
 * (`sliceCount`; null means every axial slice).
 */
export function planCases({ quick, cases }) {
  const wants = (n) => cases.includes(n);
  const train = [];
  const predict = [];
  if (wants(1) || wants(4)) {
    const wide256 = { width: 64, size: [256, 256], batch: 1, warmup: 1, iterations: 1 };
    const wide128 = { width: 64, size: [128, 128], batch: 4, warmup: 1, iterations: 1 };
    const narrow = { width: 16, size: [128, 128], batch: 8, warmup: 1, iterations: quick ? 2 : 3 };
    train.push(...(quick ? [wide128, narrow] : [wide256, wide128, narrow]));
  }
  if (wants(2) || wants(4)) {
    predict.push({ width: 16, batchSize: 4, sliceCount: quick ? 16 : null });
    if (!quick) predict.push({ width: 64, batchSize: 4, sliceCount: 4 });
  }
  let data = null;
  if (wants(3)) data = { width: 16, batchSize: 8, sliceCount: quick ? 16 : 64, epochs: 2 };
  return { train, predict, data };
}

/** Median of a non-empty list; the mean of the two middle values for an even count. */
export function median(values) {
  if (values.length === 0) throw new RangeError('`values` must be a non-empty array; got []');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Ratio that reads "above 1 means medunet is better": medunet/PyTorch for throughput
 * (`better: 'higher'`), PyTorch/medunet for memory and time (`better: 'lower'`).
 */
export function ratio(medunet, torch, better) {
  if (better === 'higher') return medunet / torch;
  if (better === 'lower') return torch / medunet;
  throw new RangeError(`\`better\` must be 'higher' or 'lower'; got ${JSON.stringify(better)}`);
}

/** 'PASS' when `value` meets `target` ({ atLeast } or { below }), else 'MISS'; '-' for no value. */
export function verdict(value, target) {
  if (value === null || value === undefined || Number.isNaN(value)) return '-';
  if ('atLeast' in target) return value >= target.atLeast ? 'PASS' : 'MISS';
  return value < target.below ? 'PASS' : 'MISS';
}

/** Relative difference |a - b| / max(|a|, |b|), 0 when both are 0. */
export function relativeDifference(a, b) {
  const scale = Math.max(Math.abs(a), Math.abs(b));
  return scale === 0 ? 0 : Math.abs(a - b) / scale;
}

/** Formats a number with `digits` decimals, or '-' for null. */
export function fixed(value, digits) {
  return value === null || value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits);
}

/** Formats a Markdown table. A header that starts with '>' right-aligns its column, and the '>' is dropped. */
export function markdownTable(header, rows) {
  const names = header.map((name) => name.replace(/^>/, ''));
  const align = header.map((name) => (name.startsWith('>') ? '---:' : '---'));
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(names), line(align), ...rows.map(line)].join('\n');
}

/** Formats a plain-text table with padded columns. A header that starts with '>' right-aligns its column. */
export function plainTable(header, rows) {
  const names = header.map((name) => name.replace(/^>/, ''));
  const right = header.map((name) => name.startsWith('>'));
  const widths = names.map((name, i) => Math.max(name.length, ...rows.map((row) => String(row[i]).length)));
  const line = (cells) => cells.map((cell, i) => (right[i] ? String(cell).padStart(widths[i]) : String(cell).padEnd(widths[i]))).join('  ');
  return [line(names), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n').replace(/ +$/gm, '');
}

/** Replaces the text between `start` and `end` markers in `document`, or appends the block. */
export function replaceSection(document, start, end, body) {
  const block = `${start}\n${body.trim()}\n${end}`;
  const from = document.indexOf(start);
  const to = document.indexOf(end);
  if (from !== -1 && to > from) return document.slice(0, from) + block + document.slice(to + end.length);
  return `${document.trimEnd()}\n\n${block}\n`;
}
