#include "litetrain/runtime.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <mutex>

#include "litetrain/errors.h"

namespace litetrain {
namespace {

std::mutex& PathMutex() {
  static std::mutex mutex;
  return mutex;
}

std::string& DefaultPath() {
  static std::string path;
  return path;
}

LogLevel InitialLogLevel() {
  const char* env = std::getenv("LITETRAIN_LOG");
  if (env == nullptr || *env == '\0') return LogLevel::kSilent;
  try {
    return ParseLogLevel(env);
  } catch (const InvalidArgument&) {
    return LogLevel::kSilent;  // a typo in an env var must not break loading
  }
}

std::atomic<LogLevel>& CurrentLogLevel() {
  static std::atomic<LogLevel> level{InitialLogLevel()};
  return level;
}

}  // namespace

void SetDefaultLibraryPath(const std::string& path) {
  std::lock_guard<std::mutex> lock(PathMutex());
  DefaultPath() = path;
}

std::string DefaultLibraryPath() {
  std::lock_guard<std::mutex> lock(PathMutex());
  return DefaultPath();
}

void SetLogLevel(LogLevel level) { CurrentLogLevel().store(level); }

LogLevel GetLogLevel() { return CurrentLogLevel().load(); }

LogLevel ParseLogLevel(const std::string& name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "silent" || lower == "off" || lower == "none") return LogLevel::kSilent;
  if (lower == "error") return LogLevel::kError;
  if (lower == "warning" || lower == "warn") return LogLevel::kWarning;
  if (lower == "info") return LogLevel::kInfo;
  if (lower == "verbose" || lower == "debug") return LogLevel::kVerbose;
  throw InvalidArgument("unknown log level '" + name + "': expected silent, error, warning, info or verbose");
}

}  // namespace litetrain
