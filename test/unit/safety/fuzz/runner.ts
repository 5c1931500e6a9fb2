// SPDX-License-Identifier: MIT
//
// Child-process side of the property test of the exported surface. fuzz.test.ts bundles this
// file with esbuild and runs it in a separate Node process, so that an abort or a hang shows up
// as a failed test naming the call instead of killing the test runner.
//
//   node runner.mjs <job.json>
//
// The job names the seed, the first run index, the number of runs, the working folder (every
// relative path a call uses lands there) and the log file. For each run the child writes a
// `start` line (target and arguments) before the call and an `end` or `defect` line after it,
// so the parent can name the call that was running when the process died.

import { closeSync, openSync, writeSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';

import * as medunet from '../../../../lib/index.js';
import { FIXTURE_FILES, INSTANCE_FACTORIES, SURFACE, smallVolume } from './surface.js';

interface Job {
  seed: number;
  start: number;
  runs: number;
  workDir: string;
  logFile: string;
  /** Milliseconds a returned Promise may stay pending before the call counts as hung. */
  promiseTimeoutMs: number;
}

/** A JSON description of one argument; `materialize` turns it into the real value. */
type Arg =
  | { t: 'value'; v: string | number | boolean | null }
  | { t: 'special'; v: string }
  | { t: 'bigint'; v: string }
  | { t: 'array'; v: Arg[] }
  | { t: 'typed'; kind: string; length: number; fill: number }
  | { t: 'object'; v: Record<string, Arg> }
  | { t: 'tensor'; v: string }
  | { t: 'instance'; v: string; disposed: boolean }
  | { t: 'function'; v: string };

interface Run {
  target: number;
  args: Arg[];
  disposeReceiver: boolean;
}

interface Target {
  name: string;
  call: (args: unknown[], disposeReceiver: boolean) => unknown;
}

/** Thrown by the hostile values (getters, proxy traps, callbacks); passing it on is correct. */
class FuzzSentinel extends Error {
  override name = 'FuzzSentinel';
}

const MEDUNET_CODES = new Set<string>(Object.values(medunet.ErrorCode));

// ---------------------------------------------------------------------------------------------
// Argument generation.

const SPECIALS = [
  'undefined',
  'NaN',
  'Infinity',
  '-Infinity',
  '-0',
  'huge',
  'symbol',
  'sparseHugeArray',
  'arrayLikeHugeLength',
  'throwingGetters',
  'throwingProxy',
  'abortedSignal',
  'volume',
  'batch',
  'batchArray',
  'stateDict',
  'buffer',
  'arrayBuffer',
  'dataView',
  'date',
  'map',
  'promise',
] as const;

const TENSORS = [
  'image',
  'image2',
  'mask',
  'labels',
  'vector',
  'scalar',
  'empty',
  'int64',
  'bool',
  'float64',
  'bfloat16',
  'requiresGrad',
  'disposed',
  'view',
  'nonContiguous',
] as const;

const FUNCTIONS = ['noop', 'throws', 'async', 'returnsTensor', 'returnsNumber', 'class'] as const;

const TYPED_KINDS = [
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
] as const;

const OPTION_KEYS = [
  'dtype', 'device', 'requiresGrad', 'padding', 'stride', 'bias', 'dilation', 'groups', 'outputPadding',
  'ceilMode', 'lr', 'momentum', 'betas', 'eps', 'weightDecay', 'amsgrad', 'nesterov', 'dampening', 'axis',
  'batchSize', 'threshold', 'normalize', 'autocast', 'probabilities', 'onProgress', 'signal', 'slices',
  'strict', 'keepVars', 'setToNone', 'persistent', 'inChannels', 'numClasses', 'baseWidth', 'sigmoid',
  'softmax', 'includeBackground', 'smoothNr', 'smoothDr', 'reduction', 'mode', 'shuffle', 'seed', 'dropLast',
  'transform', 'cacheSize', 'maskMode', 'padMultiple', 'skipEmpty', 'volume', 'orientation', 'applyScaling',
  'header', 'datatype', 'affine', 'pixdim', 'dims', 'data', 'images', 'masks', 'shape', 'image', 'mask',
  'valLoader', 'onBatch', 'onEpoch', 'log', 'deviceType', 'inplace', 'trackRunningStats', 'mean', 'std',
  'nonlinearity', 'gain', 'rotation', 'scale', 'translation', 'horizontalFlip', 'verticalFlip', 'brightness',
  'contrast', 'gamma', 'columns', 'labels', 'width', 'height', 'prediction', 'target', 'weight', 'ignoreIndex',
  'posWeight', 'alignCorners', 'value', 'numClasses', 'tMax', 'etaMin', 'blocks', 'fraction', 'metadata',
];

const STRINGS = [
  '', 'cpu', 'cuda', 'cuda:1', 'auto', 'float32', 'int64', 'bool', 'uint8', 'float16', 'mean', 'sum', 'none',
  'axial', 'sagittal', 'coronal', 'minmax', 'zscore', 'labels', 'binary', 'bilinear', 'nearest', 'constant',
  'reflect', 'replicate', 'fanIn', 'fanOut', 'relu', 'leaky_relu', 'RAS', 'native', 'bfloat16',
  FIXTURE_FILES.nifti, FIXTURE_FILES.niftiGzip, FIXTURE_FILES.checkpoint, FIXTURE_FILES.safetensors,
  'missing.nii', 'out.nii.gz', 'out.nii', 'out.png', 'out.ckpt', 'out.safetensors', 'folder', 'folder/nested.nii',
];

function argArbitrary(): fc.Arbitrary<Arg> {
  const { arg } = fc.letrec<{ arg: Arg }>((tie) => ({
    arg: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      { arbitrary: primitive(), weight: 6 },
      { arbitrary: fc.constantFrom(...TENSORS).map((v): Arg => ({ t: 'tensor', v })), weight: 4 },
      { arbitrary: instance(), weight: 3 },
      { arbitrary: fc.constantFrom(...SPECIALS).map((v): Arg => ({ t: 'special', v })), weight: 2 },
      { arbitrary: fc.constantFrom(...FUNCTIONS).map((v): Arg => ({ t: 'function', v })), weight: 1 },
      { arbitrary: typedArray(), weight: 2 },
      { arbitrary: shape(), weight: 3 },
      { arbitrary: fc.array(tie('arg'), { maxLength: 4 }).map((v): Arg => ({ t: 'array', v })), weight: 2 },
      {
        arbitrary: fc
          .dictionary(fc.oneof(fc.constantFrom(...OPTION_KEYS), fc.string({ maxLength: 6 })), tie('arg'), { maxKeys: 3 })
          .map((v): Arg => ({ t: 'object', v })),
        weight: 3,
      },
    ),
  }));
  return arg;
}

