# SPDX-License-Identifier: MIT
#
# nibabel side of scripts/bench-nifti.mjs: times full reads and writes of the NIfTI files named
# on the command line and prints the median times in seconds as JSON.
#
#   python3 scripts/bench-nifti.py REPEATS OUTPUT_FOLDER FILE...
#
# A read is nib.load(path, mmap=False) plus np.asarray(img.dataobj), the full decode with
# scaling applied. A write saves that array with the loaded header to OUTPUT_FOLDER under the
# same name. Each timed run follows a garbage collection and a 10 ms pause, as on the Node side.

import gc
import json
import os
import statistics
import sys
import time

import nibabel as nib
import numpy as np


def timed(step):
    gc.collect()
    time.sleep(0.01)
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def read(path):
    # mmap=False makes nibabel read the voxels now; a memory map would defer the reading.
    return np.asarray(nib.load(path, mmap=False).dataobj)


def main():
    repeats = int(sys.argv[1])
    folder = sys.argv[2]
    results = {}
    for path in sys.argv[3:]:
        image = nib.load(path, mmap=False)
        data = np.asarray(image.dataobj)
        target = os.path.join(folder, os.path.basename(path))

        def write():
            nib.save(nib.Nifti1Image(data, image.affine, image.header), target)

        read(path)
        write()
        read_times = [timed(lambda: read(path)) for _ in range(repeats)]
        write_times = [timed(write) for _ in range(repeats)]
        results[path] = {
            'read': statistics.median(read_times),
            'write': statistics.median(write_times),
            'bytes': int(data.nbytes),
        }
    print(json.dumps(results))


if __name__ == '__main__':
    main()
