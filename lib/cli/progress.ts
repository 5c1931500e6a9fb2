// SPDX-License-Identifier: MIT
//
// Progress display of the `medunet` command. It writes to standard error only, because standard
// output carries results and the `--json` object.

import { checkInt, checkNumber, checkOptions, checkString, typeError } from '../validate.js';

/** The writable-stream members that {@link Progress} uses, which `process.stderr` provides. */
export interface ProgressStream {
  write(chunk: string): unknown;
  /** True for a terminal, which gets one line redrawn in place. */
  isTTY?: boolean;
  /** Terminal width in characters, taken as 80 when unset. */
  columns?: number;
}

/** Options of {@link Progress}. */
export interface ProgressOptions {
  /** Destination. Default `process.stderr`. */
  stream?: ProgressStream;
  /** Minimum milliseconds between two plain lines when the stream is not a terminal. Default 5000. */
  logInterval?: number;
  /** Minimum milliseconds between two redraws on a terminal. Default 100. */
  redrawInterval?: number;
  /** Clock in milliseconds. Default `performance.now`. */
  clock?: () => number;
}

/** Metric values shown after the counters, such as `{ loss: 0.1234, dice: 0.91 }`. */
export type ProgressFields = Readonly<Record<string, number | string>>;

const DEFAULT_COLUMNS = 80;
const MIN_BAR_WIDTH = 10;
const MAX_BAR_WIDTH = 30;
// Erase from the cursor to the end of the line (ANSI "EL", CSI K).
const CLEAR_TO_END = '\u001b[K';

/**
 * A progress display for loops with a known number of steps, such as training batches.
 *
 * On a terminal it redraws one line in place: label, bar, count and total, rate, elapsed time,
 * estimated time left and the latest fields (`loss 0.1234`). The line is fitted to
 * `stream.columns`. Elsewhere, such as a log file or a pipe, it writes a plain line at most every
 * `logInterval` milliseconds and one at the end, without control characters. The rate is the
 * average since `start()`, and the estimate assumes that rate holds for the remaining steps.
 *
 * `tick()` and `done()` do nothing unless a `start()` is active, so a display never stops the
 * loop it reports on.
 *
 * @example
 * const progress = new Progress();
 * progress.start(batches.length, 'epoch 1/10');
 * for (const batch of batches) progress.tick(1, { loss: await step(batch) });
 * progress.done();
 */
export class Progress {
  readonly #stream: ProgressStream;
  readonly #logInterval: number;
  readonly #redrawInterval: number;
  readonly #clock: () => number;

  #active = false;
  #label = '';
  #total = 0;
  #count = 0;
  #fields: Record<string, string> = {};
  #startedAt = 0;
  #lastWriteAt = -Infinity;

  /**
   * @param options - Destination stream, intervals and clock; see {@link ProgressOptions}.
   * @throws TypeError (code `ERR_INVALID_ARG_TYPE`) or RangeError (code `ERR_OUT_OF_RANGE`) naming the invalid option.
   */
  constructor(options?: ProgressOptions) {
    const opts = checkOptions<ProgressOptions>('options', options);
    const stream = opts.stream ?? process.stderr;
    if (stream === null || typeof stream !== 'object' || typeof stream.write !== 'function') {
      throw typeError('options.stream', 'a writable stream with a write() method', stream);
    }
    if (opts.clock !== undefined && typeof opts.clock !== 'function') throw typeError('options.clock', 'a function', opts.clock);
    this.#stream = stream;
    this.#logInterval = opts.logInterval === undefined ? 5000 : checkNumber('options.logInterval', opts.logInterval, 0);
    this.#redrawInterval = opts.redrawInterval === undefined ? 100 : checkNumber('options.redrawInterval', opts.redrawInterval, 0);
    this.#clock = opts.clock ?? (() => performance.now());
  }