function primitive(): fc.Arbitrary<Arg> {
  return fc.oneof(
    fc.constantFrom(null, true, false, 0, 1, 2, 3, 4, 16, -1, -3, 0.5, 1e-8, 2 ** 31, 2 ** 53, 1e308, -1e308).map((v): Arg => ({ t: 'value', v })),
    fc.integer({ min: -20, max: 70 }).map((v): Arg => ({ t: 'value', v })),
    fc.double().map((v): Arg => (Number.isFinite(v) ? { t: 'value', v } : { t: 'special', v: String(v) })),
    fc.constantFrom(...STRINGS).map((v): Arg => ({ t: 'value', v })),
    fc.string({ maxLength: 12 }).map((v): Arg => ({ t: 'value', v: safeName(v) })),
    fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((v): Arg => ({ t: 'bigint', v: String(v) })),
  );
}

/** Keeps random strings inside the working folder: no absolute paths, no parent folders. */
function safeName(value: string): string {
  return value.replace(/[/\\\0]/g, '_').replace(/\.\./g, '__');
}

function instance(): fc.Arbitrary<Arg> {
  const names = Object.keys(INSTANCE_FACTORIES);
  return fc.record({ v: fc.constantFrom(...names), disposed: fc.boolean() }).map(({ v, disposed }): Arg => ({ t: 'instance', v, disposed }));
}

function typedArray(): fc.Arbitrary<Arg> {
  return fc
    .record({
      kind: fc.constantFrom(...TYPED_KINDS),
      length: fc.constantFrom(0, 1, 2, 3, 4, 8, 16, 256, 512, 1000),
      fill: fc.constantFrom(0, 1, 2, -1, 0.5, 255),
    })
    .map((r): Arg => ({ t: 'typed', ...r }));
}

function shape(): fc.Arbitrary<Arg> {
  const size = fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 16, 32, -1, 2 ** 40, 0.5), fc.integer({ min: 0, max: 20 }));
  return fc.array(size, { maxLength: 5 }).map((sizes): Arg => ({ t: 'array', v: sizes.map((v) => ({ t: 'value', v })) }));
}

function runArbitrary(targets: number): fc.Arbitrary<Run> {
  return fc.record({
    target: fc.nat({ max: targets - 1 }),
    args: fc.array(argArbitrary(), { maxLength: 6 }),
    disposeReceiver: fc.boolean().chain((flag) => (flag ? fc.boolean() : fc.constant(false))),
  });
}

