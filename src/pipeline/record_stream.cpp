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
  // tcp-flags is the OR of the window's flags, so a record whose window holds its connection's first SYN also
  // holds ACKs. The flags reach the flow table for two things: FIN and RST (the closing timeout) and whether the
  // record that makes an entry opened the connection (flow/conntrack.h, opensConnection: SYN without ACK). For a
  // record, SYN in the window is what says the connection began there (the session mapping has already put the
  // opener's record first: README, Flow logs), so the ACK bit is left out when SYN is in.
  k.tcpFlags = r.proto == 6 ? r.tcpFlags : 0;
  if ((k.tcpFlags & 0x02) != 0) k.tcpFlags = static_cast<std::uint8_t>(k.tcpFlags & ~0x10);
  return k;
}

EniIndex::EniIndex(const Network& network) {
  for (std::size_t i = 0; i < network.eniCount(); ++i) ids_.emplace(network.eni(i).id, static_cast<std::int32_t>(i));
}

}  // namespace sgsim
