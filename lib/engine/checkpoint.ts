// SPDX-License-Identifier: MIT
//
// UNet checkpoints: the state dict plus a JSON metadata record in one file in the `torch.save`
// zip format, so that PyTorch can read it with `torch.load` and medunet can rebuild the model
// from it. Plain PyTorch state dicts of the classic U-Net and safetensors files load too.

import { CheckpointError, ErrorCode } from '../errors.js';
import { native } from '../native.js';
import { resolveDevice } from '../device.js';
import { UNet, type UNetArchitecture } from '../models/unet.js';
import { skipInit } from '../nn/init.js';
import { formatShape, isFloatingDType, tidy, type Tensor } from '../tensor.js';
import { checkBoolean, checkKnownKeys, checkOptions, checkString, typeError } from '../validate.js';
import { hasSafetensorsMagic, loadSafetensors, SAFETENSORS_MEDUNET_KEY } from './safetensors.js';

/** Value of `format` in the metadata that medunet writes. */
export const CHECKPOINT_FORMAT = 'medunet';

/** Version of the checkpoint layout; readers reject newer versions. */
export const CHECKPOINT_VERSION = 1;

/** The metadata record stored next to the state dict. */
export interface CheckpointMetadata {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  architecture: UNetArchitecture;
  /** Anything the caller passed as `extra` (epoch, history, data set, ...). */
  [key: string]: unknown;
}

/**
 * Writes a UNet's state dict and metadata to `path`, replacing the file.
 *
 * The metadata is `{ format: 'medunet', version, architecture: { name: 'UNet', inChannels,
 * numClasses, baseWidth }, ...extra }`; `extra` must be JSON-serialisable and must not use
 * those keys. In PyTorch, `torch.load(path)` returns `{'state_dict': ..., 'metadata': json_text}`.
 *
 * @param path - Output file.
 * @param model - The model to save.
 * @param extra - More metadata, such as `{ epoch: 10, valDice: 0.91 }`.
 * @throws TypeError for bad arguments; CheckpointError when the file cannot be written.
 * @example
 * saveCheckpoint('unet.pt', model, { epoch: 20 });
 */
export function saveCheckpoint(path: string, model: UNet, extra?: Record<string, unknown>): void {
  const text = checkpointMetadataText(path, model, extra);
  tidy(() => {
    // Copies on the CPU, so that a model on a GPU writes a checkpoint that loads anywhere.
    const tensors: Record<string, Tensor> = {};
    for (const [key, value] of model.stateDict()) tensors[key] = value.device === 'cpu' ? value : value.to('cpu');
    try {
      native.saveCheckpoint(path, tensors, text);
    } catch (error) {
      throw saveError(path, error);
    }
  });
}

/**
 * Writes a checkpoint like {@link saveCheckpoint}, with the pickling and the file write on the
 * libuv thread pool, so the event loop keeps running. The file is replaced atomically in the
 * same way (written under a temporary name, then renamed).
 *
 * The job holds references to the model's tensors rather than copies, because copying a large
 * model would block the calling thread for as long as the write itself. Disposing the model
 * before the promise settles is safe. Changing its weights in place (an optimizer step,
 * `loadStateDict`) before the promise settles is not: the file may contain some new values.
 * The weights of a model on a GPU are copied to the CPU before the promise is returned.
 *
 * @param path - Output file.
 * @param model - The model to save.
 * @param extra - More metadata, such as `{ epoch: 10, valDice: 0.91 }`.
 * @returns A promise that resolves once the file is in place.
 * @throws TypeError (as a rejection) for bad arguments; CheckpointError (as a rejection) when
 *   the file cannot be written, with the code and message of the synchronous form.
 * @example
 * await saveCheckpointAsync('unet.pt', model, { epoch: 20 });
 */
export async function saveCheckpointAsync(path: string, model: UNet, extra?: Record<string, unknown>): Promise<void> {
  const text = checkpointMetadataText(path, model, extra);
  const tensors: Record<string, Tensor> = {};
  const copies: Tensor[] = [];
  let queued: Promise<void>;
  try {
    for (const [key, value] of model.stateDict()) {
      if (value.device === 'cpu') {
        tensors[key] = value;
      } else {
        tensors[key] = value.to('cpu');
        copies.push(tensors[key]);
      }
    }
    queued = native.saveCheckpointAsync(path, tensors, text);
  } finally {
    // The job keeps its own references, so the CPU copies can go now.
    for (const copy of copies) copy.dispose();
  }
  try {
    await queued;
  } catch (error) {
    throw saveError(path, error);
  }
}

