#pragma once
// Outputs of `sgsim audit` (issue 9): every audited rule with the traffic it decided, exactly what revoking it
// alone would do to that traffic (the figures of `whatif --revoke <rule>`), its static findings over the whole
// header space, and a verdict with the one line that explains it. Text (a ranked table a person reads), JSON and
// CSV (one row per rule); the names are whatif's where the meaning is the same.
//
// Verdicts (README "audit"):
//   in-use          revoking the rule alone changes traffic the capture holds (ifRevoked.changedFlows > 0);
//   safe-to-revoke  the capture's traffic would be unchanged (the line says whether it is also statically
//                   redundant, i.e. unchanged for every possible packet, or only for what was seen);
//   never-matches   the rule can decide no packet at all: shadowed by the entries before it, or it matches
//                   nothing (it references something the model lacks, its narrowing holds none of the ENI's
//                   addresses, …). Needs the static analysis to be proven (else the rule is judged by its traffic).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sgsim/core/shard.h"
#include "sgsim/report/replay_report.h"
#include "sgsim/verdict/audit.h"
#include "sgsim/verdict/header_space.h"

namespace sgsim {

enum class AuditVerdict : std::uint8_t { InUse, SafeToRevoke, NeverMatches };
const char* toString(AuditVerdict v);  // "in-use", "safe-to-revoke", "never-matches"

// An entry a finding names: a rule (by id), the intra-group accept of a group, or an implicit default.
struct AuditEntry {
  HsDecider::Kind kind = HsDecider::Kind::Rule;
  std::string id;  // rule id, group id, or "accept"/"drop" for a default
  bool operator==(const AuditEntry&) const = default;
};

// An entry as the reports name it: the rule id, "intra-group sg-x", "default drop".
std::string entryText(const AuditEntry& e);

// A rule's static findings, over every analysed table (ENI and direction) that holds it.
struct AuditStatic {
  bool analysed = false;  // its group is on some audited ENI
  bool proven = true;     // every such table was analysed exactly (HsStatus::Exact)
  std::vector<std::string> notProven;
  bool matchesNothing = false;
  std::string nothingReason;
  bool neverDecides = false;
  std::vector<AuditEntry> shadowedBy;
  std::string shadowWitness;  // explain's packet syntax
  bool redundant = false;
  std::vector<AuditEntry> redundantWith;
  std::string redundantWitness;
  std::optional<std::string> decidesWitness;  // a packet the rule decides, when it decides some
  // When not redundant: a packet it decides whose verdict revoking it would flip, and what would decide it.
  std::optional<AuditEntry> flipTo;
  std::string flipWitness;
  struct Conflict {
    AuditEntry with;
    bool thisWins = false;
    std::string witness;
  };
  std::vector<Conflict> conflicts;
  struct Broad {
    std::vector<std::uint16_t> ports;
    bool allPorts = false;
    std::optional<bool> decides;  // false: masked by rules above it; nullopt: not proven
    std::string witness;
  };
  std::optional<Broad> broad;
};

struct AuditRuleRow {
  AuditedRule traffic;
  std::string description;  // "ingress TCP 22/22 from 203.0.113.0/24 accept prio 1" (model/describe.h)
  AuditStatic statics;
  AuditVerdict verdict = AuditVerdict::SafeToRevoke;
  std::string why;                    // one line
  std::vector<std::string> findings;  // "redundant", "broad: …", "conflicts with …" (text and CSV)
};

// The rows of the audited rules: traffic figures from the engine, findings from the analyses of the network's
// tables (analyzeNetwork), verdicts and their lines.
std::vector<AuditRuleRow> auditRows(const Network& net, std::vector<AuditedRule> traffic,
                                    const std::vector<HsTableAnalysis>& analyses);

enum class AuditSort : std::uint8_t { Impact, Rule, Hits };
// impact: in-use first by changed flows, then bytes; then safe-to-revoke by hits; then never-matches (the text
// report's order). rule: model order. hits: most flows decided first, then most bytes. Ties of impact and hits go by
// group id, then rule id (what the JSON shows, so that merged shards rank alike).
void sortAuditRows(std::vector<AuditRuleRow>& rows, AuditSort sort);

// Pieces of a row's `why` that depend on its traffic (sgsim merge recomputes them for merged shards): the line of an
// in-use rule ("revoking it cuts 2 flows (9 packets, 1.2 kB); they would fall to drop default (2 flows)", from
// ifRevoked and fallback), and the lead of a safe-to-revoke rule's ("it decided 3 flows in the capture, and without
// it they would fare the same"; the static part follows it).
std::string inUseWhy(const AuditedRule& t);
std::string safeToRevokeLead(std::uint64_t hitFlows);

// What `--fail-on` looks for.
enum class AuditFinding : std::uint8_t { Unused, Shadowed, Redundant, Broad, Conflict };
const char* toString(AuditFinding f);
bool hasFinding(const AuditRuleRow& row, AuditFinding f);

struct AuditReport {
  std::vector<std::string> captures;
  ReplayStats stats;  // frames, spans, warnings, errors
  std::int64_t originNs = 0;
  std::vector<AuditRuleRow> rules;   // in report order (sortAuditRows)
  std::size_t enis = 0;              // interfaces audited
  const Network* network = nullptr;  // names the drift rows of flow logs
  std::optional<Shard> shard;        // a shard's run (--shard K/N): the JSON's last member, "shard"
};

std::string renderAuditText(const AuditReport& r);
std::string renderAuditJson(const AuditReport& r);
// The same text written to `os` in pieces as it is made.
void writeAuditJson(std::ostream& os, const AuditReport& r);
std::string renderAuditCsv(const AuditReport& r);

}  // namespace sgsim
