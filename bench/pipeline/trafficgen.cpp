// trafficgen: writes the traffic mix of traffic_mix.h to a pcap file (libpcap's dump writer), for end-to-end
// runs of sgsim against tcpdump (docs/PERFORMANCE.md).
//
//   trafficgen --packets N --flows F --rules-host 10.0.0.1 [--model M] [--new-flow-every-packet]
//              [--seed S] [--snaplen L] [--gap-ns G] [--burst B] [--vxlan VNI] out.pcap
//   trafficgen --request-reply [--replies-last] --flows F --rules-host 10.0.0.1 [--model M] [--seed S]
//              [--gap-ns G] out.pcap
//
// --request-reply writes F conversations of one packet each way (2F frames; --packets, if given, must say so):
// every request opens a new flow and every flow is live at the end, as long as the capture spans less than UDP's
// 30-s timeout (the gap defaults to 5,000 ns in this mode: 4M frames in 20 s; a longer span is warned about).
// Replies are interleaved with the requests (each lands on a random flow still waiting for one), or with
// --replies-last all come after the last request, in random order.
// --model aims flows at the TCP/UDP/ALL rules of the ENI that owns --rules-host (without it every flow is
// random). --snaplen cuts frames like `tcpdump -s`, for captures of tens of millions of packets that must not
// fill the disk; wire lengths stay those of the full frames. --burst B sends trains of B frames on average from
// one conversation (default 1: every frame to a random conversation). --vxlan VNI writes each frame as a traffic
// mirror session sends it: inside outer Ethernet, IPv4 10.0.9.1 > 10.0.9.100, UDP to 4789 and a VXLAN header (50
// bytes more, captured and on the wire), so that `sgsim replay --decap vxlan` over it sees the same packets as
// without the option over the plain capture.

#include <pcap/pcap.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_tool.h"
#include "sgsim/model/model_json.h"
#include "traffic_mix.h"

namespace sgsim {
namespace {

int run(int argc, char** argv) {
  TrafficOptions options;
  std::uint64_t packets = 1'000'000;
  bool packetsGiven = false, gapGiven = false;
  std::string modelPath, out;
  long vxlan = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--packets") {
      packets = std::stoull(value());
      packetsGiven = true;
    } else if (a == "--flows") {
      options.flows = static_cast<std::uint32_t>(std::stoul(value()));
    } else if (a == "--rules-host") {
      const auto host = IpAddr::parse(value());
      if (!host || !host->isV4()) throw std::runtime_error("--rules-host: not an IPv4 address");
      options.host = *host;
    } else if (a == "--model") {
      modelPath = value();
    } else if (a == "--new-flow-every-packet") {
      options.newFlowEveryPacket = true;
    } else if (a == "--request-reply") {
      options.requestReply = true;
    } else if (a == "--replies-last") {
      options.repliesLast = true;
    } else if (a == "--seed") {
      options.seed = std::stoull(value());
    } else if (a == "--snaplen") {
      options.snaplen = static_cast<std::uint32_t>(std::stoul(value()));
    } else if (a == "--burst") {
      options.burst = static_cast<std::uint32_t>(std::max(1ul, std::stoul(value())));
    } else if (a == "--vxlan") {
      vxlan = std::stol(value());
      if (vxlan < 0 || vxlan > 0xffffff) throw std::runtime_error("--vxlan: a VNI from 0 to 16777215");
    } else if (a == "--gap-ns") {
      options.gapNs = std::stoll(value());
      gapGiven = true;
    } else if (a == "--help") {
      std::cout << "trafficgen --packets N --flows F --rules-host IP [--model M] [--new-flow-every-packet]\n"
                   "           [--seed S] [--snaplen L] [--gap-ns G] [--burst B] [--vxlan VNI] out.pcap\n"
                   "trafficgen --request-reply [--replies-last] --flows F --rules-host IP [--model M] [--seed S]\n"
                   "           [--gap-ns G] out.pcap   (F requests and F replies: all F flows live at once)\n";
      return 0;
    } else if (!a.empty() && a[0] != '-' && out.empty()) {
      out = a;
    } else {
      throw std::runtime_error("unknown argument " + a);
    }
  }
  if (out.empty()) throw std::runtime_error("no output file (trafficgen --help)");
  if (options.snaplen < 64) throw std::runtime_error("--snaplen: at least 64, so that headers are kept");
  if (options.repliesLast && !options.requestReply) throw std::runtime_error("--replies-last needs --request-reply");
  if (options.requestReply) {
    if (options.newFlowEveryPacket || options.burst > 1)
      throw std::runtime_error("--request-reply: not with --new-flow-every-packet or --burst");
    if (packetsGiven && packets != 2 * std::uint64_t{options.flows})
      throw std::runtime_error("--request-reply writes 2 x --flows frames (" +
                               std::to_string(2 * std::uint64_t{options.flows}) +
                               "); leave --packets out or give that number");
    packets = 2 * std::uint64_t{options.flows};
    if (!gapGiven) options.gapNs = 5'000;
    if (static_cast<double>(packets) * static_cast<double>(options.gapNs) > 30e9)
      std::cerr << "trafficgen: the capture spans more than 30 s (2 x --flows x --gap-ns): UDP flows opened early "
                   "expire before the end\n";
  }

