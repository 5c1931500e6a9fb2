// SPDX-License-Identifier: MIT
//
// The public tensor type and its factories, plus the scope helpers that the rest of the library
// builds on: `noGrad` (torch.no_grad), `tidy` (frees every tensor handle a function creates
// except the ones it returns), `keep`, `manualSeed` and `autocast`.

import { native, type DType, type NativeTensor, type TypedArray } from './native.js';
import { checkBoolean, checkEach, checkInt, checkNumber, checkOptions, checkOneOf, isShape, rangeError, typeError } from './validate.js';

/**
 * A libtorch tensor (`at::Tensor`) owned by JavaScript. See {@link NativeTensor} for its methods.
 *
 * @see https://pytorch.org/docs/stable/tensors.html
 */
export type Tensor = NativeTensor;

/**
 * The tensor class, for `value instanceof Tensor`. Tensors are made by the factories below
 * (`tensor`, `zeros`, ...), never with `new`.
 */
export const Tensor = native.Tensor as unknown as abstract new (...args: never[]) => NativeTensor;

export type { DType, TypedArray };

// Node 20 releases before 20.4 lack the well-known `Symbol.dispose`. Define it the way
// TypeScript's `using` helper and the usual polyfills look it up, leaving a native one in place.
if (typeof Symbol.dispose !== 'symbol') {
  Object.defineProperty(Symbol, 'dispose', { value: Symbol.for('Symbol.dispose'), configurable: false, writable: false });
}

// `using x = zeros([2])` disposes `x` at the end of the block, as `x.dispose()` would.
Object.defineProperty(native.Tensor.prototype, Symbol.dispose, {
  value: function disposeTensor(this: NativeTensor): void {
    this.dispose();
  },
  writable: true,
  configurable: true,
  enumerable: false,
});

/** Every dtype name that tensors accept, as in PyTorch (`torch.float32` is `'float32'`). */
export const DTYPES: readonly DType[] = [
  'float32',
  'float64',
  'float16',
  'bfloat16',
  'int64',
  'int32',
  'int16',
  'int8',
  'uint8',
  'bool',
];

/** Options shared by the tensor factories. */
export interface TensorOptions {
  /** Element type; defaults to `'float32'` (for `tensor`, to the typed array's own type). */
  dtype?: DType;
  /** `'cpu'` (default), `'cuda'` or `'cuda:N'`. */
  device?: string;
  /** Record operations on the tensor for autograd; default false. */
  requiresGrad?: boolean;
}

/** Returns true when `value` is a live or disposed medunet tensor. */
export function isTensor(value: unknown): value is Tensor {
  return value instanceof Tensor;
}

/** Throws a TypeError unless `value` is a tensor; returns it. */
export function checkTensor(name: string, value: unknown): Tensor {
  if (!isTensor(value)) throw typeError(name, 'a Tensor', value);
  return value;
}

/** Throws unless `value` is a list of non-negative integers; returns it. */
export function checkShape(name: string, value: unknown): number[] {
  if (!isShape(value)) throw typeError(name, 'an array of non-negative integers', value);
  return value;
}

/** Throws unless `value` is a known dtype name; returns it. */
export function checkDType(name: string, value: unknown): DType {
  return checkOneOf(name, value, DTYPES);
}

/** Number of elements of a tensor with this shape (1 for `[]`). */
export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((product, size) => product * size, 1);
}

/** Formats a shape for messages, as `[2, 1, 64, 64]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

interface CheckedOptions {
  dtype: DType | undefined;
  device: string;
  requiresGrad: boolean;
}

function checkTensorOptions(value: unknown): CheckedOptions {
  const options = checkOptions<TensorOptions>('options', value);
  const dtype = options.dtype === undefined ? undefined : checkDType('options.dtype', options.dtype);
  const device = options.device === undefined ? 'cpu' : checkDeviceString('options.device', options.device);
  const requiresGrad = options.requiresGrad === undefined ? false : checkBoolean('options.requiresGrad', options.requiresGrad);
  if (requiresGrad && dtype !== undefined && !isFloatingDType(dtype)) {
    throw rangeError('options.requiresGrad', `false for dtype '${dtype}' (only floating-point tensors can require gradients)`, true);
  }
  return { dtype, device, requiresGrad };
}

/** Checks the spelling of a device string; `resolveDevice` checks that the device exists. */
function checkDeviceString(name: string, value: unknown): string {
  if (typeof value !== 'string') throw typeError(name, "a device string ('cpu', 'cuda' or 'cuda:N')", value);
  if (!/^(cpu|cuda(:\d+)?)$/.test(value)) throw rangeError(name, "'cpu', 'cuda' or 'cuda:N'", value);
  return value;
}

