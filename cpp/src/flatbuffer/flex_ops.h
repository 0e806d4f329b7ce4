// Models that need TensorFlow's own kernels (the Flex delegate, custom ops
// named "Flex..."): LiteRT's builtin runtime has none of them, so litetrain
// refuses such a file when it is loaded, not at the first step.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace litetrain {

// Throws InvalidArgument naming the Flex ops of the (verified) model and what
// to do instead. `source` names the file in the message.
void RefuseFlexOps(const uint8_t* data, std::size_t size, const std::string& source);

}  // namespace litetrain
