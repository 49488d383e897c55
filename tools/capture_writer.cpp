#include "capture_writer.h"

#include <pcap/pcap.h>

#include <algorithm>
#include <cstdio>
#include <memory>

namespace sgsim {

namespace {

constexpr int kSnapLen = 262144;

IpAddr ipSource(const Bytes& ip, bool dst) {
  if ((ip[0] >> 4) == 4) {
    const std::size_t at = dst ? 16 : 12;
    return IpAddr::v4(static_cast<std::uint32_t>(ip[at] << 24 | ip[at + 1] << 16 | ip[at + 2] << 8 | ip[at + 3]));
  }
  return IpAddr::v6(ip.data() + (dst ? 24 : 8));
}

void putBe32(std::FILE* f, std::uint32_t v) {
  const std::uint8_t b[4] = {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
                             static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
  std::fwrite(b, 1, 4, f);
}

}  // namespace

Capture::Capture(Link link, std::vector<IpAddr> local) : link_(link), local_(std::move(local)) {}

bool Capture::isLocal(const IpAddr& a) const { return std::find(local_.begin(), local_.end(), a) != local_.end(); }

Mac Capture::macOf(const IpAddr& a, bool local) {
  // Alibaba Cloud ENIs carry the 00:16:3e OUI; everything off-subnet is reached through the VPC gateway,
  // which answers with ee:ff:ff:ff:ff:ff.
  if (!local) return Mac{0xee, 0xff, 0xff, 0xff, 0xff, 0xff};
  const std::uint64_t h = (a.hi ^ a.lo) * 0x9e3779b97f4a7c15ULL;
  return Mac{0x00,
             0x16,
             0x3e,
             static_cast<std::uint8_t>(h >> 56),
             static_cast<std::uint8_t>(h >> 48),
             static_cast<std::uint8_t>(a.lo)};
}

std::uint16_t Capture::nextIpId(const IpAddr& src) {
  auto it = ipIds_.find(src);
  if (it == ipIds_.end()) {
    const auto start = static_cast<std::uint16_t>(((src.lo ^ src.hi) * 2654435761ULL) >> 16);
    it = ipIds_.emplace(src, start).first;
  }
  return it->second++;
}

void Capture::addIp(std::int64_t tsNs, const Bytes& ip) {
  const IpAddr src = ipSource(ip, false);
  const IpAddr dst = ipSource(ip, true);
  LinkInfo info;
  info.outgoing = isLocal(src);
  info.src = macOf(src, info.outgoing);
  info.dst = macOf(dst, isLocal(dst));
  frames_.push_back(Record{tsNs, frameIp(link_, info, ip)});
}

void Capture::addFrame(std::int64_t tsNs, Bytes frame) { frames_.push_back(Record{tsNs, std::move(frame)}); }

std::vector<Capture::Timed> Capture::inOrder() const {
  std::vector<Timed> order;
  for (const Record& r : frames_) order.push_back(Timed{r.tsNs, &r.data});
  std::stable_sort(order.begin(), order.end(), [](const Timed& a, const Timed& b) { return a.tsNs < b.tsNs; });
  return order;
}

Result<bool> Capture::write(const std::string& path, FileFormat format) const {
  const std::vector<Timed> order = inOrder();

  if (format == FileFormat::MicroBigEndian) {
    // libpcap always writes host byte order, so the big-endian variant is written by hand.
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "wb"), std::fclose);
    if (!f) return Error{path, "cannot create file"};
    putBe32(f.get(), 0xa1b2c3d4);
    putBe32(f.get(), 0x00020004);  // version 2.4
    putBe32(f.get(), 0);           // thiszone
    putBe32(f.get(), 0);           // sigfigs
    putBe32(f.get(), kSnapLen);
    // The file holds LINKTYPE_ values; only DLT_RAW differs from its LINKTYPE_RAW (101).
    putBe32(f.get(), link_ == Link::Raw ? 101u : static_cast<std::uint32_t>(linkTypeOf(link_)));
    for (const Timed& r : order) {
      putBe32(f.get(), static_cast<std::uint32_t>(r.tsNs / 1000000000));
      putBe32(f.get(), static_cast<std::uint32_t>(r.tsNs % 1000000000 / 1000));
      putBe32(f.get(), static_cast<std::uint32_t>(r.data->size()));
      putBe32(f.get(), static_cast<std::uint32_t>(r.data->size()));
      std::fwrite(r.data->data(), 1, r.data->size(), f.get());
    }
    if (std::ferror(f.get())) return Error{path, "write failed"};
    return true;
  }

  const bool nano = format == FileFormat::Nano;
  std::unique_ptr<pcap_t, void (*)(pcap_t*)> p(
      pcap_open_dead_with_tstamp_precision(linkTypeOf(link_), kSnapLen,
                                           nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO),
      pcap_close);
  if (!p) return Error{path, "pcap_open_dead failed"};
  std::unique_ptr<pcap_dumper_t, void (*)(pcap_dumper_t*)> d(pcap_dump_open(p.get(), path.c_str()), pcap_dump_close);
  if (!d) return Error{"", pcap_geterr(p.get())};  // libpcap names the file itself
  for (const Timed& r : order) {
    pcap_pkthdr h{};
    h.ts.tv_sec = static_cast<time_t>(r.tsNs / 1000000000);
    // With a nanosecond pcap_t, libpcap reads tv_usec as nanoseconds.
    h.ts.tv_usec = static_cast<suseconds_t>(nano ? r.tsNs % 1000000000 : r.tsNs % 1000000000 / 1000);
    h.caplen = h.len = static_cast<bpf_u_int32>(r.data->size());
    pcap_dump(reinterpret_cast<u_char*>(d.get()), &h, r.data->data());
  }
  if (pcap_dump_flush(d.get()) != 0) return Error{path, "write failed"};
  return true;
}

}  // namespace sgsim