/** True for float32, float64, float16 and bfloat16. */
export function isFloatingDType(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
}

function isTypedArray(value: unknown): value is TypedArray {
  return (
    value instanceof Float32Array ||
    value instanceof Float64Array ||
    value instanceof BigInt64Array ||
    value instanceof Int32Array ||
    value instanceof Int16Array ||
    value instanceof Int8Array ||
    value instanceof Uint8Array
  );
}

/**
 * Creates a tensor from a typed array or an array of numbers, as `torch.tensor(data).reshape(shape)`.
 *
 * The elements are copied. Without `dtype`, a typed array keeps its own type (Float32Array gives
 * float32, BigInt64Array int64, ...) and a number array gives float32.
 *
 * @param data - Elements in row-major order.
 * @param shape - Sizes of each dimension; their product must equal `data.length`. Default `[data.length]`.
 * @param options - `dtype`, `device` (default 'cpu') and `requiresGrad` (default false).
 * @returns A new tensor of the given shape.
 * @throws TypeError when an argument has the wrong type; RangeError when `shape` does not match `data`.
 * @example
 * const x = tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
 * @see https://pytorch.org/docs/stable/generated/torch.tensor.html
 */
export function tensor(data: TypedArray | number[], shape?: number[], options?: TensorOptions): Tensor {
  if (!isTypedArray(data) && !Array.isArray(data)) throw typeError('data', 'a typed array or an array of numbers', data);
  if (Array.isArray(data)) {
    checkEach(data, (value) => {
      if (typeof value !== 'number') throw typeError('data', 'a typed array or an array of numbers', data);
    });
  }
  const dims = shape === undefined ? [data.length] : checkShape('shape', shape);
  if (shapeSize(dims) !== data.length) {
    throw rangeError('shape', `a shape with ${data.length} elements to match \`data\``, dims);
  }
  const { dtype, device, requiresGrad } = checkTensorOptions(options);
  const values = Array.isArray(data) ? Float32Array.from(data) : data;
  if (requiresGrad && dtype === undefined && !(values instanceof Float32Array || values instanceof Float64Array)) {
    throw rangeError('options.requiresGrad', 'false for integer data (only floating-point tensors can require gradients)', true);
  }
  return native.tensor(values, dims, dtype, device, requiresGrad);
}

type Creator = (shape: number[], dtype?: DType, device?: string) => NativeTensor;

function create(creator: Creator, shape: unknown, options: unknown): Tensor {
  const dims = checkShape('shape', shape);
  const { dtype, device, requiresGrad } = checkTensorOptions(options);
  const result = creator(dims, dtype ?? 'float32', device);
  if (requiresGrad) result.requiresGrad = true;
  return result;
}

/**
 * Creates a tensor filled with zeros, as `torch.zeros`.
 *
 * @param shape - Sizes of each dimension.
 * @param options - `dtype` (default 'float32'), `device`, `requiresGrad`.
 * @example
 * const bias = zeros([8]);
 * @see https://pytorch.org/docs/stable/generated/torch.zeros.html
 */
export function zeros(shape: number[], options?: TensorOptions): Tensor {
  return create(native.zeros, shape, options);
}

/**
 * Creates a tensor filled with ones, as `torch.ones`.
 *
 * @param shape - Sizes of each dimension.
 * @param options - `dtype` (default 'float32'), `device`, `requiresGrad`.
 * @example
 * const scale = ones([8]);
 * @see https://pytorch.org/docs/stable/generated/torch.ones.html
 */
