// Checkpoint and .npy files from C++: round trips, every kind of damage, and
// the Trainer's save/load. Python reads these files in tests/test_checkpoint_interop.py.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "formats/file_io.h"
#include "formats/npy_format.h"
#include "formats/zip_reader.h"
#include "formats/zip_writer.h"
#include "litetrain/checkpoint.h"
#include "litetrain/errors.h"
#include "litetrain/npy.h"
#include "litetrain/trainer.h"
#include "temp_dir.h"
#include "test_models.h"

namespace litetrain {
namespace {

using testing::ModelPath;
using testing::ReadBytes;
using testing::TempDir;

NamedTensor Filled(const std::string& name, DType dtype, Shape shape, uint8_t seed) {
  NamedTensor t{name, dtype, shape,
                std::vector<uint8_t>(static_cast<std::size_t>(shape.num_elements()) * ItemSize(dtype))};
  for (std::size_t i = 0; i < t.bytes.size(); ++i) t.bytes[i] = static_cast<uint8_t>(seed + i * 31);
  if (dtype == DType::kBool) {
    for (auto& b : t.bytes) b &= 1;
  }
  return t;
}

Snapshot Assorted() {
  return {Filled("w0", DType::kFloat32, {4, 3}, 1),
          Filled("b0", DType::kFloat32, {3}, 2),
          Filled("step", DType::kInt64, {}, 3),
          Filled("mask", DType::kBool, {5}, 4),
          Filled("half", DType::kFloat16, {2, 2}, 5),
          Filled("empty", DType::kUInt8, {0, 7}, 6),
          Filled("dense/kernel:0 \xC3\xA9", DType::kFloat64, {1, 2, 1}, 7)};
}

void ExpectEqual(const Snapshot& a, const Snapshot& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].dtype, b[i].dtype) << a[i].name;
    EXPECT_EQ(a[i].shape, b[i].shape) << a[i].name;
    EXPECT_EQ(a[i].bytes, b[i].bytes) << a[i].name;
  }
}

template <typename Exception>
std::string Message(const std::function<void()>& call) {
  try {
    call();
  } catch (const Exception& e) {
    return e.what();
  }
  return "(nothing thrown)";
}

TEST(Checkpoint, RoundTripsAssortedVariablesInOrder) {
  TempDir dir;
  const std::string path = dir.path() + "/ckpt.npz";
  const Snapshot variables = Assorted();
  WriteCheckpoint(path, variables);
  ExpectEqual(LoadCheckpoint(path), variables);
  EXPECT_EQ(dir.List(), std::vector<std::string>{"ckpt.npz"});  // no temporary left
}

TEST(Checkpoint, SameVariablesGiveTheSameBytes) {
  TempDir dir;
  WriteCheckpoint(dir.path() + "/a.npz", Assorted());
  WriteCheckpoint(dir.path() + "/b.npz", Assorted());
  EXPECT_EQ(ReadBytes(dir.path() + "/a.npz"), ReadBytes(dir.path() + "/b.npz"));
}

TEST(Checkpoint, RefusesVariablesItCannotWrite) {
  TempDir dir;
  const std::string path = dir.path() + "/x.npz";
  auto refused = [&](Snapshot variables) {
    return Message<InvalidArgument>([&] { WriteCheckpoint(path, variables); });
  };
  EXPECT_NE(refused({Filled("__litetrain__", DType::kUInt8, {1}, 0)}).find("may not be called"), std::string::npos);
  EXPECT_NE(refused({Filled("a", DType::kUInt8, {1}, 0), Filled("a", DType::kUInt8, {1}, 0)}).find("given twice"),
            std::string::npos);
  EXPECT_NE(refused({Filled("", DType::kUInt8, {1}, 0)}).find("empty name"), std::string::npos);
  EXPECT_NE(refused({Filled("\xFF", DType::kUInt8, {1}, 0)}).find("not UTF-8"), std::string::npos);
  NamedTensor short_bytes = Filled("s", DType::kFloat32, {4}, 0);
  short_bytes.bytes.pop_back();
  EXPECT_NE(refused({short_bytes}).find("holds 15 bytes, not those of float32[4]"), std::string::npos);
  EXPECT_TRUE(dir.List().empty());  // refused before any file was made
  EXPECT_THROW(WriteCheckpoint(dir.path() + "/no/such/folder.npz", Assorted()), FileNotFound);
}

