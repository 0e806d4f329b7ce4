#include "formats/zip_reader.h"

#include <algorithm>
#include <set>
#include <vector>

#include "formats/zip_records.h"
#include "litetrain/errors.h"

namespace litetrain::detail {
namespace {

using namespace zip;

[[noreturn]] void Bad(const std::string& why) { throw FileFormatError(why); }

struct Directory {
  uint64_t count = 0;
  uint64_t size = 0;
  uint64_t offset = 0;
  uint64_t end = 0;  // where the end records start: the directory lies before
};

Directory FindDirectory(const InputFile& file) {
  const uint64_t file_size = file.size();
  if (file_size < kEndSize) Bad("it is too short to be a zip file (" + std::to_string(file_size) + " bytes)");
  // The end record is the last 22 bytes plus a comment of up to 65,535 bytes.
  const uint64_t tail_size = std::min<uint64_t>(file_size, kEndSize + kMax16);
  std::vector<uint8_t> tail(static_cast<std::size_t>(tail_size));
  file.ReadAt(file_size - tail_size, tail.data(), tail.size());
  std::size_t at = tail.size() - kEndSize + 1;
  bool found = false;
  while (at-- > 0) {
    if (Get32(&tail[at]) == kEnd && at + kEndSize + Get16(&tail[at + 20]) == tail.size()) {
      found = true;
      break;
    }
  }
  if (!found) Bad("it has no zip end record: it is truncated, or not a zip file");
  const uint8_t* end = &tail[at];
  const uint64_t end_offset = file_size - tail_size + at;
  if (Get16(end + 4) != 0 || Get16(end + 6) != 0 || Get16(end + 8) != Get16(end + 10)) {
    Bad("it is a multi-disk zip archive");
  }
  Directory d;
  d.count = Get16(end + 10);
  d.size = Get32(end + 12);
  d.offset = Get32(end + 16);
  d.end = end_offset;
  // A zip64 locator right before the end record points at the zip64 end
  // record, which holds the full values.
  if (end_offset >= kZip64LocatorSize) {
    uint8_t locator[kZip64LocatorSize];
    file.ReadAt(end_offset - kZip64LocatorSize, locator, sizeof locator);
    if (Get32(locator) == kZip64Locator) {
      const uint64_t record_offset = Get64(locator + 8);
      if (end_offset < kZip64LocatorSize + kZip64EndSize ||
          record_offset > end_offset - kZip64LocatorSize - kZip64EndSize) {
        Bad("its zip64 end record lies outside the file");
      }
      uint8_t record[kZip64EndSize];
      file.ReadAt(record_offset, record, sizeof record);
      if (Get32(record) != kZip64End) Bad("its zip64 end record is damaged");
      if (Get64(record + 24) != Get64(record + 32)) Bad("it is a multi-disk zip archive");
      d.count = Get64(record + 32);
      d.size = Get64(record + 40);
      d.offset = Get64(record + 48);
      d.end = record_offset;
    } else if (d.count == kMax16 || d.size == kMax32 || d.offset == kMax32) {
      Bad("its end record refers to zip64 records that are missing");
    }
  }
  if (d.offset > d.end || d.size > d.end - d.offset) Bad("its directory lies outside the file");
  if (d.count > d.size / kCentralHeaderSize) Bad("its directory is too short for its member count");
  return d;
}

}  // namespace

std::vector<ZipMember> ReadZipDirectory(const InputFile& file) {
  const Directory d = FindDirectory(file);
  std::vector<uint8_t> bytes(static_cast<std::size_t>(d.size));
  file.ReadAt(d.offset, bytes.data(), bytes.size());
  std::vector<ZipMember> members;
  std::set<std::string> names;
  std::size_t at = 0;
  for (uint64_t i = 0; i < d.count; ++i) {
    if (bytes.size() - at < kCentralHeaderSize || Get32(&bytes[at]) != kCentralHeader) {
      Bad("its directory is damaged (entry " + std::to_string(i) + ")");
    }
    const uint8_t* h = &bytes[at];
    const uint16_t flags = Get16(h + 8);
    const uint16_t method = Get16(h + 10);
    ZipMember m;
    m.crc32 = Get32(h + 16);
    uint64_t compressed = Get32(h + 20);
    uint64_t size = Get32(h + 24);
    const std::size_t name_size = Get16(h + 28);
    const std::size_t extra_size = Get16(h + 30);
    const std::size_t comment_size = Get16(h + 32);
    uint64_t local_offset = Get32(h + 42);
    if (bytes.size() - at - kCentralHeaderSize < name_size + extra_size + comment_size) {
      Bad("its directory is damaged (entry " + std::to_string(i) + ")");
    }
    m.name.assign(reinterpret_cast<const char*>(h + kCentralHeaderSize), name_size);
    // Zip64: the fields set to kMax32 follow in a fixed order.
    const uint8_t* extra = h + kCentralHeaderSize + name_size;
    for (std::size_t e = 0; e + 4 <= extra_size;) {
      const uint16_t id = Get16(extra + e);
      const std::size_t length = Get16(extra + e + 2);
      if (e + 4 + length > extra_size) Bad("member '" + m.name + "' has a damaged extra field");
      if (id == kZip64ExtraId) {
        const uint8_t* field = extra + e + 4;
        std::size_t left = length;
        for (uint64_t* value : {&size, &compressed, &local_offset}) {
          if (*value != kMax32) continue;
          if (left < 8) Bad("member '" + m.name + "' has a damaged zip64 field");
          *value = Get64(field);
          field += 8;
          left -= 8;
        }
      }
      e += 4 + length;
    }
    if (flags & 1u) Bad("member '" + m.name + "' is encrypted");
    if (method != 0) {
      Bad("member '" + m.name + "' is compressed (method " + std::to_string(method) +
          "); litetrain reads uncompressed archives (numpy.savez, not numpy.savez_compressed)");
    }
    if (compressed != size) Bad("member '" + m.name + "' is stored with two different sizes");
    if (!names.insert(m.name).second) Bad("member '" + m.name + "' appears twice");
    // The local header repeats the name and has its own extra field: the
    // data starts after both.
    if (local_offset > d.offset || d.offset - local_offset < kLocalHeaderSize) {
      Bad("member '" + m.name + "' lies outside the file");
    }
    uint8_t local[kLocalHeaderSize];
    file.ReadAt(local_offset, local, sizeof local);
    if (Get32(local) != kLocalHeader) Bad("member '" + m.name + "' has a damaged local header");
    const uint64_t local_name_size = Get16(local + 26);
    const uint64_t local_extra_size = Get16(local + 28);
    m.data_offset = local_offset + kLocalHeaderSize + local_name_size + local_extra_size;
    if (m.data_offset > d.offset || size > d.offset - m.data_offset) {
      Bad("member '" + m.name + "' lies outside the file");
    }
    // The local header repeats what the directory says; a difference is damage.
    // (With flag bit 3 the CRC and sizes follow the data instead.)
    const bool described_after = (Get16(local + 6) & 8u) != 0;
    const uint32_t local_size = Get32(local + 22);
    if (local_name_size != name_size || Get16(local + 8) != method ||
        (!described_after && (Get32(local + 14) != m.crc32 || (local_size != kMax32 && local_size != size) ||
                              Get32(local + 18) != local_size))) {
      Bad("member '" + m.name + "' has a damaged local header");
    }
    std::string local_name(name_size, '\0');
    file.ReadAt(local_offset + kLocalHeaderSize, local_name.data(), name_size);
    if (local_name != m.name) Bad("member '" + m.name + "' has a damaged local header");
    m.size = size;
    members.push_back(std::move(m));
    at += kCentralHeaderSize + name_size + extra_size + comment_size;
  }
  return members;
}

}  // namespace litetrain::detail
