// SPDX-License-Identifier: MIT
//
// `using` frees an optimizer's state at the end of its block, as it does for tensors and modules.

import { describe, expect, it } from 'vitest';
import { UNet } from '../../../lib/models/unet.js';
import { Adam } from '../../../lib/optim/adam.js';
import { type Optimizer } from '../../../lib/optim/optimizer.js';
import { SGD } from '../../../lib/optim/sgd.js';

describe('optimizer with using', () => {
  for (const [kind, build] of [
    ['Adam', (model: UNet) => new Adam(model.parameters())],
    ['SGD', (model: UNet) => new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 })],
  ] as const) {
    it(`disposes ${kind} at the end of its block`, () => {
      const model = new UNet({ baseWidth: 4 });
      let escaped: Optimizer;
      {
        using optimizer = build(model);
        escaped = optimizer;
        expect(() => optimizer.step()).not.toThrow();
      }
      let error: (Error & { code?: string }) | undefined;
      try {
        escaped.step();
      } catch (caught) {
        error = caught as Error & { code?: string };
      }
      expect(error).toBeInstanceOf(Error);
      expect(error?.code).toBe('ERR_TENSOR_DISPOSED');
      model.dispose();
    });
  }
});
