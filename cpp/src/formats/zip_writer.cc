#include "formats/zip_writer.h"

#include "formats/crc32.h"
#include "formats/zip_records.h"
#include "litetrain/errors.h"

namespace litetrain::detail {
namespace {

using namespace zip;

// "Version needed to extract": 2.0 for stored files, 4.5 once zip64 is used.
constexpr uint16_t kVersionPlain = 20;
constexpr uint16_t kVersionZip64 = 45;
constexpr uint16_t kMadeByUnix = 3 << 8;
// Every member dated 1980-01-01 00:00, the earliest DOS date: the same
// weights give the same file, byte for byte.
constexpr uint16_t kDosTime = 0;
constexpr uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;
// Names are UTF-8 (general purpose flag bit 11), needed only when not ASCII.
constexpr uint16_t kUtf8Flag = 1 << 11;
constexpr uint32_t kRegularFile0644 = 0100644u << 16;

uint16_t NameFlags(const std::string& name) {
  for (const char c : name) {
    if (static_cast<unsigned char>(c) >= 0x80) return kUtf8Flag;
  }
  return 0;
}

}  // namespace

ZipWriter::ZipWriter(AtomicFileWriter& out, bool force_zip64) : out_(out), force_zip64_(force_zip64) {}

void ZipWriter::Add(const std::string& name, const std::vector<Part>& parts) {
  if (name.size() > kMax16) throw InvalidArgument("zip member name longer than 65,535 bytes");
  if (!names_.insert(name).second) throw InvalidArgument("zip member '" + name + "' is added twice");
  uint64_t size = 0;
  uint32_t crc = 0;
  for (const Part& part : parts) {
    crc = Crc32(part.data, part.size, crc);
    size += part.size;
  }
  const bool zip64 = force_zip64_ || size >= kMax32;
  std::string header;
  Put32(header, kLocalHeader);
  Put16(header, zip64 ? kVersionZip64 : kVersionPlain);
  Put16(header, NameFlags(name));
  Put16(header, 0);  // stored
  Put16(header, kDosTime);
  Put16(header, kDosDate);
  Put32(header, crc);
  Put32(header, zip64 ? kMax32 : static_cast<uint32_t>(size));  // compressed
  Put32(header, zip64 ? kMax32 : static_cast<uint32_t>(size));  // uncompressed
  Put16(header, static_cast<uint16_t>(name.size()));
  Put16(header, zip64 ? 20 : 0);
  header += name;
  if (zip64) {  // a local header's zip64 field holds both sizes
    Put16(header, kZip64ExtraId);
    Put16(header, 16);
    Put64(header, size);
    Put64(header, size);
  }
  entries_.push_back(Entry{name, crc, size, out_.offset()});
  out_.Write(header.data(), header.size());
  for (const Part& part : parts) out_.Write(part.data, part.size);
}

void ZipWriter::Finish() {
  const uint64_t directory_offset = out_.offset();
  std::string directory;
  for (const Entry& e : entries_) {
    const bool zip64 = force_zip64_ || e.size >= kMax32 || e.offset >= kMax32;
    const uint16_t version = zip64 ? kVersionZip64 : kVersionPlain;
    Put32(directory, kCentralHeader);
    Put16(directory, kMadeByUnix | version);
    Put16(directory, version);
    Put16(directory, NameFlags(e.name));
    Put16(directory, 0);  // stored
    Put16(directory, kDosTime);
    Put16(directory, kDosDate);
    Put32(directory, e.crc32);
    Put32(directory, zip64 ? kMax32 : static_cast<uint32_t>(e.size));
    Put32(directory, zip64 ? kMax32 : static_cast<uint32_t>(e.size));
    Put16(directory, static_cast<uint16_t>(e.name.size()));
    Put16(directory, zip64 ? 28 : 0);
    Put16(directory, 0);  // comment
    Put16(directory, 0);  // disk
    Put16(directory, 0);  // internal attributes
    Put32(directory, kRegularFile0644);
    Put32(directory, zip64 ? kMax32 : static_cast<uint32_t>(e.offset));
    directory += e.name;
    if (zip64) {  // the fields marked kMax32 above, in the order the format fixes
      Put16(directory, kZip64ExtraId);
      Put16(directory, 24);
      Put64(directory, e.size);
      Put64(directory, e.size);
      Put64(directory, e.offset);
    }
  }
  const uint64_t count = entries_.size();
  const uint64_t directory_size = directory.size();
  const bool zip64 = force_zip64_ || count >= kMax16 || directory_offset >= kMax32 || directory_size >= kMax32;
  if (zip64) {
    const uint64_t record_offset = directory_offset + directory_size;
    Put32(directory, kZip64End);
    Put64(directory, kZip64EndSize - 12);  // the size of the rest of the record
    Put16(directory, kMadeByUnix | kVersionZip64);
    Put16(directory, kVersionZip64);
    Put32(directory, 0);  // this disk
    Put32(directory, 0);  // disk of the directory
    Put64(directory, count);
    Put64(directory, count);
    Put64(directory, directory_size);
    Put64(directory, directory_offset);
    Put32(directory, kZip64Locator);
    Put32(directory, 0);  // disk of the zip64 end record
    Put64(directory, record_offset);
    Put32(directory, 1);  // disks in total
  }
  Put32(directory, kEnd);
  Put16(directory, 0);  // this disk
  Put16(directory, 0);  // disk of the directory
  const uint16_t count16 = zip64 ? kMax16 : static_cast<uint16_t>(count);
  Put16(directory, count16);
  Put16(directory, count16);
  Put32(directory, zip64 ? kMax32 : static_cast<uint32_t>(directory_size));
  Put32(directory, zip64 ? kMax32 : static_cast<uint32_t>(directory_offset));
  Put16(directory, 0);  // comment
  out_.Write(directory.data(), directory.size());
}

}  // namespace litetrain::detail
