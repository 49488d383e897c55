// libFuzzer target for sgsim's own pcapng reader (capture/pcapng_reader.h). The input is a pcapng file, or one
// without its first four bytes (the Section Header Block's type is then prepended), so that every input reaches
// the reader and real files are seeds as they are. Checked: no crash and no read outside the reader's buffer (every
// byte of every frame is read, under ASan); frames numbered 1, 2, 3…; an error names the file and the frame; every
// frame decodes. And against libpcap, when both read the whole file: the same frames with the same lengths and bytes
// (libpcap byte-swaps some pseudo-headers in sections of the other byte order, and gives Simple Packet Blocks other
// times: those are not compared).

#include <pcap/pcap.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "sgsim/capture/pcapng_reader.h"
#include "sgsim/decode/decoder.h"

namespace {

struct Got {
  std::uint32_t capLen, wireLen;
  int linkType;
  std::vector<std::uint8_t> bytes;
};

// Link types whose frames libpcap rewrites (pcap-util.c: swap_pseudo_headers, fixup_pcap_pkthdr).
bool libpcapRewrites(int dlt) {
  return dlt == 113 || dlt == 276 || dlt == 117 || dlt == 189 || dlt == 220 || dlt == 239;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::uint8_t kMagic[4] = {0x0a, 0x0d, 0x0d, 0x0a};
  std::vector<std::uint8_t> file;
  if (size < 4 || std::memcmp(data, kMagic, 4) != 0) file.assign(kMagic, kMagic + 4);
  file.insert(file.end(), data, data + size);

  const int fd = memfd_create("pcapng-fuzz", 0);
  if (fd < 0) std::abort();
  if (::write(fd, file.data() + 4, file.size() - 4) != static_cast<ssize_t>(file.size() - 4)) std::abort();
  if (::lseek(fd, 0, SEEK_SET) != 0) std::abort();
  auto reader = sgsim::PcapngReader::open(fd, "fuzz.pcapng", {file.data(), 4});
  if (!reader) {
    if (reader.error().where != "fuzz.pcapng") std::abort();
    return 0;
  }
  std::vector<Got> ours;
  sgsim::Frame frame;
  std::uint64_t last = 0;
  unsigned sum = 0;
  while ((*reader)->next(frame)) {
    if (frame.number != last + 1) std::abort();
    last = frame.number;
    for (std::uint32_t i = 0; i < frame.capLen; ++i) sum += frame.data[i];
    const sgsim::PacketKey key = sgsim::decodeFrame(frame.linkType, frame.data, frame.capLen);
    if (key.detail == nullptr) std::abort();
    ours.push_back({frame.capLen, frame.wireLen, frame.linkType, {frame.data, frame.data + frame.capLen}});
  }
  if ((*reader)->error() && (*reader)->error()->where.rfind("fuzz.pcapng: frame ", 0) != 0) std::abort();
  const bool oursWhole = !(*reader)->error();
  (void)(*reader)->warnings();
  (void)(*reader)->skippedBlocks();
  if (sum == 0xdeadbeef) std::printf(" ");  // keeps the loop over the bytes

  // libpcap as the reference, on the same bytes.
  std::FILE* f = fmemopen(file.data(), file.size(), "rb");
  if (f == nullptr) return 0;
  char errbuf[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (p == nullptr) {
    std::fclose(f);
    return 0;
  }
  std::vector<Got> theirs;
  pcap_pkthdr* h = nullptr;
  const u_char* d = nullptr;
  int rc = 0;
  while ((rc = pcap_next_ex(p, &h, &d)) == 1)
    theirs.push_back({h->caplen, h->len, pcap_datalink(p), {d, d + h->caplen}});
  pcap_close(p);
  if (rc != PCAP_ERROR_BREAK || !oursWhole) return 0;
  if (ours.size() != theirs.size()) std::abort();
  for (std::size_t i = 0; i < ours.size(); ++i) {
    if (ours[i].linkType != theirs[i].linkType) std::abort();
    // libpcap cuts a Simple Packet Block to its largest snap length (256 KiB) where the file allows more.
    if (libpcapRewrites(ours[i].linkType) || ours[i].wireLen > 262144) continue;
    if (ours[i].capLen != theirs[i].capLen || ours[i].wireLen != theirs[i].wireLen) std::abort();
    if (ours[i].bytes != theirs[i].bytes) std::abort();
  }
  return 0;
}
