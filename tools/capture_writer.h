#pragma once
// A capture being generated: frames are collected with their timestamps (scenarios interleave several
// conversations freely) and written sorted by time, stably, so the output depends only on the scenario.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "packet_build.h"
#include "sgsim/core/result.h"

namespace sgsim {

enum class FileFormat { Micro, Nano, MicroBigEndian };

class Capture {
 public:
  // `local` are the addresses of the capturing host (the modeled ENIs): they decide MACs and the SLL
  // packet direction.
  Capture(Link link, std::vector<IpAddr> local);

  Link link() const { return link_; }
  // Next IPv4 identification for packets sent by `src` (per-host counters, as a real stack keeps).
  std::uint16_t nextIpId(const IpAddr& src);
  // Add an IP packet; the link layer is added here.
  void addIp(std::int64_t tsNs, const Bytes& ip);
  // Add a complete link-layer frame as it is (only meaningful on Ethernet captures).
  void addFrame(std::int64_t tsNs, Bytes frame);
  std::size_t size() const { return frames_.size(); }

  Result<bool> write(const std::string& path, FileFormat format) const;

  // The frames in the order write() writes them (by time, stably), for writers of other formats.
  struct Timed {
    std::int64_t tsNs;
    const Bytes* data;
  };
  std::vector<Timed> inOrder() const;

  static Mac macOf(const IpAddr& a, bool local);

 private:
  struct Record {
    std::int64_t tsNs;
    Bytes data;
  };
  bool isLocal(const IpAddr& a) const;

  Link link_;
  std::vector<IpAddr> local_;
  std::vector<Record> frames_;
  std::map<IpAddr, std::uint16_t> ipIds_;
};

}  // namespace sgsim
