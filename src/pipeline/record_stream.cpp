#include "sgsim/pipeline/record_stream.h"

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
  k.tcpFlags = r.proto == 6 ? r.tcpFlags : 0;
  return k;
}

EniIndex::EniIndex(const Network& network) {
  for (std::size_t i = 0; i < network.eniCount(); ++i) ids_.emplace(network.eni(i).id, static_cast<std::int32_t>(i));
}

}  // namespace sgsim