TEST(Checkpoint, MissingFoldersAndOtherFilesAreNamed) {
  TempDir dir;
  EXPECT_THROW(LoadCheckpoint(dir.path() + "/missing.npz"), FileNotFound);
  try {
    LoadCheckpoint(dir.path());
    FAIL();
  } catch (const IoError& e) {
    EXPECT_EQ(e.error_number(), EISDIR);
  }
  const std::string npy = dir.path() + "/one.npy";
  const float values[3] = {1, 2, 3};
  WriteNpy(npy, {DType::kFloat32, {3}, values});
  EXPECT_NE(Message<CheckpointError>([&] { LoadCheckpoint(npy); }).find("single .npy array"), std::string::npos);
  const std::string text = dir.Write("text.npz", {'n', 'o', 't', ' ', 'a', ' ', 'z', 'i', 'p'});
  EXPECT_NE(Message<CheckpointError>([&] { LoadCheckpoint(text); }).find("damaged or not an .npz file"),
            std::string::npos);
}

// Every truncation and every single-bit flip of a small checkpoint either
// throws CheckpointError or, for the bytes no reader needs (dates, versions,
// attributes), loads the same variables; a flip in a member's bytes (its .npy
// header or data) is always caught. Never a crash.
TEST(Checkpoint, EveryTruncationAndBitFlipIsCaught) {
  TempDir dir;
  const std::string path = dir.path() + "/good.npz";
  const Snapshot variables = {Filled("w", DType::kFloat32, {3, 2}, 1), Filled("b", DType::kInt32, {2}, 2)};
  WriteCheckpoint(path, variables);
  const std::vector<uint8_t> good = ReadBytes(path);
  std::vector<bool> member_byte(good.size(), false);
  {
    detail::InputFile file(path, "checkpoint");
    for (const detail::ZipMember& m : detail::ReadZipDirectory(file)) {
      for (uint64_t i = 0; i < m.size; ++i) member_byte[static_cast<std::size_t>(m.data_offset + i)] = true;
    }
  }
  for (std::size_t cut = 0; cut < good.size(); ++cut) {
    const std::string bad =
        dir.Write("bad.npz", std::vector<uint8_t>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut)));
    EXPECT_THROW(LoadCheckpoint(bad), CheckpointError) << "truncated to " << cut;
  }
  int harmless = 0;
  for (std::size_t byte = 0; byte < good.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> flipped = good;
      flipped[byte] ^= static_cast<uint8_t>(1u << bit);
      const std::string bad = dir.Write("bad.npz", flipped);
      try {
        const Snapshot loaded = LoadCheckpoint(bad);
        EXPECT_FALSE(member_byte[byte]) << "a flip of bit " << bit << " of byte " << byte << " went unseen";
        ExpectEqual(loaded, variables);
        ++harmless;
      } catch (const CheckpointError&) {
      }
    }
  }
  std::cout << harmless << " of " << good.size() * 8 << " bit flips changed nothing a reader uses\n";
}

// An .npz with `variables` and `metadata` as the __litetrain__ text, made
// with the writer's own pieces: a well-formed archive whose metadata lies.
std::string WriteWithMetadata(const TempDir& dir, const Snapshot& variables, const std::string& metadata) {
  const std::string path = dir.path() + "/crafted.npz";
  detail::AtomicFileWriter out(path, "archive");
  detail::ZipWriter zip(out);
  std::vector<std::string> headers;
  for (const NamedTensor& v : variables) headers.push_back(detail::EncodeNpyHeader(v.dtype, v.shape));
  for (std::size_t i = 0; i < variables.size(); ++i) {
    zip.Add(variables[i].name + ".npy",
            {{headers[i].data(), headers[i].size()}, {variables[i].bytes.data(), variables[i].bytes.size()}});
  }
  const std::string header = detail::EncodeNpyHeader(DType::kUInt8, Shape{static_cast<int64_t>(metadata.size())});
  zip.Add("__litetrain__.npy", {{header.data(), header.size()}, {metadata.data(), metadata.size()}});
  zip.Finish();
  out.Commit();
  return path;
}

TEST(Checkpoint, MetadataAndChecksumProblemsAreNamed) {
  TempDir dir;
  const Snapshot w = {Filled("w", DType::kFloat32, {2}, 1)};
  // The real checkpoint's metadata, to be altered one field at a time.
  const std::string good_path = dir.path() + "/good.npz";
  WriteCheckpoint(good_path, w);
  const std::vector<uint8_t> good = ReadBytes(good_path);
  const std::string text(good.begin(), good.end());
  const std::size_t begin = text.find("{\"format\"");
  const std::string metadata = text.substr(begin, text.find("\"}", begin) + 2 - begin);
  ASSERT_NE(metadata.find("\"sha256\": \""), std::string::npos) << metadata;
  ExpectEqual(LoadCheckpoint(WriteWithMetadata(dir, w, metadata)), w);

  auto problem = [&](const Snapshot& variables, const std::string& altered) {
    return Message<CheckpointError>([&] { LoadCheckpoint(WriteWithMetadata(dir, variables, altered)); });
  };
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string altered = metadata;
    const std::size_t at = altered.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return altered.replace(at, from.size(), to);
  };
  Snapshot changed = w;
  changed[0].bytes[0] ^= 1;  // well-formed, CRC-32 right: only the SHA-256 can tell
  EXPECT_NE(problem(changed, metadata).find("fails its checksum"), std::string::npos);
  EXPECT_NE(problem(w, replaced("\"version\": 1", "\"version\": 2"))
                .find("has format 'litetrain-checkpoint' version 2; this litetrain reads"),
            std::string::npos);
  EXPECT_NE(problem(w, replaced("\"format\": \"litetrain-checkpoint\", ", "")).find("has format None"),
            std::string::npos);
  EXPECT_NE(problem(w, replaced("{\"w\":", "{\"v\":")).find("lists other variables than it holds"), std::string::npos);
  EXPECT_NE(problem(w, replaced("\"shape\": [2]", "\"shape\": [1, 2]")).find("does not describe the array"),
            std::string::npos);
  EXPECT_NE(problem(w, metadata.substr(1)).find("has damaged metadata: invalid JSON"), std::string::npos);
  EXPECT_NE(problem(w, "[]").find("has damaged metadata"), std::string::npos);
}

