#pragma once
// Writing pcapng block by block (draft-ietf-opsawg-pcapng), in either byte order: the generator's multi-interface
// sample (pcapgen), the pcapng reader's tests and its fuzzer's seeds. Every block the format defines can be
// written with any field values; raw() and the offsets the writers return let a test break a file on purpose.
// Header-only, so that tests and fuzzers need no library of tools/.

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace sgsim::pcapng {

using Bytes = std::vector<std::uint8_t>;

struct Option {
  std::uint16_t code;
  Bytes value;
};

// Block types and option codes used here.
enum : std::uint32_t {
  kSectionHeader = 0x0A0D0D0A,
  kInterfaceDescription = 1,
  kObsoletePacket = 2,
  kSimplePacket = 3,
  kNameResolution = 4,
  kInterfaceStatistics = 5,
  kEnhancedPacket = 6,
  kSystemdJournal = 9,
  kDecryptionSecrets = 10,
  kCustom = 0xBAD,
};

class Builder {
 public:
  // Starts a section: its Section Header Block, in its byte order; every later block is written in that order.
  std::size_t section(bool bigEndian, const std::vector<Option>& options = {}, std::uint16_t major = 1,
                      std::uint16_t minor = 0, std::int64_t sectionLength = -1) {
    big_ = bigEndian;
    Bytes body;
    put32(body, 0x1A2B3C4D);
    put16(body, major);
    put16(body, minor);
    put64(body, static_cast<std::uint64_t>(sectionLength));
    putOptions(body, options);
    return block(kSectionHeader, body);
  }
  // An interface of the current section (numbered from 0 in the order written). Options: tsresol(), tsoffset(),
  // text(2, "eth0") for if_name, …
  std::size_t interface(std::uint16_t linkType, std::uint32_t snapLen, const std::vector<Option>& options = {}) {
    Bytes body;
    put16(body, linkType);
    put16(body, 0);
    put32(body, snapLen);
    putOptions(body, options);
    return block(kInterfaceDescription, body);
  }
  // A packet with its timestamp in the interface's units; `data` is what was captured (its size is the captured
  // length), `wireLen` the original length.
  std::size_t enhanced(std::uint32_t interface, std::uint64_t units, const Bytes& data, std::uint32_t wireLen,
                       const std::vector<Option>& options = {}) {
    Bytes body;
    put32(body, interface);
    put32(body, static_cast<std::uint32_t>(units >> 32));
    put32(body, static_cast<std::uint32_t>(units));
    put32(body, static_cast<std::uint32_t>(data.size()));
    put32(body, wireLen);
    putPadded(body, data);
    putOptions(body, options);
    return block(kEnhancedPacket, body);
  }
  // The obsolete Packet Block (16-bit interface id, drops count).
  std::size_t obsolete(std::uint16_t interface, std::uint64_t units, const Bytes& data, std::uint32_t wireLen) {
    Bytes body;
    put16(body, interface);
    put16(body, 0xFFFF);  // drops count unknown
    put32(body, static_cast<std::uint32_t>(units >> 32));
    put32(body, static_cast<std::uint32_t>(units));
    put32(body, static_cast<std::uint32_t>(data.size()));
    put32(body, wireLen);
    putPadded(body, data);
    return block(kObsoletePacket, body);
  }
  // A Simple Packet Block: interface 0, no timestamp; `data` must already be cut to the interface's snap length.
  std::size_t simple(const Bytes& data, std::uint32_t wireLen) {
    Bytes body;
    put32(body, wireLen);
    putPadded(body, data);
    return block(kSimplePacket, body);
  }
  // A Name Resolution Block with one IPv4 record.
  std::size_t nameResolution(const std::uint8_t (&ipv4)[4], const std::string& name) {
    Bytes body, record(ipv4, ipv4 + 4);
    record.insert(record.end(), name.begin(), name.end());
    record.push_back(0);
    put16(body, 1);  // nrb_record_ipv4
    put16(body, static_cast<std::uint16_t>(record.size()));
    putPadded(body, record);
    put32(body, 0);  // nrb_record_end
    return block(kNameResolution, body);
  }
  // An Interface Statistics Block with isb_ifrecv and isb_ifdrop.
  std::size_t statistics(std::uint32_t interface, std::uint64_t units, std::uint64_t received, std::uint64_t dropped) {
    Bytes body;
    put32(body, interface);
    put32(body, static_cast<std::uint32_t>(units >> 32));
    put32(body, static_cast<std::uint32_t>(units));
    putOptions(body, {{4, u64(received)}, {5, u64(dropped)}});
    return block(kInterfaceStatistics, body);
  }
  std::size_t decryptionSecrets(std::uint32_t secretsType, const std::string& secrets) {
    Bytes body;
    put32(body, secretsType);
    put32(body, static_cast<std::uint32_t>(secrets.size()));
    putPadded(body, Bytes(secrets.begin(), secrets.end()));
    return block(kDecryptionSecrets, body);
  }
  std::size_t custom(std::uint32_t enterprise, const Bytes& data, bool copyable = true) {
    Bytes body;
    put32(body, enterprise);
    putPadded(body, data);
    return block(copyable ? std::uint32_t{kCustom} : 0x40000BADu, body);
  }
  // Any block: type, body padded to 4 bytes, lengths around it. Returns its byte offset.
  std::size_t block(std::uint32_t type, const Bytes& body) {
    const std::size_t at = out_.size();
    const auto total = static_cast<std::uint32_t>(12 + (body.size() + 3) / 4 * 4);
    put32(out_, type);
    put32(out_, total);
    putPadded(out_, body);
    put32(out_, total);
    return at;
  }
  // Bytes as they are (a broken block, a truncated tail).
  std::size_t raw(const Bytes& bytes) {
    const std::size_t at = out_.size();
    out_.insert(out_.end(), bytes.begin(), bytes.end());
    return at;
  }
  // Overwrites 4 bytes at `at` with `v` in the current section's byte order.
  void patch32(std::size_t at, std::uint32_t v) {
    Bytes b;
    put32(b, v);
    std::memcpy(out_.data() + at, b.data(), 4);
  }

  // Option values in the current section's byte order.
  Bytes u32(std::uint32_t v) const {
    Bytes b;
    put32(b, v);
    return b;
  }
  Bytes u64(std::uint64_t v) const {
    Bytes b;
    put64(b, v);
    return b;
  }
  static Option tsresol(std::uint8_t code) { return {9, {code}}; }  // 6: 10^-6; 0x80 | 20: 2^-20
  Option tsoffset(std::int64_t seconds) const { return {14, u64(static_cast<std::uint64_t>(seconds))}; }
  static Option text(std::uint16_t code, const std::string& s) { return {code, Bytes(s.begin(), s.end())}; }

  bool bigEndian() const { return big_; }
  const Bytes& bytes() const { return out_; }

 private:
  void put16(Bytes& b, std::uint16_t v) const {
    if (big_) {
      b.push_back(static_cast<std::uint8_t>(v >> 8));
      b.push_back(static_cast<std::uint8_t>(v));
    } else {
      b.push_back(static_cast<std::uint8_t>(v));
      b.push_back(static_cast<std::uint8_t>(v >> 8));
    }
  }
  void put32(Bytes& b, std::uint32_t v) const {
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(big_ ? v >> (24 - 8 * i) : v >> (8 * i)));
  }
  void put64(Bytes& b, std::uint64_t v) const {
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::uint8_t>(big_ ? v >> (56 - 8 * i) : v >> (8 * i)));
  }
  static void putPadded(Bytes& b, const Bytes& data) {
    b.insert(b.end(), data.begin(), data.end());
    b.resize(b.size() + (4 - data.size() % 4) % 4, 0);
  }
  void putOptions(Bytes& b, const std::vector<Option>& options) const {
    if (options.empty()) return;
    for (const Option& o : options) {
      put16(b, o.code);
      put16(b, static_cast<std::uint16_t>(o.value.size()));
      putPadded(b, o.value);
    }
    put32(b, 0);  // opt_endofopt
  }

  bool big_ = false;
  Bytes out_;
};

}  // namespace sgsim::pcapng
