#include "formats/npy_format.h"

#include <cstring>
#include <limits>
#include <string_view>

#include "litetrain/errors.h"

namespace litetrain::detail {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;
constexpr bool kLittleEndian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

[[noreturn]] void Bad(const std::string& why) { throw FileFormatError(why); }

// numpy's type character and size for each DType.
struct TypeCode {
  DType dtype;
  char kind;
  std::size_t size;
};
constexpr TypeCode kTypeCodes[] = {
    {DType::kFloat32, 'f', 4}, {DType::kFloat64, 'f', 8}, {DType::kFloat16, 'f', 2}, {DType::kInt8, 'i', 1},
    {DType::kInt16, 'i', 2},   {DType::kInt32, 'i', 4},   {DType::kInt64, 'i', 8},   {DType::kUInt8, 'u', 1},
    {DType::kUInt16, 'u', 2},  {DType::kUInt32, 'u', 4},  {DType::kUInt64, 'u', 8},  {DType::kBool, 'b', 1},
};

DType FromDescr(const std::string& descr) {
  const std::string supported = "litetrain reads bool, int8-int64, uint8-uint64 and float16/32/64 arrays";
  if (descr.size() < 3) Bad("dtype '" + descr + "' is not supported: " + supported);
  const char order = descr[0];
  const char kind = descr[1];
  if (order != '<' && order != '>' && order != '|' && order != '=') {
    Bad("dtype '" + descr + "' is not supported: " + supported);
  }
  std::size_t size = 0;
  for (std::size_t i = 2; i < descr.size(); ++i) {
    if (descr[i] < '0' || descr[i] > '9' || size > 64) Bad("dtype '" + descr + "' is not supported: " + supported);
    size = size * 10 + static_cast<std::size_t>(descr[i] - '0');
  }
  for (const TypeCode& code : kTypeCodes) {
    if (code.kind != kind || code.size != size) continue;
    const bool native =
        order == '=' || order == '|' || (order == '<' && kLittleEndian) || (order == '>' && !kLittleEndian);
    if (!native && size > 1) {
      Bad("dtype '" + descr +
          "' is in the other byte order; save the array in native order "
          "(numpy: a.astype(a.dtype.newbyteorder('=')))");
    }
    return code.dtype;
  }
  Bad("dtype '" + descr + "' is not supported: " + supported);
}

// A reader of the header's Python literal: {'key': value, ...}.
class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : text_(text) {}

  NpyHeader Parse() {
    NpyHeader header;
    bool have_descr = false, have_order = false, have_shape = false;
    SkipSpace();
    Expect('{');
    while (true) {
      SkipSpace();
      if (Peek() == '}') break;
      const std::string key = String();
      SkipSpace();
      Expect(':');
      SkipSpace();
      if (key == "descr") {
        if (Peek() == '[') Bad("structured arrays (record dtypes) are not supported");
        header.dtype = FromDescr(String());
        have_descr = true;
      } else if (key == "fortran_order") {
        if (Word("True")) {
          Bad("the array is in Fortran order; save a C-order copy (numpy.ascontiguousarray)");
        }
        if (!Word("False")) Bad("'fortran_order' must be True or False");
        have_order = true;
      } else if (key == "shape") {
        header.shape = Tuple();
        have_shape = true;
      } else {
        Bad("unexpected key '" + key + "' in the header");
      }
      SkipSpace();
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      SkipSpace();
      if (Peek() != '}') Bad("expected ',' or '}' in the header");
    }
    ++pos_;
    SkipSpace();
    if (pos_ != text_.size()) Bad("unexpected text after the header dict");
    if (!have_descr || !have_order || !have_shape) {
      Bad("the header lacks one of 'descr', 'fortran_order', 'shape'");
    }
    return header;
  }

