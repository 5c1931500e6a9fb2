// SPDX-License-Identifier: MIT
//
// Batching and shuffling of dataset slices, in the manner of torch.utils.data.DataLoader.

import { ErrorCode, withCode } from '../errors.js';
import { checkBoolean, checkInt, checkOptions, typeError } from '../validate.js';
import { MedicalImageDataset, type DatasetItem, type SliceRef } from './dataset.js';
import { Random } from './random.js';

/** Options of {@link DataLoader}. */
export interface DataLoaderOptions {
  /** Slices per batch (default 1). */
  batchSize?: number;
  /** Reorder the slices every epoch (default false). */
  shuffle?: boolean;
  /** Seed of the shuffling and augmentation order (default: random, readable as `loader.seed`). */
  seed?: number;
  /** Drop the last batch when it is smaller than `batchSize` (default false). */
  dropLast?: boolean;
}

/** A batch of slices in NCHW layout. */
export interface Batch {
  /** [B, 1, H, W] image values, row-major. */
  images: Float32Array;
  /** [B, 1, H, W] labels, or null when the dataset has no masks. */
  masks: Float32Array | null;
  /** [B, 1, H, W]. */
  shape: [number, number, number, number];
  /** Volume and slice of each of the B slices, in batch order. */
  items: SliceRef[];
}

/**
 * Iterates over a {@link MedicalImageDataset} in batches, synchronously (`for ... of`) or
 * asynchronously (`for await ... of`, which reads files without blocking and prepares the next
 * batch while the current one is in use).
 *
 * Each new iteration is one epoch. With `shuffle`, the volume order is shuffled, and then the
 * slices are shuffled within consecutive windows of `dataset.cacheSize` volumes, so each volume
 * is loaded once per epoch even though the dataset holds only `cacheSize` volumes at a time.
 * Epoch e's order and augmentation depend only on the seed and e. Every slice of an epoch has
 * the same height and width within a batch, or the batch throws a RangeError.
 *
 * @example
 * const loader = new DataLoader(dataset, { batchSize: 8, shuffle: true, seed: 1 });
 * for await (const { images, masks, shape } of loader) {
 *   // shape is [8, 1, H, W], except perhaps for the last batch
 * }
 * @see https://pytorch.org/docs/stable/data.html#torch.utils.data.DataLoader
 */
export class DataLoader implements Iterable<Batch>, AsyncIterable<Batch> {
  readonly dataset: MedicalImageDataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  /** The seed in use: `options.seed`, or the random one drawn when it was omitted. */
  readonly seed: number;
  readonly #root: Random;
  #epoch = 0;

  /**
   * @throws {TypeError} code `ERR_INVALID_ARG_TYPE` when `dataset` is not a MedicalImageDataset or an
   *   option has the wrong type.
   * @throws {RangeError} code `ERR_OUT_OF_RANGE` for a batch size below 1 or a negative seed.
   */
  constructor(dataset: MedicalImageDataset, options?: DataLoaderOptions) {
    if (!(dataset instanceof MedicalImageDataset)) throw typeError('dataset', 'a MedicalImageDataset', dataset);
    const opts = checkOptions<DataLoaderOptions>('options', options);
    this.dataset = dataset;
    this.batchSize = checkInt('options.batchSize', opts.batchSize ?? 1, 1);
    this.shuffle = checkBoolean('options.shuffle', opts.shuffle ?? false);
    this.dropLast = checkBoolean('options.dropLast', opts.dropLast ?? false);
    this.#root = new Random(opts.seed);
    this.seed = this.#root.seed;
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Number of epochs started so far; the next iteration is epoch `epoch`. */
  get epoch(): number {
    return this.#epoch;
  }

  /**
   * Dataset indices in the order that epoch `epoch` visits them (all of them, before
   * `dropLast` applies).
   */
  order(epoch: number): number[] {
    checkInt('epoch', epoch, 0);
    const indices = Array.from({ length: this.dataset.length }, (_, i) => i);
    if (!this.shuffle) return indices;
    const rng = this.#root.derive(epoch).derive(0);

    const byVolume = new Map<number, number[]>();
    for (const index of indices) {
      const { volumeIndex } = this.dataset.entry(index);
      const list = byVolume.get(volumeIndex);
      if (list) list.push(index);
      else byVolume.set(volumeIndex, [index]);
    }
    const volumes = rng.shuffle([...byVolume.keys()]);
    const order: number[] = [];
    for (let start = 0; start < volumes.length; start += this.dataset.cacheSize) {
      const window = volumes.slice(start, start + this.dataset.cacheSize).flatMap((volume) => byVolume.get(volume)!);
      order.push(...rng.shuffle(window));
    }
    return order;
  }

  *[Symbol.iterator](): Iterator<Batch> {
    const { order, augmentRng } = this.#startEpoch();
    for (let batch = 0; batch < this.length; batch++) {
      const indices = this.#batchIndices(order, batch);
      yield collate(indices.map((index) => this.dataset.get(index, augmentRng.derive(index))));
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Batch> {
    const { order, augmentRng } = this.#startEpoch();
    const load = async (batch: number): Promise<Batch> => {
      const items: DatasetItem[] = [];
      // One item at a time, so that a batch spanning two volumes never needs more volumes than the cache keeps.
      for (const index of this.#batchIndices(order, batch))
        items.push(await this.dataset.getAsync(index, augmentRng.derive(index)));
      return collate(items);
    };
    let next: Promise<Batch> | null = this.length > 0 ? load(0) : null;
    for (let batch = 0; next !== null; batch++) {
      const current = await next;
      // Start the next batch only now, so that two batches never load at once, and let it run
      // while the consumer works on this one.
      next = batch + 1 < this.length ? load(batch + 1) : null;
      // Mark the prefetch as handled, because when the consumer stops early no code awaits it.
      next?.catch(() => undefined);
      yield current;
    }
  }

  #startEpoch(): { order: number[]; augmentRng: Random } {
    const epoch = this.#epoch++;
    return { order: this.order(epoch), augmentRng: this.#root.derive(epoch).derive(1) };
  }

  #batchIndices(order: number[], batch: number): number[] {
    return order.slice(batch * this.batchSize, (batch + 1) * this.batchSize);
  }
}

/** Stacks items into one batch; they must share height and width and all have masks or none. */
function collate(items: DatasetItem[]): Batch {
  const first = items[0]!;
  const { height, width } = first;
  const plane = height * width;
  for (const item of items) {
    if (item.height !== height || item.width !== width) {
      throw batchError(
        `slices of one batch must have the same height and width, but slice ${first.sliceIndex} of volume ` +
          `${first.volumeIndex} is ${height} x ${width} and slice ${item.sliceIndex} of volume ` +
          `${item.volumeIndex} is ${item.height} x ${item.width}; use volumes of equal size along the ` +
          'slicing plane, or batchSize 1',
      );
    }
    if ((item.mask === null) !== (first.mask === null)) {
      throw batchError('slices of one batch must all have masks or all have none; give every pair a mask, or none');
    }
  }
  const images = new Float32Array(items.length * plane);
  const masks = first.mask === null ? null : new Float32Array(items.length * plane);
  items.forEach((item, i) => {
    images.set(item.image, i * plane);
    masks?.set(item.mask!, i * plane);
  });
  return {
    images,
    masks,
    shape: [items.length, 1, height, width],
    items: items.map(({ volumeIndex, sliceIndex }) => ({ volumeIndex, sliceIndex })),
  };
}

function batchError(reason: string): RangeError {
  return withCode(new RangeError(`DataLoader: ${reason}`), ErrorCode.OUT_OF_RANGE);
}
