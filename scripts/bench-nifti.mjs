// SPDX-License-Identifier: MIT
//
// Compares NIfTI read and write speed of medunet with nibabel on a 181 x 217 x 181 volume (the
// MNI152 1 mm grid) as int16 and float32, each as .nii and .nii.gz. Prints the median of several
// timed runs after one warm-up as MB of decoded voxels per second, and the ratio medunet/nibabel.
//
//   node scripts/bench-nifti.mjs [repeats] [--markdown]
//
// Before each timed run, both sides collect garbage and pause 10 ms. CPython frees an array as
// soon as its last reference goes, so glibc hands the same pages to the next read. V8 frees array
// buffers only at a garbage collection, in batches and on a background thread, and glibc may then
// return the pages to the kernel. Without this step a Node read often lands in fresh pages and
// pays a page fault per 4 KiB (7 to 10 ms per 14 MB on the machine in BENCHMARKS.md). The pause
// lets that background sweep finish, and nibabel gets the same pause so both start alike.
//
// nibabel runs through scripts/bench-nifti.py with /usr/bin/python3 (override with PYTHON).
// lib/data/nifti.ts is bundled with esbuild into a temporary folder first, so no build is needed.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { build } from 'esbuild';

const repeats = Number(process.argv.find((arg) => /^\d+$/.test(arg)) ?? 5);
const markdown = process.argv.includes('--markdown');
const python = process.env.PYTHON ?? '/usr/bin/python3';
const root = fileURLToPath(new URL('..', import.meta.url));
const folder = mkdtempSync(join(tmpdir(), 'medunet-bench-nifti-'));
const loadAtStart = loadavg()[0];

// A context created after the flag is set gets the gc() function; the main context does not.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc');

try {
  const bundle = join(folder, 'nifti.mjs');
  await build({
    entryPoints: [join(root, 'lib/data/nifti.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: bundle,
    logLevel: 'error',
  });
  const { readNifti, writeNifti } = await import(pathToFileURL(bundle).href);

  const dims = [181, 217, 181];
  const cases = [];
  for (const datatype of ['int16', 'float32']) {
    const data = syntheticHead(dims, datatype);
    for (const suffix of ['.nii', '.nii.gz']) {
      const path = join(folder, `${datatype}${suffix}`);
      writeNifti(path, { data, dims, pixdim: [1, 1, 1] });
      cases.push({ name: `${datatype}${suffix}`, path, data });
    }
  }

  const medunet = {};
  for (const { name, path, data } of cases) {
    const target = join(folder, `medunet-out-${name}`);
    const write = () => writeNifti(target, { data, dims, pixdim: [1, 1, 1] });
    const read = () => readNifti(path);
    read();
    write();
    medunet[name] = {
      read: median(await timeRuns(read, repeats)),
      write: median(await timeRuns(write, repeats)),
      bytes: data.byteLength,
    };
  }

  const nibabelFolder = mkdtempSync(join(folder, 'nibabel-'));
  const result = spawnSync(
    python,
    [join(root, 'scripts/bench-nifti.py'), String(repeats), nibabelFolder, ...cases.map((c) => c.path)],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  if (result.status !== 0) throw new Error(`${python} scripts/bench-nifti.py failed: ${result.stderr}`);
  const nibabelByPath = JSON.parse(result.stdout);

  const rows = cases.map(({ name, path }) => {
    const ours = medunet[name];
    const theirs = nibabelByPath[path];
    const mb = ours.bytes / 1e6;
    return [
      name,
      (mb / ours.read).toFixed(0),
      (mb / theirs.read).toFixed(0),
      (theirs.read / ours.read).toFixed(2),
      (mb / ours.write).toFixed(0),
      (mb / theirs.write).toFixed(0),
      (theirs.write / ours.write).toFixed(2),
    ];
  });
  const header = [
    'file',
    'read medunet MB/s',
    'read nibabel MB/s',
    'read ratio',
    'write medunet MB/s',
    'write nibabel MB/s',
    'write ratio',
  ];
  console.log(markdown ? markdownTable(header, rows) : plainTable(header, rows));
  console.log(`\nLoad average (1 min): ${loadAtStart.toFixed(2)} at the start, ${loadavg()[0].toFixed(2)} at the end.`);
} finally {
  rmSync(folder, { recursive: true, force: true });
}

/**
 * Fills a head-like volume: an ellipsoid of tissue values with a smooth gradient and seeded
 * noise inside, zeros outside, so gzip compresses realistic data rather than a constant.
 */
function syntheticHead(dims, datatype) {
  const [nx, ny, nz] = dims;
  const data = datatype === 'int16' ? new Int16Array(nx * ny * nz) : new Float32Array(nx * ny * nz);
  let state = 12345;
  let index = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, index++) {
        const x = (i - nx / 2) / (nx * 0.4);
        const y = (j - ny / 2) / (ny * 0.45);
        const z = (k - nz / 2) / (nz * 0.42);
        const radius = x * x + y * y + z * z;
        if (radius > 1) continue;
        state = (state * 1103515245 + 12345) >>> 0;
        const noise = (state / 2 ** 32 - 0.5) * 40;
        const value = 600 + 300 * Math.cos(6 * radius) + noise;
        data[index] = datatype === 'int16' ? Math.round(value) : value / 1000;
      }
    }
  }
  return data;
}

/** Times `repeats` runs of `step` in seconds, collecting garbage and pausing before each one. */
async function timeRuns(step, repeats) {
  const seconds = [];
  for (let run = 0; run < repeats; run++) {
    collectGarbage();
    await sleep(10);
    const start = process.hrtime.bigint();
    step();
    seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  return seconds;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function plainTable(header, rows) {
  const widths = header.map((title, c) => Math.max(title.length, ...rows.map((row) => row[c].length)));
  const pad = (cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]));
  const line = (cells) => cells.map(pad).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

function markdownTable(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, c) => (c === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}
