// SPDX-License-Identifier: MIT
//
// A dataset of 2D slices cut from (image, mask) volume pairs, loading volumes on demand and
// holding at most `cacheSize` of them at once.

import { ErrorCode, NiftiError, withCode } from '../errors.js';
import { checkBoolean, checkEach, checkInt, checkOneOf, checkOptions, rangeError, typeError } from '../validate.js';
import { RandomAugment } from './augment.js';
import { readNifti, readNiftiAsync, readNiftiHeader, toFloat32Array, type NiftiVolume } from './nifti.js';
import { normalizeIntensity } from './normalize.js';
import { Random } from './random.js';
import { extractSlice, resolveAxis, spatialDims, type Axis } from './slices.js';

/** One image volume, its optional mask, and optionally the slice indices to use. */
export interface VolumePair {
  /** Path of a NIfTI file, or a volume already in memory. */
  image: string | NiftiVolume;
  /** Path or volume of the labels, with the image's spatial dims; omit for unlabelled data. */
  mask?: string | NiftiVolume | null;
  /** Slice indices along the dataset's axis, in this order (default: all). */
  slices?: readonly number[];
}

/** Options of {@link MedicalImageDataset}. */
export interface MedicalImageDatasetOptions {
  /** Slicing axis (default 'axial'). */
  axis?: Axis;
  /** Per-volume intensity normalisation after loading: see `normalizeIntensity` (default 'minmax'). */
  normalize?: 'minmax' | 'zscore' | 'none';
  /** 'binary' maps every mask value > 0 to 1; 'labels' keeps the values (default 'binary'). */
  maskMode?: 'binary' | 'labels';
  /** Pad height and width with zeros up to a multiple of this (default 1, no padding). */
  padMultiple?: number;
  /** Drop slices whose mask is all zero; needs a mask for every pair and reads each mask once (default false). */
  skipEmpty?: boolean;
  /** Augmentation applied in `get`, or null (default null). */
  transform?: RandomAugment | null;
  /** Largest number of decoded volumes held at once (default 2). */
  cacheSize?: number;
  /** Seed of the generator that `get` uses for `transform` when no generator is passed (default: random). */
  seed?: number;
}

/** One slice of the dataset. */
export interface DatasetItem {
  /** [1, height, width] normalised intensities, row-major. */
  image: Float32Array;
  /** [1, height, width] labels, or null for a pair without a mask. */
  mask: Float32Array | null;
  /** Rows and columns after padding. */
  height: number;
  width: number;
  /** Rows and columns of the slice before padding; the slice occupies the top-left corner. */
  originalHeight: number;
  originalWidth: number;
  /** Index into the `pairs` given to the constructor. */
  volumeIndex: number;
  /** Index of the slice along the dataset's axis. */
  sliceIndex: number;
}

/** A dataset item's position: which volume and which slice. */
export interface SliceRef {
  volumeIndex: number;
  sliceIndex: number;
}

/** A volume after loading, normalisation and mask conversion, as held in the cache. */
interface LoadedVolume {
  image: Float32Array;
  mask: Float32Array | null;
}

interface PairInfo {
  image: string | NiftiVolume;
  mask: string | NiftiVolume | null;
  dims: [number, number, number];
}

/**
 * 2D slices of 3D (image, mask) volumes for training a 2D segmentation network, in the manner
 * of MONAI's `Dataset` with a slicing transform.
 *
 * Volumes given as paths are read when one of their slices is first requested, normalised
 * once per load, and kept in a least-recently-used cache of `cacheSize` volumes. The
 * constructor reads only the headers (to count slices and check that each mask matches its
 * image), except that `skipEmpty` also reads every mask once. Slice layout is that of
 * `extractSlice`: for axial slices, rows are y and columns are x.
 *
 * @example
 * const dataset = new MedicalImageDataset(
 *   [{ image: 'data/ch2.nii.gz', mask: 'data/ch2bet.nii.gz' }],
 *   { axis: 'axial', padMultiple: 16, transform: new RandomAugment() },
 * );
 * const { image, mask, height, width } = dataset.get(90);
 * @see https://docs.monai.io/en/stable/data.html#dataset
 */
