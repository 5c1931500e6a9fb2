// SPDX-License-Identifier: MIT
//
// Lending tensors and optimizers to another JavaScript environment of the same process (a worker
// thread), so that a model's training step can run there on the very at::Tensor objects that the
// lending environment owns. share.cc keeps the process-wide registry; optim_wrap.cc converts
// between the Adam and SGD objects and the optimizer they drive.

#pragma once

#include <ATen/core/Tensor.h>
#include <napi.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace torch::optim {
class Optimizer;
}  // namespace torch::optim

namespace medunet {

/// A libtorch optimizer with the tensors it updates, as an Adam or SGD object stores them. Copies
/// share the optimizer, so its state (moment estimates, momentum buffers, learning rate) is one.
struct SharedOptimizer {
  std::shared_ptr<torch::optim::Optimizer> optimizer;
  std::vector<at::Tensor> params;
  /// "Adam" or "SGD": the JavaScript class to wrap it in.
  std::string kind;
};

/// Returns the optimizer behind an Adam or SGD object of this environment, or nullopt for any
/// other value. Throws kTensorDisposed for a disposed optimizer.
std::optional<SharedOptimizer> SharedOptimizerOf(Napi::Env env, const Napi::Value& value);

struct AddonData;

/// Ends the loans that `data`'s environment made and did not release, as when a worker thread
/// that lent a model to its own executor worker is terminated. Without this, the registry would
/// keep their tensors and optimizer alive for the rest of the process.
void ReleaseLoansOf(const AddonData& data) noexcept;

/// Wraps `shared` in a new Adam or SGD object of this environment.
Napi::Object WrapSharedOptimizer(Napi::Env env, const SharedOptimizer& shared);

}  // namespace medunet
