// SPDX-License-Identifier: MIT
//
// Checkpoint files (native/core/checkpoint_io.h) and the pickle reader behind them
// (native/core/pickle_reader.h), including pickle streams built byte by byte.

#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "core/checkpoint_io.h"
#include "core/error.h"
#include "core/pickle_reader.h"

namespace medunet {
namespace {

// A fresh folder under TMPDIR (or /tmp), removed with its files after each test.
class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/medunet-checkpoint-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    folder_ = pattern;
  }

  void TearDown() override {
    for (const std::string& name : FolderEntries()) ::unlink((folder_ + "/" + name).c_str());
    ::rmdir(folder_.c_str());
  }

  std::string PathOf(const std::string& name) const { return folder_ + "/" + name; }

  std::vector<std::string> FolderEntries() const {
    std::vector<std::string> names;
    DIR* dir = opendir(folder_.c_str());
    if (dir == nullptr) return names;
    while (dirent* entry = readdir(dir)) {
      const std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    closedir(dir);
    return names;
  }

  std::string folder_;
};

// Runs `fn`, expects a kCheckpoint error, and returns its message.
template <typename Fn>
std::string CheckpointErrorOf(Fn&& fn) {
  try {
    fn();
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::kCheckpoint) << error.what();
    return error.what();
  }
  ADD_FAILURE() << "no checkpoint error was thrown";
  return "";
}

