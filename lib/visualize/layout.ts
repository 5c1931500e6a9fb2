// SPDX-License-Identifier: MIT
//
// Rasterisation behind renderPanels and renderMontage: one 2D slice to a tile (windowed grey
// levels, mask overlay, flips and nearest-neighbour zoom), and tiles to a titled grid.
// Inputs arrive validated by png.ts.

import type { RgbImage } from './canvas.js';
import { createImage, setPixel } from './canvas.js';
import type { IntensityWindow, Rgb } from './colors.js';
import { blendChannel, greyLevel, Palette } from './colors.js';
import { drawText, measureText } from './font.js';

/** Numeric typed arrays accepted as slice and volume data. */
export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array;

/** Display settings that turn one slice into a tile. */
export interface TileStyle {
  zoom: number;
  flipVertical: boolean;
  flipHorizontal: boolean;
  maskThreshold: number;
  maskAlpha: number;
  outline: boolean;
}

/** Content of one tile: a greyscale `base`, a `mask`, or a mask overlaid on a base. */
export interface TileContent {
  base?: NumericArray | undefined;
  window: IntensityWindow;
  mask?: NumericArray | undefined;
  maskColor: Rgb;
}

/**
 * Renders a `height` x `width` slice, stored row-major, as a `zoom`-times larger RGB tile.
 * A base alone is drawn in grey. A mask over a base blends `maskColor` with opacity `maskAlpha`
 * into the pixels where the mask exceeds `maskThreshold`, and with `outline` also draws the
 * mask's boundary opaque. A mask without a base is drawn as a binary image.
 */
export function renderTile(height: number, width: number, content: TileContent, style: TileStyle): RgbImage {
  const { zoom } = style;
  const tile = createImage(width * zoom, height * zoom, Palette.maskBackground);

  // Source index of a tile pixel after flips and zoom, or -1 outside the tile.
  const sourceIndex = (x: number, y: number): number => {
    if (x < 0 || y < 0 || x >= tile.width || y >= tile.height) return -1;
    const row = Math.floor(y / zoom);
    const column = Math.floor(x / zoom);
    const sourceRow = style.flipVertical ? height - 1 - row : row;
    const sourceColumn = style.flipHorizontal ? width - 1 - column : column;
    return sourceRow * width + sourceColumn;
  };
  const { base, mask, window, maskColor } = content;
  const inMask = (index: number): boolean => mask !== undefined && index >= 0 && (mask[index] as number) > style.maskThreshold;

  for (let y = 0; y < tile.height; y++) {
    for (let x = 0; x < tile.width; x++) {
      const index = sourceIndex(x, y);
      const foreground = inMask(index);
      if (base === undefined) {
        setPixel(tile, x, y, foreground ? Palette.maskForeground : Palette.maskBackground);
        continue;
      }
      const grey = greyLevel(base[index] as number, window);
      if (!foreground) {
        setPixel(tile, x, y, [grey, grey, grey]);
        continue;
      }
      const onBoundary =
        style.outline &&
        !(inMask(sourceIndex(x - 1, y)) && inMask(sourceIndex(x + 1, y)) && inMask(sourceIndex(x, y - 1)) && inMask(sourceIndex(x, y + 1)));
      const alpha = onBoundary ? 1 : style.maskAlpha;
      setPixel(tile, x, y, [
        blendChannel(grey, maskColor[0], alpha),
        blendChannel(grey, maskColor[1], alpha),
        blendChannel(grey, maskColor[2], alpha),
      ]);
    }
  }
  return tile;
}

/** Text and spacing of a grid of tiles. */
export interface GridStyle {
  fontScale: number;
  background: Rgb;
  textColor: Rgb;
  /** Line drawn above the grid, if any. */
  header?: string | undefined;
  /** Line drawn below the grid, if any. */
  footer?: string | undefined;
}

/**
 * Arranges tiles of equal size in a grid of `columns` columns, each under a title bar with its
 * title centred, between an optional header and footer line. The picture widens to fit the
 * longest title, header or footer, so no text is cut off.
 */
export function composeGrid(tiles: ReadonlyArray<{ title: string; image: RgbImage }>, columns: number, style: GridStyle): RgbImage {
  const scale = style.fontScale;
  const padding = 3 * scale;
  const textHeight = measureText('', scale).height;
  const lineBand = textHeight + 2 * padding;

  const tileWidth = Math.max(...tiles.map((tile) => tile.image.width));
  const tileHeight = Math.max(...tiles.map((tile) => tile.image.height));
  const titleWidth = Math.max(...tiles.map((tile) => measureText(tile.title, scale).width));
  const cellWidth = Math.max(tileWidth, titleWidth + 2 * padding);
  const cellHeight = lineBand + tileHeight;
  const rows = Math.ceil(tiles.length / columns);
  const gridWidth = columns * cellWidth + (columns - 1) * padding;
  const gridHeight = rows * cellHeight + (rows - 1) * padding;

  const headerWidth = style.header ? measureText(style.header, scale).width : 0;
  const footerWidth = style.footer ? measureText(style.footer, scale).width : 0;
  const width = 2 * padding + Math.max(gridWidth, headerWidth, footerWidth);
  const headerBand = style.header ? lineBand : 0;
  const footerBand = style.footer ? lineBand : padding;
  const height = headerBand + gridHeight + footerBand;
  const canvas = createImage(width, height, style.background);

  if (style.header) drawText(canvas, style.header, padding, padding, style.textColor, scale);
  const gridLeft = Math.floor((width - gridWidth) / 2);
  tiles.forEach((tile, i) => {
    const cellLeft = gridLeft + (i % columns) * (cellWidth + padding);
    const cellTop = headerBand + Math.floor(i / columns) * (cellHeight + padding);
    const titleLeft = cellLeft + Math.floor((cellWidth - measureText(tile.title, scale).width) / 2);
    drawText(canvas, tile.title, titleLeft, cellTop + padding, style.textColor, scale);
    const imageLeft = cellLeft + Math.floor((cellWidth - tile.image.width) / 2);
    blit(canvas, tile.image, imageLeft, cellTop + lineBand);
  });
  if (style.footer) drawText(canvas, style.footer, padding, headerBand + gridHeight + padding, style.textColor, scale);
  return canvas;
}

function blit(target: RgbImage, source: RgbImage, left: number, top: number): void {
  for (let y = 0; y < source.height; y++) {
    const from = 3 * y * source.width;
    target.data.set(source.data.subarray(from, from + 3 * source.width), 3 * ((top + y) * target.width + left));
  }
}
