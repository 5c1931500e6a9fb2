// SPDX-License-Identifier: MIT
//
// Freeing tensors and modules: dispose(), `using`, tidy(), and the errors that any later use of
// a disposed tensor or module throws.

import { describe, expect, it } from 'vitest';

import {
  Adam,
  Conv2d,
  DiceLoss,
  ReLU,
  Sequential,
  UNet,
  cat,
  functional,
  memoryStats,
  ones,
  tidy,
  trainModel,
  zeros,
  type Tensor,
} from '../../../lib/index.js';
import { liveTensorsAfterGc } from '../gc.js';

/** Calls `fn` and returns what it threw, or fails when it returned. */
function thrownBy(fn: () => unknown): Error & { code?: unknown } {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: unknown };
  }
  throw new Error('the call did not throw');
}

function expectModuleDisposed(fn: () => unknown, method: RegExp): void {
  const error = thrownBy(fn);
  expect(error.constructor).toBe(Error);
  expect(error.code).toBe('ERR_MODULE_DISPOSED');
  expect(error.message).toMatch(method);
}

function expectTensorDisposed(fn: () => unknown, name: RegExp): void {
  const error = thrownBy(fn);
  expect(error.constructor).toBe(Error);
  expect(error.code).toBe('ERR_TENSOR_DISPOSED');
  expect(error.message).toMatch(name);
}

describe('using', () => {
  it('finds the well-known Symbol.dispose', () => {
    expect(typeof Symbol.dispose).toBe('symbol');
    expect(typeof zeros([1])[Symbol.dispose]).toBe('function');
    expect(typeof new ReLU()[Symbol.dispose]).toBe('function');
  });

  it('disposes a tensor at the end of its block', () => {
    const before = memoryStats().liveTensors;
    let escaped: Tensor;
    {
      using x = zeros([4, 4]);
      escaped = x;
      expect(memoryStats().liveTensors).toBe(before + 1);
      expect(x.disposed).toBe(false);
    }
    expect(escaped.disposed).toBe(true);
    expect(memoryStats().liveTensors).toBe(before);
  });

  it('disposes a module at the end of its block', () => {
    let escaped: Conv2d;
    {
      using conv = new Conv2d(1, 2, 3);
      escaped = conv;
      expect(conv.weight.disposed).toBe(false);
    }
    expect(escaped.disposed).toBe(true);
    expectModuleDisposed(() => escaped.weight, /Conv2d\.getParameter/);
  });

  it('disposes when the block throws', () => {
    let escaped: Tensor | undefined;
    expect(() => {
      using x = ones([2]);
      escaped = x;
      throw new RangeError('inside the block');
    }).toThrow(/inside the block/);
    expect(escaped?.disposed).toBe(true);
  });
});

describe('tidy', () => {
  it('frees every tensor made inside except what it returns', () => {
    const before = memoryStats();
    const kept = tidy(() => {
      const a = ones([8]);
      const b = a.mul(2).add(1);
      return { sum: b.sum(), parts: [b.mean()] };
    });
    const after = memoryStats();
    expect(after.liveTensors).toBe(before.liveTensors + 2);
    expect(kept.sum.item()).toBe(24);
    expect(kept.parts[0]?.item()).toBe(3);
    kept.sum.dispose();
    kept.parts[0]?.dispose();
    expect(memoryStats()).toEqual(before);
  });

  it('frees the tensors of a callback that throws', () => {
    const before = memoryStats();
    expect(() =>
      tidy(() => {
        ones([16]).add(1);
        throw new Error('inside tidy');
      }),
    ).toThrow(/inside tidy/);
    expect(memoryStats()).toEqual(before);
  });
});

describe('disposed tensors', () => {
  it('fails: methods, properties and arguments after dispose', () => {
    const x = ones([2, 2]);
    const y = ones([2, 2]);
    x.dispose();
    expect(x.disposed).toBe(true);
    expect(String(x)).toBe('Tensor (disposed)');
    expectTensorDisposed(() => x.shape, /Tensor\.shape/);
    expectTensorDisposed(() => x.add(1), /add/);
    expectTensorDisposed(() => x.data(), /Tensor\.data/);
    expectTensorDisposed(() => y.add(x), /add/);
    expectTensorDisposed(() => cat([y, x]), /cat/);
    expectTensorDisposed(() => functional.relu(x), /relu/);
    expect(() => x.dispose()).not.toThrow();
    y.dispose();
  });
});

