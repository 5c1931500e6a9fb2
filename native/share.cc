// SPDX-License-Identifier: MIT
//
// Loans of tensors and optimizers between the JavaScript environments of one process. The main
// thread registers a model's tensors (and its optimizer) under an id, and a worker thread adopts
// them. The worker's handles then point at the very same at::Tensor objects, so in-place
// updates, `.grad` and the optimizer state are one. at::Tensor reference counts are atomic, but a tensor's data
// and autograd metadata are not guarded, so only one thread may use a tensor at a time. The
// lending environment enforces that: while a loan is marked busy, its own handles to the lent
// tensors and optimizer throw ERR_TENSOR_BUSY (TensorWrap::tensor, OptimizerWrap).

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Generator.h>

#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "addon_data.h"
#include "args.h"
#include "bindings.h"
#include "core/error.h"
#include "core/torch_error.h"
#include "errors.h"
#include "share.h"
#include "tensor_wrap.h"

namespace medunet {

namespace {

struct Loan {
  std::vector<at::Tensor> tensors;
  std::optional<SharedOptimizer> optimizer;
  /// The lending environment; ReleaseLoansOf ends its loans when it shuts down.
  const AddonData* lender = nullptr;
  /// The environment whose handles are marked busy, or null while none is.
  AddonData* busy_in = nullptr;
};

// The one piece of process-wide state in the addon: loans must be visible to every environment.
struct LoanRegistry {
  std::mutex mutex;
  std::unordered_map<int64_t, Loan> loans;
  int64_t next_id = 1;
};

LoanRegistry& Registry() {
  static LoanRegistry registry;
  return registry;
}

// Keys that TensorWrap and OptimizerWrap look up in AddonData::lent.
std::vector<const void*> LoanKeys(const Loan& loan) {
  std::vector<const void*> keys;
  for (const at::Tensor& tensor : loan.tensors) keys.push_back(tensor.unsafeGetTensorImpl());
  if (loan.optimizer) {
    keys.push_back(loan.optimizer->optimizer.get());
    for (const at::Tensor& param : loan.optimizer->params) keys.push_back(param.unsafeGetTensorImpl());
  }
  return keys;
}

void MarkBusy(AddonData& data, const Loan& loan) {
  for (const void* key : LoanKeys(loan)) ++data.lent[key];
}

void UnmarkBusy(AddonData& data, const Loan& loan) {
  for (const void* key : LoanKeys(loan)) {
    auto found = data.lent.find(key);
    if (found != data.lent.end() && --found->second <= 0) data.lent.erase(found);
  }
}

// Reads the loan id argument and returns the loan; the caller holds the registry's mutex.
Loan& FindLoan(const ArgReader& args, LoanRegistry& registry) {
  const int64_t id = args.Int(0, "id");
  auto found = registry.loans.find(id);
  if (found == registry.loans.end()) {
    args.FailRange("id", "the id of a loan from shareTensors() that was not released", std::to_string(id));
  }
  return found->second;
}

}  // namespace

Napi::Value ShareTensors(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "shareTensors");
    Loan loan;
    loan.tensors = args.TensorList(0, "tensors");
    if (!args.IsNullish(1)) {
      loan.optimizer = SharedOptimizerOf(info.Env(), info[1]);
      if (!loan.optimizer) args.FailType("optimizer", "an Adam or SGD optimizer or null", info[1]);
    }
    loan.lender = &GetAddonData(info.Env());
    LoanRegistry& registry = Registry();
    std::lock_guard<std::mutex> lock(registry.mutex);
    const int64_t id = registry.next_id++;
    registry.loans.emplace(id, std::move(loan));
    return Napi::Number::New(info.Env(), static_cast<double>(id));
  });
}

