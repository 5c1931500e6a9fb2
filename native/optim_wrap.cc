// SPDX-License-Identifier: MIT
//
// The Adam and SGD classes over torch::optim. The optimizers hold the very at::Tensor objects
// that JavaScript passed, so step() updates the JavaScript-owned parameters in place and reads
// the gradients that backward() accumulated on them. An optimizer is held through a shared_ptr
// so that a worker thread can adopt it (share.cc) and step the same state.

#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>

#include <memory>
#include <tuple>

#include "addon_data.h"
#include "args.h"
#include "bindings.h"
#include "core/error.h"
#include "core/torch_error.h"
#include "errors.h"
#include "share.h"

namespace medunet {

namespace {

using OptimizerPtr = std::shared_ptr<torch::optim::Optimizer>;

struct AdamKind {
  static constexpr const char* kName = "Adam";
  static Napi::FunctionReference& Class(AddonData& data) { return data.adam_class; }

  static OptimizerPtr Create(const ArgReader& args, std::vector<at::Tensor> params, const Napi::Object& options) {
    torch::optim::AdamOptions defaults(args.NumberValue(options.Get("lr"), "options.lr"));
    defaults.betas(std::make_tuple(args.NumberValue(options.Get("beta1"), "options.beta1"),
                                   args.NumberValue(options.Get("beta2"), "options.beta2")));
    defaults.eps(args.NumberValue(options.Get("eps"), "options.eps"));
    defaults.weight_decay(args.NumberValue(options.Get("weightDecay"), "options.weightDecay"));
    defaults.amsgrad(args.BoolValue(options.Get("amsgrad"), "options.amsgrad"));
    return RunOp("Adam", {}, [&] { return std::make_shared<torch::optim::Adam>(std::move(params), defaults); });
  }
};

struct SGDKind {
  static constexpr const char* kName = "SGD";
  static Napi::FunctionReference& Class(AddonData& data) { return data.sgd_class; }

  static OptimizerPtr Create(const ArgReader& args, std::vector<at::Tensor> params, const Napi::Object& options) {
    torch::optim::SGDOptions defaults(args.NumberValue(options.Get("lr"), "options.lr"));
    defaults.momentum(args.NumberValue(options.Get("momentum"), "options.momentum"));
    defaults.dampening(args.NumberValue(options.Get("dampening"), "options.dampening"));
    defaults.weight_decay(args.NumberValue(options.Get("weightDecay"), "options.weightDecay"));
    defaults.nesterov(args.BoolValue(options.Get("nesterov"), "options.nesterov"));
    return RunOp("SGD", {}, [&] { return std::make_shared<torch::optim::SGD>(std::move(params), defaults); });
  }
};

// One JavaScript optimizer class; `Kind` supplies the name and the libtorch optimizer.
template <typename Kind>
class OptimizerWrap : public Napi::ObjectWrap<OptimizerWrap<Kind>> {
 public:
  using Base = Napi::ObjectWrap<OptimizerWrap<Kind>>;

  static Napi::Function DefineClass(Napi::Env env) {
    Napi::Function constructor =
        Base::DefineClass(env, Kind::kName,
                          {
                              Base::template InstanceMethod<&OptimizerWrap::Step>("step"),
                              Base::template InstanceMethod<&OptimizerWrap::ZeroGrad>("zeroGrad"),
                              Base::template InstanceAccessor<&OptimizerWrap::GetLr, &OptimizerWrap::SetLr>("lr"),
                              Base::template InstanceMethod<&OptimizerWrap::Dispose>("dispose"),
                          });
    Kind::Class(GetAddonData(env)) = Napi::Persistent(constructor);
    return constructor;
  }

  /// The wrapper behind `value`, or null when it is not an object of this class.
  static OptimizerWrap* FromValue(Napi::Env env, const Napi::Value& value) {
    if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(Kind::Class(GetAddonData(env)).Value())) {
      return nullptr;
    }
    return Base::Unwrap(value.As<Napi::Object>());
  }

  SharedOptimizer Share() {
    return SharedOptimizer{optimizer_ptr("share"), params_, Kind::kName};
  }

