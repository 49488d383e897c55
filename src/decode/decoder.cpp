// Entry point: picks the link-layer decoder, and the names used in details and reports.

#include "sgsim/decode/decoder.h"

#include <mutex>
#include <string>
#include <unordered_set>

#include "decode_internal.h"

namespace sgsim {
namespace {

// DLT and LINKTYPE numbers read here. libpcap hands out DLT values; LINKTYPE_RAW (101) is DLT_RAW (12,
// 14 on OpenBSD) after its mapping, but a caller may pass the file's own number.
enum LinkType : int {
  kNull = 0,
  kEthernet = 1,
  kRaw = 12,
  kRawOpenBsd = 14,
  kLinktypeRaw = 101,
  kLoop = 108,
  kLinuxSll = 113,
  kIpv4 = 228,
  kIpv6 = 229,
  kLinuxSll2 = 276,
};

struct NamedLinkType {
  int value;
  const char* detail;
};

// Names of the link types met in real captures, so an unsupported one is recognisable in a report.
constexpr NamedLinkType kLinkTypeDetails[] = {
    {8, "link type 8 (SLIP)"},
    {9, "link type 9 (PPP)"},
    {10, "link type 10 (FDDI)"},
    {50, "link type 50 (PPP_HDLC)"},
    {51, "link type 51 (PPP_ETHER)"},
    {104, "link type 104 (C_HDLC)"},
    {105, "link type 105 (IEEE802_11)"},
    {107, "link type 107 (FRELAY)"},
    {119, "link type 119 (PRISM_HEADER)"},
    {127, "link type 127 (IEEE802_11_RADIO)"},
    {143, "link type 143 (DOCSIS)"},
    {163, "link type 163 (IEEE802_11_RADIO_AVS)"},
    {192, "link type 192 (PPI)"},
    {195, "link type 195 (IEEE802_15_4_WITHFCS)"},
    {201, "link type 201 (BLUETOOTH_HCI_H4_WITH_PHDR)"},
    {220, "link type 220 (USB_LINUX_MMAPPED)"},
    {239, "link type 239 (NFLOG)"},
    {253, "link type 253 (NETLINK)"},
};

}  // namespace

namespace decode {

const char* internDetail(const std::string& text) {
  static std::mutex mutex;
  static std::unordered_set<std::string> strings;  // node-based: element addresses never move
  const std::lock_guard lock(mutex);
  return strings.insert(text).first->c_str();
}

}  // namespace decode

bool isSupportedLinkType(int linkType) {
  switch (linkType) {
    case kNull:
    case kEthernet:
    case kRaw:
    case kRawOpenBsd:
    case kLinktypeRaw:
    case kLoop:
    case kLinuxSll:
    case kIpv4:
    case kIpv6:
    case kLinuxSll2:
      return true;
    default:
      return false;
  }
}

namespace decode {

void link(int linkType, ByteReader& r, PacketKey& key) {
  switch (linkType) {
    case kEthernet:
      return ethernet(r, key);
    case kLinuxSll:
      return linuxSll(r, key);
    case kLinuxSll2:
      return linuxSll2(r, key);
    case kNull:
      return loopback(r, key, false);
    case kLoop:
      return loopback(r, key, true);
    case kRaw:
    case kRawOpenBsd:
    case kLinktypeRaw:
      return ip(r, key, 0);
    case kIpv4:
      return ip(r, key, 4);
    case kIpv6:
      return ip(r, key, 6);
    default: {
      key.status = DecodeStatus::UnsupportedLinkType;
      key.detail = "unsupported link type";
      for (const auto& named : kLinkTypeDetails) {
        if (named.value == linkType) key.detail = named.detail;
      }
      // Link types are 16-bit in files: interning stays bounded.
      if (*key.detail == 'u' && linkType >= 0 && linkType <= 0xffff) {
        key.detail = internDetail("link type " + std::to_string(linkType));
      }
      return;
    }
  }
}

}  // namespace decode

PacketKey decodeFrame(int linkType, const std::uint8_t* data, std::uint32_t capLen) {
  PacketKey key;
  decodeFrame(linkType, data, capLen, key);
  return key;
}

void decodeFrame(int linkType, const std::uint8_t* data, std::uint32_t capLen, PacketKey& key) {
  key = PacketKey{};
  ByteReader r(data, capLen);
  decode::link(linkType, r, key);
}

const char* decodeStatusName(DecodeStatus status) {
  switch (status) {
    case DecodeStatus::Ok:
      return "ok";
    case DecodeStatus::NotIp:
      return "not-ip";
    case DecodeStatus::Undecodable:
      return "undecodable";
    case DecodeStatus::UnsupportedLinkType:
      return "unsupported-link-type";
  }
  return "undecodable";
}

}  // namespace sgsim
