// SPDX-License-Identifier: MIT

import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { formatDuration, formatField, formatRate, Progress } from '../../../lib/cli/progress.js';

/** A writable stream that records what it receives, posing as a terminal or a file. */
class CaptureStream extends Writable {
  output = '';
  constructor(
    readonly isTTY: boolean,
    readonly columns?: number,
  ) {
    super();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.output += chunk.toString();
    callback();
  }
}

/** A clock under the test's control, in milliseconds. */
function manualClock() {
  let now = 0;
  return { read: () => now, advance: (ms: number) => (now += ms) };
}

/** The lines a terminal shows after each carriage return, without the erase sequence. */
function terminalFrames(output: string): string[] {
  return output
    .split(/[\r\n]/)
    .map((frame) => frame.replaceAll('\u001b[K', ''))
    .filter((frame) => frame.length > 0);
}

// Control characters other than the line feed; a log file must contain none.
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f]/;

describe('Progress on a terminal', () => {
  it('redraws one line with bar, counts, rate, times and fields', () => {
    const stream = new CaptureStream(true, 120);
    const clock = manualClock();
    const progress = new Progress({ stream, clock: clock.read });
    progress.start(10, 'epoch 1/3');
    for (let i = 0; i < 4; i++) {
      clock.advance(1000);
      progress.tick(1, { loss: 0.123456, dice: 0.5 });
    }

    const last = terminalFrames(stream.output).at(-1) as string;
    expect(last.startsWith('epoch 1/3 [')).toBe(true);
    expect(last).toContain('4/10');
    expect(last).toContain('1.00 it/s');
    expect(last).toContain('00:04<00:06');
    expect(last).toContain('loss 0.1235');
    expect(last).toContain('dice 0.5000');
    expect(last).toMatch(/\[#+\.+\]/);
    expect(stream.output).not.toContain('\n');
    expect(stream.output.split('\r').length).toBeGreaterThan(4);
  });

  it('ends the line on done', () => {
    const stream = new CaptureStream(true, 100);
    const clock = manualClock();
    const progress = new Progress({ stream, clock: clock.read });
    progress.start(2, 'predict');
    clock.advance(500);
    progress.tick(2);
    progress.done({ dice: 0.9 });

    expect(stream.output.endsWith('\n')).toBe(true);
    const last = terminalFrames(stream.output).at(-1) as string;
    expect(last).toContain('2/2');
    expect(last).toContain('[' + '#'.repeat(28) + ']');
    expect(last).toContain('dice 0.9000');
  });

  it('fits the line to the terminal width', () => {
    for (const columns of [40, 60, 80, 200]) {
      const stream = new CaptureStream(true, columns);
      const clock = manualClock();
      const progress = new Progress({ stream, clock: clock.read });
      progress.start(1000, 'training epoch 12/100');
      clock.advance(3000);
      progress.tick(250, { loss: 0.25, dice: 0.75, jaccard: 0.6, learningRate: 0.0001 });
      progress.done();
      for (const frame of terminalFrames(stream.output)) expect(frame.length, `${columns} columns: ${frame}`).toBeLessThan(columns);
    }
  });

  it('drops fields before the counter when narrow', () => {
    const stream = new CaptureStream(true, 50);
    const progress = new Progress({ stream, clock: manualClock().read, redrawInterval: 0 });
    progress.start(100, 'epoch 1');
    progress.tick(10, { loss: 0.5, dice: 0.25 });
    const last = terminalFrames(stream.output).at(-1) as string;
    expect(last).toContain('10/100');
    expect(last).not.toContain('dice');
  });

  it('limits redraws to the redraw interval', () => {
    const stream = new CaptureStream(true, 80);
    const clock = manualClock();
    const progress = new Progress({ stream, clock: clock.read, redrawInterval: 100 });
    progress.start(1000, 'batches');
    const framesAtStart = stream.output.split('\r').length;
    for (let i = 0; i < 50; i++) {
      clock.advance(10);
      progress.tick();
    }
    // 500 ms of ticks every 10 ms allow 5 redraws.
    expect(stream.output.split('\r').length - framesAtStart).toBe(5);
  });

  it('writes log lines above the progress line', () => {
    const stream = new CaptureStream(true, 80);
    const progress = new Progress({ stream, clock: manualClock().read });
    progress.start(5, 'epoch 1');
    progress.log('checkpoint saved');
    expect(stream.output).toContain('\r\u001b[Kcheckpoint saved\n');
    expect(terminalFrames(stream.output).at(-1)).toContain('0/5');
  });

  it('shows the count alone for an unknown total', () => {
    const stream = new CaptureStream(true, 80);
    const clock = manualClock();
    const progress = new Progress({ stream, clock: clock.read });
    progress.start(0, 'slices');
    clock.advance(2000);
    progress.tick(7);
    const last = terminalFrames(stream.output).at(-1) as string;
    expect(last).toContain(' 7 ');
    expect(last).not.toContain('[');
    expect(last).not.toContain('<');
  });
});

describe('Progress in a log', () => {
  it('prints plain lines at the log interval and at the end', () => {
    const stream = new CaptureStream(false);
    const clock = manualClock();
    const progress = new Progress({ stream, clock: clock.read, logInterval: 5000 });
    progress.start(100, 'epoch 2/5');
    for (let i = 0; i < 100; i++) {
      clock.advance(200);
      progress.tick(1, { loss: 1 / (i + 1) });
    }
    progress.done();

    const lines = stream.output.split('\n').filter((line) => line.length > 0);
    // 20 s of progress at one line per 5 s, plus the final line.
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe('epoch 2/5: 25/100 (25%), 5.00 it/s, elapsed 00:05, left 00:15, loss 0.0400');
    expect(lines.at(-1)).toBe('epoch 2/5: 100/100 (100%), 5.00 it/s, elapsed 00:20, loss 0.0100');
    expect(stream.output).not.toMatch(CONTROL);
  });

  it('prints a final line even without earlier ticks', () => {
    const stream = new CaptureStream(false);
    const progress = new Progress({ stream, clock: manualClock().read });
    progress.start(3, 'evaluate');
    expect(stream.output).toBe('');
    progress.done();
    expect(stream.output).toBe('evaluate: 0/3 (0%), ? it/s, elapsed 00:00\n');
  });

  it('replaces control characters in labels and fields', () => {
    const stream = new CaptureStream(false);
    const progress = new Progress({ stream, clock: manualClock().read });
    progress.start(1, 'bad\u001b[31mlabel\r');
    progress.tick(1, { 'fi\neld': 'va\tlue' });
    progress.log('two\nlines');
    progress.done();
    expect(stream.output).not.toMatch(CONTROL);
    expect(stream.output.split('\n').filter((line) => line.length > 0)).toHaveLength(2);
  });

  it('finishes the previous display on a new start', () => {
    const stream = new CaptureStream(false);
    const progress = new Progress({ stream, clock: manualClock().read });
    progress.start(2, 'epoch 1');
    progress.tick(2);
    progress.start(2, 'epoch 2');
    expect(stream.output).toBe('epoch 1: 2/2 (100%), ? it/s, elapsed 00:00\n');
  });
});

describe('Progress outside start and done', () => {
  it('ignores tick and done without start', () => {
    const stream = new CaptureStream(true, 80);
    const progress = new Progress({ stream });
    progress.tick(3, { loss: 1 });
    progress.done();
    expect(stream.output).toBe('');
  });

  it('ignores tick after done', () => {
    const stream = new CaptureStream(false);
    const progress = new Progress({ stream, clock: manualClock().read });
    progress.start(1, 'once');
    progress.done();
    const finished = stream.output;
    progress.tick(1);
    progress.done();
    expect(stream.output).toBe(finished);
  });
});

describe('Progress default stream', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('writes to stderr and never to stdout', () => {
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const progress = new Progress({ logInterval: 0, redrawInterval: 0 });
    progress.start(2, 'default stream');
    progress.tick(1, { loss: 0.5 });
    progress.log('note');
    progress.done();
    expect(stdout).not.toHaveBeenCalled();
    expect(stderr).toHaveBeenCalled();
  });
});

describe('Progress arguments', () => {
  const stream = new CaptureStream(false);
  const rejections: Array<[string, () => unknown, ErrorConstructor, string]> = [
    ['stream without write', () => new Progress({ stream: {} as never }), TypeError, 'options\\.stream'],
    ['negative log interval', () => new Progress({ stream, logInterval: -1 }), RangeError, 'options\\.logInterval'],
    ['clock not a function', () => new Progress({ stream, clock: 5 as never }), TypeError, 'options\\.clock'],
    ['negative total', () => new Progress({ stream }).start(-1, 'x'), RangeError, 'total'],
    ['fractional total', () => new Progress({ stream }).start(2.5, 'x'), RangeError, 'total'],
    ['empty label', () => new Progress({ stream }).start(1, ''), RangeError, 'label'],
    ['label not a string', () => new Progress({ stream }).start(1, 3 as never), TypeError, 'label'],
    ['negative steps', () => new Progress({ stream }).tick(-1), RangeError, 'steps'],
    ['field of wrong type', () => new Progress({ stream }).tick(1, { loss: [1] as never }), TypeError, 'fields\\.loss'],
    ['fields not an object', () => new Progress({ stream }).tick(1, 'loss' as never), TypeError, 'fields'],
    ['log message not a string', () => new Progress({ stream }).log(3 as never), TypeError, 'message'],
  ];
  for (const [name, call, errorClass, argument] of rejections) {
    it(`rejects: ${name}`, () => {
      let caught: unknown;
      try {
        call();
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(errorClass);
      expect((caught as { code?: string }).code).toBe(errorClass === TypeError ? 'ERR_INVALID_ARG_TYPE' : 'ERR_OUT_OF_RANGE');
      expect((caught as Error).message).toMatch(new RegExp(`^${argument} must`));
    });
  }
});

describe('progress formatting', () => {
  it('formats durations', () => {
    expect(formatDuration(0)).toBe('00:00');
    expect(formatDuration(59.4)).toBe('00:59');
    expect(formatDuration(61)).toBe('01:01');
    expect(formatDuration(3600 + 125)).toBe('1:02:05');
    expect(formatDuration(NaN)).toBe('--:--');
    expect(formatDuration(Infinity)).toBe('--:--');
  });

  it('formats rates in either direction', () => {
    expect(formatRate(12.345)).toBe('12.35 it/s');
    expect(formatRate(0.25)).toBe('4.00 s/it');
    expect(formatRate(0)).toBe('? it/s');
    expect(formatRate(NaN)).toBe('? it/s');
  });

  it('formats field values', () => {
    expect(formatField(0.123456)).toBe('0.1235');
    expect(formatField(42)).toBe('42');
    expect(formatField(0.00001234)).toBe('1.234e-5');
    expect(formatField(123456.7)).toBe('1.235e+5');
    expect(formatField(NaN)).toBe('NaN');
    expect(formatField('cuda:0')).toBe('cuda:0');
  });
});