TEST(Npy, RoundTripsAndNamesProblems) {
  TempDir dir;
  const NamedTensor t = Filled("", DType::kInt16, {3, 4}, 9);
  const std::string path = dir.path() + "/t.npy";
  WriteNpy(path, t.view());
  const NamedTensor back = ReadNpy(path);
  EXPECT_EQ(back.dtype, t.dtype);
  EXPECT_EQ(back.shape, t.shape);
  EXPECT_EQ(back.bytes, t.bytes);
  std::vector<uint8_t> bytes = ReadBytes(path);
  bytes.pop_back();
  const std::string shorter = dir.Write("short.npy", bytes);
  EXPECT_NE(Message<FileFormatError>([&] { ReadNpy(shorter); }).find("needs 24 bytes of data, there are 23"),
            std::string::npos);
  EXPECT_THROW(ReadNpy(dir.path() + "/none.npy"), FileNotFound);
  EXPECT_THROW(WriteNpy(dir.path() + "/x.npy", ConstTensorView{DType::kUnsupported, {1}, t.bytes.data()}),
               InvalidArgument);
}

// The 32-16-4 MLP through Trainer::SaveCheckpoint / LoadCheckpoint.
struct Data : testing::MlpData {
  Data() : MlpData(40, 5) {}
};

TEST(Checkpoint, TrainerSavesAndLoadsEveryVariable) {
  TempDir dir;
  const std::string path = dir.path() + "/mlp.npz";
  Trainer trainer(Model::FromFile(ModelPath("mlp_dynamic.tflite")));
  Data data;
  FitOptions options;
  options.batch_size = 8;
  options.epochs = 3;
  trainer.Fit(data.dataset(), options);
  trainer.SaveCheckpoint(path);
  Trainer fresh(Model::FromFile(ModelPath("mlp_dynamic.tflite")));
  fresh.LoadCheckpoint(path);
  ExpectEqual(fresh.TakeSnapshot(), trainer.TakeSnapshot());
  ExpectEqual(LoadCheckpoint(path), trainer.TakeSnapshot());
}

TEST(Checkpoint, TrainerRefusesAnotherModelsCheckpointUnchanged) {
  TempDir dir;
  Trainer trainer(Model::FromFile(ModelPath("mlp_dynamic.tflite")));
  const Snapshot before = trainer.TakeSnapshot();

  Snapshot lacking = before;
  lacking.pop_back();
  const std::string lacking_path = dir.path() + "/lacking.npz";
  WriteCheckpoint(lacking_path, lacking);
  EXPECT_NE(Message<CheckpointError>([&] {
              trainer.LoadCheckpoint(lacking_path);
            }).find("is of another model: it lacks ['" + before.back().name + "']"),
            std::string::npos);

  Snapshot reshaped = before;
  reshaped[0].shape = Shape{reshaped[0].shape.num_elements()};
  const std::string reshaped_path = dir.path() + "/reshaped.npz";
  WriteCheckpoint(reshaped_path, reshaped);
  const std::string message = Message<CheckpointError>([&] { trainer.LoadCheckpoint(reshaped_path); });
  EXPECT_NE(
      message.find("variable '" + before[0].name + "' is float32[" + std::to_string(before[0].shape.num_elements()) +
                   "] there, float32" + before[0].shape.to_string() + " here"),
      std::string::npos)
      << message;

  Snapshot extra = before;
  extra.push_back(Filled("extra", DType::kFloat32, {1}, 0));
  const std::string extra_path = dir.path() + "/extra.npz";
  WriteCheckpoint(extra_path, extra);
  EXPECT_NE(Message<CheckpointError>([&] {
              trainer.LoadCheckpoint(extra_path);
            }).find("it has ['extra'], which this model does not"),
            std::string::npos);
  ExpectEqual(trainer.TakeSnapshot(), before);
}

}  // namespace
}  // namespace litetrain