  TrafficTargets targets;
  if (!modelPath.empty()) {
    auto model = loadModel(modelPath, std::nullopt);
    if (!model) throw std::runtime_error(model.error().where + ": " + model.error().message);
    targets = trafficTargets(*model, options.host);
    if (targets.inbound.empty() && targets.outbound.empty())
      std::cerr << "trafficgen: no TCP/UDP rule of " << modelPath << " applies to " << options.host.toString()
                << "; traffic is not aimed\n";
  }

  std::unique_ptr<pcap_t, decltype(&pcap_close)> dead(
      pcap_open_dead_with_tstamp_precision(DLT_EN10MB, static_cast<int>(options.snaplen + (vxlan >= 0 ? 50 : 0)),
                                           PCAP_TSTAMP_PRECISION_MICRO),
      &pcap_close);
  std::FILE* file = std::fopen(out.c_str(), "wb");
  if (!file) throw std::runtime_error(out + ": cannot create");
  static char buffer[1 << 20];  // large stdio buffer: the writer is bound by write calls otherwise
  std::setvbuf(file, buffer, _IOFBF, sizeof buffer);
  pcap_dumper_t* dumper = pcap_dump_fopen(dead.get(), file);
  if (!dumper) throw std::runtime_error(out + ": " + pcap_geterr(dead.get()));

  const auto t0 = std::chrono::steady_clock::now();
  TrafficMix mix(options, std::move(targets));
  GenFrame f;
  pcap_pkthdr h{};
  // The outer headers of --vxlan: Ethernet, IPv4 (total length and checksum per frame), UDP to 4789, VXLAN.
  std::uint8_t outer[50] = {0x02, 0, 0, 0, 0x09, 0x64, 0x02, 0, 0, 0, 0x09, 0x01, 0x08, 0x00,  // Ethernet
                            0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 9, 1, 10, 0, 9, 100, 0xc0, 0x00, 0x12,
                            0xb5, 0, 0, 0, 0,            // UDP > 4789 (checksum 0:
                                                         // none, as VXLAN allows)
                            0x08, 0, 0, 0, 0, 0, 0, 0};  // VXLAN: the I flag, the VNI
  outer[46] = static_cast<std::uint8_t>(vxlan >> 16);
  outer[47] = static_cast<std::uint8_t>(vxlan >> 8);
  outer[48] = static_cast<std::uint8_t>(vxlan);
  std::vector<std::uint8_t> wrapped;
  for (std::uint64_t n = 0; n < packets; ++n) {
    mix.next(f);
    h.ts.tv_sec = static_cast<time_t>(f.tsNs / 1'000'000'000);
    h.ts.tv_usec = static_cast<suseconds_t>(f.tsNs % 1'000'000'000 / 1000);
    h.caplen = f.capLen;
    h.len = f.wireLen;
    const std::uint8_t* bytes = f.data;
    if (vxlan >= 0) {
      const std::uint32_t ipLen = f.wireLen + 36;  // IPv4 + UDP + VXLAN + the inner frame
      const std::uint32_t udpLen = f.wireLen + 16;
      outer[16] = static_cast<std::uint8_t>(ipLen >> 8);
      outer[17] = static_cast<std::uint8_t>(ipLen);
      outer[24] = outer[25] = 0;
      std::uint32_t sum = 0;
      for (int i = 14; i < 34; i += 2) sum += std::uint32_t{outer[i]} << 8 | outer[i + 1];
      while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
      outer[24] = static_cast<std::uint8_t>(~sum >> 8);
      outer[25] = static_cast<std::uint8_t>(~sum);
      outer[38] = static_cast<std::uint8_t>(udpLen >> 8);
      outer[39] = static_cast<std::uint8_t>(udpLen);
      wrapped.assign(outer, outer + sizeof outer);
      wrapped.insert(wrapped.end(), f.data, f.data + f.capLen);
      bytes = wrapped.data();
      h.caplen += sizeof outer;
      h.len += sizeof outer;
    }
    pcap_dump(reinterpret_cast<u_char*>(dumper), &h, bytes);
  }
  const bool failed = pcap_dump_flush(dumper) != 0 || std::ferror(file);
  pcap_dump_close(dumper);
  if (failed) throw std::runtime_error(out + ": write failed");
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cerr << "trafficgen: " << packets << " packets, " << mix.conversations() << " conversations to " << out << " in "
            << s << " s\n";
  return 0;
}

}  // namespace
}  // namespace sgsim

int main(int argc, char** argv) { return sgsim::runTool("trafficgen", sgsim::run, argc, argv); }
