#pragma once
// A synthetic traffic mix for end-to-end runs and pipeline benchmarks: Ethernet/IPv4 TCP and UDP conversations
// to and from one ENI address, generated frame by frame without holding the capture in memory.
//
// Shape. `flows` conversation slots are live at once; each frame goes to a random slot, and a slot whose
// conversation has sent its packets starts a new one, so about `flows` flows are live at any instant and the
// capture's length only adds more of them over time. A conversation has 2..40 packets, both ways: TCP opens
// with SYN, SYN-ACK, carries ACK/PSH-ACK data and closes with a FIN from each side; UDP is request/response.
// With burst > 1 a conversation sends trains of consecutive frames, as TCP windows do on a real wire.
// Frames are 60..1514 bytes (server to client mostly large, client to server mostly small). Timestamps
// increase by `gapNs` on average (uniform jitter of ±50%), from 2024-05-01T00:00:00Z.
// Who talks. Of the conversations, 50% come in aimed at a random inbound target box (remote address, source
// and destination port drawn inside it), 20% come in from a random remote address to a service or random
// port, 15% go out aimed at an outbound target box, 15% go out to a random address on 443, 80 or 53.
// Targets are the TCP/UDP/ALL rule boxes of the ENI (trafficBoxes), so a good share of flows hits the
// model's various rules and the rest fall to later rules or the defaults.
// newFlowEveryPacket: every frame is the first packet of its own conversation (client to server), with a
// 5-tuple unique in the capture as long as no target box receives more than 64,512 frames: no cache helps.
// requestReply: `flows` conversations of one packet each way (2 × flows frames, then the mix has no more): a
// request from the client (TCP SYN, or a UDP query) and its reply (SYN-ACK, or the answer), 5-tuples unique as
// in newFlowEveryPacket. Interleaved: each frame is the next request or the reply of a random conversation still
// waiting for one, in proportion to how many of each are left, so a reply lands on a random live flow. With
// repliesLast every request comes first and the replies follow in random order. Every flow stays live to the end
// when the capture spans less than the shortest timeout of its protocols (UDP 30 s: 2 × flows × gapNs).
// Deterministic for a given seed.

#include <boost/unordered/unordered_flat_set.hpp>
#include <cstdint>
#include <utility>
#include <vector>

#include "bench_rng.h"
#include "sgsim/classify/rule_box.h"
#include "sgsim/core/ip.h"
#include "sgsim/model/model.h"

namespace sgsim {

struct TrafficOptions {
  std::uint32_t flows = 100'000;
  IpAddr host = IpAddr::v4(0x0a000001);  // 10.0.0.1
  bool newFlowEveryPacket = false;
  std::uint64_t seed = 1;
  std::uint32_t snaplen = 65535;  // frames longer than this are cut, as a capture with -s would
  std::int64_t gapNs = 20'000;    // mean time between frames (50,000 frames/s)
  // Mean packets a conversation sends in a row (a train of 1..2·burst−1, uniform) before another frame goes to
  // a random conversation. 1 = every frame to a random conversation, the default and the worst case for caches.
  std::uint32_t burst = 1;
  bool requestReply = false;  // see above; flows is then the number of conversations in the capture
  bool repliesLast = false;
};

struct GenFrame {
  std::int64_t tsNs = 0;
  std::uint32_t wireLen = 0;
  std::uint32_t capLen = 0;
  const std::uint8_t* data = nullptr;  // Ethernet frame, valid until the next call
};

// The boxes of the ENI owning `host` that traffic can be aimed at (TCP, UDP or any protocol, IPv4, with the
// host inside the local side): inbound from its ingress table, outbound from its egress table. Empty when no
// ENI owns the address.
struct TrafficTargets {
  std::vector<RuleBox> inbound, outbound;
};
TrafficTargets trafficTargets(const Model& model, const IpAddr& host);

class TrafficMix {
 public:
  TrafficMix(const TrafficOptions& options, TrafficTargets targets);
  void next(GenFrame& out);
  // Frames left to write: no limit (the largest value) except in requestReply mode.
  std::uint64_t framesLeft() const;
  // Conversations started so far (each a distinct flow unless two happen to draw the same 5-tuple).
  std::uint64_t conversations() const { return conversations_; }

 private:
  struct Conversation {
    std::uint32_t client = 0, server = 0;
    std::uint16_t cport = 0, sport = 0;
    std::uint8_t proto = 6;
    std::uint16_t sent = 0, total = 0;
  };
  void start(Conversation& c);
  static std::pair<std::uint64_t, std::uint64_t> flowOf(const Conversation& c);
  std::uint32_t frameLength(const Conversation& c, bool fromClient);
  void writeFrame(std::uint32_t src, std::uint32_t dst, std::uint16_t sport, std::uint16_t dport, std::uint8_t proto,
                  std::uint8_t tcpFlags, std::uint32_t wireLen);

  TrafficOptions options_;
  TrafficTargets targets_;
  BenchRng rng_;
  std::vector<Conversation> slots_;
  std::size_t slot_ = 0;
  std::uint32_t trainLeft_ = 0;
  std::vector<std::uint16_t> targetUse_;  // frames sent per inbound+outbound box (newFlowEveryPacket)
  std::vector<Conversation> opened_;      // requestReply: every conversation started so far
  std::vector<std::uint32_t> waiting_;    // requestReply: those whose reply is still to come
  boost::unordered_flat_set<std::pair<std::uint64_t, std::uint64_t>> tuples_;  // requestReply: flows so far
  std::uint32_t freshRemote_ = 0;
  std::uint64_t conversations_ = 0;
  std::int64_t nowNs_;
  std::uint16_t ipId_ = 0;
  std::uint8_t buffer_[1514] = {};
};

}  // namespace sgsim
