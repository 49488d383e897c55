#include "sgsim/pipeline/explain_evaluation.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>

#include "sgsim/capture/flow_log.h"
#include "sgsim/core/text.h"

namespace sgsim {

namespace {

std::string fileList(const std::vector<std::string>& paths) {
  std::string s;
  for (const auto& p : paths) s += (s.empty() ? "" : ", ") + p;
  return s;
}

}  // namespace

Result<RecordTarget> parseRecordTarget(const std::string& text, const std::vector<std::string>& paths) {
  const std::string_view t = trim(text);
  const std::string how =
      "a record is named by its line in its file, as replay and the drift rows name it (--record 7, or FILE:7 with "
      "several flow logs)";
  auto lineOf = [&](std::string_view v) -> std::optional<std::uint64_t> {
    v = trim(v);
    if (v.substr(0, 5) == "line ") v = trim(v.substr(5));
    const auto n = parseInt(v);
    if (!n || *n < 0) return std::nullopt;
    return static_cast<std::uint64_t>(*n);
  };
  if (const auto n = parseInt(t)) {
    if (*n < 0) return Error{"--record " + text, "not a line number: " + how};
    if (paths.size() > 1)
      return Error{"--record " + text, "with several flow logs (" + fileList(paths) + "), name the file too: FILE:" +
                                           std::to_string(*n) + " (the drift rows and warnings print FILE: line L)"};
    return RecordTarget{0, static_cast<std::uint64_t>(*n)};
  }
  const std::size_t colon = t.rfind(':');
  if (colon == std::string_view::npos) return Error{"--record " + text, "not a line number: " + how};
  const std::string file(trim(t.substr(0, colon)));
  const auto line = lineOf(t.substr(colon + 1));
  if (!line)
    return Error{"--record " + text, "\"" + std::string(trim(t.substr(colon + 1))) + "\" is not a line number: " + how};
  for (std::size_t i = 0; i < paths.size(); ++i)
    if (paths[i] == file) return RecordTarget{static_cast<std::uint16_t>(i), *line};
  // The base name, when it names one of the files only.
  std::optional<std::size_t> match;
  for (std::size_t i = 0; i < paths.size(); ++i)
    if (std::filesystem::path(paths[i]).filename() == std::filesystem::path(file).filename()) {
      if (match)
        return Error{"--record " + text, "\"" + file + "\" names more than one flow log (" + fileList(paths) +
                                             "): give the path as given to --flow-log"};
      match = i;
    }
  if (match) return RecordTarget{static_cast<std::uint16_t>(*match), *line};
  return Error{"--record " + text,
               "\"" + file + "\" is not one of the flow logs given with --flow-log (" + fileList(paths) + ")"};
}

Result<FlowLogLine> readFlowLogLine(const std::string& path, std::uint64_t wanted) {
  gzFile gz = gzopen(path.c_str(), "rb");
  if (gz == nullptr) return Error{path, "cannot open"};
  FlowLogLine out;
  std::string header, current;
  std::uint64_t line = 0;
  bool found = false, headerSeen = false, jsonl = false;
  char buf[1 << 16];
  auto endLine = [&]() {
    ++line;
    if (!current.empty() && current.back() == '\r') current.pop_back();
    if (line == 1 && current.size() >= 3 && current.compare(0, 3, "\xEF\xBB\xBF") == 0) current.erase(0, 3);
    if (!headerSeen && !trim(current).empty()) {
      headerSeen = true;
      jsonl = trim(current).front() == '{';
      if (!jsonl) {
        header = current;
        out.headerLine = line;
      }
    }
    if (line == wanted) {
      found = true;
      out.text = current;
    }
    current.clear();
  };
  for (;;) {
    const int got = gzread(gz, buf, sizeof buf);
    if (got < 0) {
      gzclose(gz);
      return Error{path, "cannot read or decompress"};
    }
    if (got == 0) break;
    for (int i = 0; i < got && !found; ++i) {
      if (buf[i] == '\n')
        endLine();
      else if (current.size() < FlowLogReader::kMaxLine)
        current.push_back(buf[i]);
    }
    if (found) break;
  }
  if (!found && !current.empty()) endLine();  // the last line, without a newline
  gzclose(gz);
  out.lines = line;
  if (!found) return out;  // Beyond
  if (trim(out.text).empty()) {
    out.kind = FlowLogLine::Kind::Blank;
  } else if (wanted == out.headerLine) {
    out.kind = FlowLogLine::Kind::Header;
  } else {
    auto reader = FlowLogReader::fromText(jsonl ? out.text : header + "\n" + out.text, path);
    if (!reader) return reader.error();
    FlowRecord r;
    if ((*reader)->next(r)) {
      out.kind = FlowLogLine::Kind::Record;
    } else if ((*reader)->noData() > 0) {
      out.kind = FlowLogLine::Kind::NoData;
    } else if ((*reader)->skipData() > 0) {
      out.kind = FlowLogLine::Kind::SkipData;
    } else {
      out.kind = FlowLogLine::Kind::Bad;
      const auto warnings = (*reader)->warnings();
      if ((*reader)->error())
        out.why = (*reader)->error()->message;
      else if (!warnings.empty())
        out.why = warnings.front().message;
      const std::string skipped = "record skipped: ";
      if (out.why.compare(0, skipped.size(), skipped) == 0) out.why.erase(0, skipped.size());
    }
  }
  if (out.text.size() > 300) out.text = out.text.substr(0, 300) + "…";
  return out;
}

std::string explainNoVerdictLine(const std::string& path, std::uint64_t line, const FlowLogLine& l) {
  const bool noData = l.kind == FlowLogLine::Kind::NoData;
  std::string s = "Record at line " + std::to_string(line) + " of " + path + ": log-status " +
                  (noData ? "NODATA" : "SKIPDATA") + "\n  " + l.text + "\n";
  if (noData)
    s += "A NODATA record says that its interface had no traffic in its window: it holds no packets and no "
         "addresses, so there is nothing to check and no verdict is made (reports count it under NODATA).\n";
  else
    s += "A SKIPDATA record says that the cloud skipped records in its window (it could not log them all): that "
         "window's traffic is missing from the flow log, so there is nothing to check and no verdict is made; every "
         "report over this flow log warns that records were lost, and the state later records meet may lack the "
         "conversations of that window.\n";
  return s;
}

}  // namespace sgsim
