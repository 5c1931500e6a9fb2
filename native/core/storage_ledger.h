// SPDX-License-Identifier: MIT
//
// Byte counts of the tensor storages that JavaScript handles keep alive. Each storage counts
// once however many handles (views, detached aliases, repeated `.grad` reads) share it, so the
// totals match the memory that disposing every handle could free.

#pragma once

#include <cstdint>
#include <unordered_map>

namespace at {
class Tensor;
}  // namespace at

namespace medunet {

/// Reference counts and sizes of the storages held by handles, split into CPU and CUDA bytes.
class StorageLedger {
 public:
  /// Counts `tensor`'s storage as held by one more handle. Returns the key to pass to Release,
  /// or null for a tensor without storage (undefined, or a kind without data pointers).
  const void* Retain(const at::Tensor& tensor);
  /// Drops one holder of the storage behind `key`; a null key is ignored.
  void Release(const void* key);

  int64_t cpu_bytes() const { return cpu_bytes_; }
  int64_t cuda_bytes() const { return cuda_bytes_; }

 private:
  struct Entry {
    int64_t holders = 0;
    int64_t nbytes = 0;
    bool is_cuda = false;
  };

  std::unordered_map<const void*, Entry> entries_;
  int64_t cpu_bytes_ = 0;
  int64_t cuda_bytes_ = 0;
};

}  // namespace medunet