void WriteBytes(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

TEST_F(CheckpointTest, RoundTripsTensorsOfEveryDType) {
  NamedTensors tensors = {
      {"conv.weight", at::randn({2, 1, 3, 3})},
      {"double", at::arange(4, at::kDouble)},
      {"half", at::arange(3, at::kHalf)},
      {"bfloat", at::arange(3, at::kBFloat16)},
      {"num_batches_tracked", at::scalar_tensor(7, at::kLong)},
      {"int", at::arange(3, at::kInt)},
      {"short", at::arange(3, at::kShort)},
      {"char", at::arange(-1, 2, at::kChar)},
      {"byte", at::arange(3, at::kByte)},
      {"mask", at::arange(4).remainder(2).to(at::kBool)},
  };
  WriteCheckpointFile(PathOf("model.pt"), tensors, "{\"epoch\":3}");
  const Checkpoint loaded = ReadCheckpointFile(PathOf("model.pt"));
  ASSERT_TRUE(loaded.metadata.has_value());
  EXPECT_EQ(*loaded.metadata, "{\"epoch\":3}");
  ASSERT_EQ(loaded.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(loaded.tensors[i].first, tensors[i].first);
    EXPECT_EQ(loaded.tensors[i].second.scalar_type(), tensors[i].second.scalar_type()) << tensors[i].first;
    EXPECT_TRUE(at::equal(loaded.tensors[i].second, tensors[i].second)) << tensors[i].first;
  }
}

TEST_F(CheckpointTest, SavesViewsAsCompactTensors) {
  const at::Tensor base = at::arange(12, at::kFloat).reshape({3, 4});
  WriteCheckpointFile(PathOf("views.pt"), {{"column", base.select(1, 2)}, {"rows", base.narrow(0, 1, 2)}}, "{}");
  const Checkpoint loaded = ReadCheckpointFile(PathOf("views.pt"));
  EXPECT_TRUE(at::equal(loaded.tensors[0].second, base.select(1, 2)));
  EXPECT_TRUE(at::equal(loaded.tensors[1].second, base.narrow(0, 1, 2)));
  EXPECT_EQ(loaded.tensors[0].second.storage().nbytes(), 3 * sizeof(float));
}

TEST_F(CheckpointTest, LoadedTensorsDoNotRequireGrad) {
  const at::Tensor weight = at::ones({2}).set_requires_grad(true);
  WriteCheckpointFile(PathOf("grad.pt"), {{"weight", weight}}, "{}");
  EXPECT_FALSE(ReadCheckpointFile(PathOf("grad.pt")).tensors[0].second.requires_grad());
}

TEST_F(CheckpointTest, OverwritesWithoutLeavingTemporaryFiles) {
  WriteCheckpointFile(PathOf("model.pt"), {{"a", at::zeros({2})}}, "{\"version\":1}");
  WriteCheckpointFile(PathOf("model.pt"), {{"a", at::ones({2})}}, "{\"version\":2}");
  EXPECT_EQ(*ReadCheckpointFile(PathOf("model.pt")).metadata, "{\"version\":2}");
  EXPECT_EQ(FolderEntries(), std::vector<std::string>{"model.pt"});
}

TEST_F(CheckpointTest, FailedSaveKeepsTheTargetAndCleansUp) {
  // Renaming a file over a non-empty folder fails after the temporary file was written.
  const std::string target = PathOf("occupied");
  ASSERT_EQ(::mkdir(target.c_str(), 0755), 0);
  WriteBytes(target + "/keep", "x");
  const std::string message = CheckpointErrorOf([&] { WriteCheckpointFile(target, {{"a", at::zeros({2})}}, "{}"); });
  EXPECT_EQ(message.rfind(target + ": could not replace the file", 0), 0u) << message;
  EXPECT_EQ(FolderEntries(), std::vector<std::string>{"occupied"});
  ::unlink((target + "/keep").c_str());
  ::rmdir(target.c_str());
}

TEST_F(CheckpointTest, FailsInMissingFolder) {
  const std::string path = PathOf("missing/model.pt");
  const std::string message = CheckpointErrorOf([&] { WriteCheckpointFile(path, {}, "{}"); });
  EXPECT_EQ(message.rfind(path + ": could not create a temporary file", 0), 0u) << message;
}

TEST_F(CheckpointTest, FailsOnMissingFile) {
  const std::string path = PathOf("absent.pt");
  const std::string message = CheckpointErrorOf([&] { ReadCheckpointFile(path); });
  EXPECT_EQ(message, path + ": could not open the checkpoint: No such file or directory");
}

TEST_F(CheckpointTest, FailsOnFileThatIsNotAnArchive) {
  WriteBytes(PathOf("corrupt.pt"), "this is not a zip archive");
  const std::string message = CheckpointErrorOf([&] { ReadCheckpointFile(PathOf("corrupt.pt")); });
  EXPECT_EQ(message.rfind(PathOf("corrupt.pt") + ": is not a zip archive written by torch.save", 0), 0u) << message;
}

TEST_F(CheckpointTest, FailsOnTruncatedArchive) {
  WriteCheckpointFile(PathOf("whole.pt"), {{"a", at::randn({64})}}, "{}");
  std::ifstream whole(PathOf("whole.pt"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(whole)), std::istreambuf_iterator<char>());
  WriteBytes(PathOf("cut.pt"), bytes.substr(0, bytes.size() / 2));
  const std::string message = CheckpointErrorOf([&] { ReadCheckpointFile(PathOf("cut.pt")); });
  EXPECT_EQ(message.rfind(PathOf("cut.pt") + ": is truncated or damaged", 0), 0u) << message;
}

TEST_F(CheckpointTest, FailsOnDamagedArchive) {
  WriteCheckpointFile(PathOf("whole.pt"), {{"a", at::randn({64})}}, "{}");
  std::ifstream whole(PathOf("whole.pt"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(whole)), std::istreambuf_iterator<char>());
  // Flip every byte after the first local file header, so the zip magic survives and nothing else.
  for (size_t i = 4; i < bytes.size(); i++) bytes[i] = static_cast<char>(~bytes[i]);
  WriteBytes(PathOf("flipped.pt"), bytes);
  const std::string message = CheckpointErrorOf([&] { ReadCheckpointFile(PathOf("flipped.pt")); });
  EXPECT_EQ(message.rfind(PathOf("flipped.pt") + ": is truncated or damaged", 0), 0u) << message;
}

// Pickle opcodes for hand-written streams.
std::string Int1(uint8_t value) { return std::string("K") + static_cast<char>(value); }
std::string Unicode(const std::string& text) {
  std::string bytes = "X";
  const uint32_t length = static_cast<uint32_t>(text.size());
  for (int i = 0; i < 4; ++i) bytes += static_cast<char>((length >> (8 * i)) & 0xff);
  return bytes + text;
}
const std::string kProto2 = "\x80\x02";

// A storage loader that serves 0, 1, 2, ... of any dtype.
at::Tensor CountingStorage(const std::string&, c10::ScalarType dtype, int64_t numel) {
  return at::arange(numel, at::TensorOptions().dtype(dtype));
}

PickleValue Read(const std::string& bytes) { return ReadPickle(bytes.data(), bytes.size(), CountingStorage); }

// _rebuild_tensor_v2(('storage', torch.FloatStorage, '0', 'cpu', numel), offset, size, stride, False, OrderedDict()).
std::string TensorPickle(uint8_t numel, uint8_t offset, uint8_t size, uint8_t stride) {
  return "ctorch._utils\n_rebuild_tensor_v2\n("
         "(" +
         Unicode("storage") + "ctorch\nFloatStorage\n" + Unicode("0") + Unicode("cpu") + Int1(numel) + "tQ" +
         Int1(offset) + Int1(size) + "\x85" + Int1(stride) + "\x85" + "\x89" + "ccollections\nOrderedDict\n)Rt" + "R";
}

TEST(PickleReaderTest, ReadsOneItemDictWrittenWithSetItem) {
  const PickleValue value = Read(kProto2 + "}" + Unicode("a") + TensorPickle(4, 1, 3, 1) + "s.");
  ASSERT_TRUE(value.is(PickleValue::Kind::kDict));
  const PickleValue* tensor = value.Find("a");
  ASSERT_NE(tensor, nullptr);
  ASSERT_TRUE(tensor->is(PickleValue::Kind::kTensor));
  EXPECT_TRUE(at::equal(tensor->tensor, at::arange(1, 4, at::kFloat)));
}

TEST(PickleReaderTest, IgnoresOrderedDictMetadata) {
  const std::string metadata = "}" + Unicode("_metadata") + "}" + "s";
  const PickleValue value = Read(kProto2 + "ccollections\nOrderedDict\n)R(" + Unicode("w") + TensorPickle(2, 0, 2, 1) +
                                 "u" + metadata + "b.");
  ASSERT_TRUE(value.is(PickleValue::Kind::kDict));
  EXPECT_EQ(value.entries->size(), 1u);
  EXPECT_NE(value.Find("w"), nullptr);
}

TEST(PickleReaderTest, ReadsNumbersAndMemo) {
  // [-2 (LONG1), 1.5 (BINFLOAT), True, None, "x" stored in memo 5, memo 5 read back]
  const std::string binfloat_1_5 = std::string("G\x3f\xf8\x00\x00\x00\x00\x00\x00", 9);
  const PickleValue value =
      Read(kProto2 + "](" + "\x8a\x01\xfe" + binfloat_1_5 + "\x88N" + Unicode("x") + "q\x05" + "h\x05" + "e.");
  ASSERT_TRUE(value.is(PickleValue::Kind::kList));
  ASSERT_EQ(value.items->size(), 6u);
  EXPECT_EQ((*value.items)[0].integer, -2);
  EXPECT_EQ((*value.items)[1].floating, 1.5);
  EXPECT_TRUE((*value.items)[2].boolean);
  EXPECT_TRUE((*value.items)[3].is(PickleValue::Kind::kNone));
  EXPECT_EQ((*value.items)[4].text, "x");
  EXPECT_EQ((*value.items)[5].text, "x");
}

TEST(PickleReaderTest, SharesStoragesBetweenTensors) {
  const PickleValue value = Read(kProto2 + "(" + TensorPickle(4, 0, 2, 1) + TensorPickle(4, 2, 2, 1) + "t.");
  ASSERT_EQ(value.items->size(), 2u);
  const at::Tensor& first = (*value.items)[0].tensor;
  const at::Tensor& second = (*value.items)[1].tensor;
  EXPECT_TRUE(first.storage().is_alias_of(second.storage()));
  EXPECT_EQ(second[0].item<float>(), 2.0f);
}

TEST(PickleReaderTest, RejectsTensorPastItsStorage) {
  const std::string message = CheckpointErrorOf([] { Read(kProto2 + TensorPickle(4, 2, 3, 1) + "."); });
  EXPECT_NE(message.find("reaches past the end of its storage"), std::string::npos) << message;
  CheckpointErrorOf([] { Read(kProto2 + TensorPickle(4, 4, 1, 1) + "."); });
}

TEST(PickleReaderTest, RejectsUnsupportedGlobals) {
  const std::string message = CheckpointErrorOf([] { Read(kProto2 + "cos\nsystem\n(" + Unicode("ls") + "tR."); });
  EXPECT_NE(message.find("'os.system' is not supported"), std::string::npos) << message;
}

TEST(PickleReaderTest, RejectsPickledModuleWithAHint) {
  // What torch.save(model) writes first: GLOBAL class, EMPTY_TUPLE, NEWOBJ.
  const std::string message =
      CheckpointErrorOf([] { Read(kProto2 + "ctorch.nn.modules.container\nSequential\n)\x81."); });
  EXPECT_NE(message.find("'torch.nn.modules.container.Sequential'"), std::string::npos) << message;
  EXPECT_NE(message.find("torch.save(model.state_dict(), path)"), std::string::npos) << message;
}

TEST(PickleReaderTest, RejectsMalformedStreams) {
  CheckpointErrorOf([] { Read(kProto2 + "X\x10\x00\x00\x00" + "short."); });  // string past the end
  CheckpointErrorOf([] { Read(kProto2 + "}"); });                             // no STOP
  CheckpointErrorOf([] { Read(kProto2 + "s."); });                            // SETITEM on an empty stack
  CheckpointErrorOf([] { Read(kProto2 + "h\x09."); });                        // memo entry never stored
  CheckpointErrorOf([] { Read(kProto2 + "}}."); });                           // two values left
  const std::string message = CheckpointErrorOf([] { Read(kProto2 + "\xff."); });
  EXPECT_NE(message.find("opcode 0xff is not supported"), std::string::npos) << message;
}

}  // namespace
}  // namespace medunet
