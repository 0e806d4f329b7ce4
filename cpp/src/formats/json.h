// Just enough JSON for our own metadata: a parser for any well-formed text
// (so that files written by Python's json module read back) and a string
// writer. Not a general-purpose library: numbers are int64 or double, object
// keys must be unique, nesting is capped.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace litetrain::detail {

// Malformed JSON; what() says where and why.
class JsonError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Json {
 public:
  enum class Kind { kNull, kBool, kInteger, kNumber, kString, kArray, kObject };

  Kind kind() const noexcept { return kind_; }
  bool is_integer() const noexcept { return kind_ == Kind::kInteger; }
  bool is_string() const noexcept { return kind_ == Kind::kString; }
  bool is_array() const noexcept { return kind_ == Kind::kArray; }
  bool is_object() const noexcept { return kind_ == Kind::kObject; }

  bool boolean() const noexcept { return boolean_; }
  int64_t integer() const noexcept { return integer_; }
  double number() const noexcept { return number_; }
  const std::string& string() const noexcept { return string_; }
  const std::vector<Json>& items() const noexcept { return items_; }
  // Members of an object, in the text's order.
  const std::vector<std::pair<std::string, Json>>& members() const noexcept { return members_; }
  // The member called `key`, or null if absent (or not an object).
  const Json* find(std::string_view key) const noexcept;

  // Throws JsonError.
  static Json Parse(std::string_view text);

 private:
  friend class JsonParser;
  Kind kind_ = Kind::kNull;
  bool boolean_ = false;
  int64_t integer_ = 0;
  double number_ = 0.0;
  std::string string_;
  std::vector<Json> items_;
  std::vector<std::pair<std::string, Json>> members_;
};

// Appends `text` (UTF-8) as a JSON string literal: quoted, with '"', '\' and
// control characters escaped; other characters as they are.
void AppendJsonString(std::string& out, std::string_view text);

// True if `text` is well-formed UTF-8 (JSON text must be).
bool IsValidUtf8(std::string_view text) noexcept;

}  // namespace litetrain::detail
