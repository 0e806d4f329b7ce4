#include "litetrain/checkpoint.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "formats/file_io.h"
#include "formats/json.h"
#include "formats/npy_format.h"
#include "formats/npy_io.h"
#include "formats/sha256.h"
#include "formats/zip_reader.h"
#include "formats/zip_writer.h"
#include "litetrain/errors.h"

namespace litetrain {
namespace {

constexpr char kFormat[] = "litetrain-checkpoint";
constexpr int64_t kVersion = 1;
constexpr char kMetadataName[] = "__litetrain__";
constexpr char kSuffix[] = ".npy";

// The checksum Python's litetrain.checkpoint defined first: over the
// variables in sorted name order, name + dtype name + shape tuple + bytes.
std::string Digest(const Snapshot& variables) {
  std::vector<const NamedTensor*> sorted;
  for (const NamedTensor& v : variables) sorted.push_back(&v);
  // std::string compares as unsigned bytes: UTF-8 byte order is code point
  // order, which is how Python sorts the names.
  std::sort(sorted.begin(), sorted.end(), [](const NamedTensor* a, const NamedTensor* b) { return a->name < b->name; });
  detail::Sha256 sha;
  for (const NamedTensor* v : sorted) {
    sha.Update(v->name);
    sha.Update(DTypeName(v->dtype));
    // Python's first implementation hashed numpy.ascontiguousarray(value),
    // which makes a scalar one-dimensional: a scalar hashes as "(1,)".
    sha.Update(v->shape.rank() == 0 ? std::string("(1,)") : detail::ShapeTupleRepr(v->shape));
    sha.Update(v->bytes.data(), v->bytes.size());
  }
  return sha.HexDigest();
}

void CheckVariables(const std::string& path, const Snapshot& variables) {
  const std::string where = "cannot write checkpoint '" + path + "': ";
  std::set<std::string> names;
  for (const NamedTensor& v : variables) {
    if (v.name.empty()) throw InvalidArgument(where + "a variable has an empty name");
    if (v.name == kMetadataName) throw InvalidArgument(where + "a variable may not be called '" + kMetadataName + "'");
    if (v.name.find('\0') != std::string::npos || !detail::IsValidUtf8(v.name)) {
      throw InvalidArgument(where + "variable name '" + v.name + "' is not UTF-8 text");
    }
    if (!names.insert(v.name).second) throw InvalidArgument(where + "variable '" + v.name + "' is given twice");
    if (v.dtype == DType::kUnsupported)
      throw InvalidArgument(where + "variable '" + v.name + "' has an unsupported dtype");
    if (v.shape.has_dynamic_dims() ||
        v.bytes.size() != static_cast<std::size_t>(v.shape.num_elements()) * ItemSize(v.dtype)) {
      throw InvalidArgument(where + "variable '" + v.name + "' holds " + std::to_string(v.bytes.size()) +
                            " bytes, not those of " + std::string(DTypeName(v.dtype)) + v.shape.to_string());
    }
  }
}

std::string TrainingJson(const TrainingState& t) {
  std::string json = "{\"epochs_done\": " + std::to_string(t.epochs_done) +
                     ", \"steps_done\": " + std::to_string(t.steps_done) + ", \"seed\": " + std::to_string(t.seed) +
                     ", \"batch_size\": " + std::to_string(t.batch_size) +
                     ", \"shuffle\": " + (t.shuffle ? "true" : "false") +
                     ", \"drop_remainder\": " + (t.drop_remainder ? "true" : "false");
  if (t.learning_rate && std::isfinite(*t.learning_rate)) {
    char text[32];
    // 9 significant digits round-trip every float32.
    std::snprintf(text, sizeof text, "%.9g", static_cast<double>(*t.learning_rate));
    json += ", \"learning_rate\": " + std::string(text);
  }
  return json + "}";
}

// json.dumps of the metadata dict, as Python wrote it (non-ASCII names stay
// UTF-8 here, which any JSON reader takes).
std::string MetadataJson(const Snapshot& variables, const std::string& digest, const TrainingState* training) {
  std::string json =
      "{\"format\": \"" + std::string(kFormat) + "\", \"version\": " + std::to_string(kVersion) + ", \"variables\": {";
  for (std::size_t i = 0; i < variables.size(); ++i) {
    const NamedTensor& v = variables[i];
    if (i > 0) json += ", ";
    detail::AppendJsonString(json, v.name);
    json += ": {\"dtype\": \"" + std::string(DTypeName(v.dtype)) + "\", \"shape\": [";
    for (int d = 0; d < v.shape.rank(); ++d) json += (d > 0 ? ", " : "") + std::to_string(v.shape[d]);
    json += "]}";
  }
  json += "}, \"sha256\": \"" + digest + "\"";
  if (training != nullptr) json += ", \"training\": " + TrainingJson(*training);
  return json + "}";
}

// A JSON value as Python's repr would show it in a message.
std::string Repr(const detail::Json* value) {
  if (value == nullptr) return "None";
  if (value->is_string()) return "'" + value->string() + "'";
  if (value->is_integer()) return std::to_string(value->integer());
  return "(a JSON value of another type)";
}

// The "training" member, when present. Its absence is not damage (files
// written outside a fit, or before it existed); a malformed one is.
std::optional<TrainingState> ReadTraining(const std::string& where, const detail::Json& metadata) {
  const detail::Json* training = metadata.find("training");
  if (training == nullptr) return std::nullopt;
  const auto damaged = [&](const std::string& what) {
    return CheckpointError(where + " has damaged metadata: \"training\" " + what);
  };
  if (!training->is_object()) throw damaged("is not an object");
  const auto integer = [&](const char* key) {
    const detail::Json* value = training->find(key);
    if (value == nullptr || !value->is_integer() || value->integer() < 0) {
      throw damaged(std::string("lacks a non-negative integer \"") + key + "\"");
    }
    return value->integer();
  };
  const auto boolean = [&](const char* key) {
    const detail::Json* value = training->find(key);
    if (value == nullptr || value->kind() != detail::Json::Kind::kBool) {
      throw damaged(std::string("lacks a boolean \"") + key + "\"");
    }
    return value->boolean();
  };
  TrainingState state;
  state.epochs_done = integer("epochs_done");
  state.steps_done = integer("steps_done");
  state.seed = static_cast<uint64_t>(integer("seed"));
  state.batch_size = integer("batch_size");
  state.shuffle = boolean("shuffle");
  state.drop_remainder = boolean("drop_remainder");
  if (const detail::Json* lr = training->find("learning_rate")) {
    const double value = lr->is_integer()                            ? static_cast<double>(lr->integer())
                         : lr->kind() == detail::Json::Kind::kNumber ? lr->number()
                                                                     : -1.0;
    if (!(value > 0.0) || !std::isfinite(static_cast<float>(value))) {
      throw damaged("has a learning_rate that is not a positive float32");
    }
    state.learning_rate = static_cast<float>(value);
  }
  return state;
}

std::optional<TrainingState> CheckMetadata(const std::string& where, const std::string& text,
                                           const Snapshot& variables) {
  detail::Json metadata;
  try {
    metadata = detail::Json::Parse(text);
  } catch (const detail::JsonError& e) {
    throw CheckpointError(where + " has damaged metadata: " + e.what());
  }
  const detail::Json* listed = metadata.find("variables");
  if (!metadata.is_object() || listed == nullptr || !listed->is_object()) {
    throw CheckpointError(where + " has damaged metadata: no \"variables\" object");
  }
  const detail::Json* format = metadata.find("format");
  const detail::Json* version = metadata.find("version");
  if (format == nullptr || !format->is_string() || format->string() != kFormat || version == nullptr ||
      !version->is_integer() || version->integer() != kVersion) {
    throw CheckpointError(where + " has format " + Repr(format) + " version " + Repr(version) +
                          "; this litetrain reads '" + kFormat + "' version " + std::to_string(kVersion));
  }
  std::map<std::string_view, const detail::Json*> entries;
  for (const auto& [name, entry] : listed->members()) entries.emplace(name, &entry);
  bool same_names = entries.size() == variables.size();
  for (std::size_t i = 0; same_names && i < variables.size(); ++i) same_names = entries.count(variables[i].name) > 0;
  if (!same_names) throw CheckpointError(where + " lists other variables than it holds");
  for (const NamedTensor& v : variables) {
    const detail::Json& entry = *entries.at(v.name);
    const detail::Json* dtype = entry.find("dtype");
    const detail::Json* shape = entry.find("shape");
    bool same = dtype != nullptr && dtype->is_string() && dtype->string() == DTypeName(v.dtype) && shape != nullptr &&
                shape->is_array() && shape->items().size() == static_cast<std::size_t>(v.shape.rank());
    for (int d = 0; same && d < v.shape.rank(); ++d) {
      const detail::Json& dim = shape->items()[static_cast<std::size_t>(d)];
      same = dim.is_integer() && dim.integer() == v.shape[d];
    }
    if (!same) {
      throw CheckpointError(where + " has damaged metadata: its entry for variable '" + v.name +
                            "' does not describe the array, " + std::string(DTypeName(v.dtype)) + v.shape.to_string());
    }
  }
  const detail::Json* sha256 = metadata.find("sha256");
  if (sha256 == nullptr || !sha256->is_string() || sha256->string() != Digest(variables)) {
    throw CheckpointError(where + " fails its checksum: the data is damaged");
  }
  return ReadTraining(where, metadata);
}

}  // namespace

void WriteCheckpoint(const std::string& path, const Snapshot& variables, const TrainingState* training) {
  CheckVariables(path, variables);
  const std::string metadata = MetadataJson(variables, Digest(variables), training);
  std::vector<std::string> headers;
  for (const NamedTensor& v : variables) headers.push_back(detail::EncodeNpyHeader(v.dtype, v.shape));
  const Shape metadata_shape{static_cast<int64_t>(metadata.size())};
  const std::string metadata_header = detail::EncodeNpyHeader(DType::kUInt8, metadata_shape);

  detail::AtomicFileWriter out(path, "checkpoint");
  detail::ZipWriter zip(out);
  for (std::size_t i = 0; i < variables.size(); ++i) {
    zip.Add(variables[i].name + kSuffix,
            {{headers[i].data(), headers[i].size()}, {variables[i].bytes.data(), variables[i].bytes.size()}});
  }
  zip.Add(std::string(kMetadataName) + kSuffix,
          {{metadata_header.data(), metadata_header.size()}, {metadata.data(), metadata.size()}});
  zip.Finish();
  out.Commit();
}

Snapshot LoadCheckpoint(const std::string& path) { return LoadCheckpointWithState(path).variables; }

Checkpoint LoadCheckpointWithState(const std::string& path) {
  detail::InputFile file(path, "checkpoint");
  const std::string where = "checkpoint '" + path + "'";
  uint8_t start[8] = {};
  const std::size_t sniffed = static_cast<std::size_t>(std::min<uint64_t>(file.size(), sizeof start));
  file.ReadAt(0, start, sniffed);
  if (detail::HasNpyMagic(start, sniffed)) {
    throw CheckpointError("'" + path + "' is a single .npy array, not a litetrain checkpoint (.npz)");
  }
  std::vector<detail::ZipMember> members;
  try {
    members = detail::ReadZipDirectory(file);
  } catch (const FileFormatError& e) {
    throw CheckpointError(where + " is damaged or not an .npz file: " + e.what());
  }
  Snapshot variables;
  std::string metadata;
  bool have_metadata = false;
  for (const detail::ZipMember& member : members) {
    const std::size_t suffix = sizeof kSuffix - 1;
    if (member.name.size() <= suffix || member.name.compare(member.name.size() - suffix, suffix, kSuffix) != 0) {
      throw CheckpointError(where + " is not a litetrain checkpoint: member '" + member.name +
                            "' is not an .npy array");
    }
    NamedTensor tensor;
    try {
      uint32_t crc = 0;
      tensor = detail::ReadNpyAt(file, member.data_offset, member.size, &crc);
      if (crc != member.crc32) throw FileFormatError("its bytes fail their CRC-32 check");
    } catch (const FileFormatError& e) {
      throw CheckpointError(where + " is damaged: member '" + member.name + "': " + e.what());
    }
    tensor.name = member.name.substr(0, member.name.size() - suffix);
    if (tensor.name != kMetadataName) {
      variables.push_back(std::move(tensor));
      continue;
    }
    if (tensor.dtype != DType::kUInt8 || tensor.shape.rank() != 1) {
      throw CheckpointError(where + " has damaged metadata: '" + kMetadataName + "' is " +
                            std::string(DTypeName(tensor.dtype)) + tensor.shape.to_string() + ", not uint8 text");
    }
    metadata.assign(tensor.bytes.begin(), tensor.bytes.end());
    have_metadata = true;
  }
  if (!have_metadata) {
    throw CheckpointError("'" + path + "' is an .npz file but not a litetrain checkpoint (no '" + kMetadataName + "')");
  }
  std::optional<TrainingState> training = CheckMetadata(where, metadata, variables);
  return Checkpoint{std::move(variables), std::move(training)};
}

}  // namespace litetrain
