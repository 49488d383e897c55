#pragma once
// `sgsim explain`: one packet walked through the evaluation, for teaching.
//
// Two entry points. explainPacket takes a packet written by hand (decode/packet_text.h) as the first packet of a
// new flow: stateless. explainFrame takes a real frame of a capture together with what the evaluator decided for
// it after replaying the frames before it (pipeline/explain_evaluation.h), and FlowHistory, which remembers for
// every flow entry the frame that started it, says which state the frame met: a new flow, established since
// frame K, blocked since frame K, a new flow because the entry of frames K..J expired after T s of silence, cut or
// released by a change at --at, or a later fragment of frame K.
//
// The walk is in plain words: each rule says what it compared ("source 1.2.3.4 is not in 198.51.100.0/24"),
// ICMP shows its type and code rather than ports, a tie at the deciding priority is spelled out with both rules,
// rules after the decision are "not consulted" (and why), and whatever the model left sgsim to assume (a group's
// type, InnerAccessPolicy, NicType, a peer group the model lacks) is said in a note. The rule each check names
// comes from Network::decide; the per-field comparison is explain's own, written for display, and
// tests/verdict/explain_agree_test.cpp checks that the two agree.

#include <array>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sgsim/capture/flow_log.h"
#include "sgsim/core/result.h"
#include "sgsim/decode/packet_key.h"
#include "sgsim/flow/conntrack.h"
#include "sgsim/verdict/evaluator.h"
#include "sgsim/verdict/network.h"

namespace sgsim {

struct ExplainOptions {
  std::int32_t eni = -1;            // only this ENI (--host), else every modeled ENI the packet touches
  std::optional<Direction> forced;  // --direction ingress|egress at `eni`
  bool icmpTypeKnown = true;        // the packet's ICMP type and code are its own (not a default)
  std::vector<std::string> notes;   // about the packet as written ("taken as UDP: …"), printed under it
};

// The walk as text; an Error when the packet touches no modeled ENI.
Result<std::string> explainPacket(const Network& net, const PacketKey& p, const ExplainOptions& opt);
// The same for bare fields (ICMP type unknown).
Result<std::string> explainPacket(const Network& net, const PacketFields& p, const ExplainOptions& opt);

// The connection state one check of a frame met.
struct CheckHistory {
  enum class State : std::uint8_t {
    New,          // no entry: the rules decide and start one
    Established,  // an accepted entry started at sinceFrame
    Blocked,      // a dropped entry started at sinceFrame
    Expired,      // the entry of sinceFrame..lastFrame had timed out: the rules decide again
    Cut,          // accepted at sinceFrame, then cut by the change at --at (now blocked)
    Released,     // blocked at sinceFrame, then released by the change at --at: the rules decide again
    Untracked,    // the flow table was full (--max-flows): decided by the rules, no state kept
    Fragment,     // a later IP fragment: the fate of its first fragment, frame sinceFrame
  };
  State state = State::New;
  std::uint64_t sinceFrame = 0;  // the frame that started the entry (or the first fragment); a record: its line
  std::int64_t sinceNs = 0;
  std::uint64_t lastFrame = 0;                // the entry's last packet before this frame
  std::int64_t lastNs = 0;                    // a record: the end of its window
  std::uint16_t sinceFile = 0, lastFile = 0;  // which input (several flow logs)
  std::uint32_t timeoutS = 0;                 // Expired: the timeout that ran out
  bool closing = false;   // Expired: a TCP entry that had closed (RST or FIN both ways: the short timeout)
  std::string startedBy;  // how the entry's first packet was decided ("accepted at eni-web ingress by rule sgr-ssh")
};

// A real frame, as the evaluator decided it after the frames before it (explain --capture F --frame N).
struct FrameFacts {
  std::string capture;
  std::uint64_t frame = 0;
  std::int64_t tsNs = 0, originNs = 0;
  PacketKey key;
  PacketVerdict verdict;
  std::array<CheckHistory, 2> history{};     // one per check made, as verdict.checks
  std::optional<FragmentFlow> fragmentFlow;  // a later fragment: its first fragment's transport and ports
  std::vector<std::string> tableNotes;       // which rule table decided ("the model after request 1, from --at …")
  // explain --flow-log F --record N: the record's own fields (frame is its line, tsNs its start), the input it
  // came from, every input's name (to name records of other files), and whether the table that decided it is
  // another than the model as it is (then its verdict is not compared with the logged action as drift).
  std::optional<FlowRecord> record;
  std::uint16_t file = 0;
  std::vector<std::string> files;
  bool changedTable = false;
};

// The walk of a real frame, state first; an Error for a frame explain cannot walk (not IP, undecodable, touching
// no modeled ENI) that names the capture and the frame.
Result<std::string> explainFrame(const Network& net, const FrameFacts& f, const ExplainOptions& opt);

// The walk of a flow-log record (f.record set): its own fields, the state its conversation meets at its ENI (new, part
// of the conversation opened by the record at line M, blocked since, expired after T s), the rule walk, the verdict
// against the logged action (drift), and what a record stands for (a window of packets: the verdict is the
// conversation's). An Error for a record that touches no modeled interface.
Result<std::string> explainRecord(const Network& net, const FrameFacts& f, const ExplainOptions& opt);

// Remembers, per flow entry (ENI and flow key, as the connection tracker keys them), the frame that started it
// and the last frame seen, and per first fragment its frame: what explainFrame needs to say "since frame K".
// Fed every frame before the explained one with the evaluator's verdict, in capture order.
class FlowHistory {
 public:
  explicit FlowHistory(std::vector<Timeouts> timeouts) : timeouts_(std::move(timeouts)) {}
  // After the evaluator decided frame `number` under `net` (which must outlive this history).
  // A flow-log record also gives its input (`file`) and the end of its window (`endNs`), to which its entry is
  // refreshed, as the evaluator does.
  void record(std::uint64_t number, const PacketKey& key, std::int64_t tsNs, const PacketVerdict& v, const Network& net,
              std::uint16_t file = 0, std::int64_t endNs = 0);
  // Before record(): what check `i` of the frame met. `atNs`: the instant of a change (--at), if any.
  CheckHistory lookup(const PacketKey& key, std::int64_t tsNs, const PacketVerdict& v, std::size_t i,
                      std::optional<std::int64_t> atNs) const;
  // A later fragment's first fragment, if it was recorded.
  std::optional<std::uint64_t> firstFragmentFrame(const PacketKey& key) const;

 private:
  struct Entry {
    std::uint64_t firstFrame = 0, lastFrame = 0;
    std::int64_t firstNs = 0, lastNs = 0;
    std::uint16_t firstFile = 0, lastFile = 0;
    bool accepted = false;
    bool fin = false, rst = false;  // seen in the entry (a closing TCP connection has the short timeout)
    const Network* net = nullptr;   // the table that decided its first packet
    Check decided;                  // how (the deciding check of the first packet at this ENI)
  };
  struct FragKey {
    IpAddr src, dst;
    std::uint32_t id = 0;
    std::uint8_t proto = 0;
    bool operator==(const FragKey&) const = default;
  };
  struct FragKeyHash {
    std::size_t operator()(const FragKey& k) const noexcept;
  };
  static FragKey fragKeyOf(const PacketKey& k);

  std::vector<Timeouts> timeouts_;
  boost::unordered_flat_map<FlowKey, Entry, FlowKeyHash> entries_;
  boost::unordered_flat_map<FragKey, std::uint64_t, FragKeyHash> fragments_;
};

}  // namespace sgsim