export class MedicalImageDataset {
  readonly axis: 0 | 1 | 2;
  readonly normalize: 'minmax' | 'zscore' | 'none';
  readonly maskMode: 'binary' | 'labels';
  readonly padMultiple: number;
  readonly cacheSize: number;
  readonly transform: RandomAugment | null;
  readonly #pairs: PairInfo[];
  readonly #entries: SliceRef[];
  readonly #cache = new Map<number, LoadedVolume>();
  readonly #pending = new Map<number, Promise<LoadedVolume>>();
  readonly #rng: Random;
  #loads = 0;

  /**
   * @param pairs - Volumes to slice; at least one.
   * @param options - See {@link MedicalImageDatasetOptions}.
   * @throws {TypeError} code `ERR_INVALID_ARG_TYPE` for arguments of the wrong type.
   * @throws {RangeError} code `ERR_OUT_OF_RANGE` for out-of-range options or slice indices.
   * @throws {NiftiError} when a file cannot be read, is not 3D, or a mask's dims differ from its image's.
   */
  constructor(pairs: readonly VolumePair[], options?: MedicalImageDatasetOptions) {
    const opts = checkOptions<MedicalImageDatasetOptions>('options', options);
    this.axis = resolveAxis(opts.axis ?? 'axial', 'options.axis');
    this.normalize = checkOneOf('options.normalize', opts.normalize ?? 'minmax', ['minmax', 'zscore', 'none'] as const);
    this.maskMode = checkOneOf('options.maskMode', opts.maskMode ?? 'binary', ['binary', 'labels'] as const);
    this.padMultiple = checkInt('options.padMultiple', opts.padMultiple ?? 1, 1, 4096);
    this.cacheSize = checkInt('options.cacheSize', opts.cacheSize ?? 2, 1);
    const skipEmpty = checkBoolean('options.skipEmpty', opts.skipEmpty ?? false);
    const transform = opts.transform ?? null;
    if (transform !== null && !(transform instanceof RandomAugment)) {
      throw typeError('options.transform', 'a RandomAugment or null', transform);
    }
    this.transform = transform;
    this.#rng = new Random(opts.seed);

    if (!Array.isArray(pairs) || pairs.length === 0)
      throw typeError('pairs', 'a non-empty array of { image, mask? }', pairs);
    // checkEach stops at the first hole of a sparse array, where map() would step through every index.
    this.#pairs = checkEach(pairs, (pair, index) => describePair(pair as VolumePair, index));
    this.#entries = [];
    pairs.forEach((pair, volumeIndex) => {
      let slices = checkSlices(pair.slices, volumeIndex, this.#pairs[volumeIndex]!.dims[this.axis]);
      if (skipEmpty) slices = this.#nonEmptySlices(volumeIndex, slices);
      for (const sliceIndex of slices) this.#entries.push({ volumeIndex, sliceIndex });
    });
  }

  /** Number of slices over all volumes. */
  get length(): number {
    return this.#entries.length;
  }

  /** Number of volume pairs. */
  get volumeCount(): number {
    return this.#pairs.length;
  }

  /** Number of times a volume was decoded and normalised so far (cache misses). */
  get loads(): number {
    return this.#loads;
  }

  /** Indices of the volumes held in the cache, least recently used first. */
  cachedVolumes(): number[] {
    return [...this.#cache.keys()];
  }

  /** Spatial dims [nx, ny, nz] of volume `volumeIndex`, known without loading it. */
  volumeDims(volumeIndex: number): [number, number, number] {
    checkInt('volumeIndex', volumeIndex, 0, this.#pairs.length - 1);
    return [...this.#pairs[volumeIndex]!.dims];
  }

  /** Returns the volume and slice of item `index`, without loading anything. */
  entry(index: number): SliceRef {
    checkInt('index', index, 0, this.#entries.length - 1);
    return { ...this.#entries[index]! };
  }

  /**
   * Returns item `index`, loading its volume if it is not cached.
   *
   * @param index - In [0, length).
   * @param rng - Generator for `transform`; defaults to the dataset's own, seeded by `options.seed`.
   * @throws {RangeError} code `ERR_OUT_OF_RANGE` for an index outside the dataset.
   * @throws {NiftiError} when the volume's file cannot be read.
   */
  get(index: number, rng?: Random): DatasetItem {
    const ref = this.entry(index);
    checkOptionalRng(rng);
    return this.#makeItem(ref, this.#loadSync(ref.volumeIndex), rng);
  }

  /**
   * Returns item `index` like {@link MedicalImageDataset.get}, reading files without blocking.
   * Concurrent calls share one load per volume.
   */
  async getAsync(index: number, rng?: Random): Promise<DatasetItem> {
    const ref = this.entry(index);
    checkOptionalRng(rng);
    return this.#makeItem(ref, await this.#loadAsync(ref.volumeIndex), rng);
  }

  #makeItem(ref: SliceRef, volume: LoadedVolume, rng: Random | undefined): DatasetItem {
    const { dims } = this.#pairs[ref.volumeIndex]!;
    const slice = extractSlice(volume.image, dims, this.axis, ref.sliceIndex);
    const maskSlice = volume.mask ? extractSlice(volume.mask, dims, this.axis, ref.sliceIndex).data : null;
    const height = roundUp(slice.height, this.padMultiple);
    const width = roundUp(slice.width, this.padMultiple);
    let image = pad(slice.data, slice.height, slice.width, height, width);
    let mask = maskSlice ? pad(maskSlice, slice.height, slice.width, height, width) : null;
    if (this.transform) {
      ({ image, mask } = this.transform.apply(image, mask, height, width, 1, rng ?? this.#rng));
    }
    return {
      image,
      mask,
      height,
      width,
      originalHeight: slice.height,
      originalWidth: slice.width,
      volumeIndex: ref.volumeIndex,
      sliceIndex: ref.sliceIndex,
    };
  }

  #loadSync(volumeIndex: number): LoadedVolume {
    const cached = this.#touch(volumeIndex);
    if (cached) return cached;
    const pair = this.#pairs[volumeIndex]!;
    const image = typeof pair.image === 'string' ? readNifti(pair.image) : pair.image;
    const mask = typeof pair.mask === 'string' ? readNifti(pair.mask) : pair.mask;
    return this.#store(volumeIndex, this.#prepare(pair, image, mask));
  }

  async #loadAsync(volumeIndex: number): Promise<LoadedVolume> {
    const cached = this.#touch(volumeIndex);
    if (cached) return cached;
    let pending = this.#pending.get(volumeIndex);
    if (!pending) {
      const pair = this.#pairs[volumeIndex]!;
      pending = (async () => {
        const [image, mask] = await Promise.all([
          typeof pair.image === 'string' ? readNiftiAsync(pair.image) : pair.image,
          typeof pair.mask === 'string' ? readNiftiAsync(pair.mask) : pair.mask,
        ]);
        return this.#store(volumeIndex, this.#prepare(pair, image, mask));
      })();
      this.#pending.set(volumeIndex, pending);
      pending.then(
        () => this.#pending.delete(volumeIndex),
        () => this.#pending.delete(volumeIndex),
      );
    }
    return pending;
  }

  /** The cached volume, marked most recently used, or undefined. */
  #touch(volumeIndex: number): LoadedVolume | undefined {
    const cached = this.#cache.get(volumeIndex);
    if (cached) {
      this.#cache.delete(volumeIndex);
      this.#cache.set(volumeIndex, cached);
    }
    return cached;
  }

  #store(volumeIndex: number, volume: LoadedVolume): LoadedVolume {
    this.#cache.delete(volumeIndex);
    while (this.#cache.size >= this.cacheSize) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(volumeIndex, volume);
    return volume;
  }

  #prepare(pair: PairInfo, image: NiftiVolume, mask: NiftiVolume | null): LoadedVolume {
    this.#loads++;
    checkSameDims(pair, image, mask);
    const normalized =
      this.normalize === 'none' ? toFloat32Array(image.data) : normalizeIntensity(image.data, { mode: this.normalize });
    return { image: normalized, mask: mask ? convertMask(mask.data, this.maskMode) : null };
  }

  #nonEmptySlices(volumeIndex: number, slices: number[]): number[] {
    const pair = this.#pairs[volumeIndex]!;
    if (pair.mask === null) {
      throw rangeError('options.skipEmpty', `false when pairs[${volumeIndex}] has no mask`, true);
    }
    const mask = typeof pair.mask === 'string' ? readNifti(pair.mask) : pair.mask;
    const values = toFloat32Array(mask.data);
    const hasLabel = (sliceIndex: number): boolean =>
      extractSlice(values, pair.dims, this.axis, sliceIndex).data.some((value) => value !== 0 && !Number.isNaN(value));
    return slices.filter(hasLabel);
  }
}

function describePair(pair: VolumePair, index: number): PairInfo {
  if (pair === null || typeof pair !== 'object') throw typeError(`pairs[${index}]`, 'an object { image, mask? }', pair);
  const image = checkSource(pair.image, `pairs[${index}].image`);
  const mask = pair.mask === undefined || pair.mask === null ? null : checkSource(pair.mask, `pairs[${index}].mask`);
  const imageDims = dimsOf(image);
  if (mask !== null) {
    const maskDims = dimsOf(mask);
    if (maskDims.some((size, axis) => size !== imageDims[axis])) throw dimsMismatch(image, imageDims, mask, maskDims);
  }
  return { image, mask, dims: imageDims };
}

function checkSource(value: unknown, name: string): string | NiftiVolume {
  if (typeof value === 'string' && value.length > 0) return value;
  const volume = value as Partial<NiftiVolume> | null;
  if (volume !== null && typeof volume === 'object' && Array.isArray(volume.dims) && ArrayBuffer.isView(volume.data)) {
    return volume as NiftiVolume;
  }
  throw typeError(name, 'a file path or a NiftiVolume', value);
}

/** Spatial dims of a path (from its header) or an in-memory volume; rejects 4D data. */
function dimsOf(source: string | NiftiVolume): [number, number, number] {
  const dims = typeof source === 'string' ? readNiftiHeader(source).dims : source.dims;
  try {
    return spatialDims(dims);
  } catch {
    throw volumeError(source, `has dims [${dims.join(', ')}]; only 3D volumes (and 2D images) can be sliced`);
  }
}

/** Builds a NiftiError naming the file for a path, or a RangeError for an in-memory volume. */
function volumeError(source: string | NiftiVolume, reason: string): Error {
  if (typeof source === 'string') return new NiftiError(source, reason);
  return withCode(new RangeError(`in-memory volume ${reason}`), ErrorCode.OUT_OF_RANGE);
}

function dimsMismatch(
  image: string | NiftiVolume,
  imageDims: number[],
  mask: string | NiftiVolume,
  maskDims: number[],
): Error {
  const imageName = typeof image === 'string' ? `image ${image}` : 'the in-memory image';
  return volumeError(
    mask,
    `has dims [${maskDims.join(', ')}] but ${imageName} has dims [${imageDims.join(', ')}]; ` +
      'an image and its mask must have the same spatial dims',
  );
}

/** Slice indices of one pair: the given ones after checking, or all of them. */
function checkSlices(slices: unknown, volumeIndex: number, count: number): number[] {
  if (slices === undefined) return Array.from({ length: count }, (_, i) => i);
  const name = `pairs[${volumeIndex}].slices`;
  if (!Array.isArray(slices)) throw typeError(name, 'an array of slice indices', slices);
  return slices.map((sliceIndex, i) => checkInt(`${name}[${i}]`, sliceIndex, 0, count - 1));
}

/** Re-checks dims after loading, since a file may change between the header read and the load. */
function checkSameDims(pair: PairInfo, image: NiftiVolume, mask: NiftiVolume | null): void {
  const imageDims = dimsOf(image);
  if (imageDims.some((size, axis) => size !== pair.dims[axis])) {
    const change = `[${imageDims.join(', ')}], was [${pair.dims.join(', ')}]`;
    throw volumeError(pair.image, `dims changed since the dataset was built: ${change}`);
  }
  if (mask !== null) {
    const maskDims = dimsOf(mask);
    if (maskDims.some((size, axis) => size !== imageDims[axis]))
      throw dimsMismatch(pair.image, imageDims, pair.mask!, maskDims);
  }
}

function convertMask(data: NiftiVolume['data'], mode: 'binary' | 'labels'): Float32Array {
  const values = toFloat32Array(data);
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (Number.isNaN(value)) out[i] = 0;
    else if (mode === 'binary') out[i] = value > 0 ? 1 : 0;
    else out[i] = value;
  }
  return out;
}

function roundUp(size: number, multiple: number): number {
  return Math.ceil(size / multiple) * multiple;
}

/** Copies a height x width image into the top-left corner of a zero-filled paddedHeight x paddedWidth one. */
function pad(
  data: Float32Array,
  height: number,
  width: number,
  paddedHeight: number,
  paddedWidth: number,
): Float32Array {
  if (height === paddedHeight && width === paddedWidth) return data;
  const out = new Float32Array(paddedHeight * paddedWidth);
  for (let row = 0; row < height; row++) out.set(data.subarray(row * width, (row + 1) * width), row * paddedWidth);
  return out;
}

function checkOptionalRng(rng: unknown): void {
  if (rng !== undefined && !(rng instanceof Random)) throw typeError('rng', 'a Random or undefined', rng);
}
