// SPDX-License-Identifier: MIT

#include "core/checkpoint_io.h"

#include <ATen/core/Dict.h>
#include <ATen/core/ivalue.h>
#include <ATen/ops/empty.h>
#include <caffe2/serialize/inline_container.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/error.h"
#include "core/pickle_reader.h"
#include "core/torch_error.h"

namespace medunet {

namespace {

[[noreturn]] void FailAt(const std::string& path, const std::string& reason) {
  MEDUNET_THROW(kCheckpoint, path, ": ", reason);
}

std::string ErrnoText() { return std::strerror(errno); }

// Returns `tensor` ready to pickle: on the CPU, so that torch.load reads the file on machines
// without CUDA, and copied when it is a view into a larger storage, which would otherwise be
// written out whole.
at::Tensor CompactForSaving(const at::Tensor& tensor) {
  at::Tensor detached = tensor.detach().to(c10::Device(c10::DeviceType::CPU));
  const bool compact =
      detached.is_contiguous() && detached.storage_offset() == 0 && detached.storage().nbytes() == detached.nbytes();
  return compact ? detached : detached.clone(at::MemoryFormat::Contiguous);
}

std::vector<char> PickleCheckpoint(const NamedTensors& tensors, const std::string& metadata) {
  c10::impl::GenericDict state_dict(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [name, tensor] : tensors) state_dict.insert_or_assign(name, CompactForSaving(tensor));
  c10::impl::GenericDict root(c10::StringType::get(), c10::AnyType::get());
  root.insert("state_dict", state_dict);
  root.insert("metadata", metadata);
  return torch::jit::pickle_save(root);
}

// Writes all of `bytes` to `fd` and flushes them to the disk.
bool WriteAndSync(int fd, const std::vector<char>& bytes) {
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t count = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) return false;
    written += static_cast<size_t>(count);
  }
  return ::fsync(fd) == 0;
}

std::string TemporaryPathFor(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  return path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

void WriteFileAtomically(const std::string& path, const std::vector<char>& bytes) {
  const std::string temporary = TemporaryPathFor(path);
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) FailAt(path, "could not create a temporary file next to it: " + ErrnoText());
  std::string failure;
  if (!WriteAndSync(fd, bytes)) failure = ErrnoText();
  if (::close(fd) != 0 && failure.empty()) failure = ErrnoText();
  if (!failure.empty()) {
    ::unlink(temporary.c_str());
    FailAt(path, "could not write the checkpoint: " + failure);
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string rename_error = ErrnoText();
    ::unlink(temporary.c_str());
    FailAt(path, "could not replace the file: " + rename_error);
  }
}

void CheckReadable(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) FailAt(path, "could not open the checkpoint: " + ErrnoText());
  if (S_ISDIR(info.st_mode)) FailAt(path, "is a directory, not a checkpoint file");
}

at::Tensor LoadStorageRecord(caffe2::serialize::PyTorchStreamReader& reader, const std::string& key,
                             c10::ScalarType dtype, int64_t numel) {
  const std::string record = "data/" + key;
  MEDUNET_CHECK(reader.hasRecord(record), kCheckpoint, "the archive has no record '", record, "'");
  auto [data, size] = reader.getRecord(record);
  MEDUNET_CHECK(numel >= 0, kCheckpoint, "the storage '", key, "' has a negative size");
  // Compare before allocating, so that a corrupt element count cannot request a huge buffer.
  const size_t element_size = c10::elementSize(dtype);
  MEDUNET_CHECK(static_cast<uint64_t>(numel) <= size / element_size, kCheckpoint, "the record '", record, "' holds ",
                size, " bytes but its ", numel, " ", c10::toString(dtype), " elements need more");
  // The record's buffer comes from the CPU allocator, so the tensor adopts it instead of copying
  // it, which halves the memory that loading touches.
  c10::Storage storage(c10::Storage::use_byte_size_t(), size, std::move(data), nullptr, false);
  at::Tensor tensor = at::empty({0}, at::TensorOptions().dtype(dtype));
  tensor.set_(storage, 0, {numel}, {1});
  return tensor;
}

