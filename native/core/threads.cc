// SPDX-License-Identifier: MIT

#include "core/threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <sched.h>

#include <charconv>
#include <cstdlib>
#include <mutex>
#include <string_view>
#include <thread>

#include "core/error.h"

namespace medunet {

namespace {

using OpenBlasSetThreads = void (*)(int);

// Finds openblas_set_num_threads in the library that serves libtorch's BLAS calls. A process can
// load OpenBLAS for LAPACK while `sgemm_` comes from another BLAS (Debian can point
// liblapack.so.3 at OpenBLAS and libblas.so.3 at the reference BLAS); OpenBLAS's thread count
// then changes nothing, so that case counts as "not OpenBLAS".
OpenBlasSetThreads FindOpenBlasSetThreads() {
  // From this library, RTLD_DEFAULT follows the same search order as libtorch's own lookups.
  void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
  Dl_info blas{};
  if (sgemm == nullptr || dladdr(sgemm, &blas) == 0 || blas.dli_fname == nullptr) return nullptr;
  void* library = dlopen(blas.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
  if (library == nullptr) return nullptr;
  auto set_threads = reinterpret_cast<OpenBlasSetThreads>(dlsym(library, "openblas_set_num_threads"));
  dlclose(library);
  return set_threads;
}

}  // namespace

int AvailableCpus() {
#ifdef __linux__
  cpu_set_t mask;
  if (sched_getaffinity(0, sizeof(mask), &mask) == 0) {
    const int count = CPU_COUNT(&mask);
    if (count > 0) return count;
  }
#endif
  const unsigned int count = std::thread::hardware_concurrency();
  return count > 0 ? static_cast<int>(count) : 1;
}

int DefaultIntraOpThreads() {
  const char* text = std::getenv("MEDUNET_NUM_THREADS");
  if (text == nullptr || *text == '\0') return AvailableCpus();
  const std::string_view value(text);
  int count = 0;
  auto [end, status] = std::from_chars(value.data(), value.data() + value.size(), count);
  MEDUNET_CHECK(status == std::errc() && end == value.data() + value.size() && count > 0 && count <= kMaxThreads,
                kOutOfRange, "MEDUNET_NUM_THREADS must be an integer in [1, ", kMaxThreads, "]; got '", value, "'");
  return count;
}

bool SetOpenBlasThreads(int count) {
  OpenBlasSetThreads set_threads = FindOpenBlasSetThreads();
  if (set_threads == nullptr) return false;
  set_threads(count);
  return true;
}

// One OpenBLAS thread, because it measured faster than one per CPU, probably because OpenBLAS's
// pool then competes with libtorch's intra-op threads for the same cores. Measured with
// `node scripts/bench-blas-threads.mjs 15`, three runs (Debian libtorch 1.13.1, OpenBLAS 0.3.21
// pthread, 2 vCPUs, intra-op threads 2), median ms of forward+backward on [4, 64, 64, 64]:
// conv_transpose2d 64->32 k2 s2 took 26-30 at 1 thread and 34-58 at 2; conv2d 64->64 k3 p1
// took 26-28 and 25-38. With other jobs loading the machine: 174 vs 236 and 222 vs 237.
int DefaultBlasThreads() { return 1; }

void ConfigureThreadsOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    at::set_num_threads(DefaultIntraOpThreads());
    SetOpenBlasThreads(DefaultBlasThreads());
  });
}

}  // namespace medunet
