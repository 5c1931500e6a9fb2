// SPDX-License-Identifier: MIT
//
// Test helpers: decode PNG bytes with pngjs and find pixels in the result.

import pngjs from 'pngjs';

export interface Decoded {
  width: number;
  height: number;
  /** RGB of pixel (x, y). */
  pixel(x: number, y: number): [number, number, number];
}

export function decodePng(bytes: Buffer): Decoded {
  const png = pngjs.PNG.sync.read(bytes);
  return {
    width: png.width,
    height: png.height,
    pixel(x, y) {
      const offset = 4 * (y * png.width + x);
      return [png.data[offset] as number, png.data[offset + 1] as number, png.data[offset + 2] as number];
    },
  };
}

export interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** Bounding box (inclusive) of the pixels for which `match` holds, or undefined when none do. */
export function findBox(image: Decoded, match: (rgb: [number, number, number]) => boolean, within?: Box): Box | undefined {
  const area = within ?? { left: 0, top: 0, right: image.width - 1, bottom: image.height - 1 };
  let box: Box | undefined;
  for (let y = area.top; y <= area.bottom; y++) {
    for (let x = area.left; x <= area.right; x++) {
      if (!match(image.pixel(x, y))) continue;
      if (!box) box = { left: x, top: y, right: x, bottom: y };
      box.left = Math.min(box.left, x);
      box.top = Math.min(box.top, y);
      box.right = Math.max(box.right, x);
      box.bottom = Math.max(box.bottom, y);
    }
  }
  return box;
}

export function sameRgb(a: readonly number[], b: readonly number[]): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}
