#pragma once
// Outputs of `sgsim whatif`: the changed flows ranked by impact, with totals and, per request, the rules
// it removed or added.

#include <ostream>
#include <string>
#include <vector>

#include "sgsim/core/shard.h"
#include "sgsim/model/model.h"
#include "sgsim/report/replay_report.h"
#include "sgsim/verdict/header_space.h"
#include "sgsim/verdict/whatif.h"

namespace sgsim {

struct AppliedRequest {
  std::string source;  // as the user gave it (path or text)
  std::string action;
  std::string groupId;
  std::string requestId;
  std::vector<Rule> removed;
  std::vector<Rule> added;
  Product product = Product::Ecs;
  std::vector<std::string> notes;
};

// Where the change flips the verdict over every header, not only those the capture holds (issue 9, "beyond the
// capture"): the space diff of the two tables and, per region, whether the capture touched it.
struct WhatIfSpace {
  const HsSpaceDiff* diff = nullptr;
  const Network* before = nullptr;
  const Network* after = nullptr;
  std::vector<char> touched;  // per region; empty: not marked (too many regions)
};

struct WhatIfReport {
  std::vector<std::string> captures;
  std::vector<AppliedRequest> requests;
  WhatIfTotals totals;
  ReplayStats stats;  // of the "before" pass: accounts for every frame
  std::vector<ChangedFlow> flows;
  std::int64_t originNs = 0;
  std::optional<std::int64_t> atNs;
  bool keepEstablished = false;
  std::size_t limit = 0;  // text: show at most this many flows (0 = all)
  std::optional<WhatIfSpace> space;
  const Network* network = nullptr;  // the table before the change: names the drift rows of flow logs
  std::optional<Shard> shard;        // a shard's run (--shard K/N): the JSON's last member, "shard"
};

// Pieces the text and HTML reports share: "tcp 203.0.113.10:47553 > 10.0.0.5:22"; the JSON's "change" ("cut",
// "opened", "changed"); a side's decider as the text prints it ("accept rule sgr-ssh", "drop default").
std::string flowText(const ChangedFlow& f);
std::string changeKind(const ChangedFlow& f);
std::string sideText(const SideDecision& s);

std::string renderWhatIfText(const WhatIfReport& r);
std::string renderWhatIfJson(const WhatIfReport& r);
// The same text written to `os` in pieces as it is made (no copy of the whole report in memory).
void writeWhatIfJson(const WhatIfReport& r, std::ostream& os);
std::string renderWhatIfCsv(const WhatIfReport& r);

}  // namespace sgsim
