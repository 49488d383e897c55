// libFuzzer target for the packet text `explain` reads (decode/packet_text.h: sgsim's own syntax and tcpdump's
// line form): any bytes must give a key or an Error placed at "packet" with a message, never a crash. A key must
// be whole (status Ok, both addresses of one family, ports only where the protocol has them or an ICMP echo's
// identifier), and must walk through `explain` on the bundled models (examples/two_tier.json, examples/web.json,
// read once) without failing anywhere but "touches no modeled ENI".

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "sgsim/decode/packet_text.h"
#include "sgsim/model/model_json.h"
#include "sgsim/verdict/explain.h"

#ifndef SGSIM_EXAMPLES_DIR
#error "SGSIM_EXAMPLES_DIR: the examples folder, set by fuzz/meson.build"
#endif

namespace {

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "packet_text_fuzz: %s\n", what);
  std::abort();
}

const std::vector<sgsim::Network>& networks() {
  static const std::vector<sgsim::Network> nets = [] {
    std::vector<sgsim::Network> out;
    for (const char* name : {"two_tier.json", "web.json"}) {
      auto m = sgsim::loadModel(std::string(SGSIM_EXAMPLES_DIR) + "/" + name, std::nullopt);
      check(m.ok(), "an example model does not load");
      out.emplace_back(std::move(*m));
    }
    return out;
  }();
  return nets;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = sgsim::parsePacketText(text);
  if (!r) {
    check(r.error().where == "packet", "an error not placed at \"packet\"");
    check(!r.error().message.empty(), "an empty error message");
    return 0;
  }
  const sgsim::PacketKey& k = r->key;
  check(k.status == sgsim::DecodeStatus::Ok, "a key that is not Ok");
  check(k.src.family == k.dst.family && k.family == k.src.family, "a key of mixed families");
  const bool ports = k.proto == 6 || k.proto == 17 || k.proto == 132;
  const bool echoId = (k.proto == 1 || k.proto == 58) && k.sport == k.dport;
  check(ports || echoId || (k.sport == 0 && k.dport == 0), "ports on a portless packet");
  for (const sgsim::Network& net : networks()) {
    sgsim::ExplainOptions opt;
    opt.icmpTypeKnown = r->icmpTypeKnown;
    opt.notes = r->notes;
    auto walk = sgsim::explainPacket(net, k, opt);
    if (walk)
      check(walk->find("\nResult: ") != std::string::npos, "a walk without a result");
    else
      check(walk.error().message.find("belong to no modeled ENI") != std::string::npos, "a walk that failed");
  }
  return 0;
}
