#pragma once
// Exact header-space analysis of a rule table: what decides every possible packet at one ENI in one direction,
// with no traffic at all (issue 9, the static half of `audit`, and the `space` part of `whatif`).
//
// The space. At ENI E, direction D, a packet is five coordinates: protocol (0..255), the peer address (the
// remote side: source for ingress, destination for egress), the local address (only E's own addresses: a packet
// that touches none of them is not checked at E), source port and destination port (0..65535, in the packet's
// own orientation, for every protocol: a portless packet carries 0, an ICMP echo its identifier). IPv4 and IPv6
// are two separate spaces. `Network::decide(E, D, fields, eniOf(peer))` is a function on this space; everything
// here is exact with respect to it: the intra-group accept (the peer address belongs to another ENI sharing a
// basic Accept group with E), then the rules in evaluation order (model/order.h), then the implicit default.
//
// How. Each rule is flattened by `ruleBoxes` (the same flattening the classifier uses) into boxes, products of
// one interval per coordinate (the local address as an interval of E's sorted addresses, since a CIDR holds a
// contiguous run of them). The first-match function over those boxes is built as a reduced, ordered decision
// diagram (a multi-valued decision diagram, in the spirit of Gouda and Liu's firewall decision diagrams): a node
// splits one coordinate into the elementary intervals of the boxes still alive under it, and its children are
// the diagrams of the rules covering each interval. Three things keep it small where box subtraction blows up:
// (1) a list of rules is cut after the first rule that covers every remaining coordinate, since nothing after it
// can decide; (2) a sub-diagram is built once per distinct (coordinate, rule list) and shared (memoized); (3)
// identical nodes are one node, adjacent intervals with the same child are one edge, and a node with one edge
// is skipped. The result is canonical: every path is a box of the space, paths are disjoint, and they cover it.
// A terminal holds the deciding entry and, for audit, the entry that would decide if the first one were
// revoked (the runner-up): per-rule findings then follow from the set of terminals and from searches restricted
// to a rule's boxes. The diagram is bounded by a work budget (HsOptions); a table that exceeds it gets status
// NotProven and no exact finding, never a guessed one.
//
// Costs, as measured (docs/PERFORMANCE.md, "Header-space analysis", release build): the bundled examples take
// 20-35 us per model (all its tables); the 1,000-rule interface of the end-to-end benchmarks 20 ms; converted
// ClassBench 1k tables 10-71 ms for the audit and 4-21 ms for a space diff, with diagrams of 2,000-25,000 nodes.
// ClassBench 10k tables exceed the default budget: NotProven after about a second and ~230 MB (the budget bounds both).
//
// Thread safety: the functions are pure; they read the Network (immutable) and allocate their own diagram.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sgsim/core/ip.h"
#include "sgsim/model/model.h"
#include "sgsim/verdict/network.h"

