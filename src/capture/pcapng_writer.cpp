#include "sgsim/capture/pcapng_writer.h"

#include <bit>
#include <cstring>

#include "sgsim/capture/pcapng_reader.h"

namespace sgsim {
namespace {

void put16(std::vector<std::uint8_t>& b, std::uint16_t v) {
  const auto at = b.size();
  b.resize(at + 2);
  std::memcpy(b.data() + at, &v, 2);
}
void put32(std::vector<std::uint8_t>& b, std::uint32_t v) {
  const auto at = b.size();
  b.resize(at + 4);
  std::memcpy(b.data() + at, &v, 4);
}
void put64(std::vector<std::uint8_t>& b, std::uint64_t v) {
  const auto at = b.size();
  b.resize(at + 8);
  std::memcpy(b.data() + at, &v, 8);
}
void pad4(std::vector<std::uint8_t>& b) { b.resize((b.size() + 3) & ~std::size_t{3}, 0); }

}  // namespace

Result<std::unique_ptr<PcapngWriter>> PcapngWriter::open(const std::string& path) {
  static_assert(std::endian::native == std::endian::little, "the writer writes the host's byte order as little-endian");
  auto file = AtomicFile::create(path);
  if (!file) return file.error();
  std::unique_ptr<PcapngWriter> w(new PcapngWriter(std::move(*file)));
  std::vector<std::uint8_t> shb;
  put32(shb, 0x1A2B3C4D);  // byte-order magic
  put16(shb, 1);           // version 1.0
  put16(shb, 0);
  put64(shb, ~std::uint64_t{0});  // section length: not given
  w->block(0x0A0D0D0A, shb);
  return w;
}

std::uint32_t PcapngWriter::addInterface(int dlt, std::uint32_t snapLen) {
  std::vector<std::uint8_t> idb;
  put16(idb, static_cast<std::uint16_t>(linkTypeFromDlt(dlt)));
  put16(idb, 0);
  put32(idb, snapLen);
  put16(idb, 9);  // if_tsresol: 10^-9, nanoseconds
  put16(idb, 1);
  idb.push_back(9);
  pad4(idb);
  put32(idb, 0);  // opt_endofopt
  block(1, idb);
  return interfaces_++;
}

void PcapngWriter::write(const Frame& frame, std::uint32_t interface, std::uint64_t packetId) {
  std::vector<std::uint8_t>& b = scratch_;
  b.clear();
  const auto ts = static_cast<std::uint64_t>(frame.tsNs);
  put32(b, interface);
  put32(b, static_cast<std::uint32_t>(ts >> 32));
  put32(b, static_cast<std::uint32_t>(ts));
  put32(b, frame.capLen);
  put32(b, frame.wireLen);
  if (frame.capLen > 0) b.insert(b.end(), frame.data, frame.data + frame.capLen);
  pad4(b);
  put16(b, 5);  // epb_packetid
  put16(b, 8);
  put64(b, packetId);
  put32(b, 0);  // opt_endofopt
  block(6, b);
}

void PcapngWriter::block(std::uint32_t type, const std::vector<std::uint8_t>& body) {
  const auto length = static_cast<std::uint32_t>(body.size() + 12);
  std::ostream& out = file_->stream();
  out.write(reinterpret_cast<const char*>(&type), 4);
  out.write(reinterpret_cast<const char*>(&length), 4);
  out.write(reinterpret_cast<const char*>(body.data()), static_cast<std::streamsize>(body.size()));
  out.write(reinterpret_cast<const char*>(&length), 4);
}

}  // namespace sgsim