  /**
   * Starts counting `total` steps under `label`. A display still active from an earlier
   * `start()` is finished first, as by `done()`.
   *
   * @param total - Number of steps, or 0 when unknown, which hides the bar and the time estimate.
   * @param label - Text at the start of the line, such as `'epoch 3/10'`.
   */
  start(total: number, label: string): void {
    checkInt('total', total, 0);
    checkString('label', label);
    if (this.#active) this.done();
    this.#active = true;
    this.#label = sanitize(label);
    this.#total = total;
    this.#count = 0;
    this.#fields = {};
    this.#startedAt = this.#clock();
    this.#lastWriteAt = this.#startedAt;
    if (this.#isTerminal) this.#draw();
  }

  /**
   * Records `steps` more completed steps and the latest metric values. A field keeps its value
   * until a later tick changes it.
   *
   * @param steps - Steps completed since the last tick. Default 1.
   * @param fields - Metrics to show. Numbers are formatted by {@link formatField}.
   */
  tick(steps = 1, fields?: ProgressFields): void {
    if (!this.#record(steps, fields)) return;
    const now = this.#clock();
    const interval = this.#isTerminal ? this.#redrawInterval : this.#logInterval;
    const finished = this.#total > 0 && this.#count >= this.#total;
    if (now - this.#lastWriteAt >= interval || (finished && this.#isTerminal)) {
      this.#lastWriteAt = now;
      this.#draw();
    }
  }

  /**
   * Finishes the display: draws the final state and ends the line, so that later output starts
   * on a line of its own.
   *
   * @param fields - Last metric values to show, as in `tick()`.
   */
  done(fields?: ProgressFields): void {
    if (!this.#record(0, fields)) return;
    this.#active = false;
    if (this.#isTerminal) {
      this.#draw();
      this.#stream.write('\n');
    } else {
      this.#stream.write(`${this.#plainLine()}\n`);
    }
  }

  /**
   * Writes one line of text without breaking the display: on a terminal the progress line is
   * cleared, `message` is written, and the progress line is drawn again below it.
   */
  log(message: string): void {
    if (typeof message !== 'string') throw typeError('message', 'a string', message);
    const text = sanitize(message);
    if (this.#active && this.#isTerminal) {
      this.#stream.write(`\r${CLEAR_TO_END}${text}\n`);
      this.#draw();
    } else {
      this.#stream.write(`${text}\n`);
    }
  }

  /** Validates and applies a tick's arguments, and returns whether a display is active. */
  #record(steps: number, fields: ProgressFields | undefined): boolean {
    checkInt('steps', steps, 0);
    const updates = checkOptions<Record<string, unknown>>('fields', fields);
    for (const [key, value] of Object.entries(updates)) {
      if (typeof value !== 'number' && typeof value !== 'string') throw typeError(`fields.${key}`, 'a number or a string', value);
    }
    if (!this.#active) return false;
    this.#count += steps;
    for (const [key, value] of Object.entries(updates)) this.#fields[sanitize(key)] = formatField(value as number | string);
    return true;
  }

  get #isTerminal(): boolean {
    return this.#stream.isTTY === true;
  }

  #draw(): void {
    if (this.#isTerminal) this.#stream.write(`\r${this.#terminalLine()}${CLEAR_TO_END}`);
    else this.#stream.write(`${this.#plainLine()}\n`);
  }

  /** Elapsed seconds, rate in steps per second, and estimated seconds left (NaN when unknown). */
  #timing(): { elapsed: number; rate: number; remaining: number } {
    const elapsed = Math.max(0, (this.#clock() - this.#startedAt) / 1000);
    const rate = elapsed > 0 ? this.#count / elapsed : NaN;
    const left = this.#total - this.#count;
    const remaining = this.#total > 0 && rate > 0 ? Math.max(0, left) / rate : NaN;
    return { elapsed, rate, remaining };
  }

  #counter(): string {
    return this.#total > 0 ? `${this.#count}/${this.#total}` : String(this.#count);
  }

  #fieldText(): string[] {
    return Object.entries(this.#fields).map(([key, value]) => `${key} ${value}`);
  }

  /** `epoch 1 [#####.....] 45/100 3.21 it/s 00:14<00:17 loss 0.1234`, fitted to the terminal width. */
  #terminalLine(): string {
    const { elapsed, rate, remaining } = this.#timing();
    const time = this.#total > 0 ? `${formatDuration(elapsed)}<${formatDuration(remaining)}` : formatDuration(elapsed);
    const head = [this.#label];
    const tail = [this.#counter(), formatRate(rate), time, ...this.#fieldText()];
    // One column is left free so that the cursor never wraps onto a new line.
    const columns = Math.max(20, (this.#stream.columns ?? DEFAULT_COLUMNS) - 1);

    // Fields go first when the line is too long, then the bar shrinks and finally disappears.
    while (tail.length > 3 && lineLength([...head, ...tail]) + MIN_BAR_WIDTH + 3 > columns) tail.pop();
    if (this.#total > 0) {
      const room = columns - lineLength([...head, ...tail]) - 3;
      if (room >= MIN_BAR_WIDTH) head.push(drawBar(this.#count / this.#total, Math.min(MAX_BAR_WIDTH, room)));
    }
    const line = [...head, ...tail].join(' ');
    return line.length > columns ? line.slice(0, columns) : line;
  }

  /** `epoch 1: 45/100 (45%), 3.21 it/s, elapsed 00:14, left 00:17, loss 0.1234`. */
  #plainLine(): string {
    const { elapsed, rate, remaining } = this.#timing();
    const parts = [`${this.#label}: ${this.#counter()}`];
    if (this.#total > 0) parts[0] += ` (${Math.floor((100 * Math.min(this.#count, this.#total)) / this.#total)}%)`;
    parts.push(formatRate(rate), `elapsed ${formatDuration(elapsed)}`);
    if (this.#active && this.#total > 0) parts.push(`left ${formatDuration(remaining)}`);
    parts.push(...this.#fieldText());
    return parts.join(', ');
  }
}

function lineLength(parts: readonly string[]): number {
  return parts.join(' ').length;
}

function drawBar(fraction: number, width: number): string {
  const inner = width - 2;
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * inner);
  return `[${'#'.repeat(filled)}${'.'.repeat(inner - filled)}]`;
}

/** Steps per second, or seconds per step below one step per second. */
export function formatRate(rate: number): string {
  if (!Number.isFinite(rate) || rate <= 0) return '? it/s';
  if (rate >= 1) return `${rate.toFixed(2)} it/s`;
  return `${(1 / rate).toFixed(2)} s/it`;
}

/** `mm:ss` below an hour, `h:mm:ss` above, `--:--` when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const whole = Math.round(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = whole % 60;
  const mmss = `${String(minutes).padStart(2, '0')}:${String(rest).padStart(2, '0')}`;
  return hours > 0 ? `${hours}:${mmss}` : mmss;
}

/** Integers as they are, other finite numbers with 4 decimals or, when very large or small, in exponent form. */
export function formatField(value: number | string): string {
  if (typeof value === 'string') return sanitize(value);
  if (Number.isInteger(value)) return String(value);
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 1e5 || magnitude < 1e-3) return value.toExponential(3);
  return value.toFixed(4);
}

/** Replaces control characters (line breaks, escapes) with spaces so one value cannot break the line. */
function sanitize(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
}
