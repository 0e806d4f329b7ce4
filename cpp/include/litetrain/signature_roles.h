// Which signature plays which role. litetrain's own files name them train,
// infer, save, restore; files written for other runtimes use other names for
// the same jobs (Flower's Android BaseTFLiteModel returns its weights from
// `parameters`). A role is looked up by the name the caller gave, or else by
// its known names, in order.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "litetrain/export.h"

namespace litetrain {

enum class SignatureRole {
  kSave,     // takes nothing, returns every variable: "save", "parameters"
  kRestore,  // takes every variable: "restore"
};

// The signature among `keys` for `role`: `requested` when not empty (throws
// InvalidArgument listing `keys` when the model has no such signature), else
// the first of the role's known names present whose `input_count` fits the
// role (save takes none, restore some: the recipe's save(checkpoint_path) is
// not the save a snapshot needs); nullopt when none is.
LITETRAIN_API std::optional<std::string> FindRole(const std::vector<std::string>& keys,
                                                  const std::vector<std::size_t>& input_counts,
                                                  const std::string& requested, SignatureRole role);

// The role's known names, in the order they are tried.
LITETRAIN_API const std::vector<std::string>& RoleNames(SignatureRole role);
// The same for messages: "'save' or 'parameters'".
LITETRAIN_API std::string KnownNames(SignatureRole role);

}  // namespace litetrain
