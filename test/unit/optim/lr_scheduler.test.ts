// SPDX-License-Identifier: MIT

import { describe, expect, it } from 'vitest';
import { Adam, CosineAnnealingLR } from '../../../lib/optim/index.js';
import { tensor } from '../../../lib/tensor.js';
import { runPython, torchMissingReason } from '../models/python.js';

function adam(lr: number): Adam {
  return new Adam([tensor([1, 2], [2], { requiresGrad: true })], { lr });
}

describe('CosineAnnealingLR', () => {
  it('starts at the base rate and reaches etaMin at tMax', () => {
    const optimizer = adam(0.1);
    const scheduler = new CosineAnnealingLR(optimizer, 4, 0.01);
    expect(optimizer.lr).toBeCloseTo(0.1, 12);
    scheduler.step();
    scheduler.step();
    expect(scheduler.lastEpoch).toBe(2);
    expect(optimizer.lr).toBeCloseTo(0.055, 12);
    scheduler.step();
    scheduler.step();
    expect(scheduler.getLastLr()).toHaveLength(1);
    expect(scheduler.getLastLr()[0]).toBeCloseTo(0.01, 12);
  });

  it('matches PyTorch step for step', { skip: torchMissingReason ?? false }, () => {
    const optimizer = adam(0.003);
    const scheduler = new CosineAnnealingLR(optimizer, 7, 1e-4);
    const ours: number[] = [];
    for (let i = 0; i < 10; i++) {
      scheduler.step();
      ours.push(optimizer.lr);
    }
    const output = runPython(`
import json, torch
p = torch.nn.Parameter(torch.zeros(1))
opt = torch.optim.Adam([p], lr=0.003)
s = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=7, eta_min=1e-4)
lrs = []
for _ in range(10):
    opt.step()
    s.step()
    lrs.append(s.get_last_lr()[0])
print(json.dumps(lrs))
`);
    const theirs = JSON.parse(output) as number[];
    expect(theirs).toHaveLength(10);
    // The addon stores lr as a double, so only float rounding of the formula can differ.
    theirs.forEach((lr, i) => expect(ours[i]).toBeCloseTo(lr, 10));
  });

  it('rejects: tMax of zero', () => {
    expect(() => new CosineAnnealingLR(adam(0.1), 0)).toThrow(RangeError);
    expect(() => new CosineAnnealingLR(adam(0.1), 0)).toThrow(/tMax/);
  });

  it('rejects: something other than an optimizer', () => {
    let caught: unknown;
    try {
      new CosineAnnealingLR({ lr: 0.1 } as never, 5);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TypeError);
    expect((caught as { code: string }).code).toBe('ERR_INVALID_ARG_TYPE');
    expect((caught as Error).message).toMatch(/optimizer/);
  });
});
