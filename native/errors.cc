// SPDX-License-Identifier: MIT

#include "errors.h"

#include <c10/util/Exception.h>

#include <new>

#include "core/torch_error.h"

namespace medunet {

Napi::Error ToJsError(Napi::Env env, const Error& error) {
  Napi::Error js_error;
  switch (ErrorClassOf(error.code())) {
    case ErrorClass::kTypeError:
      js_error = Napi::TypeError::New(env, error.what());
      break;
    case ErrorClass::kRangeError:
      js_error = Napi::RangeError::New(env, error.what());
      break;
    case ErrorClass::kError:
      js_error = Napi::Error::New(env, error.what());
      break;
  }
  js_error.Set("code", Napi::String::New(env, ErrorCodeName(error.code())));
  return js_error;
}

Napi::Error TranslateCurrentException(Napi::Env env) {
  try {
    throw;
  } catch (const Napi::Error& error) {
    // Already a JavaScript error, such as one thrown by a getter that a binding called.
    return error;
  } catch (const Error& error) {
    return ToJsError(env, error);
  } catch (const c10::Error& error) {
    return ToJsError(env, TranslateTorchError(error, "libtorch call", ""));
  } catch (const std::bad_alloc&) {
    return ToJsError(env, Error(ErrorCode::kTorch, "out of memory: a native allocation failed"));
  } catch (const std::exception& error) {
    return ToJsError(env, Error(ErrorCode::kTorch, std::string("native code failed: ") + error.what()));
  } catch (...) {
    return ToJsError(env,
                     Error(ErrorCode::kTorch, "native code failed with an exception that is not a std::exception"));
  }
}

}  // namespace medunet