namespace sgsim {

// One coordinate value: addresses (IPv6 needs 128 bits), protocols, ports and local-address indexes.
__extension__ typedef unsigned __int128 HsValue;

struct HsInterval {
  HsValue lo = 0, hi = 0;  // inclusive
  bool contains(HsValue v) const { return v >= lo && v <= hi; }
  bool operator==(const HsInterval&) const = default;
};
// Sorted, disjoint, non-adjacent intervals.
using HsSet = std::vector<HsInterval>;
bool contains(const HsSet& s, HsValue v);

HsValue hsValueOf(const IpAddr& a);
IpAddr hsAddrOf(Family f, HsValue v);
// The fewest CIDR blocks that together are exactly the set (each interval split at prefix boundaries).
std::vector<Cidr> cidrsOf(Family f, const HsSet& s);

// One packet of the space, ready for Network::decide(eni, direction, fields, peerEni) and for `sgsim explain`.
struct HsPacket {
  PacketFields fields;        // the packet's own orientation (ingress: src is the peer; egress: dst is)
  std::int32_t peerEni = -1;  // Network::eniOf(peer address): what decide() takes for the intra-group check
  // `explain`'s packet syntax: "tcp 203.0.113.7:40000 > 10.0.0.5:22", "icmp 192.0.2.1 > 10.0.0.5 id 7",
  // "proto 132 10.0.0.9 > 10.0.0.5".
  std::string toString() const;
};

// What decides a part of the space at one ENI and direction.
struct HsDecider {
  enum class Kind : std::uint8_t { IntraGroup, Rule, Default };
  Kind kind = Kind::Default;
  std::int32_t ruleRef = -1;  // Kind::Rule: index into Network::rules(eni, direction)
  std::int32_t group = -1;    // Kind::IntraGroup: index into model().groups of the shared basic Accept group
  Verdict verdict = Verdict::Drop;
  bool operator==(const HsDecider&) const = default;
};
// "rule sgr-ssh", "intra-group sg-web", "default drop".
std::string describe(const Network& net, std::size_t eni, Direction d, const HsDecider& who);

// A part of one ENI's space for one direction: the product of a set per coordinate.
struct HeaderRegion {
  Family family = Family::V4;
  HsSet proto;                // 0..255
  HsSet peer;                 // address values (hsValueOf)
  std::vector<IpAddr> local;  // the ENI's own addresses in the region, sorted
  bool allLocal = false;      // `local` is every address of this family the ENI has
  HsSet sport, dport;         // 0..65535
  std::vector<Cidr> peerCidrs() const { return cidrsOf(family, peer); }
};
// Whether a packet checked at the region's ENI in direction `d` lies in the region.
bool contains(const HeaderRegion& r, Direction d, const PacketFields& p);
// "proto tcp,udp peer 0.0.0.0/1,192.0.2.0/24 local 10.0.0.5 sport any dport 22,80-90"; a set whose complement is
// shorter is written "not …" ("proto not icmp,tcp", "peer not 192.0.2.0/24"), the whole domain "any".
std::string toString(const HeaderRegion& r);

enum class HsStatus : std::uint8_t { Exact, NotProven };

// The coordinates, as the diagram numbers them.
enum class HsDim : std::uint8_t { Proto = 0, Peer = 1, Local = 2, Sport = 3, Dport = 4 };

struct HsOptions {
  // Work budget per diagram (rule-list entries visited while building, plus nodes), and again for the searches of
  // an audit: beyond it the table is NotProven. Peak memory is about 10 bytes per unit. The default fits every
  // ClassBench 1k table with a wide margin (at most 1.3M units) and stops a 10k one after about a second.
  std::uint64_t maxWork = 20'000'000;
  // Region lists (decision map, space diff) stop after this many boxes, with `truncated` set.
  std::size_t maxBoxes = 200'000;
  // Audit: look for conflicts (pairs of entries of opposite verdicts whose matches overlap, the earlier deciding
  // some packet of the overlap); the costliest finding on large tables.
  bool conflicts = true;
  // The order of the coordinates from the root of the diagram down: a tuning knob (the size of the diagram
  // depends on it, the answers do not; tests check that).
  std::array<HsDim, 5> order = {HsDim::Proto, HsDim::Local, HsDim::Peer, HsDim::Dport, HsDim::Sport};
};

struct HsStats {
  std::size_t nodes = 0;    // diagram nodes (both families)
  std::uint64_t work = 0;   // budget units spent
  double milliseconds = 0;  // wall time of the whole analysis
};

// ---------------------------------------------------------------------------------------------------------------
// Per-rule findings (audit "static").

// A packet the rule decides now, and what decides it once this rule alone is revoked.
struct HsFallback {
  HsDecider decider;   // a later rule or the default (intra-group is never revoked and always comes first)
  bool flips = false;  // its verdict differs from the rule's
  HsPacket witness;    // decided by the rule now, by `decider` without the rule
};

// Two overlapping entries of opposite verdicts where the earlier one decides part of the overlap.
struct HsConflict {
  HsDecider other;  // a rule, or the intra-group accept (which always wins)
  bool thisWins = false;
  HsPacket witness;  // matched by both; decided by the winner
};

// DECISION (README "Semantics decisions", audit): a rule is broad when it is an ingress accept rule whose peer
// covers a whole address family (SourceCidrIp 0.0.0.0/0 or Ipv6SourceCidrIp ::/0, or a prefix list holding
// either) and that reaches an administrative or database port (22, 3389, 3306, 1433, 5432, 6379, 27017, 9200:
// protocol TCP, UDP or ALL and a destination port range or port list holding the port) or every port (protocol
// ALL, or TCP/UDP with 1/65535 or -1/-1). Source-port and five-tuple narrowing do not take part.
inline constexpr std::uint16_t kBroadPorts[] = {22, 3389, 3306, 1433, 5432, 6379, 27017, 9200};
struct HsBroad {
  std::vector<std::uint16_t> ports;  // the listed ports it reaches (all of them when allPorts)
  bool allPorts = false;
  // Whether the rule decides some packet from anywhere to one of those ports (false: rules before it decide all
  // of them, the exposure is masked); nullopt when the table is NotProven.
  std::optional<bool> decides;
  HsPacket witness;  // from the whole family to a listed port, matched by the rule (and decided by it if decides)
};

struct HsRuleFindings {
  std::int32_t ruleRef = -1;  // index into Network::rules(eni, direction)
  // The rule matches no packet of this ENI's space. reason starts with "references nothing" when its group peer,
  // prefix list or port range list is missing or empty.
  bool matchesNothing = false;
  std::string nothingReason;
  // It decides some packet (witness: one it decides).
  bool decides = false;
  std::optional<HsPacket> decidesWitness;
  // It matches packets but decides none: these entries decide all of them (witness: one it matches, decided by
  // one of them).
  bool shadowed = false;
  std::vector<HsDecider> shadowedBy;
  std::optional<HsPacket> shadowWitness;
  // Who decides instead, over every packet it decides, if it alone is revoked (one witness each).
  std::vector<HsFallback> fallbacks;
  // It decides some packets and revoking it changes no packet's verdict: every fallback has its verdict
  // (redundantWith = the fallbacks' deciders; witness: fallbacks[0].witness).
  bool redundant = false;
  std::vector<HsConflict> conflicts;
  std::optional<HsBroad> broad;