// ---------------------------------------------------------------------------------------------
// Turning descriptions into values.

function tensorOf(name: string): medunet.Tensor {
  switch (name) {
    case 'image':
      return medunet.randn([1, 1, 16, 16]);
    case 'image2':
      return medunet.randn([2, 1, 16, 16]);
    case 'mask':
      return medunet.zeros([1, 1, 16, 16]).add(1).mul(medunet.rand([1, 1, 16, 16]).gt(0.5));
    case 'labels':
      return medunet.zeros([1, 16, 16], { dtype: 'int64' });
    case 'vector':
      return medunet.arange(0, 4);
    case 'scalar':
      return medunet.full([], 2);
    case 'empty':
      return medunet.zeros([0]);
    case 'int64':
      return medunet.ones([4], { dtype: 'int64' });
    case 'bool':
      return medunet.ones([4], { dtype: 'bool' });
    case 'float64':
      return medunet.ones([2, 2], { dtype: 'float64' });
    case 'bfloat16':
      return medunet.ones([2, 2], { dtype: 'bfloat16' });
    case 'requiresGrad':
      return medunet.ones([4], { requiresGrad: true });
    case 'disposed': {
      const t = medunet.ones([4]);
      t.dispose();
      return t;
    }
    case 'view':
      return medunet.arange(0, 16).reshape([4, 4]).narrow(0, 1, 2);
    case 'nonContiguous':
      return medunet.randn([1, 16, 16, 1]).permute([0, 3, 1, 2]);
    default:
      throw new Error(`unknown tensor ${name}`);
  }
}

function special(name: string): unknown {
  switch (name) {
    case 'undefined':
      return undefined;
    case 'NaN':
      return NaN;
    case 'Infinity':
      return Infinity;
    case '-Infinity':
      return -Infinity;
    case '-0':
      return -0;
    case 'huge':
      return Number.MAX_VALUE;
    case 'symbol':
      return Symbol('fuzz');
    case 'sparseHugeArray':
      // A sparse array that claims 2^32 - 1 elements.
      return Object.assign([], { length: 2 ** 32 - 1 });
    case 'arrayLikeHugeLength':
      return { length: 1e15 };
    case 'throwingGetters':
      return new Proxy(
        {},
        {
          get(_target, key) {
            if (key === 'then') return undefined;
            throw new FuzzSentinel(`getter ${String(key)} threw`);
          },
          has() {
            throw new FuzzSentinel('has trap threw');
          },
        },
      );
    case 'throwingProxy':
      return new Proxy([1, 2, 3], {
        get(target, key, receiver) {
          if (key === 'length') throw new FuzzSentinel('length getter threw');
          return Reflect.get(target, key, receiver);
        },
        ownKeys() {
          throw new FuzzSentinel('ownKeys trap threw');
        },
      });
    case 'abortedSignal':
      return AbortSignal.abort();
    case 'volume':
      return smallVolume();
    case 'batch':
      return { images: new Float32Array(2 * 256), masks: new Float32Array(2 * 256), shape: [2, 1, 16, 16] };
    case 'batchArray':
      return [{ images: new Float32Array(2 * 256), masks: new Float32Array(2 * 256), shape: [2, 1, 16, 16] }];
    case 'stateDict':
      return new Map([['weight', medunet.zeros([1, 1, 3, 3])]]);
    case 'buffer':
      return Buffer.from([0, 1, 2, 3]);
    case 'arrayBuffer':
      return new ArrayBuffer(16);
    case 'dataView':
      return new DataView(new ArrayBuffer(16));
    case 'date':
      return new Date(0);
    case 'map':
      return new Map([['a', 1]]);
    case 'promise':
      return Promise.resolve(medunet.zeros([1]));
    default:
      throw new Error(`unknown special ${name}`);
  }
}

function functionOf(name: string): unknown {
  switch (name) {
    case 'noop':
      return () => undefined;
    case 'throws':
      return () => {
        throw new FuzzSentinel('callback threw');
      };
    case 'async':
      return async () => medunet.zeros([1]);
    case 'returnsTensor':
      return () => medunet.ones([1, 1, 16, 16]);
    case 'returnsNumber':
      return () => 1;
    case 'class':
      return class Fuzz {};
    default:
      throw new Error(`unknown function ${name}`);
  }
}

