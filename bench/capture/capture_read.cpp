// Reading a capture file and nothing else, for docs/PERFORMANCE.md (pcapng reader): sgsim's CaptureReader (libpcap
// for pcap, sgsim's own reader for pcapng) against libpcap alone, on the same file, so that hyperfine can time
// each next to `tcpdump -r FILE -w /dev/null` and `tshark -r FILE -w /dev/null`.
//   capture_read sgsim FILE      capture_read libpcap FILE
// Prints the frames, the captured bytes and a checksum of each frame's first bytes (so that both read the data).

#include <pcap/pcap.h>

#include <cstdint>
#include <cstdio>
#include <cstring>

#include "sgsim/capture/capture_reader.h"

namespace {

struct Totals {
  std::uint64_t frames = 0, bytes = 0, sum = 0;
  void add(const std::uint8_t* data, std::uint32_t capLen, std::int64_t tsNs) {
    ++frames;
    bytes += capLen;
    sum += static_cast<std::uint64_t>(tsNs);
    for (std::uint32_t i = 0; i < capLen && i < 16; ++i) sum = sum * 31 + data[i];
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || (std::strcmp(argv[1], "sgsim") != 0 && std::strcmp(argv[1], "libpcap") != 0)) {
    std::fprintf(stderr, "usage: capture_read sgsim|libpcap FILE\n");
    return 2;
  }
  Totals t;
  if (std::strcmp(argv[1], "sgsim") == 0) {
    auto reader = sgsim::CaptureReader::open(argv[2], 0);
    if (!reader) {
      std::fprintf(stderr, "%s\n", reader.error().toString().c_str());
      return 2;
    }
    sgsim::Frame f;
    while ((*reader)->next(f)) t.add(f.data, f.capLen, f.tsNs);
    if ((*reader)->error()) std::fprintf(stderr, "%s\n", (*reader)->error()->toString().c_str());
  } else {
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline_with_tstamp_precision(argv[2], PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (p == nullptr) {
      std::fprintf(stderr, "%s\n", errbuf);
      return 2;
    }
    pcap_pkthdr* h = nullptr;
    const u_char* d = nullptr;
    int rc = 0;
    while ((rc = pcap_next_ex(p, &h, &d)) == 1)
      t.add(d, h->caplen, static_cast<std::int64_t>(h->ts.tv_sec) * 1000000000 + h->ts.tv_usec);
    if (rc != PCAP_ERROR_BREAK) std::fprintf(stderr, "%s\n", pcap_geterr(p));
    pcap_close(p);
  }
  std::printf("%llu frames, %llu bytes, checksum %016llx\n", static_cast<unsigned long long>(t.frames),
              static_cast<unsigned long long>(t.bytes), static_cast<unsigned long long>(t.sum));
  return 0;
}
