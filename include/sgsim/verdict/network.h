#pragma once
// An immutable, compiled view of a Model for deciding packets (STYLE: build, then look up). Built once
// per rule table; a revoke produces a new Network and nothing mutates one that is being read.
//
// Per ENI and direction it holds the rules in evaluation order (model/order.h) flattened into RuleBoxes
// for a classifier, the intra-group relations (SEMANTICS §3 step 4) and the implicit defaults (step 3).

#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sgsim/classify/fast_classifier.h"
#include "sgsim/model/model.h"

namespace sgsim {

enum class Reason : std::uint8_t {
  Rule,
  Default,
  IntraGroup,
  Established,
  Blocked,
  Unmodeled,
  NotIp,
  UnmatchedFragment,
  Undecodable,
};
const char* toString(Reason r);

enum class Verdict : std::uint8_t { Accept, Drop, None };
const char* toString(Verdict v);

// One rule of an ENI's table for one direction, as reports name it.
struct RuleRef {
  std::string ruleId;
  std::string groupId;
  Policy policy = Policy::Accept;
  const Rule* rule = nullptr;  // points into the Network's own copy of the model
};

// The stateless decision at one ENI in one direction.
struct Decision {
  Verdict verdict = Verdict::None;
  Reason reason = Reason::Default;
  std::int32_t ruleRef = -1;     // index into rules(eni, dir) when reason == Rule
  std::int32_t intraGroup = -1;  // index into model().groups when reason == IntraGroup
};

struct PacketFields {  // the parts of a packet a rule looks at, in the packet's own orientation
  std::uint8_t proto = 0;
  IpAddr src, dst;
  std::uint16_t sport = 0, dport = 0;

  // The key a classifier is asked with.
  ClassifyKey key() const { return ClassifyKey{src.family, proto, src, dst, sport, dport}; }
};

class Network {
 public:
  explicit Network(Model model);

  const Model& model() const { return model_; }
  std::size_t eniCount() const { return model_.enis.size(); }
  const Eni& eni(std::size_t i) const { return model_.enis[i]; }
  // ENI owning the address, or -1.
  std::int32_t eniOf(const IpAddr& a) const;
  std::int32_t eniById(std::string_view id) const;

  const std::vector<RuleRef>& rules(std::size_t eni, Direction d) const { return tables_[eni].dir[dirIndex(d)].refs; }
  const std::vector<RuleBox>& boxes(std::size_t eni, Direction d) const {
    return tables_[eni].dir[dirIndex(d)].classifier->boxes();
  }

  // SEMANTICS §3: intra-group accept first (when peerEni shares a basic Accept group), then the first
  // matching custom rule, then the implicit default.
  Decision decide(std::size_t eni, Direction d, const PacketFields& p, std::int32_t peerEni) const;
  // The implicit default of an ENI for a direction (basic: ingress drop, egress accept; enterprise: drop).
  Verdict defaultVerdict(std::size_t eni, Direction d) const;
  // Index into model().groups of the first basic Accept group shared by both ENIs, or -1.
  std::int32_t sharedAcceptGroup(std::size_t eniA, std::size_t eniB) const;

 private:
  static int dirIndex(Direction d) { return d == Direction::Ingress ? 0 : 1; }
  struct DirTable {
    std::vector<RuleRef> refs;
    std::unique_ptr<FastClassifier> classifier;
    // Per classifier box: rule index << 1 | 1 for drop, so that a hit costs one more load, not two.
    std::vector<std::uint32_t> hitInfo;  // checked against LinearClassifier in tests/verdict and tests/classify
  };
  struct EniTable {
    DirTable dir[2];
    bool enterprise = false;
    std::vector<std::int32_t> acceptGroups;  // basic groups with InnerAccessPolicy Accept (model group index)
  };

  Model model_;
  std::vector<EniTable> tables_;
  // Addresses to ENI index, IPv4 keyed by its 32-bit value (every packet looks up both of its addresses).
  boost::unordered_flat_map<std::uint32_t, std::int32_t> v4ToEni_;
  boost::unordered_flat_map<IpAddr, std::int32_t, IpAddrHash> v6ToEni_;
};

// Flattens one rule into classifier boxes for ENI `eniIndex` (group peers → member addresses, prefix
// lists → their CIDRs, port range lists → their ranges). Exposed for tests and `explain`.
std::vector<RuleBox> ruleBoxes(const Model& model, const Rule& rule, std::uint32_t rank, std::uint32_t ruleIndex);

}  // namespace sgsim
