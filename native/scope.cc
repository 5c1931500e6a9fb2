// SPDX-License-Identifier: MIT
//
// Memory scopes over the environment's tensor handles, and memory statistics.

#include <unordered_set>

#include "addon_data.h"
#include "args.h"
#include "bindings.h"
#include "errors.h"
#include "tensor_wrap.h"

namespace medunet {

Napi::Value ScopeBegin(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(GetAddonData(info.Env()).scopes.ScopeBegin()));
}

Napi::Value ScopeEnd(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "scopeEnd");
    const int64_t marker = args.Int(0, "marker");
    if (marker < 0) args.FailRange("marker", "a value returned by scopeBegin()", std::to_string(marker));
    std::unordered_set<const ScopedHandle*> keep;
    if (!args.IsNullish(1)) {
      const Napi::Value list = info[1];
      if (!list.IsArray()) args.FailType("keep", "an array of Tensors", list);
      const Napi::Array array = list.As<Napi::Array>();
      for (uint32_t i = 0; i < array.Length(); ++i) {
        // Disposed tensors may be listed; keeping them has no effect.
        TensorWrap* handle = TensorWrap::FromValue(array.Get(i));
        if (handle == nullptr) args.FailType("keep[" + std::to_string(i) + "]", "a Tensor", array.Get(i));
        keep.insert(handle);
      }
    }
    GetAddonData(info.Env()).scopes.ScopeEnd(static_cast<uint64_t>(marker), keep);
    return info.Env().Undefined();
  });
}

Napi::Value Keep(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "keep");
    TensorWrap* handle = TensorWrap::FromValue(info[0]);
    if (handle == nullptr) args.FailType("tensor", "a Tensor", info[0]);
    GetAddonData(info.Env()).scopes.Pin(handle);
    return info[0];
  });
}

Napi::Value MemoryStats(const Napi::CallbackInfo& info) {
  const AddonData& data = GetAddonData(info.Env());
  Napi::Object stats = Napi::Object::New(info.Env());
  stats.Set("liveTensors", static_cast<double>(data.scopes.size()));
  stats.Set("cpuBytes", static_cast<double>(data.ledger.cpu_bytes()));
  stats.Set("cudaBytes", static_cast<double>(data.ledger.cuda_bytes()));
  return stats;
}

}  // namespace medunet
