// SPDX-License-Identifier: MIT
//
// State of the addon in one JavaScript environment (the main thread or one worker thread).
// Node-API keeps it as the environment's instance data, so nothing here is shared between
// threads and the addon has no mutable globals.

#pragma once

#include <napi.h>

#include <unordered_map>

#include "core/scope_registry.h"
#include "core/storage_ledger.h"

namespace medunet {

struct AddonData {
  /// The Tensor class, used to create handles from C++.
  Napi::FunctionReference tensor_class;
  /// True only while C++ constructs a Tensor, so that `new Tensor()` from JavaScript fails.
  bool constructing_tensor = false;
  /// Set by the environment's cleanup hook; finalizers then skip external-memory reports.
  bool shutting_down = false;
  /// Storage bytes held by live handles, also reported to V8 as external memory.
  StorageLedger ledger;
  /// Live tensor handles in creation order, for scopeBegin/scopeEnd and memoryStats.
  ScopeRegistry scopes;
  /// TensorImpls and optimizers that this environment lent to another thread (share.cc), with
  /// the number of open loans of each. Handles to them throw ERR_TENSOR_BUSY while lent.
  std::unordered_map<const void*, int> lent;
  /// The Adam and SGD classes, used to wrap optimizers adopted from another thread.
  Napi::FunctionReference adam_class;
  Napi::FunctionReference sgd_class;
};

/// Returns the calling environment's AddonData, created when the addon was loaded into it.
inline AddonData& GetAddonData(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

}  // namespace medunet