/** Validates the save arguments and returns the metadata record as JSON text. */
function checkpointMetadataText(path: string, model: UNet, extra: Record<string, unknown> | undefined): string {
  checkString('path', path);
  if (!(model instanceof UNet)) throw typeError('model', 'a UNet', model);
  const more = checkOptions<Record<string, unknown>>('extra', extra);
  for (const reserved of ['format', 'version', 'architecture']) {
    if (reserved in more) throw typeError(`extra.${reserved}`, 'absent (medunet sets it)', more[reserved]);
  }
  const metadata: CheckpointMetadata = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    medunetVersion: native.versions.medunet,
    architecture: model.architecture,
    ...more,
  };
  try {
    return JSON.stringify(metadata);
  } catch (error) {
    throw new CheckpointError(path, `the metadata is not JSON-serialisable: ${(error as Error).message}`, { cause: error });
  }
}

function saveError(path: string, error: unknown): CheckpointError {
  const reason = withoutPathPrefix(path, (error as Error).message);
  return new CheckpointError(path, `could not write the checkpoint: ${reason}`, { cause: error });
}

/** Options of {@link loadModel}. */
export interface LoadModelOptions {
  /** Device for the model; default 'cpu'. */
  device?: string;
  /**
   * Require the checkpoint's keys to match the model's exactly; default true. With false,
   * missing and unexpected keys are ignored, but mis-shaped tensors are still rejected.
   */
  strict?: boolean;
}

/** A checkpoint's contents, as {@link readCheckpoint} returns them. */
export interface CheckpointContents {
  /** The parsed metadata, or null for a plain PyTorch state dict. */
  metadata: CheckpointMetadata | null;
  /** The state dict; the caller owns (and should dispose) these tensors. */
  tensors: Map<string, Tensor>;
}

/**
 * Reads a checkpoint written by {@link saveCheckpoint}, a PyTorch state dict saved with
 * `torch.save(model.state_dict(), path)` (the zip format of PyTorch 1.6 and later), or a
 * safetensors file (recognised by its `.safetensors` extension or its header). A `module.` prefix
 * on every key (left by `nn.DataParallel`) is removed.
 *
 * For a safetensors file, the metadata is the JSON record under the `__metadata__` key `medunet`
 * (see `saveSafetensors`), with the other `__metadata__` strings added as fields; it is null
 * when the file has no such record.
 *
 * @param path - Checkpoint file.
 * @throws CheckpointError when the file cannot be read or its metadata is invalid. Files in the
 *   legacy `torch.save` format and whole pickled models are rejected with a message that says
 *   how to save them again.
 */
export function readCheckpoint(path: string): CheckpointContents {
  checkString('path', path);
  const raw = isSafetensors(path) ? readSafetensors(path) : readTorchSave(path);
  return finishRead(path, raw);
}

/**
 * Reads a checkpoint like {@link readCheckpoint}. For `torch.save` zip files (medunet's own
 * format and PyTorch state dicts), the file read, the unpickling and the tensor building run on
 * the libuv thread pool; only the creation of the tensor handles runs on the calling thread.
 * NOTE: safetensors files are still decoded on the calling thread, as by {@link readCheckpoint}.
 *
 * @param path - Checkpoint file.
 * @returns A promise of the contents; the caller owns (and should dispose) the tensors.
 * @throws CheckpointError (as a rejection) for the same causes, with the same messages, as
 *   {@link readCheckpoint}; TypeError (as a rejection) for a path that is not a string.
 * @example
 * const { metadata, tensors } = await readCheckpointAsync('unet.pt');
 */
export async function readCheckpointAsync(path: string): Promise<CheckpointContents> {
  checkString('path', path);
  const raw = isSafetensors(path) ? readSafetensors(path) : await readTorchSaveAsync(path);
  return finishRead(path, raw);
}

function isSafetensors(path: string): boolean {
  return path.endsWith('.safetensors') || hasSafetensorsMagic(path);
}

/** Strips a `module.` prefix from every key and parses the metadata; disposes the tensors on failure. */
function finishRead(path: string, raw: RawCheckpoint): CheckpointContents {
  const entries = [...raw.tensors];
  const prefixed = entries.length > 0 && entries.every(([key]) => key.startsWith('module.'));
  const tensors = new Map(entries.map(([key, value]) => [prefixed ? key.slice('module.'.length) : key, value]));
  if (raw.metadata === null) return { metadata: null, tensors };
  try {
    return { metadata: { ...raw.extra, ...parseMetadata(path, raw.metadata) }, tensors };
  } catch (error) {
    for (const value of tensors.values()) value.dispose();
    throw error;
  }
}

