// SPDX-License-Identifier: MIT

#include "core/storage_ledger.h"

#include <ATen/core/Tensor.h>

namespace medunet {

const void* StorageLedger::Retain(const at::Tensor& tensor) {
  if (!tensor.defined() || !tensor.has_storage()) return nullptr;
  const c10::Storage& storage = tensor.storage();
  const void* key = storage.unsafeGetStorageImpl();
  Entry& entry = entries_[key];
  if (entry.holders++ == 0) {
    // The size is recorded once, so Release subtracts what Retain added even if it changed.
    entry.nbytes = static_cast<int64_t>(storage.nbytes());
    entry.is_cuda = storage.device().is_cuda();
    (entry.is_cuda ? cuda_bytes_ : cpu_bytes_) += entry.nbytes;
  }
  return key;
}

void StorageLedger::Release(const void* key) {
  if (key == nullptr) return;
  auto found = entries_.find(key);
  if (found == entries_.end()) return;
  Entry& entry = found->second;
  if (--entry.holders > 0) return;
  (entry.is_cuda ? cuda_bytes_ : cpu_bytes_) -= entry.nbytes;
  entries_.erase(found);
}

}  // namespace medunet
