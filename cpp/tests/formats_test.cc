// The file-format pieces behind checkpoints and .npy files, against published
// test vectors and their own round trips. Compatibility with numpy and
// Python's zipfile is tested from pytest (tests/test_checkpoint_interop.py).
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "formats/crc32.h"
#include "formats/file_io.h"
#include "formats/json.h"
#include "formats/npy_format.h"
#include "formats/sha256.h"
#include "formats/zip_reader.h"
#include "formats/zip_writer.h"
#include "litetrain/errors.h"
#include "temp_dir.h"
#include "test_models.h"

namespace litetrain::detail {
namespace {

TEST(Crc32, MatchesTheCheckValueAndContinues) {
  const std::string text = "123456789";
  EXPECT_EQ(Crc32(text.data(), text.size()), 0xCBF43926u);  // the CRC-32 "check" value
  EXPECT_EQ(Crc32(nullptr, 0), 0u);
  std::vector<uint8_t> data(1000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + 3);
  const uint32_t whole = Crc32(data.data(), data.size());
  for (std::size_t split : {0, 1, 7, 8, 9, 500, 999}) {
    EXPECT_EQ(Crc32(data.data() + split, data.size() - split, Crc32(data.data(), split)), whole) << split;
  }
}

std::string HexOf(const std::string& text, std::size_t chunk) {
  Sha256 sha;
  for (std::size_t i = 0; i < text.size(); i += chunk) sha.Update(text.substr(i, chunk));
  return sha.HexDigest();
}

TEST(Sha256, MatchesFips180Vectors) {
  EXPECT_EQ(HexOf("", 1), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexOf("abc", 1), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(HexOf(two_blocks, 56), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million(1000000, 'a');
  const std::string expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
  for (std::size_t chunk : {1000000, 64, 63, 65, 4097}) EXPECT_EQ(HexOf(million, chunk), expected) << chunk;
}

TEST(Json, ParsesWhatPythonWrites) {
  const Json v = Json::Parse(
      R"({"format": "litetrain-checkpoint", "version": 1, "variables": {"w\u00e9\ud83d\ude00": )"
      R"({"dtype": "float32", "shape": [2, 3]}, "e": {"shape": []}}, "x": [true, false, null, -1.5e3, 0]})");
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.find("format")->string(), "litetrain-checkpoint");
  EXPECT_EQ(v.find("version")->integer(), 1);
  const auto& vars = v.find("variables")->members();
  ASSERT_EQ(vars.size(), 2u);
  EXPECT_EQ(vars[0].first, "w\xC3\xA9\xF0\x9F\x98\x80");  // é and an emoji, as UTF-8
  EXPECT_EQ(vars[0].second.find("shape")->items()[1].integer(), 3);
  const auto& x = v.find("x")->items();
  EXPECT_TRUE(x[0].boolean());
  EXPECT_FALSE(x[1].boolean());
  EXPECT_EQ(x[2].kind(), Json::Kind::kNull);
  EXPECT_EQ(x[3].number(), -1500.0);
  EXPECT_EQ(v.find("missing"), nullptr);
}

TEST(Json, RefusesMalformedText) {
  for (const char* bad :
       {"", "{", "{\"a\": 1,}", "[1 2]", "{\"a\": 1, \"a\": 2}", "\"\\ud800\"", "\"\\udc00\"", "01", "1.",
        "\"tab\there\"", "nul", "{} {}", "99999999999999999999", "\"\xC3\x28\"", "\"\xED\xA0\x80\""}) {
    EXPECT_THROW(Json::Parse(bad), JsonError) << bad;
  }
  EXPECT_THROW(Json::Parse(std::string(100, '[') + std::string(100, ']')), JsonError);
  EXPECT_NO_THROW(Json::Parse(std::string(60, '[') + std::string(60, ']')));
}

TEST(Json, WritesStringsThatReadBack) {
  const std::string text = "a\"b\\c\n\x01 \xC3\xA9";
  std::string out;
  AppendJsonString(out, text);
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\u000a\\u0001 \xC3\xA9\"");
  EXPECT_EQ(Json::Parse(out).string(), text);
}

TEST(NpyHeader, RoundTripsEveryDtypeAndRank) {
  for (int d = 0; d < static_cast<int>(DType::kUnsupported); ++d) {
    const auto dtype = static_cast<DType>(d);
    for (const Shape& shape : {Shape{}, Shape{0}, Shape{5}, Shape{2, 3}, Shape{1, 2, 3, 4, 5, 6, 7, 8}}) {
      const std::string header = EncodeNpyHeader(dtype, shape);
      EXPECT_EQ(header.size() % 64, 0u);  // numpy aligns the data to 64 bytes
      EXPECT_EQ(header.back(), '\n');
      const auto* bytes = reinterpret_cast<const uint8_t*>(header.data());
      ASSERT_EQ(NpyHeaderSize(bytes, header.size()), header.size());
      const NpyHeader parsed = ParseNpyHeader(bytes, header.size());
      EXPECT_EQ(parsed.dtype, dtype);
      EXPECT_EQ(parsed.shape, shape);
      EXPECT_EQ(parsed.data_bytes, static_cast<uint64_t>(shape.num_elements()) * ItemSize(dtype));
    }
  }
  EXPECT_EQ(ShapeTupleRepr(Shape{}), "()");
  EXPECT_EQ(ShapeTupleRepr(Shape{3}), "(3,)");
  EXPECT_EQ(ShapeTupleRepr(Shape{2, 3}), "(2, 3)");
  EXPECT_EQ(NpyDescr(DType::kBool), "|b1");
  EXPECT_EQ(NpyDescr(DType::kFloat32), "<f4");
}

// A version 1.0 header around `dict`, as another writer might produce it.
std::string Header(const std::string& dict) {
  std::string body = dict + "\n";
  std::string out = std::string("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(body.size() & 0xFF));
  out.push_back(static_cast<char>(body.size() >> 8));
  return out + body;
}

std::string ParseError(const std::string& header) {
  try {
    const auto* bytes = reinterpret_cast<const uint8_t*>(header.data());
    ParseNpyHeader(bytes, NpyHeaderSize(bytes, header.size()));
  } catch (const FileFormatError& e) {
    return e.what();
  }
  return "";
}

TEST(NpyHeader, ReadsOtherSpellingsAndRefusesWhatItCannotRead) {
  const std::string ok = Header("{\"shape\": (3L, 4), \"fortran_order\": False, \"descr\": \"=i8\"}");
  const auto* bytes = reinterpret_cast<const uint8_t*>(ok.data());
  const NpyHeader parsed = ParseNpyHeader(bytes, NpyHeaderSize(bytes, ok.size()));
  EXPECT_EQ(parsed.dtype, DType::kInt64);
  EXPECT_EQ(parsed.shape, (Shape{3, 4}));

  EXPECT_NE(ParseError(Header("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }")).find("Fortran order"),
            std::string::npos);
  EXPECT_NE(ParseError(Header("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }")).find("other byte order"),
            std::string::npos);
  EXPECT_NE(ParseError(Header("{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }")).find("not supported"),
            std::string::npos);
  EXPECT_NE(ParseError(Header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }")).find("structured"),
            std::string::npos);
  EXPECT_NE(ParseError(Header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }"))
                .find("more than 8 dimensions"),
            std::string::npos);
  EXPECT_NE(ParseError(Header("{'descr': '<f4', 'shape': (2,), }")).find("lacks"), std::string::npos);
  EXPECT_NE(
      ParseError(Header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}")).find("unexpected key"),
      std::string::npos);
  EXPECT_NE(ParseError(Header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }"))
                .find("too large"),
            std::string::npos);
  std::string future = ok;
  future[6] = 4;
  EXPECT_NE(ParseError(future).find("format version 4.0"), std::string::npos);
  EXPECT_NE(ParseError("\x93NUMPX\x01\x00\x00\x00").find("magic"), std::string::npos);
}

TEST(Zip, WritesAndReadsStoredMembersWithAndWithoutZip64) {
  testing::TempDir dir;
  const std::string a(1000, 'a');
  const std::string b = "second";
  for (bool zip64 : {false, true}) {
    const std::string path = dir.path() + (zip64 ? "/z64.zip" : "/plain.zip");
    {
      AtomicFileWriter out(path, "archive");
      ZipWriter zip(out, zip64);
      zip.Add("a.npy", {{a.data(), 400}, {a.data() + 400, 600}});
      zip.Add("\xC3\xA9.npy", {{b.data(), b.size()}});
      zip.Add("empty", {});
      EXPECT_THROW(zip.Add("a.npy", {}), InvalidArgument);
      zip.Finish();
      out.Commit();
    }
    InputFile file(path, "archive");
    const std::vector<ZipMember> members = ReadZipDirectory(file);
    ASSERT_EQ(members.size(), 3u);
    EXPECT_EQ(members[0].name, "a.npy");
    EXPECT_EQ(members[0].size, 1000u);
    EXPECT_EQ(members[0].crc32, Crc32(a.data(), a.size()));
    EXPECT_EQ(members[1].name, "\xC3\xA9.npy");
    EXPECT_EQ(members[2].size, 0u);
    std::string back(b.size(), '\0');
    file.ReadAt(members[1].data_offset, back.data(), back.size());
    EXPECT_EQ(back, b);
  }
}

TEST(Zip, RefusesTruncatedAndForeignFiles) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/a.zip";
  {
    AtomicFileWriter out(path, "archive");
    ZipWriter zip(out);
    const std::string data(100, 'x');
    zip.Add("x.npy", {{data.data(), data.size()}});
    zip.Finish();
    out.Commit();
  }
  const std::vector<uint8_t> bytes = testing::ReadBytes(path);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    dir.Write("cut.zip", std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut)));
    InputFile file(dir.path() + "/cut.zip", "archive");
    EXPECT_THROW(ReadZipDirectory(file), FileFormatError) << "cut at " << cut;
  }
}

TEST(Files, AtomicWriterLeavesNothingBehindWithoutCommit) {
  testing::TempDir dir;
  {
    AtomicFileWriter out(dir.path() + "/never.bin", "file");
    out.Write("abc", 3);
  }
  EXPECT_TRUE(dir.List().empty());
  EXPECT_THROW(AtomicFileWriter(dir.path() + "/missing/x.bin", "file"), FileNotFound);
  EXPECT_THROW(InputFile(dir.path() + "/none.bin", "file"), FileNotFound);
  try {
    InputFile folder(dir.path(), "file");
    FAIL() << "a folder was opened as a file";
  } catch (const IoError& e) {
    EXPECT_EQ(e.error_number(), EISDIR);
  }
}

}  // namespace
}  // namespace litetrain::detail
