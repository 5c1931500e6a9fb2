// SPDX-License-Identifier: MIT
//
// The benchmark harness's argument parsing, case plan, statistics and tables, on fixed inputs.
// No benchmark runs here.

import { describe, expect, it } from 'vitest';

import {
  ResultsFileError,
  UsageError,
  markdownTable,
  median,
  parseArgs,
  parseResults,
  plainTable,
  planCases,
  ratio,
  relativeDifference,
  replaceSection,
  verdict,
} from '../../../scripts/bench/lib.mjs';

/** Asserts that parsing `argv` throws a UsageError with `code` whose message names `name`. */
function expectUsageError(argv: string[], code: string, name: string): void {
  const call = () => parseArgs(argv);
  expect(call).toThrow(UsageError);
  expect(call).toThrow(expect.objectContaining({ code }));
  expect(call).toThrow(name);
}

describe('parseArgs', () => {
  it('uses the defaults without arguments', () => {
    const options = parseArgs([]);
    expect(options.quick).toBe(false);
    expect(options.repeats).toBe(2);
    expect(options.cases).toEqual([1, 2, 3, 4]);
    expect(options.write).toBe(true);
    expect(options.markdown).toBe(false);
    expect(options.help).toBe(false);
  });

  it('lowers the repeats for --quick', () => {
    expect(parseArgs(['--quick']).repeats).toBe(1);
    expect(parseArgs(['--quick', '--repeats', '4']).repeats).toBe(4);
  });

  it('reads values after a space or an equals sign', () => {
    expect(parseArgs(['--repeats', '5']).repeats).toBe(5);
    expect(parseArgs(['--repeats=2']).repeats).toBe(2);
    expect(parseArgs(['--cases=2']).cases).toEqual([2]);
  });

  it('reads the file for --from-json', () => {
    expect(parseArgs([]).fromJson).toBeNull();
    expect(parseArgs(['--from-json', 'out/run.json']).fromJson).toBe('out/run.json');
  });

  it('sorts cases and drops duplicates', () => {
    expect(parseArgs(['--cases', '3,1, 3']).cases).toEqual([1, 3]);
  });

  it('reads the switches', () => {
    const options = parseArgs(['--no-write', '--markdown', '--help']);
    expect(options.write).toBe(false);
    expect(options.markdown).toBe(true);
    expect(options.help).toBe(true);
  });

  it.each([
    ['zero', ['--repeats', '0']],
    ['a word', ['--repeats', 'many']],
    ['a fraction', ['--repeats', '1.5']],
    ['too many', ['--repeats', '51']],
  ])('rejects: --repeats given %s', (_case, argv) => {
    expectUsageError(argv, 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE', '--repeats');
  });

  it('rejects: --repeats without a value', () => {
    expectUsageError(['--repeats'], 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE', '--repeats');
  });

  it.each([
    ['an unknown case', '1,5'],
    ['an empty entry', '1,,2'],
    ['a name', 'training'],
  ])('rejects: --cases with %s', (_case, value) => {
    expectUsageError(['--cases', value], 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE', '--cases');
  });

  it('rejects: --from-json without a file', () => {
    expectUsageError(['--from-json'], 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE', '--from-json');
  });

  it('rejects: an unknown option', () => {
    expectUsageError(['--fast'], 'ERR_PARSE_ARGS_UNKNOWN_OPTION', '--fast');
  });

  it.each([
    ['--repeats', ['--repeats', '--quick']],
    ['--cases', ['--cases', '--no-write']],
    ['--cases', ['--cases']],
    ['--from-json', ['--from-json', '--markdown']],
  ])('rejects: %s followed by another option', (name, argv) => {
    expectUsageError(argv, 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE', name);
  });

  it('rejects: a stray word', () => {
    expectUsageError(['--quick', 'stray'], 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL', 'unexpected argument `stray`');
  });
});

describe('parseResults', () => {
  const complete = { train: [], predict: [], data: null, setup: {}, meta: { argv: [] } };

  it('returns complete results', () => {
    expect(parseResults('run.json', JSON.stringify(complete))).toEqual(complete);
  });

  it.each([
    ['bad JSON', '{', /^run\.json: is not valid JSON/],
    ['an array', '[]', /^run\.json: does not contain a JSON object/],
    ['an empty object', '{}', /^run\.json: is missing train \(an array\), predict/],
    ['no meta', JSON.stringify({ ...complete, meta: undefined }), /^run\.json: is missing meta\.argv/],
  ])('rejects: %s', (_case, text, message) => {
    const call = () => parseResults('run.json', text);
    expect(call).toThrow(ResultsFileError);
    expect(call).toThrow(message);
  });
});

describe('planCases', () => {
  it('plans every configuration of the full run', () => {
    const plan = planCases({ quick: false, cases: [1, 2, 3, 4] });
    expect(plan.train.map((c) => [c.width, ...c.size, c.batch])).toEqual([
      [64, 256, 256, 1],
      [64, 128, 128, 4],
      [16, 128, 128, 8],
    ]);
    expect(plan.predict.map((c) => [c.width, c.batchSize, c.sliceCount])).toEqual([
      [16, 4, null],
      [64, 4, 4],
    ]);
    expect(plan.data).toEqual({ width: 16, batchSize: 8, sliceCount: 64, epochs: 2 });
  });

  it('keeps one width-64 configuration for --quick', () => {
    const plan = planCases({ quick: true, cases: [1, 2, 3, 4] });
    expect(plan.train.map((c) => c.width)).toEqual([64, 16]);
    expect(plan.predict.map((c) => c.width)).toEqual([16]);
    expect(plan.data?.sliceCount).toBe(16);
  });

  it('runs the training and prediction children for case 4 alone', () => {
    const plan = planCases({ quick: false, cases: [4] });
    expect(plan.train).toHaveLength(3);
    expect(plan.predict).toHaveLength(2);
    expect(plan.data).toBeNull();
  });

  it('plans only the data path for case 3', () => {
    const plan = planCases({ quick: false, cases: [3] });
    expect(plan.train).toEqual([]);
    expect(plan.predict).toEqual([]);
    expect(plan.data).not.toBeNull();
  });

  it('warms up every training configuration', () => {
    for (const config of planCases({ quick: true, cases: [1] }).train) {
      expect(config.warmup).toBeGreaterThanOrEqual(1);
      expect(config.iterations).toBeGreaterThanOrEqual(1);
    }
  });
});

describe('median', () => {
  it('takes the middle of an odd count', () => {
    expect(median([5, 1, 3])).toBe(3);
  });

  it('averages the middle two of an even count', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('leaves its input unsorted', () => {
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });

  it('rejects: an empty list', () => {
    expect(() => median([])).toThrow(RangeError);
    expect(() => median([])).toThrow('values');
  });
});

describe('ratio', () => {
  it('divides medunet by PyTorch for throughput', () => {
    expect(ratio(30, 20, 'higher')).toBe(1.5);
  });

  it('divides PyTorch by medunet for memory', () => {
    expect(ratio(400, 200, 'lower')).toBe(0.5);
  });

  it('rejects: an unknown direction', () => {
    expect(() => ratio(1, 1, 'up')).toThrow(RangeError);
    expect(() => ratio(1, 1, 'up')).toThrow('better');
  });
});

describe('verdict', () => {
  it('passes a value at the lower bound', () => {
    expect(verdict(3, { atLeast: 3 })).toBe('PASS');
    expect(verdict(2.99, { atLeast: 3 })).toBe('MISS');
  });

  it('misses a value at the upper bound', () => {
    expect(verdict(0.049, { below: 0.05 })).toBe('PASS');
    expect(verdict(0.05, { below: 0.05 })).toBe('MISS');
  });

  it('shows a dash for a missing value', () => {
    expect(verdict(null, { atLeast: 1 })).toBe('-');
    expect(verdict(Number.NaN, { atLeast: 1 })).toBe('-');
  });
});

describe('relativeDifference', () => {
  it('scales by the larger magnitude', () => {
    expect(relativeDifference(0.5, 0.4)).toBeCloseTo(0.2, 12);
    expect(relativeDifference(-2, 2)).toBe(2);
  });

  it('is 0 for two zeros', () => {
    expect(relativeDifference(0, 0)).toBe(0);
  });
});

describe('tables', () => {
  it('right-aligns marked Markdown columns', () => {
    const text = markdownTable(['name', '>value'], [['a', '1.00']]);
    expect(text).toBe('| name | value |\n| --- | ---: |\n| a | 1.00 |');
  });

  it('pads plain-text columns', () => {
    const text = plainTable(['name', '>value'], [['long name', '1'], ['b', '22.5']]);
    expect(text.split('\n')).toEqual(['name       value', '---------  -----', 'long name      1', 'b           22.5']);
  });
});

describe('replaceSection', () => {
  const start = '<!-- s -->';
  const end = '<!-- e -->';

  it('replaces the text between the markers', () => {
    const document = `# Title\n\n${start}\nold\n${end}\n\nafter\n`;
    expect(replaceSection(document, start, end, 'new\n')).toBe(`# Title\n\n${start}\nnew\n${end}\n\nafter\n`);
  });

  it('appends the block when the markers are missing', () => {
    expect(replaceSection('# Title\n', start, end, 'new')).toBe(`# Title\n\n${start}\nnew\n${end}\n`);
  });
});
