// SPDX-License-Identifier: MIT
//
// Argument checks and error codes added for calls that the property test of the exported
// surface (fuzz.test.ts) found throwing engine errors without a code or an argument name.

import { describe, expect, it } from 'vitest';

import {
  Adam,
  CheckpointError,
  DiceLoss,
  MedicalImageDataset,
  Module,
  NiftiError,
  Optimizer,
  Random,
  ReLU,
  SegmentationMetric,
  encodePng,
  functional,
  cat,
  init,
  insertSlice,
  normalizeIntensity,
  percentiles,
  renderPanels,
  tensor,
  zeros,
  type Tensor,
  resolveDevice,
  tidy,
  UNet,
  evaluateModel,
  predictVolume,
  selectVolume,
  toFloat32Array,
  volumeCount,
} from '../../../lib/index.js';

type ErrorClass = typeof Error | typeof TypeError | typeof RangeError;

function expectError(fn: () => unknown, errorClass: ErrorClass, code: string, message: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(errorClass);
  expect((thrown as Error).constructor).toBe(errorClass);
  expect((thrown as { code?: unknown }).code).toBe(code);
  expect((thrown as Error).message).toMatch(message);
}

/** {@link expectError} for a function that returns a Promise. */
async function expectRejection(fn: () => Promise<unknown>, errorClass: ErrorClass, code: string, message: RegExp): Promise<void> {
  let thrown: unknown;
  try {
    await fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(errorClass);
  expect((thrown as Error).constructor).toBe(errorClass);
  expect((thrown as { code?: unknown }).code).toBe(code);
  expect((thrown as Error).message).toMatch(message);
}

describe('encodePng', () => {
  it('encodes a valid image', () => {
    const png = encodePng({ width: 2, height: 1, data: new Uint8Array(6) });
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  });

  it('rejects: a missing image', () => {
    expectError(() => encodePng(undefined as never), TypeError, 'ERR_INVALID_ARG_TYPE', /^image must be an object/);
  });

  it('rejects: a bad width', () => {
    expectError(() => encodePng({ width: 0, height: 1, data: new Uint8Array(0) }), RangeError, 'ERR_OUT_OF_RANGE', /^image\.width must be/);
  });

  it('rejects: data that is not a Uint8Array', () => {
    expectError(() => encodePng({ width: 1, height: 1, data: [0, 0, 0] as never }), TypeError, 'ERR_INVALID_ARG_TYPE', /^image\.data must be a Uint8Array/);
  });

  it('rejects: data of the wrong length', () => {
    expectError(() => encodePng({ width: 2, height: 2, data: new Uint8Array(3) }), RangeError, 'ERR_OUT_OF_RANGE', /^image\.data must be 12 bytes/);
  });
});

describe('init.calculateFanInAndFanOut', () => {
  it('rejects: a missing shape', () => {
    expectError(() => init.calculateFanInAndFanOut(undefined as never), TypeError, 'ERR_INVALID_ARG_TYPE', /^shape must be an array/);
  });

  it('rejects: a shape with a fraction', () => {
    expectError(() => init.calculateFanInAndFanOut([2, 0.5]), TypeError, 'ERR_INVALID_ARG_TYPE', /^shape must be/);
  });
});

describe('init.skipInit', () => {
  it('returns what build returns', () => {
    expect(init.skipInit(() => 42)).toBe(42);
  });

  it('rejects: a build that is not a function', () => {
    expectError(() => init.skipInit(44 as never), TypeError, 'ERR_INVALID_ARG_TYPE', /^build must be a function; got 44/);
  });
});

describe('functional.checkPoolPadding', () => {
  it('accepts padding of half the kernel', () => {
    expect(() => functional.checkPoolPadding(1, [2, 3])).not.toThrow();
  });

  it('rejects: a missing padding', () => {
    expectError(() => functional.checkPoolPadding(undefined as never, 2), TypeError, 'ERR_INVALID_ARG_TYPE', /^padding must be/);
  });

  it('rejects: a bigint kernel size', () => {
    expectError(() => functional.checkPoolPadding(0, 2n as never), TypeError, 'ERR_INVALID_ARG_TYPE', /^kernelSize must be/);
  });

  it('rejects: padding above half the kernel', () => {
    expectError(() => functional.checkPoolPadding(2, 2), RangeError, 'ERR_OUT_OF_RANGE', /^padding must be at most half/);
  });
});

describe('Optimizer', () => {
  it('rejects: construction of the abstract class', () => {
    const construct = (): unknown => new (Optimizer as unknown as new () => object)();
    expectError(construct, TypeError, 'ERR_INVALID_ARG_TYPE', /^Optimizer must be a subclass/);
  });
});

describe('Random.shuffle', () => {
  it('rejects: a sparse array of 2^32 - 1 elements', () => {
    const sparse = Object.assign([], { length: 2 ** 32 - 1 });
    expectError(() => new Random(1).shuffle(sparse), RangeError, 'ERR_OUT_OF_RANGE', /^array must be an array of at most/);
  });
});

describe('error classes', () => {
  it('rejects: a NiftiError path that is not a string', () => {
    expectError(() => new NiftiError(5 as never, 'invalid'), TypeError, 'ERR_INVALID_ARG_TYPE', /^path must be a string/);
  });

  it('rejects: a CheckpointError reason that is not a string', () => {
    expectError(() => new CheckpointError('model.ckpt', [] as never), TypeError, 'ERR_INVALID_ARG_TYPE', /^reason must be a string/);
  });
});

describe('Module', () => {
  it('fails: forward of the base class with a code', () => {
    expectError(() => new Module().forward(), Error, 'ERR_NOT_IMPLEMENTED', /^Module\.forward is not implemented/);
  });

  it('rejects: a prefix that is not a string', () => {
    expectError(() => new ReLU().namedModules(5 as never), TypeError, 'ERR_INVALID_ARG_TYPE', /^prefix must be a string/);
  });

  it('rejects: a recurse flag that is not a boolean', () => {
    expectError(() => new ReLU().namedParameters('', 1 as never), TypeError, 'ERR_INVALID_ARG_TYPE', /^recurse must be a boolean/);
  });
});

describe('SegmentationMetric', () => {
  it('fails: compute before any update', () => {
    expectError(() => new SegmentationMetric().compute(), Error, 'ERR_INVALID_STATE', /needs at least one update/);
  });
});

describe('Adam', () => {
  it('rejects: a sparse parameter array of 2^32 - 1 elements', () => {
    const sparse = Object.assign([], { length: 2 ** 32 - 1 });
    expectError(() => new Adam(sparse), TypeError, 'ERR_INVALID_ARG_TYPE', /^params\[0\] must be a Tensor; got undefined/);
  });
});

describe('normalizeIntensity', () => {
  it('rejects: a bigint element in a plain array', () => {
    expectError(() => normalizeIntensity([1, 2n as never]), TypeError, 'ERR_INVALID_ARG_TYPE', /^data\[1\] must be a number; got 2/);
  });

  it('rejects: a sparse array as an element', () => {
    const element = Object.assign([], { length: 2 ** 32 - 1 });
    expectError(() => normalizeIntensity([0, element] as never), TypeError, 'ERR_INVALID_ARG_TYPE', /^data\[1\] must be a number; got an array of length 4294967295/);
  });

  it('rejects: an array-like claiming 10^15 elements', () => {
    expectError(() => normalizeIntensity({ length: 1e15 }), RangeError, 'ERR_OUT_OF_RANGE', /^data\.length must be a length that fits/);
  });
});

describe('resolveDevice', () => {
  it('rejects: a name that is not a string', () => {
    expectError(() => resolveDevice('cpu', Symbol('device') as never), TypeError, 'ERR_INVALID_ARG_TYPE', /^name must be a string/);
  });
});

describe('tidy', () => {
  it('rejects: a class as the callback', () => {
    expectError(() => tidy(class Work {} as never), TypeError, 'ERR_INVALID_ARG_TYPE', /^fn must be a function, not a class/);
  });
});

describe('sparse arrays', () => {
  // Each array claims 2^32 - 1 elements and has none, so a check that steps through every index
  // runs for minutes; the checks stop at the first hole instead.
  const sparse = (): unknown[] => Object.assign([], { length: 2 ** 32 - 1 });

  it('rejects: a sparse shape', () => {
    expectError(() => zeros(sparse() as number[]), TypeError, 'ERR_INVALID_ARG_TYPE', /^shape must be an array of non-negative integers/);
  });

  it('rejects: sparse tensor data', () => {
    expectError(() => tensor(sparse() as number[]), TypeError, 'ERR_INVALID_ARG_TYPE', /^data must be a typed array or an array of numbers; got an array of length 4294967295/);
  });

  it('rejects: a sparse tensor list', () => {
    expectError(() => cat(sparse() as Tensor[]), TypeError, 'ERR_INVALID_ARG_TYPE', /^tensors\[0\] must be a Tensor; got undefined/);
  });

  it('rejects: sparse percentiles', () => {
    expectError(() => percentiles([1, 2], sparse() as number[]), TypeError, 'ERR_INVALID_ARG_TYPE', /^ps\[0\] must be a number; got undefined/);
  });

  it('rejects: sparse dataset pairs', () => {
    expectError(() => new MedicalImageDataset(sparse() as never), TypeError, 'ERR_INVALID_ARG_TYPE', /^pairs\[0\] must be an object/);
  });

  it('rejects: sparse panels', () => {
    expectError(() => renderPanels(sparse() as never, 2, 2), TypeError, 'ERR_INVALID_ARG_TYPE', /^panels\[0\]/);
  });
});

describe('insertSlice', () => {
  it('rejects: sparse dims', () => {
    const dims = Object.assign([], { length: 2 ** 32 - 1 }) as number[];
    expectError(() => insertSlice(new Float32Array(1), dims, 'axial', 0, [0]), TypeError, 'ERR_INVALID_ARG_TYPE', /^dims\[0\] must be an integer; got undefined/);
  });
});

describe('volumeCount', () => {
  it('counts the volumes of valid dims', () => {
    expect(volumeCount([2, 3, 4, 5, 2])).toBe(10);
  });

  it('rejects: a number as dims', () => {
    expectError(() => volumeCount(5 as never), TypeError, 'ERR_INVALID_ARG_TYPE', /^dims must be an array of non-negative integers; got 5/);
  });

  it('rejects: undefined dims', () => {
    expectError(() => volumeCount(undefined as never), TypeError, 'ERR_INVALID_ARG_TYPE', /^dims must be an array/);
  });

  it('rejects: a bigint dim', () => {
    expectError(() => volumeCount([1, 2, 3, 2n] as never), TypeError, 'ERR_INVALID_ARG_TYPE', /^dims\[3\] must be an integer; got 2/);
  });

  it('rejects: a negative dim', () => {
    expectError(() => volumeCount([1, 2, 3, -1]), RangeError, 'ERR_OUT_OF_RANGE', /^dims\[3\] must be an integer >= 0; got -1/);
  });

  it('rejects: sparse dims', () => {
    const dims = Object.assign([], { length: 2 ** 32 - 1 }) as number[];
    expectError(() => volumeCount(dims), TypeError, 'ERR_INVALID_ARG_TYPE', /^dims\[0\] must be an integer; got undefined/);
  });
});

describe('selectVolume', () => {
  const volume = {
    data: new Int16Array(2 * 1 * 1 * 3).map((_, i) => i),
    dims: [2, 1, 1, 3],
    pixdim: [1, 1, 1, 2],
    affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
    datatype: 'int16',
  } as unknown as Parameters<typeof selectVolume>[0];

  it('selects a volume of a valid series', () => {
    expect(Array.from(selectVolume(volume, 2).data)).toEqual([4, 5]);
  });

  it('rejects: a null volume', () => {
    expectError(() => selectVolume(null as never, 0), TypeError, 'ERR_INVALID_ARG_TYPE', /^volume must be a NIfTI volume.*; got null/);
  });

  it('rejects: a typed array as the volume', () => {
    expectError(() => selectVolume(new Float32Array(4) as never, 0), TypeError, 'ERR_INVALID_ARG_TYPE', /^volume must be a NIfTI volume.*; got an instance of Float32Array/);
  });

  it('rejects: a volume without dims', () => {
    expectError(() => selectVolume({ ...volume, dims: undefined } as never, 0), TypeError, 'ERR_INVALID_ARG_TYPE', /^volume\.dims must be an array/);
  });

  it('rejects: a volume with two dims', () => {
    expectError(() => selectVolume({ ...volume, dims: [6, 1] }, 0), RangeError, 'ERR_OUT_OF_RANGE', /^volume\.dims must be an array of at least 3 dims/);
  });

  it('rejects: a plain array as data', () => {
    expectError(() => selectVolume({ ...volume, data: [0, 1] } as never, 0), TypeError, 'ERR_INVALID_ARG_TYPE', /^volume\.data must be a typed array/);
  });

  it('rejects: data shorter than the selected volume', () => {
    expectError(() => selectVolume({ ...volume, data: new Int16Array(5) }, 2), RangeError, 'ERR_OUT_OF_RANGE', /^volume\.data must be at least 6 voxels.*; got 5/);
  });

  it('rejects: an affine row that is not an array', () => {
    expectError(() => selectVolume({ ...volume, affine: [1, 2, 3, 4] } as never, 0), TypeError, 'ERR_INVALID_ARG_TYPE', /^volume\.affine\[0\] must be an array/);
  });
});

describe('toFloat32Array', () => {
  it('converts a plain array', () => {
    expect(Array.from(toFloat32Array([1, 2.5, -3]))).toEqual([1, 2.5, -3]);
  });

  it('rejects: undefined data', () => {
    expectError(() => toFloat32Array(undefined as never), TypeError, 'ERR_INVALID_ARG_TYPE', /^data must be a typed array or an array of numbers; got undefined/);
  });

  it('rejects: a bigint element in a plain array', () => {
    expectError(() => toFloat32Array([1, 2n] as never), TypeError, 'ERR_INVALID_ARG_TYPE', /^data\[1\] must be a number; got 2/);
  });

  it('rejects: a sparse array as an element', () => {
    // Converting the element to a number would join its 2^32 - 1 holes into one string.
    const element = Object.assign([], { length: 2 ** 32 - 1 });
    expectError(() => toFloat32Array([0, element] as never), TypeError, 'ERR_INVALID_ARG_TYPE', /^data\[1\] must be a number; got an array of length 4294967295/);
  });

  it('rejects: an array-like claiming 10^15 elements', () => {
    expectError(() => toFloat32Array({ length: 1e15 }), RangeError, 'ERR_OUT_OF_RANGE', /^data\.length must be a length that fits/);
  });

  it('rejects: a fractional length', () => {
    expectError(() => toFloat32Array({ length: 1.5 }), RangeError, 'ERR_OUT_OF_RANGE', /^data\.length must be a non-negative integer; got 1\.5/);
  });
});

describe('evaluateModel', () => {
  const model = new UNet({ inChannels: 1, numClasses: 1, baseWidth: 2 });

  it('rejects: a number as the loader', async () => {
    await expectRejection(() => evaluateModel(model, 5 as never, new DiceLoss(), 'cpu'), TypeError, 'ERR_INVALID_ARG_TYPE', /^loader must be an iterable/);
  });

  it('rejects: no arguments', async () => {
    await expectRejection(() => (evaluateModel as () => Promise<unknown>)(), TypeError, 'ERR_INVALID_ARG_TYPE', /^model must be a Module; got undefined/);
  });

  it('rejects: a loss that is neither a module nor a function', async () => {
    await expectRejection(() => evaluateModel(model, [], 3 as never, 'cpu'), TypeError, 'ERR_INVALID_ARG_TYPE', /^lossFn must be a loss module/);
  });

  it('rejects: an unknown option', async () => {
    await expectRejection(() => evaluateModel(model, [], new DiceLoss(), 'cpu', { signl: undefined } as never), RangeError, 'ERR_OUT_OF_RANGE', /^options\.signl is not an option of evaluateModel/);
  });

  it('rejects: a signal that is not an AbortSignal', async () => {
    await expectRejection(() => evaluateModel(model, [], new DiceLoss(), 'cpu', { signal: 1 as never }), TypeError, 'ERR_INVALID_ARG_TYPE', /^options\.signal must be an AbortSignal/);
  });
});

describe('predictVolume', () => {
  it('rejects: sparse slices of 2^32 - 1 elements', async () => {
    const model = new UNet({ inChannels: 1, numClasses: 1, baseWidth: 2 });
    const volume = { data: new Float32Array(8 * 8 * 2), dims: [8, 8, 2] };
    const slices = Object.assign([], { length: 2 ** 32 - 1 }) as number[];
    await expectRejection(() => predictVolume(model, volume, { slices }), TypeError, 'ERR_INVALID_ARG_TYPE', /^options\.slices\[0\] must be an integer; got undefined/);
  });
});