  bool neverMatches() const { return matchesNothing || shadowed; }
};

struct HsTableAnalysis {
  std::size_t eni = 0;
  Direction direction = Direction::Ingress;
  HsStatus status = HsStatus::Exact;
  std::string notProven;              // why, when NotProven (then only matchesNothing and broad are filled)
  std::vector<HsRuleFindings> rules;  // one per Network::rules(eni, direction), same order
  HsStats stats;
};

HsTableAnalysis analyzeTable(const Network& net, std::size_t eni, Direction d, const HsOptions& options = {});
// Every ENI, ingress then egress.
std::vector<HsTableAnalysis> analyzeNetwork(const Network& net, const HsOptions& options = {});

// One rule of the model over every analysed table that holds it (its group may be on several ENIs). Revoking the
// rule removes it from all of them at once, hence: it is redundant when it decides somewhere and is redundant in
// every table where it decides, and it never matches when it decides nothing in any of them.
struct HsRuleSummary {
  std::size_t group = 0, rule = 0;  // indexes into model().groups and that group's rules
  // (index into the analyses, index into that table's rules), in the analyses' order; empty: its group is on no
  // analysed ENI, or the rule has the other direction's tables only among those analysed.
  std::vector<std::pair<std::size_t, std::size_t>> tables;
  bool proven = true;           // every table listed is Exact (true when none is listed)
  bool matchesNothing = false;  // listed somewhere, and matches nothing in every table listed
  bool neverDecides = false;    // listed somewhere, and decides no packet in any table listed (never-matches)
  bool redundant = false;       // decides somewhere, and is redundant in every table where it decides
  bool broad = false;           // broad in some table
  bool conflicts = false;       // has a conflict in some table
};
// One summary per rule of the model, in model order (groups, then rules). Tables that are NotProven leave the
// flags that need the diagram false and `proven` false.
std::vector<HsRuleSummary> summarizeByRule(const Network& net, const std::vector<HsTableAnalysis>& tables);

// ---------------------------------------------------------------------------------------------------------------
// The decision map: the space as disjoint regions, each with what decides it; together they cover the space.

struct HsMapEntry {
  HeaderRegion region;
  HsDecider decider;
  HsPacket example;
};
struct HsDecisionMap {
  HsStatus status = HsStatus::Exact;
  std::string notProven;
  bool truncated = false;  // more than HsOptions::maxBoxes boxes: `entries` is a part of the map
  std::vector<HsMapEntry> entries;
  HsStats stats;
};
HsDecisionMap decisionMap(const Network& net, std::size_t eni, Direction d, const HsOptions& options = {});

// ---------------------------------------------------------------------------------------------------------------
// The space diff (`whatif` "space"): where a change flips the verdict, over all headers, not only those seen.

struct HsFlipRegion {
  std::size_t eni = 0;  // index of the ENI in both networks (they hold the same ENIs)
  Direction direction = Direction::Ingress;
  HeaderRegion region;
  HsDecider before, after;  // `before` indexes the rules of the before network, `after` those of the after one
  HsPacket example;
};
struct HsTableStatus {
  std::size_t eni = 0;
  Direction direction = Direction::Ingress;
  HsStatus status = HsStatus::Exact;
  std::string notProven;
};
struct HsSpaceDiff {
  std::vector<HsFlipRegion> regions;     // disjoint; per ENI and direction, ordered by ENI, ingress first
  std::vector<HsTableStatus> notProven;  // tables whose diff could not be proven (nothing listed for them)
  bool truncated = false;                // some table had more than HsOptions::maxBoxes flipped boxes
  HsStats stats;
};
// The two networks must hold the same ENIs with the same addresses (requests change rules, never ENIs); an ENI
// that differs is reported NotProven.
HsSpaceDiff diffSpace(const Network& before, const Network& after, const HsOptions& options = {});
// The index into diff.regions of the region holding a packet checked at (eni, d), or -1 (its verdict does not flip,
// or its table is NotProven). A linear scan of that table's regions.
std::int32_t findRegion(const HsSpaceDiff& diff, std::size_t eni, Direction d, const PacketFields& p);

}  // namespace sgsim