describe('tensors disposed during a call', () => {
  /** Returns `[first, second]` whose second element disposes `tensor` when it is read. */
  function disposingPair(tensor: Tensor, first: number, second: number): number[] {
    const pair = [first];
    Object.defineProperty(pair, 1, {
      get() {
        tensor.dispose();
        return second;
      },
      enumerable: true,
    });
    return pair;
  }

  it('finishes a call whose argument disposes the receiver', () => {
    const x = ones([4]);
    const y = x.reshape(disposingPair(x, 2, 2));
    expect(x.disposed).toBe(true);
    expect(y.shape).toEqual([2, 2]);
    expect(Array.from(y.data() as Float32Array)).toEqual([1, 1, 1, 1]);
    y.dispose();
  });

  it('finishes a reduction whose dims dispose the receiver', () => {
    const x = ones([2, 3]);
    const total = x.sum(disposingPair(x, 0, 1));
    expect(x.disposed).toBe(true);
    expect(total.item()).toBe(6);
    total.dispose();
  });
});

describe('disposed modules', () => {
  it('fails: every method that reaches the tensors', () => {
    const model = new Sequential(new Conv2d(1, 2, 3, { padding: 1 }), new ReLU());
    const conv = model.at(0) as Conv2d;
    const input = ones([1, 1, 4, 4]);
    model.dispose();
    expect(model.disposed).toBe(true);
    expect(conv.disposed).toBe(true);
    expectModuleDisposed(() => model.forward(input), /Sequential\.forward/);
    expectModuleDisposed(() => conv.forward(input), /Conv2d\.forward/);
    expectModuleDisposed(() => model.parameters(), /Sequential\.namedParameters/);
    expectModuleDisposed(() => model.buffers(), /Sequential\.namedBuffers/);
    expectModuleDisposed(() => model.to('cpu'), /Sequential\.to/);
    expectModuleDisposed(() => model.stateDict(), /Sequential\.stateDict/);
    expectModuleDisposed(() => model.loadStateDict(new Map()), /Sequential\.loadStateDict/);
    expectModuleDisposed(() => model.zeroGrad(), /Sequential\.zeroGrad/);
    expectModuleDisposed(() => model.train(), /Sequential\.train/);
    expectModuleDisposed(() => model.eval(), /Sequential\.train/);
    expectModuleDisposed(() => model.registerModule('extra', new ReLU()), /Sequential\.registerModule/);
    expect(() => model.dispose()).not.toThrow();
    input.dispose();
  });

  it('fails: a training step with a disposed model', async () => {
    const model = new UNet({ inChannels: 1, numClasses: 1, baseWidth: 2 });
    const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
    model.dispose();
    const batch = { images: new Float32Array(16 * 16), masks: new Float32Array(16 * 16), shape: [1, 1, 16, 16] };
    const error = await trainModel(model, [batch], optimizer, new DiceLoss(), 'cpu', 1).then(
      () => null,
      (reason: unknown) => reason as Error & { code?: unknown },
    );
    expect(error).toBeInstanceOf(Error);
    expect(error?.code).toBe('ERR_MODULE_DISPOSED');
    optimizer.dispose();
  });

  it('fails: an optimizer step after the model was disposed', () => {
    const model = new Conv2d(1, 1, 3);
    const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
    model.dispose();
    expectTensorDisposed(() => optimizer.step(), /Adam\.step: params\[0\] was disposed/);
    expectTensorDisposed(() => optimizer.zeroGrad(), /Adam\.zeroGrad: params\[0\] was disposed/);
    optimizer.dispose();
  });

  it('frees the parameters and buffers at once', async () => {
    const start = await liveTensorsAfterGc();
    const model = new UNet({ inChannels: 1, numClasses: 2, baseWidth: 2 });
    const held = memoryStats().liveTensors - start;
    expect(held).toBe(model.parameters().length + model.buffers().length);
    model.dispose();
    expect(memoryStats().liveTensors).toBe(start);
  });
});
