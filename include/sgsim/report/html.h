#pragma once
// `--format html` (issue 12): one self-contained page per report, for people who will not read a terminal table.
// Inline CSS and inline SVG only: no script that runs, no font, image or style sheet fetched from anywhere, so
// the file works offline and can be mailed as it is.
//
// Every page holds, in this order: the warnings and errors of the run (report/issues.h: never silent), a
// timeline over the capture (whatif: each changed flow from its first to its last changed packet, cut or opened,
// `--at` marked; audit: each rule's decided traffic; replay: verdicts over time), and each interface's rule
// table in evaluation order (intra-group accept, the custom rules, the implicit default) with the report's
// figures as bars, shadowed rules greyed with the entries that shadow them.
//
// The same numbers as the JSON report. The page is built from the structures the JSON writer reads, and it
// carries that JSON document itself, compact, in <script type="application/json" id="sgsim-report"> (for
// `replay`, whose summary has no JSON form, a summary object documented in README "Reports in HTML"); every bar's
// row carries its figures in data-* attributes (data-rule, data-group, data-eni, data-direction and one
// data-<figure> per bar), so that a test, or a reader's script, finds them and checks them against the JSON.
// Every string that came from the user (rule descriptions, group and ENI ids, file names, request text) is
// escaped (htmlEscape), and inside the JSON block `<`, `>` and `&` are written as \u escapes.

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "sgsim/core/result.h"
#include "sgsim/model/model.h"
#include "sgsim/report/audit_report.h"
#include "sgsim/report/replay_report.h"
#include "sgsim/report/whatif_report.h"
#include "sgsim/verdict/header_space.h"

namespace sgsim {

// &, <, >, " and ' as character references: safe in element content and in quoted attribute values.
std::string htmlEscape(std::string_view s);
// A JSON text made safe inside <script type="application/json">: `<`, `>` and `&` (which JSON allows only
// inside strings) become \u003c, \u003e and \u0026, so no "</script>" or "<!--" can end the block.
std::string scriptSafeJson(std::string_view json);

// whatif: `before` and `after` are the tables the report compares (the changed flows, and the rules removed and
// added, are shown in the merged table of each interface the change touches); `analyses` the static analysis of
// the after table (analyzeNetwork(after)) for the shadowed marks, or empty to leave them out.
std::string renderWhatIfHtml(const WhatIfReport& r, const Network& before, const Network& after,
                             const std::vector<HsTableAnalysis>& analyses);

// audit: `net` is the audited table; the shadowed marks are the rows' static findings.
std::string renderAuditHtml(const AuditReport& r, const Network& net);

// show: the same tables as renderShowJson (built from that document), with the shadowed marks show computes.
Result<std::string> renderShowHtml(const Model& model, const std::optional<std::string>& eniId,
                                   const std::vector<Error>& warnings = {});

// replay --format html: the summary (every frame in one verdict/reason cell), verdicts over time, and each
// interface's rule table with the decisions each entry made. `analyses`: analyzeNetwork(network) for the
// shadowed marks, or empty.
std::unique_ptr<ReplayWriter> makeReplayHtmlWriter(std::ostream& out, std::vector<HsTableAnalysis> analyses = {});

}  // namespace sgsim
