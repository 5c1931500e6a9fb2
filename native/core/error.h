// SPDX-License-Identifier: MIT
//
// The error type that every medunet C++ failure is raised as, independent of Node-API. The addon
// turns it into a JavaScript error whose class and `code` property follow `ErrorCode`
// (lib/errors.ts lists the same codes).

#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace medunet {

/// Stable error codes, exposed to JavaScript as the `code` property.
enum class ErrorCode {
  kInvalidArgType,   // ERR_INVALID_ARG_TYPE, a TypeError: a JavaScript value of the wrong type.
  kOutOfRange,       // ERR_OUT_OF_RANGE, a RangeError: the right type with a bad value.
  kTorch,            // ERR_TORCH, an Error: a libtorch operation failed.
  kTensorDisposed,   // ERR_TENSOR_DISPOSED, an Error: a tensor or optimizer was used after dispose().
  kCudaUnavailable,  // ERR_CUDA_UNAVAILABLE, an Error: CUDA was requested but is missing.
  kCheckpoint,       // ERR_CHECKPOINT, an Error: a checkpoint file could not be read or written.
  kTensorBusy,       // ERR_TENSOR_BUSY, an Error: a tensor or optimizer is lent to another thread.
};

/// JavaScript error class that an error code is thrown as.
enum class ErrorClass { kError, kTypeError, kRangeError };

/// Returns the `code` string, such as "ERR_TORCH".
const char* ErrorCodeName(ErrorCode code);

/// Returns the JavaScript class for `code`: TypeError, RangeError or Error.
ErrorClass ErrorClassOf(ErrorCode code);

/// A failure with a stable code and a message that is complete without a backtrace.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}

  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

namespace detail {

/// Concatenates the stream forms of `parts`; the message builder behind MEDUNET_CHECK.
template <typename... Parts>
std::string StrCat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

}  // namespace detail

}  // namespace medunet

/// Throws medunet::Error with ErrorCode::code and the concatenated parts as its message.
/// Example: MEDUNET_THROW(kOutOfRange, "dim must be in [0, ", n, "); got ", dim);
#define MEDUNET_THROW(code, ...) \
  throw ::medunet::Error(::medunet::ErrorCode::code, ::medunet::detail::StrCat(__VA_ARGS__))

/// Throws like MEDUNET_THROW unless `condition` holds, in the manner of TORCH_CHECK.
#define MEDUNET_CHECK(condition, code, ...) \
  do {                                      \
    if (!(condition)) {                     \
      MEDUNET_THROW(code, __VA_ARGS__);     \
    }                                       \
  } while (false)
