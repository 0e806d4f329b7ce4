#include "weight_names.h"

#include <cctype>
#include <map>

namespace litetrain {
namespace {

// "dense_1_kernel" -> "dense_kernel": drops every "_" followed by digits up
// to the next "_" or the end.
std::string WithoutNumbers(const std::string& name) {
  std::string out;
  for (std::size_t i = 0; i < name.size();) {
    if (name[i] == '_') {
      std::size_t j = i + 1;
      while (j < name.size() && std::isdigit(static_cast<unsigned char>(name[j]))) ++j;
      if (j > i + 1 && (j == name.size() || name[j] == '_')) {
        i = j;
        continue;
      }
    }
    out += name[i++];
  }
  return out;
}

std::multiset<std::string> Stems(const std::set<std::string>& names) {
  std::multiset<std::string> stems;
  for (const std::string& name : names) stems.insert(WithoutNumbers(name));
  return stems;
}

}  // namespace

std::string KerasSuffixHint(const std::set<std::string>& ours, const std::set<std::string>& theirs) {
  if (ours == theirs || Stems(ours) != Stems(theirs)) return "";
  std::string example_ours, example_theirs;
  for (const std::string& name : ours) {
    if (!theirs.count(name)) {
      example_ours = name;
      break;
    }
  }
  for (const std::string& name : theirs) {
    if (!ours.count(name) && WithoutNumbers(name) == WithoutNumbers(example_ours)) {
      example_theirs = name;
      break;
    }
  }
  return "; the names differ only by Keras' automatic layer numbers ('" + example_ours + "' here, '" + example_theirs +
         "' there): one of the Keras models was built after another in the same process, so "
         "Keras numbered its layers on. Name the layers (name=\"head\") or call keras.backend.clear_session() "
         "before building, then build again";
}

}  // namespace litetrain
