#include "litetrain/signature_roles.h"

#include <algorithm>

#include "litetrain/errors.h"

namespace litetrain {
const std::vector<std::string>& RoleNames(SignatureRole role) {
  static const std::vector<std::string> save = {"save", "parameters"};
  static const std::vector<std::string> restore = {"restore"};
  return role == SignatureRole::kSave ? save : restore;
}

std::optional<std::string> FindRole(const std::vector<std::string>& keys, const std::vector<std::size_t>& input_counts,
                                    const std::string& requested, SignatureRole role) {
  const auto has = [&](const std::string& name) { return std::find(keys.begin(), keys.end(), name) != keys.end(); };
  if (!requested.empty()) {
    if (has(requested)) return requested;
    std::string listed;
    for (const std::string& key : keys) listed += (listed.empty() ? "'" : ", '") + key + "'";
    throw InvalidArgument("the model has no signature '" + requested +
                          "'; its signatures are: " + (listed.empty() ? "none" : listed));
  }
  for (const std::string& name : RoleNames(role)) {
    const auto at = std::find(keys.begin(), keys.end(), name);
    if (at == keys.end()) continue;
    const std::size_t inputs = input_counts.at(static_cast<std::size_t>(at - keys.begin()));
    if ((role == SignatureRole::kSave) == (inputs == 0)) return name;
  }
  return std::nullopt;
}

std::string KnownNames(SignatureRole role) {
  std::string names;
  const auto& all = RoleNames(role);
  for (std::size_t i = 0; i < all.size(); ++i) {
    names += (i == 0 ? "'" : (i + 1 == all.size() ? " or '" : ", '")) + all[i] + "'";
  }
  return names;
}

}  // namespace litetrain
