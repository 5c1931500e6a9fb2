// SPDX-License-Identifier: MIT
//
// `Module`, the base of every layer and model, as torch.nn.Module: named parameters, buffers
// and child modules, train/eval mode, device moves and state dicts with PyTorch's keys.

import { sameDevice, resolveDevice } from '../device.js';
import { ErrorCode, withCode } from '../errors.js';
import { checkNotLent } from '../engine/lent.js';
import { checkTensor, formatShape, isTensor, keep, noGrad, type Tensor } from '../tensor.js';
import { checkBoolean, checkOptions, checkString, rangeError, typeError } from '../validate.js';

/** A state dict: parameter and buffer names (PyTorch's dotted keys) to tensors. */
export type StateDict = Map<string, Tensor>;

/** Options of {@link Module.stateDict}. */
export interface StateDictOptions {
  /**
   * Return the module's own tensor handles instead of detached handles; default false
   * (`keep_vars` in PyTorch). The caller must not dispose handles it gets this way.
   */
  keepVars?: boolean;
}

/** Options of {@link Module.loadStateDict}. */
export interface LoadStateDictOptions {
  /** Require the keys to match exactly; default true. Mis-shaped tensors are rejected either way. */
  strict?: boolean;
}

/** Keys that {@link Module.loadStateDict} found missing from, or unexpected in, the dict it applied. */
export interface IncompatibleKeys {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/** Options of {@link Module.zeroGrad}. */
export interface ZeroGradOptions {
  /** Set gradients to null rather than to zero; default true, as in PyTorch 2. */
  setToNone?: boolean;
}

/** Checks that `name` can be an attribute name: a non-empty string without dots. */
function checkMemberName(kind: string, name: unknown): string {
  checkString(kind, name);
  if ((name as string).includes('.')) throw rangeError(kind, 'a name without "."', name);
  return name as string;
}

/**
 * Base class for layers and models, as `torch.nn.Module`.
 *
 * Subclasses register their tensors and children in the constructor with
 * {@link registerParameter}, {@link registerBuffer} and {@link registerModule}, and read them back
 * with {@link getParameter}/{@link getBuffer} (not by caching the tensor: `to()` replaces it), then
 * override `forward`. Modules are called through `forward` only.
 *
 * @example
 * class Scale extends Module {
 *   constructor() { super(); this.registerParameter('weight', ones([1], { requiresGrad: true })); }
 *   override forward(x: Tensor): Tensor { return x.mul(this.getParameter('weight')); }
 * }
 * @see https://pytorch.org/docs/stable/generated/torch.nn.Module.html
 */
export class Module {
  /** True in training mode (the default), false after `eval()`. */
  training = true;

  readonly #parameters = new Map<string, Tensor | null>();
  readonly #buffers = new Map<string, Tensor | null>();
  readonly #nonPersistent = new Set<string>();
  readonly #modules = new Map<string, Module>();
  #disposed = false;