/** A file's tensors, its metadata JSON text (or null), and loose string metadata to merge in. */
interface RawCheckpoint {
  tensors: Map<string, Tensor>;
  metadata: string | null;
  extra: Record<string, string>;
}

function readTorchSave(path: string): RawCheckpoint {
  let raw: ReturnType<typeof native.loadCheckpoint>;
  try {
    raw = native.loadCheckpoint(path);
  } catch (error) {
    throw readError(path, error);
  }
  return { tensors: new Map(Object.entries(raw.tensors)), metadata: raw.metadata, extra: {} };
}

async function readTorchSaveAsync(path: string): Promise<RawCheckpoint> {
  let raw: Awaited<ReturnType<typeof native.loadCheckpointAsync>>;
  try {
    raw = await native.loadCheckpointAsync(path);
  } catch (error) {
    throw readError(path, error);
  }
  return { tensors: new Map(Object.entries(raw.tensors)), metadata: raw.metadata, extra: {} };
}

function readError(path: string, error: unknown): CheckpointError {
  const message = (error as Error).message;
  const reason = withoutPathPrefix(path, message);
  // The addon's file errors start with the path and already name the failure, such as
  // "could not open the checkpoint: No such file or directory".
  return new CheckpointError(path, reason === message ? `could not read the checkpoint: ${message}` : reason, { cause: error });
}

/** Removes a leading "<path>: " from an error message, so that a wrapping CheckpointError names the path once. */
function withoutPathPrefix(path: string, message: string): string {
  return message.startsWith(`${path}: `) ? message.slice(path.length + 2) : message;
}

/** Keys listed by name in a state-dict message; the rest are only counted. */
const MAX_LISTED_KEYS = 10;

/** Joins at most {@link MAX_LISTED_KEYS} entries, then "... and N more". */
function listSome(entries: readonly string[]): string {
  if (entries.length <= MAX_LISTED_KEYS) return entries.join(', ');
  return `${entries.slice(0, MAX_LISTED_KEYS).join(', ')}, ... and ${entries.length - MAX_LISTED_KEYS} more`;
}

/**
 * Describes how a state dict fails to fit `model`, naming at most {@link MAX_LISTED_KEYS} keys of
 * each kind. A UNet has 100 or more keys, so a checkpoint of another model would otherwise give a
 * message of several kilobytes. The full lists stay in the ERR_STATE_DICT error from `loadStateDict`.
 */
function describeStateDictMismatch(model: UNet, tensors: Map<string, Tensor>, strict: boolean): string {
  const { missing, unexpected, misShaped } = compareStateDict(model, tensors);
  const problems: string[] = [];
  if (strict && missing.length > 0) problems.push(`${missing.length} missing keys: ${listSome(missing)}`);
  if (strict && unexpected.length > 0) problems.push(`${unexpected.length} unexpected keys: ${listSome(unexpected)}`);
  if (misShaped.length > 0) problems.push(`${misShaped.length} mis-shaped keys: ${listSome(misShaped)}`);
  return `the state dict does not fit UNet; ${problems.join('; ')}`;
}

/** The model's keys absent from `tensors`, the keys of `tensors` the model lacks, and those of another shape. */
function compareStateDict(
  model: UNet,
  tensors: Map<string, Tensor>,
): { missing: string[]; unexpected: string[]; misShaped: string[] } {
  const own = model.stateDict({ keepVars: true });
  const missing = [...own.keys()].filter((key) => !tensors.has(key));
  const unexpected = [...tensors.keys()].filter((key) => !own.has(key));
  const misShaped: string[] = [];
  for (const [key, target] of own) {
    const value = tensors.get(key);
    if (value !== undefined && formatShape(value.shape) !== formatShape(target.shape)) {
      misShaped.push(`${key} (expected ${formatShape(target.shape)}, got ${formatShape(value.shape)})`);
    }
  }
  return { missing, unexpected, misShaped };
}

function readSafetensors(path: string): RawCheckpoint {
  const { tensors, metadata } = loadSafetensors(path);
  const { [SAFETENSORS_MEDUNET_KEY]: record, ...extra } = metadata ?? {};
  return { tensors, metadata: record ?? null, extra };
}