export function ones(shape: number[], options?: TensorOptions): Tensor {
  return create(native.ones, shape, options);
}

/**
 * Creates a tensor with unspecified contents, as `torch.empty`; fill it before reading it.
 *
 * @param shape - Sizes of each dimension.
 * @param options - `dtype` (default 'float32'), `device`, `requiresGrad`.
 * @example
 * const weight = empty([16, 1, 3, 3]);
 * @see https://pytorch.org/docs/stable/generated/torch.empty.html
 */
export function empty(shape: number[], options?: TensorOptions): Tensor {
  return create(native.empty, shape, options);
}

/**
 * Creates a tensor filled with `value`, as `torch.full`.
 *
 * @param shape - Sizes of each dimension.
 * @param value - The fill value.
 * @param options - `dtype` (default 'float32'), `device`, `requiresGrad`.
 * @example
 * const halves = full([2, 2], 0.5);
 * @see https://pytorch.org/docs/stable/generated/torch.full.html
 */
export function full(shape: number[], value: number, options?: TensorOptions): Tensor {
  checkNumber('value', value);
  return create((dims, dtype, device) => native.full(dims, value, dtype, device), shape, options);
}

/**
 * Creates a tensor of samples from the uniform distribution on [0, 1), as `torch.rand`.
 * Seed with {@link manualSeed} for repeatable values.
 *
 * @param shape - Sizes of each dimension.
 * @param options - `dtype` (default 'float32', floating point only), `device`, `requiresGrad`.
 * @example
 * const noise = rand([1, 1, 32, 32]);
 * @see https://pytorch.org/docs/stable/generated/torch.rand.html
 */
export function rand(shape: number[], options?: TensorOptions): Tensor {
  checkFloatingOption(options);
  return create(native.rand, shape, options);
}

/**
 * Creates a tensor of samples from the standard normal distribution, as `torch.randn`.
 * Seed with {@link manualSeed} for repeatable values.
 *
 * @param shape - Sizes of each dimension.
 * @param options - `dtype` (default 'float32', floating point only), `device`, `requiresGrad`.
 * @example
 * const x = randn([2, 1, 64, 64]);
 * @see https://pytorch.org/docs/stable/generated/torch.randn.html
 */
export function randn(shape: number[], options?: TensorOptions): Tensor {
  checkFloatingOption(options);
  return create(native.randn, shape, options);
}

function checkFloatingOption(options: unknown): void {
  const dtype = checkTensorOptions(options).dtype;
  if (dtype !== undefined && !isFloatingDType(dtype)) {
    throw rangeError('options.dtype', 'a floating-point dtype for random samples', dtype);
  }
}

/**
 * Creates the 1-D tensor `[start, start + step, ...]` stopping before `end`, as `torch.arange`.
 *
 * @param start - First value.
 * @param end - Exclusive upper (or, for a negative step, lower) bound.
 * @param step - Spacing, non-zero; default 1.
 * @param options - `dtype` (default 'float32'), `device`.
 * @example
 * const indices = arange(0, 10, 1, { dtype: 'int64' });
 * @see https://pytorch.org/docs/stable/generated/torch.arange.html
 */
export function arange(start: number, end: number, step = 1, options?: TensorOptions): Tensor {
  checkNumber('start', start);
  checkNumber('end', end);
  checkNumber('step', step);
  if (step === 0) throw rangeError('step', 'non-zero', step);
  if ((end - start) * step < 0) throw rangeError('step', `a step that moves from \`start\` ${start} towards \`end\` ${end}`, step);
  const { dtype, device, requiresGrad } = checkTensorOptions(options);
  const result = native.arange(start, end, step, dtype ?? 'float32', device);
  if (requiresGrad) result.requiresGrad = true;
  return result;
}

function checkTensorList(name: string, tensors: unknown): Tensor[] {
  if (!Array.isArray(tensors) || tensors.length === 0) throw typeError(name, 'a non-empty array of Tensors', tensors);
  checkEach(tensors, (t, i) => checkTensor(`${name}[${i}]`, t));
  return tensors as Tensor[];
}