// Returns true when the file starts with a zip local file header ("PK\3\4"), as every archive
// that torch.save writes does. A file that does but cannot be opened is a cut or damaged archive.
bool StartsWithZipHeader(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return false;
  char magic[4] = {};
  const size_t read = std::fread(magic, 1, sizeof magic, file);
  std::fclose(file);
  return read == sizeof magic && std::memcmp(magic, "PK\x03\x04", sizeof magic) == 0;
}

PickleValue ReadArchive(const std::string& path) {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& error) {
    MEDUNET_CHECK(!StartsWithZipHeader(path), kCheckpoint,
                  "is truncated or damaged: it starts as a zip archive, but the archive cannot be read (",
                  FirstLine(error.what_without_backtrace()), "); save the checkpoint again or restore it from a copy");
    MEDUNET_THROW(kCheckpoint, "is not a zip archive written by torch.save (",
                  FirstLine(error.what_without_backtrace()),
                  "); files from PyTorch before 1.6, or saved with _use_new_zipfile_serialization=False, must be "
                  "saved again with a newer PyTorch");
  }
  MEDUNET_CHECK(reader->hasRecord("data.pkl"), kCheckpoint, "the archive has no data.pkl record");
  if (reader->hasRecord("byteorder")) {
    auto [order, size] = reader->getRecord("byteorder");
    MEDUNET_CHECK(std::string(static_cast<const char*>(order.get()), size) == "little", kCheckpoint,
                  "the archive stores big-endian tensors, which medunet cannot read");
  }
  auto [pickle, pickle_size] = reader->getRecord("data.pkl");
  auto load_storage = [&](const std::string& key, c10::ScalarType dtype, int64_t numel) {
    return LoadStorageRecord(*reader, key, dtype, numel);
  };
  return ReadPickle(static_cast<const char*>(pickle.get()), pickle_size, load_storage);
}

NamedTensors TensorsOf(const PickleValue& dict, const char* dict_name) {
  NamedTensors tensors;
  for (const auto& [key, value] : *dict.entries) {
    MEDUNET_CHECK(key.is(PickleValue::Kind::kString), kCheckpoint, dict_name, " has a key that is not a string");
    MEDUNET_CHECK(value.is(PickleValue::Kind::kTensor), kCheckpoint, dict_name, " entry '", key.text,
                  "' is not a tensor; expected a dict of tensors or {'state_dict': ..., 'metadata': ...}");
    tensors.emplace_back(key.text, value.tensor);
  }
  return tensors;
}

Checkpoint InterpretRoot(const PickleValue& root) {
  MEDUNET_CHECK(root.is(PickleValue::Kind::kDict), kCheckpoint,
                "the file holds no dict; expected a dict of tensors or {'state_dict': ..., 'metadata': ...}");
  Checkpoint checkpoint;
  const PickleValue* state_dict = root.Find("state_dict");
  if (state_dict == nullptr || !state_dict->is(PickleValue::Kind::kDict)) {
    checkpoint.tensors = TensorsOf(root, "the dict");
    return checkpoint;
  }
  checkpoint.tensors = TensorsOf(*state_dict, "state_dict");
  const PickleValue* metadata = root.Find("metadata");
  if (metadata != nullptr && metadata->is(PickleValue::Kind::kString)) {
    checkpoint.metadata = metadata->text;
  } else {
    MEDUNET_CHECK(metadata == nullptr || metadata->is(PickleValue::Kind::kNone), kCheckpoint,
                  "metadata must be a string or None");
  }
  return checkpoint;
}

}  // namespace

void WriteCheckpointFile(const std::string& path, const NamedTensors& tensors, const std::string& metadata) {
  std::vector<char> bytes;
  try {
    bytes = PickleCheckpoint(tensors, metadata);
  } catch (const c10::Error& error) {
    FailAt(path, "could not serialize the tensors: " + FirstLine(error.what_without_backtrace()));
  }
  WriteFileAtomically(path, bytes);
}

Checkpoint ReadCheckpointFile(const std::string& path) {
  CheckReadable(path);
  try {
    return InterpretRoot(ReadArchive(path));
  } catch (const Error& error) {
    FailAt(path, error.what());
  } catch (const c10::Error& error) {
    FailAt(path, "is truncated or damaged: could not read the archive (" + FirstLine(error.what_without_backtrace()) +
                     "); save the checkpoint again or restore it from a copy");
  }
}

}  // namespace medunet
