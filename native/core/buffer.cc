// SPDX-License-Identifier: MIT

#include "core/buffer.h"

#include <ATen/ops/empty.h>

#include <cstring>
#include <limits>

#include "core/dtype.h"
#include "core/error.h"
#include "core/torch_error.h"

namespace medunet {

int64_t ShapeNumel(c10::IntArrayRef shape, std::string_view arg_name) {
  int64_t numel = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    MEDUNET_CHECK(shape[i] >= 0, kOutOfRange, arg_name, " must hold sizes >= 0; got ", FormatShape(shape));
    MEDUNET_CHECK(shape[i] == 0 || numel <= std::numeric_limits<int64_t>::max() / shape[i], kOutOfRange, arg_name,
                  " must have fewer than 2^63 elements; got ", FormatShape(shape));
    numel *= shape[i];
  }
  return numel;
}

at::Tensor TensorFromBuffer(const void* data, size_t byte_length, c10::ScalarType source_dtype, c10::IntArrayRef shape,
                            c10::ScalarType dtype, const c10::Device& device) {
  const int64_t numel = ShapeNumel(shape, "shape");
  const size_t element_size = c10::elementSize(source_dtype);
  const size_t length = byte_length / element_size;
  MEDUNET_CHECK(byte_length % element_size == 0, kOutOfRange, "data must hold whole ", DTypeName(source_dtype),
                " elements; got ", byte_length, " bytes");
  MEDUNET_CHECK(static_cast<int64_t>(length) == numel, kOutOfRange, "data must have ", numel,
                " elements to fill shape ", FormatShape(shape), "; got ", length);

  at::Tensor host = at::empty(shape, at::TensorOptions().dtype(source_dtype));
  if (byte_length > 0) std::memcpy(host.data_ptr(), data, byte_length);
  return RunOp("tensor", {{"data", host}}, [&] { return host.to(device, dtype); });
}

at::Tensor HostCopy(const at::Tensor& tensor) {
  const c10::ScalarType host_dtype = HostDTypeFor(tensor.scalar_type());
  return RunOp("data", {{"input", tensor}},
               [&] { return tensor.detach().to(c10::Device(c10::DeviceType::CPU), host_dtype).contiguous(); });
}

}  // namespace medunet
