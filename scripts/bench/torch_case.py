#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run one PyTorch side of a `npm run bench` case and print one JSON line with its timings.

Usage: /usr/bin/python3 scripts/bench/torch_case.py '<case JSON>'

scripts/bench.mjs starts one such process per case and repeat, alternating with
scripts/bench/medunet-case.mjs. The case JSON has `kind`:

* ``train``: ``width``, ``size`` [H, W], ``batch``, ``warmup``, ``iterations``, ``seed``,
  ``checkpoint`` (a file written by medunet's ``saveCheckpoint``, which ``torch.load`` reads).
  One step is zero_grad, forward, Dice loss, ``loss.item()``, backward and an Adam step.
* ``predict``: ``variant`` (``tutorial`` or ``batched``), ``checkpoint``, ``volume`` (raw float32
  voxels, x fastest), ``dims`` [nx, ny, nz], ``slices`` (axial indices), ``batchSize``,
  ``maskOut`` (optional path for the uint8 mask, written after timing).

The model and the Dice loss are those of scripts/gen-golden.py, loaded from that file.
Thread counts come from the environment that scripts/bench.mjs sets before this file imports
torch, and from ``threads`` in the case JSON.
"""

import importlib.util
import json
import os
import resource
import sys
import time

# Keep the repository free of __pycache__ folders (for this file's import of gen-golden.py).
sys.dont_write_bytecode = True
CASE = json.loads(sys.argv[1])
THREADS = int(CASE['threads'])
# These must be set before torch is imported; the orchestrator sets them too.
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
os.environ.setdefault('OMP_NUM_THREADS', str(THREADS))
os.environ.setdefault('MKL_NUM_THREADS', str(THREADS))

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')


def load_golden():
    """Import scripts/gen-golden.py (its name has a hyphen) as a module."""
    spec = importlib.util.spec_from_file_location('gen_golden', os.path.join(ROOT, 'scripts', 'gen-golden.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


golden = load_golden()


def load_model(path, width):
    model = golden.UNet(1, 1, width)
    contents = torch.load(path)
    model.load_state_dict(contents['state_dict'])
    return model


def max_rss_kb():
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_train(case):
    torch.manual_seed(case['seed'])
    height, width = case['size']
    shape = [case['batch'], 1, height, width]
    # Drawn in the same order as medunet-case.mjs, from the same libtorch generator.
    images = torch.randn(shape)
    masks = (torch.rand(shape) > 0.5).to(torch.float32)
    model = load_model(case['checkpoint'], case['width'])
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    phases = {'zeroGrad': [], 'forward': [], 'loss': [], 'backward': [], 'step': []}
    seconds = []
    cpu = []
    losses = []
    for index in range(case['warmup'] + case['iterations']):
        cpu_start = time.process_time()
        t0 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        t1 = time.perf_counter()
        logits = golden.forward(model, images)
        t2 = time.perf_counter()
        loss = golden.dice_loss(logits, masks)
        losses.append(loss.item())
        t3 = time.perf_counter()
        loss.backward()
        t4 = time.perf_counter()
        optimizer.step()
        t5 = time.perf_counter()
        del logits, loss
        cpu_used = time.process_time() - cpu_start
        if index < case['warmup']:
            continue
        seconds.append(t5 - t0)
        cpu.append(cpu_used)
        for name, start, end in (('zeroGrad', t0, t1), ('forward', t1, t2), ('loss', t2, t3), ('backward', t3, t4), ('step', t4, t5)):
            phases[name].append(end - start)
    return {'seconds': seconds, 'cpuSeconds': cpu, 'phases': phases, 'firstLoss': losses[0], 'slicesPerIteration': case['batch']}


def normalize_volume(volume):
    """Clip to the 0.5th and 99.5th percentiles and map to [0, 1], as medunet's 'minmax' mode does."""
    low, high = np.percentile(volume, [0.5, 99.5])
    low, high = np.float32(low), np.float32(high)
    if not high > low:
        return np.zeros_like(volume)
    return (np.clip(volume, low, high) - low) / (high - low)


def predict_tutorial(model, volume, slices, batch_size):
    """Segment slices as the tutorial's loop does: one at a time, each normalised on its own, model(x) as is."""
    mask = np.zeros(volume.shape, dtype=np.uint8)
    with torch.no_grad():
        for z in slices:
            image = volume[z]
            image = (image - image.min()) / (image.max() - image.min() + 1e-8)
            x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None]
            probability = torch.sigmoid(model(x))
            mask[z] = (probability[0, 0] > 0.5).numpy()
    return mask


def predict_batched(model, volume, slices, batch_size):
    """Segment batches of slices after whole-volume normalisation, padding and cropping as medunet does."""
    mask = np.zeros(volume.shape, dtype=np.uint8)
    normalized = normalize_volume(volume)
    with torch.no_grad():
        for start in range(0, len(slices), batch_size):
            batch = slices[start:start + batch_size]
            x = torch.from_numpy(np.ascontiguousarray(normalized[batch]))[:, None]
            probability = torch.sigmoid(golden.forward(model, x))
            mask[batch] = (probability[:, 0] > 0.5).numpy()
    return mask


def run_predict(case):
    nx, ny, nz = case['dims']
    # Voxels are x fastest, so the array is [z, y, x] and volume[z] is an axial slice (rows y, columns x).
    volume = np.fromfile(case['volume'], dtype=np.float32).reshape(nz, ny, nx)
    model = load_model(case['checkpoint'], case['width'])
    model.eval()
    predict = predict_tutorial if case['variant'] == 'tutorial' else predict_batched
    slices = list(case['slices'])
    # Warm-up: one batch of slices (one slice for the tutorial loop, whose batch is one slice),
    # so one-time allocations happen before timing.
    warmup = 1 if case['variant'] == 'tutorial' else case['batchSize']
    predict(model, volume, slices[:warmup], case['batchSize'])
    start = time.perf_counter()
    cpu_start = time.process_time()
    mask = predict(model, volume, slices, case['batchSize'])
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    if case.get('maskOut'):
        mask.tofile(case['maskOut'])
    return {'seconds': [seconds], 'cpuSeconds': [cpu], 'slicesPerIteration': len(slices), 'foreground': int(mask.sum())}


def main():
    torch.set_num_threads(THREADS)
    kinds = {'train': run_train, 'predict': run_predict}
    if CASE['kind'] not in kinds:
        raise SystemExit(f"torch_case.py: `kind` must be 'train' or 'predict'; got {CASE['kind']!r}")
    result = kinds[CASE['kind']](CASE)
    result.update({
        'side': 'torch',
        'maxRssKb': max_rss_kb(),
        'threads': {
            'intraOp': torch.get_num_threads(),
            'interOp': torch.get_num_interop_threads(),
            'openblas': os.environ.get('OPENBLAS_NUM_THREADS'),
            'omp': os.environ.get('OMP_NUM_THREADS'),
        },
        'torchVersion': torch.__version__,
        'python': sys.version.split()[0],
    })
    sys.stdout.write(json.dumps(result) + '\n')


if __name__ == '__main__':
    main()
