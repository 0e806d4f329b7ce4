#include "litetrain/model.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "aligned_buffer.h"
#include "compiled_model.h"
#include "flatbuffer/flex_ops.h"
#include "flatbuffer/model_verifier.h"
#include "litetrain/errors.h"
#include "litetrain/signature_runner.h"

namespace litetrain {
namespace {

template <typename List>
std::size_t IndexByName(const List& items, std::string_view name, const std::string& what, const std::string& owner) {
  std::string names;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].name == name) return i;
    names += (names.empty() ? "'" : ", '") + items[i].name + "'";
  }
  throw InvalidArgument(owner + " has no " + what + " '" + std::string(name) + "'; its " + what +
                        "s are: " + (names.empty() ? "none" : names));
}

AlignedBuffer ReadFile(const std::string& path) {
  struct stat info{};
  if (::stat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) throw FileNotFound("model file '" + path + "' does not exist");
    throw InvalidArgument("cannot read model file '" + path + "': " + std::strerror(errno));
  }
  if (S_ISDIR(info.st_mode)) {
    throw InvalidArgument("model path '" + path + "' is a directory, not a .tflite file");
  }
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    throw InvalidArgument("cannot open model file '" + path + "': " + std::strerror(errno));
  }
  AlignedBuffer bytes(static_cast<std::size_t>(info.st_size));
  const std::size_t read = std::fread(bytes.data(), 1, bytes.size(), file);
  std::fclose(file);
  if (read != bytes.size()) {
    throw InvalidArgument("cannot read model file '" + path + "': short read (" + std::to_string(read) + " of " +
                          std::to_string(bytes.size()) + " bytes)");
  }
  return bytes;
}

std::shared_ptr<detail::CompiledModel> Compile(AlignedBuffer bytes, const ModelOptions& options,
                                               const std::string& source) {
  try {
    VerifyModel(static_cast<const uint8_t*>(bytes.data()), bytes.size());
  } catch (const ModelFormatError& e) {
    throw ModelFormatError(source + " is not a valid TFLite model: " + e.what());
  }
  RefuseFlexOps(static_cast<const uint8_t*>(bytes.data()), bytes.size(), source);
  return std::make_shared<detail::CompiledModel>(std::move(bytes), options);
}

}  // namespace

std::size_t SignatureSpec::input_index(std::string_view name) const {
  return IndexByName(inputs, name, "input", "signature '" + key + "'");
}

std::size_t SignatureSpec::output_index(std::string_view name) const {
  return IndexByName(outputs, name, "output", "signature '" + key + "'");
}

Model::Model(std::shared_ptr<detail::CompiledModel> impl) : impl_(std::move(impl)) {}

Model Model::FromFile(const std::string& path, const ModelOptions& options) {
  return Model(Compile(ReadFile(path), options, "'" + path + "'"));
}

Model Model::FromBytes(const void* data, std::size_t size, const ModelOptions& options) {
  if (data == nullptr && size != 0) throw InvalidArgument("model bytes: null pointer");
  AlignedBuffer bytes(size);
  if (size != 0) std::memcpy(bytes.data(), data, size);
  return Model(Compile(std::move(bytes), options, "the model bytes"));
}

const std::vector<SignatureSpec>& Model::signatures() const { return impl_->signatures(); }

const SignatureSpec& Model::signature(std::string_view key) const {
  const auto& all = impl_->signatures();
  std::string keys;
  for (const auto& spec : all) {
    if (spec.key == key) return spec;
    keys += (keys.empty() ? "'" : ", '") + spec.key + "'";
  }
  throw InvalidArgument("the model has no signature '" + std::string(key) +
                        "'; its signatures are: " + (keys.empty() ? "none" : keys));
}

SignatureRunner Model::runner(std::string_view key) const { return SignatureRunner(impl_, signature(key).index); }

const void* Model::file_data() const { return impl_->bytes().data(); }

std::size_t Model::file_size() const { return impl_->bytes().size(); }

const std::string& Model::library_path() const { return impl_->api().path; }

int Model::threads() const { return impl_->options().cpu.threads; }
const CpuOptions& Model::cpu_options() const { return impl_->options().cpu; }

}  // namespace litetrain
