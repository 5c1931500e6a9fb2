// SPDX-License-Identifier: MIT

#include "core/error.h"

namespace medunet {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgType:
      return "ERR_INVALID_ARG_TYPE";
    case ErrorCode::kOutOfRange:
      return "ERR_OUT_OF_RANGE";
    case ErrorCode::kTorch:
      return "ERR_TORCH";
    case ErrorCode::kTensorDisposed:
      return "ERR_TENSOR_DISPOSED";
    case ErrorCode::kCudaUnavailable:
      return "ERR_CUDA_UNAVAILABLE";
    case ErrorCode::kCheckpoint:
      return "ERR_CHECKPOINT";
    case ErrorCode::kTensorBusy:
      return "ERR_TENSOR_BUSY";
  }
  return "ERR_TORCH";
}

ErrorClass ErrorClassOf(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgType:
      return ErrorClass::kTypeError;
    case ErrorCode::kOutOfRange:
      return ErrorClass::kRangeError;
    default:
      return ErrorClass::kError;
  }
}

}  // namespace medunet
