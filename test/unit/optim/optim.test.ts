// SPDX-License-Identifier: MIT

import { describe, expect, it } from 'vitest';
import { Adam, SGD, type AdamOptions, type SGDOptions } from '../../../lib/optim/index.js';
import { ones, tensor, tidy, type Tensor } from '../../../lib/tensor.js';
import { runPython, torchMissingReason } from '../models/python.js';

const START = [1, -2, 3];
const CENTRE = [0.5, -0.5, 2];

/** Runs `steps` optimizer steps on `sum((x - CENTRE)^2)` and returns x and the losses. */
function minimise(make: (params: Tensor[]) => Adam | SGD, steps: number): { x: number[]; losses: number[] } {
  const x = tensor(START, [3], { requiresGrad: true });
  const centre = tensor(CENTRE, [3]);
  const optimizer = make([x]);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    losses.push(
      tidy(() => {
        optimizer.zeroGrad();
        const loss = x.sub(centre).pow(2).sum();
        loss.backward();
        optimizer.step();
        return loss.item();
      }),
    );
  }
  return { x: Array.from(x.data() as Float32Array), losses };
}

describe('optimizers', () => {
  // Each row: name, factory.
  const cases: Array<[string, (params: Tensor[]) => Adam | SGD]> = [
    ['Adam', (p) => new Adam(p, { lr: 0.1 })],
    ['Adam with AMSGrad and weight decay', (p) => new Adam(p, { lr: 0.1, amsgrad: true, weightDecay: 1e-4 })],
    ['SGD', (p) => new SGD(p, { lr: 0.1 })],
    ['SGD with Nesterov momentum', (p) => new SGD(p, { lr: 0.05, momentum: 0.9, nesterov: true })],
  ];

  it.each(cases)('%s reduces a quadratic', (_name, make) => {
    const { losses } = minimise(make, 60);
    expect(losses[losses.length - 1]!).toBeLessThan(0.05 * losses[0]!);
  });

  it.skipIf(torchMissingReason !== null)(
    `Adam and SGD match PyTorch step for step${torchMissingReason ? ` (skipped: ${torchMissingReason})` : ''}`,
    () => {
      const script = `
import json, torch
def run(make):
    x = torch.tensor(${JSON.stringify(START)}, dtype=torch.float32, requires_grad=True)
    c = torch.tensor(${JSON.stringify(CENTRE)}, dtype=torch.float32)
    opt = make([x])
    for _ in range(5):
        opt.zero_grad()
        ((x - c) ** 2).sum().backward()
        opt.step()
    return x.tolist()
print(json.dumps([
    run(lambda p: torch.optim.Adam(p, lr=0.1, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01)),
    run(lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)),
]))
`;
      const [adam, sgd] = JSON.parse(runPython(script)) as [number[], number[]];
      const adamOptions: AdamOptions = { lr: 0.1, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.01 };
      const sgdOptions: SGDOptions = { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 };
      const ours = [minimise((p) => new Adam(p, adamOptions), 5).x, minimise((p) => new SGD(p, sgdOptions), 5).x];
      [adam!, sgd!].forEach((expected, row) => expected.forEach((value, i) => expect(ours[row]![i]).toBeCloseTo(value, 5)));
    },
  );

  it('changes the learning rate between steps', () => {
    const optimizer = new Adam([ones([1], { requiresGrad: true })], { lr: 0.1 });
    expect(optimizer.lr).toBeCloseTo(0.1, 10);
    optimizer.lr = 0.01;
    expect(optimizer.lr).toBeCloseTo(0.01, 10);
  });

  it('zeroGrad drops gradients', () => {
    const x = ones([2], { requiresGrad: true });
    const optimizer = new SGD([x], { lr: 0.1 });
    x.mul(3).sum().backward();
    expect(x.grad).not.toBeNull();
    optimizer.zeroGrad();
    expect(x.grad).toBeNull();
  });

  const leaf = (): Tensor => ones([1], { requiresGrad: true });
  // Each row: constructor call, error class, the argument the message must name.
  const rejections: Array<[string, () => unknown, typeof TypeError | typeof RangeError, RegExp]> = [
    ['an empty parameter list', () => new Adam([]), RangeError, /^params must be a non-empty/],
    ['parameters that are not tensors', () => new Adam([1] as unknown as Tensor[]), TypeError, /^params\[0\] must be/],
    ['a non-leaf parameter', () => new Adam([leaf().mul(2)]), RangeError, /^params\[0\] must be a leaf/],
    ['a repeated parameter', () => { const p = leaf(); return new Adam([p, p]); }, RangeError, /^params\[1\] must be/],
    ['a negative learning rate', () => new Adam([leaf()], { lr: -1 }), RangeError, /^options\.lr must be/],
    ['beta1 of 1', () => new Adam([leaf()], { betas: [1, 0.999] }), RangeError, /^options\.betas\[0\] must be in \[0, 1\)/],
    ['a negative beta2', () => new Adam([leaf()], { betas: [0.9, -0.1] }), RangeError, /^options\.betas\[1\] must be/],
    ['a negative eps', () => new Adam([leaf()], { eps: -1e-8 }), RangeError, /^options\.eps must be/],
    ['a negative weight decay', () => new Adam([leaf()], { weightDecay: -1 }), RangeError, /^options\.weightDecay must be/],
    ['SGD without a learning rate', () => new SGD([leaf()], {} as SGDOptions), TypeError, /^options\.lr must be/],
    ['SGD with negative momentum', () => new SGD([leaf()], { lr: 0.1, momentum: -0.5 }), RangeError, /^options\.momentum must be/],
    ['Nesterov without momentum', () => new SGD([leaf()], { lr: 0.1, nesterov: true }), RangeError, /^options\.nesterov must be/],
    ['an unknown Adam option', () => new Adam([leaf()], { learningRate: 0.1 } as unknown as AdamOptions), RangeError, /^options\.learningRate is not an option of Adam; expected lr, betas, eps, weightDecay or amsgrad$/],
    ['a misspelt SGD option', () => new SGD([leaf()], { lr: 0.1, momentun: 0.9 } as unknown as SGDOptions), RangeError, /^options\.momentun is not an option of SGD; .*\(did you mean momentum\?\)$/],
    ['Nesterov with dampening', () => new SGD([leaf()], { lr: 0.1, momentum: 0.9, dampening: 0.5, nesterov: true }), RangeError, /^options\.nesterov must be/],
  ];

  it.each(rejections)('rejects: %s', (_name, call, errorClass, message) => {
    expect(call).toThrow(errorClass);
    const code = errorClass === TypeError ? 'ERR_INVALID_ARG_TYPE' : 'ERR_OUT_OF_RANGE';
    expect(call).toThrow(expect.objectContaining({ code, message: expect.stringMatching(message) }));
  });
});
