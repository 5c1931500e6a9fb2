// SPDX-License-Identifier: MIT
//
// Process-wide thread settings: libtorch's intra-op thread pool and the BLAS library's own pool.

#pragma once

namespace medunet {

/// Number of CPUs this process may run on (its affinity mask), at least 1.
int AvailableCpus();

/// Largest thread count accepted anywhere. Each libtorch or OpenBLAS thread is an OS thread, and
/// a mistyped count such as 99999 would otherwise start that many.
inline constexpr int kMaxThreads = 1024;

/// Intra-op thread count applied at load: MEDUNET_NUM_THREADS when set, else AvailableCpus().
/// Throws kOutOfRange when MEDUNET_NUM_THREADS is not a positive integer.
int DefaultIntraOpThreads();

/// Sets OpenBLAS's thread count through `openblas_set_num_threads`, looked up at run time in the
/// library that provides libtorch's `sgemm_`. Returns false when that library is not OpenBLAS.
bool SetOpenBlasThreads(int count);

/// Applies the default thread policy once per process (later calls do nothing): libtorch's
/// intra-op threads to DefaultIntraOpThreads(), and OpenBLAS, when loaded, to DefaultBlasThreads().
void ConfigureThreadsOnce();

/// OpenBLAS thread count applied at load; the measurement behind it is next to its definition.
int DefaultBlasThreads();

}  // namespace medunet