/**
 * Concatenates tensors along an existing dimension, as `torch.cat`.
 *
 * @param tensors - Tensors with equal sizes except along `dim`.
 * @param dim - The dimension to join along; negative counts from the end. Default 0.
 * @example
 * const both = cat([skip, upsampled], 1);
 * @see https://pytorch.org/docs/stable/generated/torch.cat.html
 */
export function cat(tensors: Tensor[], dim = 0): Tensor {
  checkTensorList('tensors', tensors);
  checkInt('dim', dim);
  return native.cat(tensors, dim);
}

/**
 * Joins tensors of equal shape along a new dimension, as `torch.stack`.
 *
 * @param tensors - Tensors of one shape.
 * @param dim - Position of the new dimension. Default 0.
 * @example
 * const batch = stack([sliceA, sliceB]);
 * @see https://pytorch.org/docs/stable/generated/torch.stack.html
 */
export function stack(tensors: Tensor[], dim = 0): Tensor {
  checkTensorList('tensors', tensors);
  checkInt('dim', dim);
  return native.stack(tensors, dim);
}

/** Throws a TypeError unless `value` is a function that can be called without `new`. */
function checkCallback(name: string, value: unknown): void {
  if (typeof value !== 'function') throw typeError(name, 'a function', value);
  // Calling a class constructor without `new` throws the engine's own TypeError, so reject it here.
  if (/^class\b/.test(Function.prototype.toString.call(value))) throw typeError(name, 'a function, not a class', value);
}

function checkSynchronous(name: string, result: unknown): void {
  if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
    throw typeError(name, 'a synchronous function (grad mode and tensor scopes do not follow `await`)', result);
  }
}

/**
 * Runs `fn` with gradient recording off, as `with torch.no_grad():`, then restores the previous mode.
 *
 * `fn` must be synchronous: grad mode is thread state in libtorch, so it would leak into whatever
 * runs while an async function waits.
 *
 * @param fn - The work to run.
 * @returns What `fn` returns.
 * @throws TypeError when `fn` returns a Promise (the mode is restored first).
 * @example
 * const logits = noGrad(() => model.forward(x));
 * @see https://pytorch.org/docs/stable/generated/torch.no_grad.html
 */
export function noGrad<T>(fn: () => T): T {
  checkCallback('fn', fn);
  const previous = native.isGradEnabled();
  native.setGradEnabled(false);
  let result: T;
  try {
    result = fn();
  } finally {
    native.setGradEnabled(previous);
  }
  checkSynchronous('fn', result);
  return result;
}

/**
 * Runs `fn` with gradient recording on, as `with torch.enable_grad():`, then restores the previous mode.
 *
 * @param fn - The synchronous work to run.
 * @returns What `fn` returns.
 * @example
 * const loss = enableGrad(() => criterion.forward(model.forward(x), y));
 * @see https://pytorch.org/docs/stable/generated/torch.enable_grad.html
 */
export function enableGrad<T>(fn: () => T): T {
  checkCallback('fn', fn);
  const previous = native.isGradEnabled();
  native.setGradEnabled(true);
  let result: T;
  try {
    result = fn();
  } finally {
    native.setGradEnabled(previous);
  }
  checkSynchronous('fn', result);
  return result;
}

/** Returns whether gradient recording is on (`torch.is_grad_enabled()`). */
export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

/** Collects the tensors inside a returned value: a tensor, or arrays, Maps and plain objects holding them. */
function collectTensors(value: unknown, found: Tensor[], seen: Set<object>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (isTensor(value)) {
    found.push(value);
  } else if (Array.isArray(value)) {
    for (const item of value) collectTensors(item, found, seen);
  } else if (value instanceof Map) {
    for (const item of value.values()) collectTensors(item, found, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const item of Object.values(value)) collectTensors(item, found, seen);
  }
}