function typedOf(kind: string, length: number, fill: number): unknown {
  const constructor = (globalThis as unknown as Record<string, new (length: number) => { fill(value: unknown): unknown }>)[kind];
  if (constructor === undefined) throw new Error(`unknown typed array ${kind}`);
  const array = new constructor(length);
  array.fill(kind.startsWith('Big') ? BigInt(Math.trunc(fill)) : fill);
  return array;
}

function materialize(arg: Arg): unknown {
  switch (arg.t) {
    case 'value':
      return arg.v;
    case 'special':
      return special(arg.v);
    case 'bigint':
      return BigInt(arg.v);
    case 'array':
      return arg.v.map(materialize);
    case 'typed':
      return typedOf(arg.kind, arg.length, arg.fill);
    case 'object':
      return Object.fromEntries(Object.entries(arg.v).map(([key, value]) => [key, materialize(value)]));
    case 'tensor':
      return tensorOf(arg.v);
    case 'instance': {
      const value = INSTANCE_FACTORIES[arg.v]?.();
      if (arg.disposed) (value as { dispose?: () => void }).dispose?.();
      return value;
    }
    case 'function':
      return functionOf(arg.v);
  }
}

// ---------------------------------------------------------------------------------------------
// Targets: every function, constructor, static method, instance method, getter and setter.

function isConstructor(value: unknown): value is new (...args: unknown[]) => unknown {
  return typeof value === 'function' && typeof (value as { prototype?: unknown }).prototype === 'object';
}

function memberKeys(prototype: object): Array<string | symbol> {
  const keys = new Set<string | symbol>();
  for (let p: object | null = prototype; p !== null && p !== Object.prototype && p !== Error.prototype; p = Object.getPrototypeOf(p)) {
    for (const key of Reflect.ownKeys(p)) if (key !== 'constructor') keys.add(key);
  }
  return [...keys].sort((a, b) => String(a).localeCompare(String(b)));
}

function receiver(className: string, disposeReceiver: boolean): Record<string | symbol, unknown> {
  const factory = INSTANCE_FACTORIES[className];
  if (factory === undefined) throw new Error(`no instance factory for ${className}`);
  const value = factory() as Record<string | symbol, unknown>;
  if (disposeReceiver) (value as { dispose?: () => void }).dispose?.();
  return value;
}

function findDescriptor(prototype: object, key: string | symbol): PropertyDescriptor | undefined {
  for (let p: object | null = prototype; p !== null; p = Object.getPrototypeOf(p)) {
    const descriptor = Object.getOwnPropertyDescriptor(p, key);
    if (descriptor !== undefined) return descriptor;
  }
  return undefined;
}

function classTargets(name: string, cls: new (...args: unknown[]) => unknown): Target[] {
  const targets: Target[] = [{ name: `new ${name}`, call: (args) => new cls(...args) }];
  for (const key of Object.getOwnPropertyNames(cls).sort()) {
    if (['length', 'name', 'prototype', 'arguments', 'caller'].includes(key)) continue;
    const value = (cls as unknown as Record<string, unknown>)[key];
    if (typeof value === 'function') targets.push({ name: `${name}.${key}`, call: (args) => (value as (...a: unknown[]) => unknown).apply(cls, args) });
  }
  if (INSTANCE_FACTORIES[name] === undefined) return targets;
  for (const key of memberKeys(cls.prototype as object)) {
    const descriptor = findDescriptor(cls.prototype as object, key);
    if (descriptor === undefined) continue;
    const label = `${name}#${String(key)}`;
    if (typeof descriptor.value === 'function') {
      targets.push({
        name: label,
        call: (args, dispose) => {
          const self = receiver(name, dispose);
          return (self[key] as (...a: unknown[]) => unknown).apply(self, args);
        },
      });
    }
    if (descriptor.get !== undefined) targets.push({ name: `${label} get`, call: (_args, dispose) => receiver(name, dispose)[key] });
    if (descriptor.set !== undefined) {
      targets.push({
        name: `${label} set`,
        call: (args, dispose) => {
          receiver(name, dispose)[key] = args[0];
        },
      });
    }
  }
  return targets;
}

function buildTargets(): Target[] {
  const targets: Target[] = [];
  const exports = medunet as unknown as Record<string, unknown>;
  for (const name of Object.keys(SURFACE).sort()) {
    const value = exports[name];
    const kind = SURFACE[name];
    if (kind === 'function') {
      targets.push({ name, call: (args) => (value as (...a: unknown[]) => unknown)(...args) });
    } else if (kind === 'namespace') {
      for (const key of Object.keys(value as object).sort()) {
        const member = (value as Record<string, unknown>)[key];
        if (typeof member === 'function') targets.push({ name: `${name}.${key}`, call: (args) => (member as (...a: unknown[]) => unknown)(...args) });
      }
    } else if (kind === 'class' && isConstructor(value)) {
      targets.push(...classTargets(name, value));
    }
  }
  return targets;
}