function parseMetadata(path: string, text: string): CheckpointMetadata {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CheckpointError(path, `the metadata is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const record = parsed as Partial<CheckpointMetadata> | null;
  if (record === null || typeof record !== 'object' || record.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(path, `the metadata does not come from medunet (format ${JSON.stringify(record?.format)}, expected "${CHECKPOINT_FORMAT}")`);
  }
  if (typeof record.version !== 'number' || record.version > CHECKPOINT_VERSION) {
    throw new CheckpointError(path, `checkpoint version ${String(record.version)} is newer than this medunet reads (${CHECKPOINT_VERSION}); upgrade medunet`);
  }
  const architecture = record.architecture;
  const fields = ['inChannels', 'numClasses', 'baseWidth'] as const;
  if (
    architecture === undefined ||
    architecture.name !== 'UNet' ||
    !fields.every((field) => Number.isSafeInteger(architecture[field]) && architecture[field] > 0)
  ) {
    throw new CheckpointError(path, `the metadata has no valid UNet architecture: ${JSON.stringify(architecture)}`);
  }
  return record as CheckpointMetadata;
}

/** Derives the architecture from the shapes of the first and last convolution weights. */
function inferArchitecture(path: string, tensors: Map<string, Tensor>): UNetArchitecture {
  const first = tensors.get('inc.double_conv.0.weight');
  const last = tensors.get('outc.weight');
  if (first === undefined || last === undefined) {
    throw new CheckpointError(
      path,
      'the checkpoint has no medunet metadata and no `inc.double_conv.0.weight` and `outc.weight` to infer a UNet from',
    );
  }
  if (first.dim() !== 4 || last.dim() !== 4) {
    throw new CheckpointError(
      path,
      `cannot infer a UNet from \`inc.double_conv.0.weight\` ${formatShape(first.shape)} and \`outc.weight\` ${formatShape(last.shape)}`,
    );
  }
  return {
    name: 'UNet',
    inChannels: first.shape[1] as number,
    numClasses: last.shape[0] as number,
    baseWidth: first.shape[0] as number,
  };
}

/**
 * Rejects integer tensors for floating-point parameters and the reverse, which `copy_` would
 * convert silently. Floating-point tensors of another precision (float16, bfloat16, float64, as
 * left by `model.half()` or `model.double()` in PyTorch) are converted to the model's float32.
 */
function checkDTypes(path: string, model: UNet, tensors: Map<string, Tensor>): void {
  const wrong: string[] = [];
  for (const [key, target] of model.stateDict({ keepVars: true })) {
    const value = tensors.get(key);
    if (value !== undefined && isFloatingDType(value.dtype) !== isFloatingDType(target.dtype)) {
      wrong.push(`${key} (expected ${target.dtype}, got ${value.dtype})`);
    }
  }
  if (wrong.length > 0) {
    throw new CheckpointError(path, `the state dict has ${wrong.length} tensors of the wrong kind of dtype: ${listSome(wrong)}`);
  }
}

/**
 * Builds a {@link UNet} from a checkpoint and loads its weights, strictly by default (every key
 * must match). The architecture comes from the metadata, or, for a plain PyTorch state dict or a
 * safetensors file without medunet's record, from the shapes of `inc.double_conv.0.weight`
 * (`[baseWidth, inChannels, 3, 3]`) and `outc.weight` (`[numClasses, baseWidth, 1, 1]`).
 * Weights stored as float16, bfloat16 or float64 are converted to float32. The model is returned
 * in evaluation mode.
 *
 * @param path - A checkpoint from {@link saveCheckpoint}, a `.safetensors` file, or
 *   `torch.save(model.state_dict(), path)`.
 * @param options - `device` (default 'cpu'), `strict` (default true).
 * @returns The model.
 * @throws CheckpointError when the file cannot be read or does not fit a UNet (for missing,
 *   unexpected and mis-shaped keys, the cause is the ERR_STATE_DICT error naming them).
 * @example
 * const model = loadModel('unet.pt');
 */
export function loadModel(path: string, options?: LoadModelOptions): UNet {
  const { device, strict } = checkLoadOptions(options, 'loadModel');
  const { metadata, tensors } = readCheckpoint(path);
  try {
    const model = createModel(path, metadata?.architecture ?? inferArchitecture(path, tensors), false);
    try {
      checkDTypes(path, model, tensors);
      model.loadStateDict(tensors, { strict });
    } catch (error) {
      throw stateDictError(path, model, tensors, strict, error);
    }
    return model.to(device).eval();
  } finally {
    for (const value of tensors.values()) value.dispose();
  }
}