/**
 * Runs `fn` and then disposes every tensor handle created while it ran, except the tensors it
 * returns (alone, or inside arrays, Maps and plain objects).
 *
 * Disposing a handle drops JavaScript's reference only: tensors that autograd saved for
 * `backward()` stay alive inside the graph. Tensors passed to {@link keep} inside `fn` survive too.
 * Scopes nest. `fn` must be synchronous, because tensors created by other code while it awaits
 * would be freed with its own.
 *
 * @param fn - The work to run.
 * @returns What `fn` returns.
 * @throws TypeError when `fn` returns a Promise (nothing is kept then).
 * @example
 * const lossValue = tidy(() => criterion.forward(model.forward(x), y).item());
 */
export function tidy<T>(fn: () => T): T {
  checkCallback('fn', fn);
  const marker = native.scopeBegin();
  let result: T;
  try {
    result = fn();
  } catch (error) {
    native.scopeEnd(marker, []);
    throw error;
  }
  const returned: Tensor[] = [];
  collectTensors(result, returned, new Set());
  native.scopeEnd(marker, returned);
  checkSynchronous('fn', result);
  return result;
}

/**
 * Exempts a tensor from the enclosing {@link tidy} scopes, so it lives until `dispose()` or
 * garbage collection. Module parameters and buffers are kept this way.
 *
 * @param value - The tensor to keep.
 * @returns The same tensor.
 * @example
 * let total: Tensor | null = null;
 * tidy(() => { total = keep(x.sum()); });
 */
export function keep<T extends Tensor>(value: T): T {
  checkTensor('value', value);
  native.keep(value);
  return value;
}

/**
 * Seeds libtorch's random number generators (CPU and CUDA), as `torch.manual_seed`.
 *
 * @param seed - A non-negative integer.
 * @example
 * manualSeed(0);
 * @see https://pytorch.org/docs/stable/generated/torch.manual_seed.html
 */
export function manualSeed(seed: number): void {
  checkInt('seed', seed, 0);
  native.manualSeed(seed);
}

/** Reduced-precision types that autocast can run in. */
export type AutocastDType = 'bfloat16' | 'float16';

/** Options of {@link autocast}. */
export interface AutocastOptions {
  /** Device type whose autocast state changes; default 'cpu'. */
  deviceType?: 'cpu' | 'cuda';
}

/**
 * Runs `fn` under automatic mixed precision, as `with torch.autocast(device_type, dtype):`.
 * Convolutions and matrix products then run in `dtype`, so outputs may come back in `dtype`;
 * convert them with `.to('float32')` before computing a loss.
 *
 * With `dtype` null, `fn` runs with autocast off. The previous state is restored afterwards.
 * When autocast was already on, it is re-enabled with this call's dtype, because libtorch 1.13
 * exposes no way to read the active dtype.
 *
 * @param dtype - 'bfloat16' (CPU or CUDA), 'float16' (CUDA), or null.
 * @param fn - The synchronous work to run.
 * @param options - `deviceType` ('cpu' by default).
 * @returns What `fn` returns.
 * @example
 * const logits = autocast('bfloat16', () => model.forward(x)).to('float32');
 * @see https://pytorch.org/docs/stable/amp.html
 */
export function autocast<T>(dtype: AutocastDType | null, fn: () => T, options?: AutocastOptions): T {
  if (dtype !== null) checkOneOf('dtype', dtype, ['bfloat16', 'float16'] as const);
  checkCallback('fn', fn);
  const opts = checkOptions<AutocastOptions>('options', options);
  const deviceType = opts.deviceType === undefined ? 'cpu' : checkOneOf('options.deviceType', opts.deviceType, ['cpu', 'cuda'] as const);
  const restoreDType: DType = dtype ?? (deviceType === 'cpu' ? 'bfloat16' : 'float16');
  const wasEnabled = native.isAutocastEnabled(deviceType);
  native.setAutocast(deviceType, dtype !== null, restoreDType);
  let result: T;
  try {
    result = fn();
  } finally {
    native.setAutocast(deviceType, wasEnabled, restoreDType);
  }
  checkSynchronous('fn', result);
  return result;
}
