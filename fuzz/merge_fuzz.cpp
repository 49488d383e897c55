// libFuzzer target for sgsim merge (report/merge.h): any bytes as one or two shard reports (cut at the first NUL
// byte), merged as --partial. Merge answers with a report or an error, never a crash; the answer does not depend on
// how the reports' JSON is laid out (merge reads the drift and flows lists row by row from the text and the rest as a
// tree: the reports re-written compact by Boost.JSON get the same answer; so do the rows read and written on two
// threads); and text that is not JSON is refused.
// merge_fuzz_replay (any compiler) reruns inputs: build/fuzz/merge_fuzz_replay fuzz/corpus_merge; fuzz/meson.build
// has the command that builds it under libFuzzer by hand.

#include <boost/json.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "sgsim/report/merge.h"

namespace {

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "merge_fuzz: %s\n", what);
  std::abort();
}

std::string answer(const std::vector<sgsim::ReportFile>& files, std::size_t twoThreadsFrom = 20000) {
  sgsim::MergeOptions partial;
  partial.partial = true;
  partial.twoThreadsFrom = twoThreadsFrom;
  auto m = sgsim::mergeReports(files, partial);
  return m ? "report\n" + m->json : "error\n" + m.error().toString();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::size_t cut = in.find('\0');
  std::vector<sgsim::ReportFile> files = {{"a.json", std::string(in.substr(0, cut))}};
  if (cut != std::string_view::npos) files.push_back({"b.json", std::string(in.substr(cut + 1))});
  const std::string given = answer(files);
  check(answer(files, 1) == given, "the rows read and written on two threads get another answer");
  bool json = true;
  std::vector<sgsim::ReportFile> compact = files;
  for (sgsim::ReportFile& f : compact) {
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(f.text, ec);
    if (ec) {
      json = false;
      break;
    }
    f.text = boost::json::serialize(v);
  }
  if (json)
    check(answer(compact) == given, "the compact reports get another answer than the reports as given");
  else
    check(given.rfind("error\n", 0) == 0, "text that is not JSON was merged");
  return 0;
}