// ---------------------------------------------------------------------------------------------
// Running and judging calls.

/** Returns a description of what is wrong with a thrown value, or null when it is acceptable. */
function judge(thrown: unknown): string | null {
  if (!(thrown instanceof Error)) return `threw a non-Error: ${typeof thrown} ${String(thrown)}`;
  if (thrown instanceof FuzzSentinel) return null;
  if (thrown.name === 'AbortError') return null;
  const code = (thrown as { code?: unknown }).code;
  // Operating-system errors (ENOENT, EACCES, ...) from file operations carry their own code.
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code) && 'syscall' in thrown) return null;
  if (typeof code !== 'string' || !(MEDUNET_CODES.has(code) || code.startsWith('ERR_'))) {
    return `threw ${thrown.constructor.name} without an error code: ${thrown.message.split('\n')[0]}`;
  }
  if (code === 'ERR_INVALID_ARG_TYPE' && !(thrown instanceof TypeError)) return `code ${code} on a ${thrown.constructor.name}: ${thrown.message}`;
  if (code === 'ERR_OUT_OF_RANGE' && !(thrown instanceof RangeError)) return `code ${code} on a ${thrown.constructor.name}: ${thrown.message}`;
  if (thrown.message.trim().length === 0) return `threw ${thrown.constructor.name} ${code} with an empty message`;
  return null;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

async function settle(value: PromiseLike<unknown>, timeoutMs: number): Promise<{ hung: boolean; error?: unknown; rejected: boolean }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const outcome = await Promise.race([Promise.resolve(value).then(() => 'done' as const), timeout]);
    return { hung: outcome === 'timeout', rejected: false };
  } catch (error) {
    return { hung: false, rejected: true, error };
  } finally {
    clearTimeout(timer);
  }
}

async function main(): Promise<void> {
  const job = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as Job;
  process.chdir(job.workDir);
  const log = openSync(job.logFile, 'a');
  const write = (record: object): void => {
    writeSync(log, `${JSON.stringify(record)}\n`);
  };
  let current = -1;
  process.on('uncaughtException', (error) => write({ ev: 'defect', i: current, problem: `uncaught exception: ${String(error)}` }));
  process.on('unhandledRejection', (reason) => {
    const problem = judge(reason);
    if (problem !== null) write({ ev: 'defect', i: current, problem: `unhandled rejection: ${problem}` });
  });

  medunet.setNumThreads(1);
  medunet.manualSeed(job.seed);
  writeFixtures();
  const targets = buildTargets();
  const runs = fc.sample(runArbitrary(targets.length), { seed: job.seed, numRuns: job.start + job.runs }).slice(job.start);

  for (const [offset, run] of runs.entries()) {
    current = job.start + offset;
    const target = targets[run.target] as Target;
    write({ ev: 'start', i: current, target: target.name, args: run.args, disposeReceiver: run.disposeReceiver });
    let problem: string | null = null;
    try {
      const args = run.args.map(materialize);
      const result = target.call(args, run.disposeReceiver);
      if (isThenable(result)) {
        const outcome = await settle(result, job.promiseTimeoutMs);
        if (outcome.hung) problem = `the returned Promise did not settle within ${job.promiseTimeoutMs} ms`;
        else if (outcome.rejected) problem = judge(outcome.error);
      }
    } catch (error) {
      problem = judge(error);
    } finally {
      // A call may raise the thread count; later calls must not run with hundreds of threads.
      medunet.setNumThreads(1);
    }
    write(problem === null ? { ev: 'end', i: current } : { ev: 'defect', i: current, problem });
  }
  write({ ev: 'done' });
  closeSync(log);
}

/** Writes the files that string arguments may name, so that readers get past "not found". */
function writeFixtures(): void {
  const volume = smallVolume();
  medunet.writeNifti(FIXTURE_FILES.nifti, volume);
  medunet.writeNifti(FIXTURE_FILES.niftiGzip, volume);
  const model = new medunet.UNet({ inChannels: 1, numClasses: 1, baseWidth: 2 });
  medunet.saveCheckpoint(FIXTURE_FILES.checkpoint, model);
  medunet.saveSafetensors(FIXTURE_FILES.safetensors, model);
  model.dispose();
}

await main();
process.exit(0);