 private:
  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\t')) ++pos_;
  }
  void Expect(char c) {
    if (Peek() != c) Bad(std::string("expected '") + c + "' in the header");
    ++pos_;
  }
  bool Word(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  std::string String() {
    const char quote = Peek();
    if (quote != '\'' && quote != '"') Bad("expected a quoted string in the header");
    const std::size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) Bad("unterminated string in the header");
    std::string value(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return value;
  }
  Shape Tuple() {
    Expect('(');
    int64_t dims[Shape::kMaxRank];
    int rank = 0;
    while (true) {
      SkipSpace();
      if (Peek() == ')') break;
      if (rank == Shape::kMaxRank) {
        Bad("the array has more than " + std::to_string(Shape::kMaxRank) + " dimensions");
      }
      int64_t dim = 0;
      const std::size_t start = pos_;
      while (Peek() >= '0' && Peek() <= '9') {
        if (dim > (std::numeric_limits<int64_t>::max() - 9) / 10) Bad("a dimension is out of range");
        dim = dim * 10 + (Peek() - '0');
        ++pos_;
      }
      if (pos_ == start) Bad("expected a dimension in 'shape'");
      if (Peek() == 'L') ++pos_;  // written by Python 2
      dims[rank++] = dim;
      SkipSpace();
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      if (Peek() != ')') Bad("expected ',' or ')' in 'shape'");
    }
    ++pos_;
    return Shape(dims, rank);
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

bool HasNpyMagic(const uint8_t* data, std::size_t size) noexcept {
  return size >= kMagicSize && std::memcmp(data, kMagic, kMagicSize) == 0;
}

std::size_t NpyHeaderSize(const uint8_t* start, std::size_t available) {
  if (!HasNpyMagic(start, available)) Bad("it does not start with the .npy magic \\x93NUMPY");
  if (available < 10) Bad("the header is truncated");
  const unsigned major = start[6];
  std::size_t length;
  std::size_t preamble;
  if (major == 1) {
    preamble = 10;
    length = static_cast<std::size_t>(start[8]) | static_cast<std::size_t>(start[9]) << 8;
  } else if (major == 2 || major == 3) {
    if (available < 12) Bad("the header is truncated");
    preamble = 12;
    length = static_cast<std::size_t>(start[8]) | static_cast<std::size_t>(start[9]) << 8 |
             static_cast<std::size_t>(start[10]) << 16 | static_cast<std::size_t>(start[11]) << 24;
  } else {
    Bad("format version " + std::to_string(major) + "." + std::to_string(start[7]) +
        " is not one litetrain reads (1.0-3.0)");
  }
  if (length > kNpyMaxHeader) Bad("the header claims " + std::to_string(length) + " bytes");
  return preamble + length;
}

NpyHeader ParseNpyHeader(const uint8_t* header, std::size_t size) {
  const std::size_t preamble = header[6] == 1 ? 10 : 12;
  // Version 3 allows UTF-8 in the header; ASCII is all we accept in it anyway.
  std::string_view text(reinterpret_cast<const char*>(header) + preamble, size - preamble);
  NpyHeader parsed = HeaderParser(text).Parse();
  parsed.data_offset = size;
  uint64_t elements = 1;
  for (const int64_t dim : parsed.shape) {
    if (dim != 0 && elements > (uint64_t{1} << 62) / static_cast<uint64_t>(dim)) {
      Bad("shape " + parsed.shape.to_string() + " is too large");
    }
    elements *= static_cast<uint64_t>(dim);
  }
  parsed.data_bytes = elements * ItemSize(parsed.dtype);
  return parsed;
}

std::string NpyDescr(DType dtype) {
  for (const TypeCode& code : kTypeCodes) {
    if (code.dtype != dtype) continue;
    const char order = code.size == 1 ? '|' : kLittleEndian ? '<' : '>';
    return std::string{order, code.kind} + std::to_string(code.size);
  }
  throw InvalidArgument("dtype '" + std::string(DTypeName(dtype)) + "' cannot be written to .npy");
}

std::string ShapeTupleRepr(const Shape& shape) {
  std::string text = "(";
  for (int d = 0; d < shape.rank(); ++d) {
    if (d > 0) text += ", ";
    text += std::to_string(shape[d]);
  }
  if (shape.rank() == 1) text += ",";
  return text + ")";
}

std::string EncodeNpyHeader(DType dtype, const Shape& shape) {
  std::string dict =
      "{'descr': '" + NpyDescr(dtype) + "', 'fortran_order': False, 'shape': " + ShapeTupleRepr(shape) + ", }";
  // numpy pads with spaces so that preamble + dict + '\n' is a multiple of 64.
  const bool v1 = dict.size() + 1 + 10 <= 0xFFFF;
  const std::size_t preamble = v1 ? 10 : 12;
  const std::size_t unpadded = preamble + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict.push_back('\n');
  std::string out(kMagic, kMagicSize);
  out.push_back(static_cast<char>(v1 ? 1 : 2));
  out.push_back('\0');
  const std::size_t length = dict.size();
  for (std::size_t b = 0; b < (v1 ? 2u : 4u); ++b) out.push_back(static_cast<char>((length >> (8 * b)) & 0xFF));
  return out + dict;
}

}  // namespace litetrain::detail
