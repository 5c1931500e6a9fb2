// SPDX-License-Identifier: MIT
//
// A minimal RGB raster that the panel renderer draws into and the PNG encoder reads.

import type { Rgb } from './colors.js';

/** An 8-bit RGB image: `data[3 * (y * width + x) + c]` is channel `c` of pixel (x, y), row 0 at the top. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** Allocates a `width` x `height` image filled with `fill`. */
export function createImage(width: number, height: number, fill: Rgb): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i += 3) {
    data[i] = fill[0];
    data[i + 1] = fill[1];
    data[i + 2] = fill[2];
  }
  return { width, height, data };
}

/** Sets pixel (x, y) to `color`. Pixels outside the image are skipped. */
export function setPixel(image: RgbImage, x: number, y: number, color: Rgb): void {
  if (x < 0 || y < 0 || x >= image.width || y >= image.height) return;
  const offset = 3 * (y * image.width + x);
  image.data[offset] = color[0];
  image.data[offset + 1] = color[1];
  image.data[offset + 2] = color[2];
}