  // new Adam(params, options) / new SGD(params, options). WrapSharedOptimizer passes an External
  // instead, which JavaScript code cannot create.
  explicit OptimizerWrap(const Napi::CallbackInfo& info) : Base(info) {
    Guard(info.Env(), [&] {
      if (info.Length() == 1 && info[0].IsExternal()) {
        const SharedOptimizer& shared = *info[0].As<Napi::External<SharedOptimizer>>().Data();
        optimizer_ = shared.optimizer;
        params_ = shared.params;
        return;
      }
      ArgReader args(info, Kind::kName);
      params_ = args.TensorList(0, "params");
      if (params_.empty()) args.FailRange("params", "a non-empty array of Tensors", "[]");
      for (size_t i = 0; i < params_.size(); ++i) {
        // torch.optim rejects non-leaf tensors, whose updates would not reach any parameter.
        MEDUNET_CHECK(params_[i].is_leaf(), kOutOfRange, Kind::kName, ": params[", i,
                      "] must be a leaf tensor (not the output of an operation that tracks gradients)");
      }
      optimizer_ = Kind::Create(args, params_, args.Object(1, "options"));
    });
  }

 private:
  const OptimizerPtr& optimizer_ptr(const std::string& method) {
    MEDUNET_CHECK(optimizer_ != nullptr, kTensorDisposed, Kind::kName, ".", method,
                  ": the optimizer was disposed; it can no longer be used");
    const auto& lent = GetAddonData(Base::Env()).lent;
    MEDUNET_CHECK(lent.empty() || lent.count(optimizer_.get()) == 0, kTensorBusy, Kind::kName, ".", method,
                  ": the optimizer is in use by an off-thread step (trainStepAsync or trainModel); await that call "
                  "before using the optimizer");
    return optimizer_;
  }

  torch::optim::Optimizer& optimizer(const std::string& method) { return *optimizer_ptr(method); }

  Napi::Value Step(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      torch::optim::Optimizer& target = optimizer("step");
      RunOp("optimizer step", {}, [&] { target.step(); });
      return info.Env().Undefined();
    });
  }

  // Follows torch.optim.Optimizer.zero_grad: with setToNone the gradients are dropped,
  // otherwise they are detached from any graph and filled with zeros.
  Napi::Value ZeroGrad(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      ArgReader args(info, (std::string(Kind::kName) + ".zeroGrad").c_str());
      optimizer("zeroGrad");
      const bool set_to_none = args.BoolOr(0, "setToNone", true);
      for (const at::Tensor& param : params_) {
        at::Tensor& grad = param.mutable_grad();
        if (!grad.defined()) continue;
        if (set_to_none) {
          grad.reset();
          continue;
        }
        if (grad.grad_fn()) {
          grad.detach_();
        } else {
          grad.set_requires_grad(false);
        }
        grad.zero_();
      }
      return info.Env().Undefined();
    });
  }

  Napi::Value GetLr(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      return Napi::Number::New(info.Env(), optimizer("lr").param_groups().front().options().get_lr());
    });
  }

  void SetLr(const Napi::CallbackInfo& info, const Napi::Value& value) {
    Guard(info.Env(), [&] {
      torch::optim::Optimizer& target = optimizer("lr");
      const double lr = ArgReader(info, (std::string(Kind::kName) + ".lr").c_str()).NumberValue(value, "lr");
      for (torch::optim::OptimizerParamGroup& group : target.param_groups()) group.options().set_lr(lr);
    });
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    optimizer_.reset();
    params_.clear();
    return info.Env().Undefined();
  }

  OptimizerPtr optimizer_;
  std::vector<at::Tensor> params_;
};

}  // namespace

Napi::Function DefineAdamClass(Napi::Env env) { return OptimizerWrap<AdamKind>::DefineClass(env); }

Napi::Function DefineSGDClass(Napi::Env env) { return OptimizerWrap<SGDKind>::DefineClass(env); }

std::optional<SharedOptimizer> SharedOptimizerOf(Napi::Env env, const Napi::Value& value) {
  if (auto* adam = OptimizerWrap<AdamKind>::FromValue(env, value)) return adam->Share();
  if (auto* sgd = OptimizerWrap<SGDKind>::FromValue(env, value)) return sgd->Share();
  return std::nullopt;
}

Napi::Object WrapSharedOptimizer(Napi::Env env, const SharedOptimizer& shared) {
  AddonData& data = GetAddonData(env);
  Napi::FunctionReference& constructor = shared.kind == AdamKind::kName ? data.adam_class : data.sgd_class;
  // The External lives only for this call; the constructor copies what it points to.
  SharedOptimizer copy = shared;
  return constructor.New({Napi::External<SharedOptimizer>::New(env, &copy)});
}

}  // namespace medunet