  constructor() {
    // `forward` is overridden by every subclass, so the base class cannot check for disposal
    // inside it. The instance gets an own `forward` that checks first and then calls the
    // subclass's method, which the prototype chain already resolves while this constructor runs.
    const module = this;
    const subclassForward = this.forward;
    Object.defineProperty(this, 'forward', {
      // Named `forward` so that stack traces read `Conv2d.forward`.
      value: function forward(...inputs: Tensor[]): Tensor {
        module.#checkLive('forward');
        return subclassForward.apply(module, inputs);
      },
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }

  /** True once `dispose()` ran on this module or on a module that contains it. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** Throws an Error with code ERR_MODULE_DISPOSED after `dispose()`. */
  #checkLive(method: string): void {
    if (!this.#disposed) return;
    const message = `${this.constructor.name}.${method}: the module was disposed; it can no longer be used`;
    throw withCode(new Error(message), ErrorCode.MODULE_DISPOSED);
  }

  /**
   * Computes the module's output. The base class has no computation and throws.
   *
   * @param inputs - Input tensors; layers take one.
   * @returns The output tensor.
   */
  forward(...inputs: Tensor[]): Tensor {
    void inputs;
    throw withCode(new Error(`${this.constructor.name}.forward is not implemented; subclasses override it`), ErrorCode.NOT_IMPLEMENTED);
  }

  /**
   * Adds a parameter (or a null placeholder, as `bias=False` does) under `name`.
   * The tensor is exempted from `tidy` scopes and owned by the module from then on.
   *
   * @param name - Attribute name, without dots; becomes the last part of the state-dict key.
   * @param value - A tensor, normally with `requiresGrad` true, or null.
   * @returns The tensor (or null).
   */
  registerParameter(name: string, value: Tensor | null): Tensor | null {
    this.#checkLive('registerParameter');
    checkMemberName('name', name);
    if (value !== null) keep(checkTensor('value', value));
    this.#checkFree(name, this.#parameters);
    this.#parameters.set(name, value);
    return value;
  }

  /**
   * Adds a buffer: state that is not trained, such as BatchNorm's running statistics.
   * Persistent buffers (the default) appear in `stateDict()`.
   *
   * @param name - Attribute name, without dots.
   * @param value - A tensor or null.
   * @param options - `persistent`, default true.
   * @returns The tensor (or null).
   */
  registerBuffer(name: string, value: Tensor | null, options?: { persistent?: boolean }): Tensor | null {
    this.#checkLive('registerBuffer');
    checkMemberName('name', name);
    if (value !== null) keep(checkTensor('value', value));
    const persistent = checkOptions<{ persistent: boolean }>('options', options).persistent ?? true;
    checkBoolean('options.persistent', persistent);
    this.#checkFree(name, this.#buffers);
    this.#buffers.set(name, value);
    if (!persistent) this.#nonPersistent.add(name);
    return value;
  }

  /**
   * Adds a child module under `name`; its keys get the prefix `name.`.
   *
   * @param name - Attribute name, without dots (Sequential uses '0', '1', ...).
   * @param module - The child.
   * @returns The child.
   */
  registerModule<M extends Module>(name: string, module: M): M {
    this.#checkLive('registerModule');
    checkMemberName('name', name);
    if (!(module instanceof Module)) throw typeError('module', 'a Module', module);
    this.#checkFree(name, this.#modules);
    this.#modules.set(name, module);
    return module;
  }

  #checkFree(name: string, own: Map<string, unknown>): void {
    const usedElsewhere = [this.#parameters, this.#buffers, this.#modules].some((map) => map !== own && map.has(name));
    if (usedElsewhere || own.has(name)) throw rangeError('name', `a name not yet used in ${this.constructor.name}`, name);
  }

  /**
   * Returns the parameter registered as `name`; throws when there is none or it is null.
   *
   * @param name - As given to `registerParameter`.
   */
  getParameter(name: string): Tensor {
    this.#checkLive('getParameter');
    const value = this.#parameters.get(name);
    if (value === undefined || value === null) throw rangeError('name', `a parameter of ${this.constructor.name}`, name);
    return value;
  }

  /** Returns the parameter registered as `name`, or null when it was registered as null. */
  getOptionalParameter(name: string): Tensor | null {
    this.#checkLive('getOptionalParameter');
    if (!this.#parameters.has(name)) throw rangeError('name', `a parameter of ${this.constructor.name}`, name);
    return this.#parameters.get(name) ?? null;
  }

  /** Returns the buffer registered as `name`, or null when it was registered as null. */
  getBuffer(name: string): Tensor | null {
    this.#checkLive('getBuffer');
    if (!this.#buffers.has(name)) throw rangeError('name', `a buffer of ${this.constructor.name}`, name);
    return this.#buffers.get(name) ?? null;
  }

  /** Returns the child registered as `name`. */
  getModule(name: string): Module {
    const child = this.#modules.get(name);
    if (child === undefined) throw rangeError('name', `a submodule of ${this.constructor.name}`, name);
    return child;
  }

  /** Direct children as `[name, module]` pairs, in registration order. */
  namedChildren(): Array<[string, Module]> {
    return [...this.#modules.entries()];
  }

  /** Direct children, in registration order. */
  children(): Module[] {
    return [...this.#modules.values()];
  }

  /**
   * This module and all its descendants as `[name, module]` pairs, depth first, each once.
   * The root's name is `prefix` (default '').
   */
  namedModules(prefix = ''): Array<[string, Module]> {
    if (typeof prefix !== 'string') throw typeError('prefix', 'a string', prefix);
    const found: Array<[string, Module]> = [];
    const seen = new Set<Module>();
    const visit = (module: Module, name: string): void => {
      if (seen.has(module)) return;
      seen.add(module);
      found.push([name, module]);
      for (const [childName, child] of module.#modules) visit(child, name === '' ? childName : `${name}.${childName}`);
    };
    visit(this, prefix);
    return found;
  }

  /** This module and all its descendants, depth first. */
  modules(): Module[] {
    return this.namedModules().map(([, module]) => module);
  }

  /**
   * Parameters with their dotted names (`inc.double_conv.0.weight`), each tensor once, in
   * registration order; null placeholders are skipped.
   *
   * @param prefix - Prepended to every name with a dot.
   * @param recurse - Include descendants' parameters; default true.
   */
  namedParameters(prefix = '', recurse = true): Array<[string, Tensor]> {
    this.#checkLive('namedParameters');
    checkBoolean('recurse', recurse);
    return this.#namedMembers((module) => module.#parameters, prefix, recurse, false);
  }

  /** Parameters of this module and (by default) its descendants. */
  parameters(recurse = true): Tensor[] {
    return this.namedParameters('', recurse).map(([, value]) => value);
  }

  /** Buffers with their dotted names, each tensor once; null placeholders are skipped. */
  namedBuffers(prefix = '', recurse = true): Array<[string, Tensor]> {
    this.#checkLive('namedBuffers');
    checkBoolean('recurse', recurse);
    return this.#namedMembers((module) => module.#buffers, prefix, recurse, false);
  }

  /** Buffers of this module and (by default) its descendants. */
  buffers(recurse = true): Tensor[] {
    return this.namedBuffers('', recurse).map(([, value]) => value);
  }

  #namedMembers(
    pick: (module: Module) => Map<string, Tensor | null>,
    prefix: string,
    recurse: boolean,
    persistentOnly: boolean,
  ): Array<[string, Tensor]> {
    const found: Array<[string, Tensor]> = [];
    const seen = new Set<Tensor>();
    const modules: Array<[string, Module]> = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [moduleName, module] of modules) {
      for (const [name, value] of pick(module)) {
        if (value === null || seen.has(value)) continue;
        if (persistentOnly && module.#nonPersistent.has(name)) continue;
        seen.add(value);
        found.push([moduleName === '' ? name : `${moduleName}.${name}`, value]);
      }
    }
    return found;
  }

  /**
   * Sets training mode on this module and its descendants (BatchNorm uses batch statistics and
   * updates its running statistics in training mode).
   *
   * @param mode - True for training, false for evaluation; default true.
   * @returns This module.
   */
  train(mode = true): this {
    this.#checkLive('train');
    checkBoolean('mode', mode);
    for (const module of this.modules()) module.training = mode;
    return this;
  }

  /** Sets evaluation mode, as `train(false)`. @returns This module. */
  eval(): this {
    return this.train(false);
  }

  /**
   * Moves every parameter and buffer to `device`, in place, as `module.to(device)`.
   *
   * Each moved tensor is a new tensor that keeps `requiresGrad` (and its gradient, moved too);
   * the old handles are disposed. Move the model first and then build the optimizer, as in
   * PyTorch: an optimizer built before `to()` keeps stepping the old tensors.
   *
   * @param device - 'cpu', 'cuda', 'cuda:N' or 'auto'.
   * @returns This module.
   * @throws Error with code ERR_CUDA_UNAVAILABLE when the device is absent.
   */
  to(device: string): this {
    this.#checkLive('to');
    const target = resolveDevice(device);
    noGrad(() => {
      for (const module of this.modules()) {
        module.#moveAll(module.#parameters, target);
        module.#moveAll(module.#buffers, target);
      }
    });
    return this;
  }

  // NOTE: the CPU-only test suite runs only the no-op path here; moves to and from CUDA are
  // exercised only on machines with a CUDA build of libtorch.
  #moveAll(members: Map<string, Tensor | null>, device: string): void {
    for (const [name, value] of members) {
      if (value === null || sameDevice(value.device, device)) continue;
      const detached = value.detach();
      const moved = keep(detached.to(device));
      detached.dispose();
      if (value.requiresGrad) moved.requiresGrad = true;
      const grad = value.grad;
      if (grad !== null) {
        const movedGrad = grad.to(device);
        moved.setGrad(movedGrad);
        movedGrad.dispose();
        grad.dispose();
      }
      members.set(name, moved);
      value.dispose();
    }
  }

  /**
   * Clears the gradients of every parameter.
   *
   * @param options - `setToNone` (default true): drop the gradients; false fills them with zeros.
   */
  zeroGrad(options?: ZeroGradOptions): void {
    this.#checkLive('zeroGrad');
    const setToNone = checkOptions<ZeroGradOptions>('options', options).setToNone ?? true;
    checkBoolean('options.setToNone', setToNone);
    for (const parameter of this.parameters()) {
      const grad = parameter.grad;
      if (grad === null) continue;
      if (setToNone) parameter.setGrad(null);
      else grad.zero_();
      grad.dispose();
    }
  }

  /**
   * Parameters and persistent buffers under PyTorch's dotted keys, in PyTorch's order (each
   * module's parameters, then its buffers, then its children).
   *
   * Without `keepVars`, each value is a new detached handle that shares storage with the module's
   * tensor: dispose the handles (or call this inside `tidy`) when done.
   *
   * @param options - `keepVars` (default false).
   * @returns A Map from key to tensor.
   * @example
   * const keys = [...model.stateDict({ keepVars: true }).keys()];
   * @see https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.state_dict
   */
  stateDict(options?: StateDictOptions): StateDict {
    this.#checkLive('stateDict');
    const keepVars = checkOptions<StateDictOptions>('options', options).keepVars ?? false;
    checkBoolean('options.keepVars', keepVars);
    const result: StateDict = new Map();
    for (const [moduleName, module] of this.namedModules()) {
      const own = [
        ...module.#namedMembers((m) => m.#parameters, moduleName, false, false),
        ...module.#namedMembers((m) => m.#buffers, moduleName, false, true),
      ];
      for (const [key, value] of own) {
        if (!result.has(key)) result.set(key, keepVars ? value : value.detach());
      }
    }
    return result;
  }

  /**
   * Copies tensors from a state dict into this module's parameters and buffers, in place and
   * without recording gradients, as `load_state_dict`. Values are converted to each target's
   * dtype and device. Nothing is copied unless every check passes.
   *
   * @param stateDict - A Map or a plain object from key to tensor.
   * @param options - `strict` (default true): missing or unexpected keys are errors.
   * @returns The missing and unexpected keys (both empty when `strict` succeeded).
   * @throws Error with code ERR_STATE_DICT naming the missing, unexpected and mis-shaped keys.
   * @example
   * model.loadStateDict(other.stateDict());
   * @see https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.load_state_dict
   */
  loadStateDict(stateDict: StateDict | Record<string, Tensor>, options?: LoadStateDictOptions): IncompatibleKeys {
    this.#checkLive('loadStateDict');
    const source = toEntries(stateDict);
    const strict = checkOptions<LoadStateDictOptions>('options', options).strict ?? true;
    checkBoolean('options.strict', strict);

    const own = this.stateDict({ keepVars: true });
    const missingKeys = [...own.keys()].filter((key) => !source.has(key));
    const unexpectedKeys = [...source.keys()].filter((key) => !own.has(key));
    const misShaped: string[] = [];
    for (const [key, target] of own) {
      const value = source.get(key);
      if (value === undefined) continue;
      if (!sameShape(value.shape, target.shape)) {
        misShaped.push(`${key} (expected ${formatShape(target.shape)}, got ${formatShape(value.shape)})`);
      }
    }

    const problems: string[] = [];
    if (strict && missingKeys.length > 0) problems.push(`missing keys: ${missingKeys.join(', ')}`);
    if (strict && unexpectedKeys.length > 0) problems.push(`unexpected keys: ${unexpectedKeys.join(', ')}`);
    if (misShaped.length > 0) problems.push(`mis-shaped keys: ${misShaped.join(', ')}`);
    if (problems.length > 0) {
      throw withCode(
        new Error(`the state dict does not fit ${this.constructor.name}; ${problems.join('; ')}`),
        ErrorCode.STATE_DICT,
      );
    }

    noGrad(() => {
      for (const [key, target] of own) {
        const value = source.get(key);
        if (value !== undefined) target.copy_(value);
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  /**
   * Frees the native memory of every parameter and buffer of this module and its descendants now.
   * Afterwards `forward`, `parameters()`, `to()`, `stateDict()`, `loadStateDict()` and the other
   * methods that reach the tensors throw an Error with code ERR_MODULE_DISPOSED. Calling it again
   * does nothing. While an off-thread call (`trainModel`, `trainStepAsync`, `predictVolume`) uses
   * the module, it throws an Error with code ERR_TENSOR_BUSY and frees nothing.
   *
   * @example
   * model.dispose();
   * model.forward(x); // throws Error with code ERR_MODULE_DISPOSED
   */
  dispose(): void {
    checkNotLent('model', this, 'be disposed');
    for (const module of this.modules()) {
      module.#disposed = true;
      for (const value of [...module.#parameters.values(), ...module.#buffers.values()]) value?.dispose();
    }
  }

  /** Calls {@link dispose}, so that `using model = new UNet(...)` frees the module at the end of its block. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((size, i) => size === b[i]);
}

function toEntries(stateDict: unknown): Map<string, Tensor> {
  let entries: Array<[string, unknown]>;
  if (stateDict instanceof Map) entries = [...(stateDict as Map<string, unknown>).entries()];
  else if (stateDict !== null && typeof stateDict === 'object' && !Array.isArray(stateDict)) entries = Object.entries(stateDict);
  else throw typeError('stateDict', 'a Map or an object of Tensors', stateDict);
  for (const [key, value] of entries) {
    if (!isTensor(value)) throw typeError(`stateDict[${JSON.stringify(key)}]`, 'a Tensor', value);
  }
  return new Map(entries as Array<[string, Tensor]>);
}