Napi::Value AdoptTensors(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "adoptTensors");
    std::vector<at::Tensor> tensors;
    {
      LoanRegistry& registry = Registry();
      std::lock_guard<std::mutex> lock(registry.mutex);
      tensors = FindLoan(args, registry).tensors;
    }
    Napi::Env env = info.Env();
    if (args.IsNullish(1)) {
      Napi::Array handles = Napi::Array::New(env, tensors.size());
      for (size_t i = 0; i < tensors.size(); ++i) handles.Set(static_cast<uint32_t>(i), TensorWrap::NewHandle(env, tensors[i]));
      return handles;
    }
    // Rebind the given handles, after checking all of them, so that a mismatch changes nothing.
    const Napi::Value list = info[1];
    if (!list.IsArray()) args.FailType("targets", "an array of Tensors", list);
    const Napi::Array targets = list.As<Napi::Array>();
    if (targets.Length() != tensors.size()) {
      args.FailRange("targets", std::to_string(tensors.size()) + " tensors, one per shared tensor",
                     std::to_string(targets.Length()) + " tensors");
    }
    std::vector<TensorWrap*> handles;
    for (uint32_t i = 0; i < targets.Length(); ++i) {
      const std::string name = "targets[" + std::to_string(i) + "]";
      const at::Tensor& own = args.TensorValue(targets.Get(i), name);
      const at::Tensor& shared = tensors[i];
      // Devices may differ: a model rebuilt on the CPU adopts the tensors of one on a GPU.
      const bool matches = own.sizes() == shared.sizes() && own.scalar_type() == shared.scalar_type();
      if (!matches) args.FailRange(name, "a tensor like the shared " + DescribeTensor(shared), DescribeTensor(own));
      handles.push_back(TensorWrap::FromValue(targets.Get(i)));
    }
    for (size_t i = 0; i < handles.size(); ++i) handles[i]->Rebind(tensors[i]);
    return list;
  });
}

Napi::Value AdoptOptimizer(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "adoptOptimizer");
    std::optional<SharedOptimizer> shared;
    {
      LoanRegistry& registry = Registry();
      std::lock_guard<std::mutex> lock(registry.mutex);
      shared = FindLoan(args, registry).optimizer;
    }
    if (!shared) args.FailRange("id", "a loan made with an optimizer", std::to_string(args.Int(0, "id")));
    return WrapSharedOptimizer(info.Env(), *shared);
  });
}

Napi::Value SetSharedBusy(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "setSharedBusy");
    const bool busy = args.Bool(1, "busy");
    AddonData& data = GetAddonData(info.Env());
    LoanRegistry& registry = Registry();
    std::lock_guard<std::mutex> lock(registry.mutex);
    Loan& loan = FindLoan(args, registry);
    if (busy && loan.busy_in == nullptr) {
      MarkBusy(data, loan);
      loan.busy_in = &data;
    } else if (!busy && loan.busy_in == &data) {
      UnmarkBusy(data, loan);
      loan.busy_in = nullptr;
    }
    return info.Env().Undefined();
  });
}

Napi::Value ReleaseShared(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "releaseShared");
    AddonData& data = GetAddonData(info.Env());
    LoanRegistry& registry = Registry();
    std::lock_guard<std::mutex> lock(registry.mutex);
    Loan& loan = FindLoan(args, registry);
    if (loan.busy_in == &data) UnmarkBusy(data, loan);
    registry.loans.erase(args.Int(0, "id"));
    return info.Env().Undefined();
  });
}

void ReleaseLoansOf(const AddonData& data) noexcept {
  LoanRegistry& registry = Registry();
  std::lock_guard<std::mutex> lock(registry.mutex);
  for (auto entry = registry.loans.begin(); entry != registry.loans.end();) {
    if (entry->second.lender == &data) {
      entry = registry.loans.erase(entry);
    } else {
      ++entry;
    }
  }
}

Napi::Value GetRandomState(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const at::Generator& generator = at::detail::getDefaultCPUGenerator();
    at::Tensor state;
    {
      std::lock_guard<std::mutex> lock(const_cast<at::Generator&>(generator).mutex());
      state = RunOp("get_rng_state", {}, [&] { return generator.get_state(); });
    }
    return TensorWrap::NewHandle(info.Env(), state);
  });
}

Napi::Value SetRandomState(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "setRandomState");
    const at::Tensor& state = args.Tensor(0, "state");
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    RunOp("set_rng_state", {{"state", state}}, [&] { generator.set_state(state); });
    return info.Env().Undefined();
  });
}

}  // namespace medunet