/**
 * Builds a {@link UNet} from a checkpoint like {@link loadModel}, with the heavy work off the
 * calling thread: the file is read as by {@link readCheckpointAsync}, the model is constructed
 * without filling its weights at random (see `skipInit`), and the loaded weights are copied
 * into it on the libuv thread pool. The result is the same model as `loadModel` returns.
 * Unlike `loadModel`, this does not consume numbers from the random number generator, except
 * when `strict` is false and the checkpoint lacks some of the model's keys (those keep their
 * random initial values, so the model is then initialised as usual).
 * NOTE: the event loop still stalls while V8 collects garbage after the new tensors' memory is
 * reported to it, for 60 to 170 ms in all on a width-64 U-Net (124 MB), against 400 to 700 ms
 * for `loadModel` (2-core x86-64 machine). Moving the model to a GPU (`device`) also runs on
 * the calling thread.
 *
 * @param path - A checkpoint from {@link saveCheckpoint}, a `.safetensors` file, or
 *   `torch.save(model.state_dict(), path)`.
 * @param options - `device` (default 'cpu'), `strict` (default true).
 * @returns A promise of the model, in evaluation mode.
 * @throws CheckpointError (as a rejection) for the same causes, with the same messages and
 *   causes, as {@link loadModel}; TypeError or RangeError (as a rejection) for bad options.
 * @example
 * const model = await loadModelAsync('unet.pt');
 */
export async function loadModelAsync(path: string, options?: LoadModelOptions): Promise<UNet> {
  const { device, strict } = checkLoadOptions(options, 'loadModelAsync');
  const { metadata, tensors } = await readCheckpointAsync(path);
  try {
    const architecture = metadata?.architecture ?? inferArchitecture(path, tensors);
    let model = createModel(path, architecture, true);
    const { missing, unexpected, misShaped } = compareStateDict(model, tensors);
    const fits = misShaped.length === 0 && (!strict || (missing.length === 0 && unexpected.length === 0));
    if (missing.length > 0) {
      // Keys that the checkpoint lacks keep their initial values, so those must be random ones.
      model.dispose();
      model = createModel(path, architecture, false);
    }
    const targets: Tensor[] = [];
    const sources: Tensor[] = [];
    try {
      checkDTypes(path, model, tensors);
      // loadStateDict throws the error that loadModel reports, before it copies anything.
      if (!fits) model.loadStateDict(tensors, { strict });
      for (const [key, target] of model.stateDict({ keepVars: true })) {
        const source = tensors.get(key);
        if (source === undefined) continue;
        targets.push(target);
        sources.push(source);
      }
    } catch (error) {
      throw stateDictError(path, model, tensors, strict, error);
    }
    const copying = native.copyTensorsAsync(targets, sources);
    // The copy holds its own references to the sources, so their memory is freed on the thread
    // pool when the copy ends, instead of here.
    for (const value of tensors.values()) value.dispose();
    try {
      await copying;
    } catch (error) {
      model.dispose();
      throw new CheckpointError(path, `could not copy the weights into the model: ${(error as Error).message}`, { cause: error });
    }
    return model.to(device).eval();
  } finally {
    for (const value of tensors.values()) value.dispose();
  }
}

function checkLoadOptions(options: unknown, caller: string): { device: string; strict: boolean } {
  const opts = checkOptions<LoadModelOptions>('options', options);
  checkKnownKeys('options', opts, ['device', 'strict'], caller);
  const device = resolveDevice(opts.device ?? 'cpu', 'options.device');
  const strict = opts.strict === undefined ? true : checkBoolean('options.strict', opts.strict);
  return { device, strict };
}

/** Constructs the UNet that `architecture` describes; with `withoutInit`, its weights are left unfilled. */
function createModel(path: string, architecture: UNetArchitecture, withoutInit: boolean): UNet {
  // `name` identifies the model class of the record. The other fields are the UNet's options.
  const { name: _name, ...unetOptions } = architecture;
  try {
    return withoutInit ? skipInit(() => new UNet(unetOptions)) : new UNet(unetOptions);
  } catch (error) {
    throw new CheckpointError(path, `invalid UNet architecture ${JSON.stringify(architecture)}: ${(error as Error).message}`, { cause: error });
  }
}

/** Disposes `model` and returns the CheckpointError for a failure to load `tensors` into it. */
function stateDictError(path: string, model: UNet, tensors: Map<string, Tensor>, strict: boolean, error: unknown): CheckpointError {
  if (error instanceof CheckpointError) {
    model.dispose();
    return error;
  }
  const isMismatch = (error as { code?: unknown }).code === ErrorCode.STATE_DICT;
  const reason = isMismatch ? describeStateDictMismatch(model, tensors, strict) : (error as Error).message;
  model.dispose();
  return new CheckpointError(path, reason, { cause: error });
}
