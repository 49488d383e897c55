#include "sgsim/pipeline/record_stream.h"

#include <cstdio>

#include "sgsim/core/text.h"

namespace sgsim {

PacketKey keyOfRecord(const FlowRecord& r) {
  PacketKey k;
  k.status = DecodeStatus::Ok;
  k.family = r.src.family;
  k.src = r.src;
  k.dst = r.dst;
  k.proto = r.proto;
  // Ports are the transport's (TCP, UDP, SCTP…); an ICMP record has none, so all ICMP between two addresses at one
  // ENI is one conversation.
  k.sport = r.sport;
  k.dport = r.dport;
  // tcp-flags is the OR of the window's flags, so a record whose window holds its connection's first SYN also
  // holds ACKs. The flags reach the flow table for two things: FIN and RST (the closing timeout) and whether the
  // record that makes an entry opened the connection (flow/conntrack.h, opensConnection: SYN without ACK). For a
  // record, SYN in the window is what says the connection began there (the session mapping has already put the
  // opener's record first: README, Flow logs), so the ACK bit is left out when SYN is in.
  k.tcpFlags = r.proto == 6 ? r.tcpFlags : 0;
  if ((k.tcpFlags & 0x02) != 0) k.tcpFlags = static_cast<std::uint8_t>(k.tcpFlags & ~0x10);
  return k;
}

Error unplacedWarning(std::uint64_t count, std::string where, std::string_view eni) {
  return Error{std::move(where), std::to_string(count) + (count == 1 ? " record was" : " records were") +
                                     " not logged at an interface of the model holding its address (this one: eni-id " +
                                     std::string(eni) +
                                     "): checked by its addresses instead, at every modeled interface they touch"};
}

std::string placementDigest(const Network& network, const EvalOptions& options) {
  // A hash of a text that names everything placeRecord's answer depends on, each id length-prefixed.
  std::string text = "mode " + std::to_string(static_cast<int>(options.mode)) + " eni " + std::to_string(options.eni);
  for (std::size_t i = 0; i < network.eniCount(); ++i) {
    const Eni& e = network.eni(i);
    text += "\n" + std::to_string(e.id.size()) + ":" + e.id;
    for (const IpAddr& a : e.addresses) text += " " + a.toString();
  }
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(fnv1a64(text)));
  return std::string(out) + "-" + std::to_string(network.eniCount());
}

EniIndex::EniIndex(const Network& network) {
  for (std::size_t i = 0; i < network.eniCount(); ++i) ids_.emplace(network.eni(i).id, static_cast<std::int32_t>(i));
}

}  // namespace sgsim
