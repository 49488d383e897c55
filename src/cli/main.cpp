// The sgsim command line: the only code the tests do not link (STYLE.md). Every command is a thin layer
// over the libraries: load the model, apply requests, read captures, hand results to a report.
//
// Exit status (README "Exit codes"): 0 success; 1 the API rejected a request (its error body is printed);
// 2 bad usage or bad input (model, request syntax, capture), including a capture that turned out truncated
// or corrupt part-way (the report of what was read is still printed); 3 --fail-on-change and the change
// affects traffic, or audit --fail-on and a rule has a listed finding; 4 --fail-on-noop and a request changes no rule;
// 5 an internal error.

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "sgsim/api/engine.h"
#include "sgsim/api/request.h"
#include "sgsim/core/atomic_file.h"
#include "sgsim/core/output.h"
#include "sgsim/core/shard.h"
#include "sgsim/core/text.h"
#include "sgsim/core/time_spec.h"
#include "sgsim/decode/packet_text.h"
#include "sgsim/model/model_json.h"
#include "sgsim/pipeline/audit_evaluation.h"
#include "sgsim/pipeline/capture_stream.h"
#include "sgsim/pipeline/explain_evaluation.h"
#include "sgsim/pipeline/record_stream.h"
#include "sgsim/pipeline/replay_evaluation.h"
#include "sgsim/pipeline/split.h"
#include "sgsim/pipeline/stage.h"
#include "sgsim/pipeline/whatif_evaluation.h"
#include "sgsim/report/audit_report.h"
#include "sgsim/report/html.h"
#include "sgsim/report/issues.h"
#include "sgsim/report/merge.h"
#include "sgsim/report/replay_report.h"
#include "sgsim/report/show.h"
#include "sgsim/report/whatif_report.h"
#include "sgsim/verdict/evaluator.h"
#include "sgsim/verdict/explain.h"

namespace po = boost::program_options;

namespace sgsim {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitApiError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitChanged = 3;
constexpr int kExitNoop = 4;  // --fail-on-noop (issue 8)
constexpr int kExitInternal = 5;

struct UsageError {
  std::string message;
};

// Standard output can no longer be written (a full disk, a closed pipe): main() reports it, once.
struct StdoutFailed {};

// Called once per batch by the commands that stream records: stops at the first failed write instead of
// reading the rest of a capture for nothing.
void checkOutput(const std::ostream& out, const AtomicFile* file) {
  if (out.good()) return;
  if (file != nullptr && file->failure()) throw UsageError{file->failure()->toString()};
  throw StdoutFailed{};
}

const char* kTopUsage = R"(sgsim — security-group packet-filter simulator (Alibaba Cloud ECS/ENS semantics)

usage: sgsim <command> [options]

commands:
  show       print each interface's effective rule table in evaluation order
  revoke     apply a RevokeSecurityGroup[Egress] request and print the API's response
  authorize  apply an AuthorizeSecurityGroup[Egress] request and print the API's response
  replay     give every frame of captures its verdict under the model
  whatif     compare a capture under the table as it is and as it would be after requests
  audit      every rule's traffic, what revoking each one alone would do, and its static findings
  explain    walk one packet through the evaluation, rule by rule
  split      write captures or flow logs into N shard files by address pair (replay/whatif/audit --split DIR)
  merge      combine the JSON reports of a run's shards (--shard K/N) into the report of the whole run

`sgsim <command> --help` describes each command's options.
exit status: 0 ok, 1 request rejected by the API, 2 bad usage or input, 3 --fail-on-change saw a change
             (or audit --fail-on found what it names), 4 --fail-on-noop and a request changed no rule, 5 internal error
)";

// ---- shared pieces -------------------------------------------------------------------------------------

struct RequestArg {
  bool revoke = true;
  std::string text;
};

struct Common {
  std::string modelPath;
  std::optional<IpAddr> host;
  bool allowUnknownFields = false;
  std::vector<RequestArg> requests;  // in command-line order
  bool strict = false;               // --strict: warnings are errors
  std::vector<Error> warnings;       // what the command goes on despite: every output format carries them
};

void addCommon(po::options_description& d) {
  d.add_options()("model,m", po::value<std::string>()->required(), "model file (docs/MODEL_FORMAT.md)")(
      "host", po::value<std::string>(),
      "IP of the interface: makes a bare DescribeSecurityGroupAttribute document a model, or picks one ENI")(
      "allow-unknown-fields",
      "read a model whose keys are not all known fields (each unknown key is then a warning, and ignored)")(
      "strict",
      "refuse what sgsim would otherwise only warn about (a rule naming something the model lacks, …): exit 2");
}

void addFailOnNoop(po::options_description& d) {
  d.add_options()("fail-on-noop",
                  "exit 4 when a request changes no rule (a revoke that matches nothing, an authorize of a rule that "
                  "exists, a ClientToken retry), or one of its Permissions.N does");
}

void addRequests(po::options_description& d) {
  d.add_options()("revoke", po::value<std::vector<std::string>>()->composing(),
                  "a revoke request: file, '-' for stdin, or the text (JSON, query string or aliyun line); repeatable")(
      "authorize", po::value<std::vector<std::string>>()->composing(), "an authorize request, likewise; repeatable");
  addFailOnNoop(d);
}

// Parses argv with `desc` (+ positional), keeping --revoke/--authorize in the order given.
po::variables_map parseArgs(int argc, char** argv, const po::options_description& desc,
                            const po::positional_options_description* pos, std::vector<RequestArg>* requests) {
  po::command_line_parser parser(argc, argv);
  parser.options(desc);
  if (pos) parser.positional(*pos);
  po::parsed_options parsed = parser.run();
  po::variables_map vm;
  po::store(parsed, vm);
  if (vm.count("help")) return vm;
  po::notify(vm);
  if (requests) {
    for (const auto& o : parsed.options)
      if (o.string_key == "revoke" || o.string_key == "authorize")
        for (const auto& v : o.value) requests->push_back({o.string_key == "revoke", v});
  }
  return vm;
}

Common commonFrom(const po::variables_map& vm) {
  Common c;
  c.modelPath = vm["model"].as<std::string>();
  c.allowUnknownFields = vm.count("allow-unknown-fields") > 0;
  if (vm.count("host")) {
    auto ip = IpAddr::parse(vm["host"].as<std::string>());
    if (!ip) throw UsageError{"--host: \"" + vm["host"].as<std::string>() + "\" is not an IP address"};
    c.host = ip;
  }
  c.strict = vm.count("strict") > 0;
  return c;
}

// Warnings go to stderr as they arise and into every report (report/issues.h); under --strict they are errors.
void warn(Common& c, const std::vector<Error>& warnings) {
  if (warnings.empty()) return;
  for (const Error& w : warnings) std::cerr << "sgsim: " << (c.strict ? "" : "warning: ") << w.toString() << '\n';
  if (c.strict)
    throw UsageError{"--strict: " + std::to_string(warnings.size()) +
                     (warnings.size() == 1 ? " warning" : " warnings") +
                     " above refused (without --strict they are warnings and the command goes on)"};
  c.warnings.insert(c.warnings.end(), warnings.begin(), warnings.end());
}

struct Parsed {
  po::variables_map vm;
  Common common;
  bool help = false;
};

// Parses a command's options; unless --help was asked, also the options every command shares.
Parsed parseCommand(int argc, char** argv, const po::options_description& d,
                    const po::positional_options_description* pos) {
  Parsed p;
  std::vector<RequestArg> requests;
  p.vm = parseArgs(argc, argv, d, pos, &requests);
  p.help = p.vm.count("help") > 0;
  if (!p.help) {
    p.common = commonFrom(p.vm);
    p.common.requests = std::move(requests);
  }
  return p;
}

// Options of the commands that read captures.
void addCaptureOptions(po::options_description& d, po::positional_options_description& pos) {
  d.add_options()("direction", po::value<std::string>()->default_value("auto"),
                  "auto (by address), ingress or egress (every packet at the one interface)")(
      "max-flows", po::value<std::size_t>(), "cap on live tracked flows (default 4000000)")(
      "threads", po::value<unsigned>()->default_value(2),
      "2: read and decode the capture on a second thread while evaluating; 1: one thread")(
      "capture", po::value<std::vector<std::string>>(), "pcap or pcapng files (merged in time order)")(
      "flow-log", po::value<std::vector<std::string>>()->composing(),
      "VPC flow-log records instead of captures: CSV with a header or JSON Lines, gzip or not (repeatable)")(
      "decap", po::value<std::string>(),
      "vxlan[:PORT]: evaluate the frame inside each VXLAN packet to UDP PORT (default 4789), as traffic mirror "
      "sessions send them, instead of the outer packet")(
      "mirror", po::value<std::vector<std::string>>()->composing(),
      "VNI=ENI: with --decap, check the inner packets of this mirror session's VNI at the interface it copies "
      "(repeatable; default: at the interfaces of their addresses)")(
      "shard", po::value<std::string>(),
      "K/N: count only shard K of N, the traffic whose address pair hashes to K (README, Scale-out): over the "
      "captures or flow logs given, or with --split over that shard's file")(
      "split", po::value<std::string>(),
      "DIR: read shard K (--shard K/N) of what `sgsim split --out DIR` wrote, instead of captures")(
      "index", po::value<std::string>(),
      "DIR: read shard K (--shard K/N) of the captures or flow logs through the index `sgsim split --index --out "
      "DIR` wrote (only the shard's frames or records are read; where the index cannot be used, they are read in "
      "place)");
  pos.add("capture", -1);
}

// --decap vxlan[:PORT]: the UDP port (0 without --decap).
std::uint16_t decapPort(const po::variables_map& vm) {
  if (!vm.count("decap")) return 0;
  const std::string value = vm["decap"].as<std::string>();
  const auto colon = value.find(':');
  const std::string kind = value.substr(0, colon);
  if (kind != "vxlan") {
    const std::string near = nearestName(kind, {"vxlan"});
    throw UsageError{"--decap: \"" + value +
                     "\" is not a tunnel sgsim decapsulates: give vxlan or vxlan:PORT (VXLAN, as traffic mirror "
                     "sessions send it; PORT defaults to 4789)" +
                     (near.empty() ? std::string(". GRE and IP-in-IP packets are evaluated as their outer packet, as "
                                                 "a security group sees them")
                                   : "; did you mean " + near + "?")};
  }
  if (colon == std::string::npos) return kVxlanPort;
  const std::string port = value.substr(colon + 1);
  unsigned long n = 0;
  const bool digits = !port.empty() && port.size() <= 5 &&
                      std::all_of(port.begin(), port.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  if (digits) n = std::stoul(port);
  if (!digits || n == 0 || n > 65535)
    throw UsageError{"--decap: \"" + value +
                     "\": the UDP port must be a number from 1 to 65535 (--decap vxlan alone is port 4789)"};
  return static_cast<std::uint16_t>(n);
}

// --shard K/N (core/shard.h).
std::optional<Shard> shardOption(const po::variables_map& vm) {
  if (!vm.count("shard")) return std::nullopt;
  auto shard = parseShard(vm["shard"].as<std::string>());
  if (!shard) throw UsageError{"--shard: " + shard.error().message};
  return *shard;
}

// --decap vxlan[:PORT] and --mirror VNI=ENI (pipeline/capture_stream.h, DecapOptions).
DecapOptions decapOptions(const po::variables_map& vm, const Network& net, const EvalOptions& eval) {
  DecapOptions d;
  d.vxlanPort = decapPort(vm);
  if (!vm.count("mirror")) return d;
  if (d.vxlanPort == 0)
    throw UsageError{"--mirror goes with --decap vxlan: the mirror sessions' VNIs are read from the VXLAN headers"};
  if (eval.mode != DirectionMode::Auto)
    throw UsageError{
        "--mirror goes with --direction auto: a session's interface and the inner addresses give each "
        "packet's direction"};
  std::vector<std::string> eniIds;
  for (std::size_t i = 0; i < net.eniCount(); ++i) eniIds.push_back(net.eni(i).id);
  for (const std::string& value : vm["mirror"].as<std::vector<std::string>>()) {
    const auto eq = value.find('=');
    if (eq == std::string::npos)
      throw UsageError{"--mirror: \"" + value +
                       "\" is not VNI=ENI: give the mirror session's VNI and the id of the interface it copies, "
                       "e.g. --mirror 100=" +
                       (eniIds.empty() ? std::string("eni-…") : eniIds[0])};
    const std::string vniText = value.substr(0, eq), eniText = value.substr(eq + 1);
    const bool digits = !vniText.empty() && vniText.size() <= 8 &&
                        std::all_of(vniText.begin(), vniText.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    const unsigned long vni = digits ? std::stoul(vniText) : 0;
    if (!digits || vni > 0xffffff)
      throw UsageError{"--mirror: \"" + value + "\": the VNI must be a number from 0 to 16777215 (24 bits)"};
    const auto it = std::find(eniIds.begin(), eniIds.end(), eniText);
    if (it == eniIds.end()) {
      const std::string near = nearestName(eniText, eniIds);
      std::string known;
      for (std::size_t i = 0; i < eniIds.size() && i < 5; ++i) known += (i ? ", " : "") + eniIds[i];
      if (eniIds.size() > 5) known += ", … (`sgsim show` lists them)";
      throw UsageError{"--mirror: \"" + value + "\": the model has no interface \"" + eniText + "\"" +
                       (near.empty() ? " (its interfaces: " + known + ")" : "; did you mean " + near + "?")};
    }
    const auto eni = static_cast<std::int32_t>(it - eniIds.begin());
    if (eval.eni >= 0 && eni != eval.eni)
      throw UsageError{"--mirror: \"" + value + "\": --host picks " + eniIds[static_cast<std::size_t>(eval.eni)] +
                       ", so only that interface is checked; map the session to it or leave out --host"};
    bool known = false;
    for (const MirrorSession& m : d.mirror) {
      if (m.vni != vni) continue;
      if (m.eni != eni)
        throw UsageError{"--mirror: VNI " + vniText + " is mapped to both " + m.eniId + " and " + eniText +
                         ": a mirror session copies one interface"};
      known = true;
    }
    if (!known) d.mirror.push_back(MirrorSession{static_cast<std::uint32_t>(vni), eni, eniText});
  }
  return d;
}

Model loadModelOrThrow(Common& c) {
  auto m = loadModel(c.modelPath, LoadOptions{c.host, c.allowUnknownFields});
  if (!m) throw UsageError{m.error().toString()};
  warn(c, m->source.warnings);
  return std::move(*m);
}

struct ApiFailure {
  std::string body;    // the API's error response
  std::string report;  // the human report
  std::string source;  // the request as given
};

// Rules a request added that name something the model lacks (the API accepts a group, prefix list or port range
// list that some rule already names, SEMANTICS §5): they match no traffic, as the model's own such rules.
std::vector<Error> addedRuleWarnings(const Model& model, const std::vector<std::string>& added,
                                     const std::string& label) {
  std::vector<Error> out;
  for (const DanglingReference& d : danglingReferences(model)) {
    const Rule& rule = model.groups[d.group].rules[d.rule];
    if (std::find(added.begin(), added.end(), rule.id) != added.end())
      out.push_back(Error{label + ": new rule " + rule.id + " " + d.field, d.message});
  }
  return out;
}

struct Applied {
  std::vector<AppliedRequest> requests;
  std::vector<std::string> noops;  // "request 1 changed no rule": for --fail-on-noop
};

void printNotes(std::size_t index, const std::vector<std::string>& notes) {
  for (const auto& n : notes) std::cerr << "sgsim: note: request " << index << ": " << n << '\n';
}

// Applies the requests in order; an API error stops everything (the model is left as it was before it) and
// its notes are in the failure's report. `notesToStderr`: print every request's notes on stderr as it is
// applied, for outputs that do not carry them (only whatif's text and JSON reports do); those reports are not
// printed when a later request fails, so then the earlier requests' notes go to stderr too.
Applied applyRequests(Model& model, Common& c, bool notesToStderr) {
  const std::vector<RequestArg>& reqs = c.requests;
  Applied out;
  for (const RequestArg& r : reqs) {
    auto req = loadRequestArg(r.text);
    if (!req) throw UsageError{(r.revoke ? "--revoke: " : "--authorize: ") + req.error().toString()};
    ApiAction action{};
    if (!actionFromName(req->action, action))
      throw UsageError{"request \"" + r.text + "\": unsupported Action \"" + req->action + "\""};
    if (isRevoke(action) != r.revoke)
      throw UsageError{std::string(r.revoke ? "--revoke" : "--authorize") + " was given a " + req->action + " request"};
    ApiOutcome o = applyRequest(model, *req);
    const std::size_t index = out.requests.size() + 1;
    if (!o.ok()) {
      if (!notesToStderr)
        for (std::size_t i = 0; i < out.requests.size(); ++i) printNotes(i + 1, out.requests[i].notes);
      throw ApiFailure{o.bodyJson(), renderOutcomeText(o, model), r.text};
    }
    if (notesToStderr) printNotes(index, o.notes);
    if (const std::string why = noopReason(o); !why.empty())
      out.noops.push_back("request " + std::to_string(index) + " " + why);
    AppliedRequest a;
    a.source = r.text;
    a.action = req->action;
    if (const std::string* g = req->find("SecurityGroupId")) a.groupId = *g;
    a.requestId = o.requestId;
    a.removed = o.removedRules;
    a.product = req->product;
    a.notes = o.notes;
    for (const std::string& id : o.addedRuleIds)
      for (const auto& g : model.groups)
        for (const auto& rule : g.rules)
          if (rule.id == id) a.added.push_back(rule);
    warn(c, addedRuleWarnings(model, o.addedRuleIds,
                              "request " + std::to_string(index) + " (" + req->action + " " + a.groupId + ")"));
    out.requests.push_back(std::move(a));
  }
  return out;
}

// --fail-on-noop, after the command's normal output: names each request that changed no rule on stderr.
int noopGate(const po::variables_map& vm, const std::vector<std::string>& noops,
             const std::string& hint = "see its notes") {
  if (!vm.count("fail-on-noop") || noops.empty()) return kExitOk;
  for (const auto& n : noops) std::cerr << "sgsim: --fail-on-noop: " << n << " (" << hint << ")\n";
  return kExitNoop;
}

std::int32_t selectEni(const Network& net, const Common& c) {
  if (!c.host) return -1;
  std::int32_t e = net.eniOf(*c.host);
  if (e < 0) throw UsageError{"--host " + c.host->toString() + ": no interface of the model has this address"};
  return e;
}

EvalOptions evalOptions(const po::variables_map& vm, const Network& net, const Common& c) {
  EvalOptions o;
  o.eni = selectEni(net, c);
  const std::string dir = vm.count("direction") ? vm["direction"].as<std::string>() : "auto";
  if (dir == "auto") {
    o.mode = DirectionMode::Auto;
  } else if (dir == "ingress" || dir == "egress") {
    o.mode = dir == "ingress" ? DirectionMode::Ingress : DirectionMode::Egress;
    if (o.eni < 0) {
      if (net.eniCount() != 1)
        throw UsageError{"--direction " + dir + " needs --host to pick one of the model's " +
                         std::to_string(net.eniCount()) + " interfaces"};
      o.eni = 0;
    }
  } else {
    throw UsageError{"--direction: expected auto, ingress or egress, not \"" + dir + "\""};
  }
  if (vm.count("max-flows")) o.maxFlows = vm["max-flows"].as<std::size_t>();
  return o;
}

// Progress on stderr, only when it is a terminal.
class Progress {
 public:
  Progress() : enabled_(isatty(STDERR_FILENO) == 1), start_(std::chrono::steady_clock::now()) {}
  // Called once per batch of frames; looks at the clock every 128 calls.
  void tick(std::uint64_t frames) {
    if (!enabled_ || (++calls_ & 0x7F) != 0) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(250)) return;
    last_ = now;
    double s = std::chrono::duration<double>(now - start_).count();
    std::fprintf(stderr, "\r%llu frames, %.1f s, %.0f frames/s ", static_cast<unsigned long long>(frames), s,
                 static_cast<double>(frames) / (s > 0 ? s : 1));
    shown_ = true;
  }
  void done() {
    if (shown_) std::fputs("\r\033[K", stderr);
  }

 private:
  bool enabled_;
  std::uint64_t calls_ = 0;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_, last_{};
};

// The capture files named on the command line (positional arguments).
std::vector<std::string> capturePaths(const po::variables_map& vm) {
  return vm.count("capture") ? vm["capture"].as<std::vector<std::string>>() : std::vector<std::string>{};
}

std::unique_ptr<MergedCapture> openCapturesOrThrow(const std::vector<std::string>& paths) {
  auto cap = openCaptures(paths);
  if (!cap) throw UsageError{cap.error().toString()};
  return std::move(*cap);
}

// What a command reads: capture files, or flow logs (--flow-log), never both in one run; all of them, one shard of
// them (--shard K/N), or one shard of a split (--split DIR --shard K/N).
struct Sources {
  std::vector<std::string> paths;  // as the user named them (with --split: the split's inputs)
  std::unique_ptr<MergedCapture> captures;
  std::unique_ptr<MergedFlowLog> logs;
  std::optional<Shard> shard;
  std::optional<SplitManifest> split;
  std::string splitDir;
  std::optional<ReplayStats::StreamSpan> indexedWhole;  // --index DIR, when the index is used
  std::vector<bool> readWhole;                          // and then, by capture, those read in place
  // --index DIR of flow logs (pipeline/split.h, "Flow-log indexes"): the index, until runSources has checked that
  // it counted the records not placed with this run's interfaces; then, when it is used, `logs` reads through it.
  std::optional<FlowLogShard> flowIndex;
  std::string indexDir;
};

// --split DIR --shard K/N: the shard's file, read with the original frame numbers and captures (pipeline/split.h).
Sources openSplit(const po::variables_map& vm, Sources s) {
  s.splitDir = vm["split"].as<std::string>();
  const std::string named = "--split " + s.splitDir;
  if (!s.shard) throw UsageError{named + " goes with --shard K/N: the shard of the split this run reads"};
  if (!capturePaths(vm).empty() || vm.count("flow-log"))
    throw UsageError{named +
                     ": the split's files are the input; leave out capture files and --flow-log (the split "
                     "names the captures it was made from)"};
  auto manifest = readManifest(s.splitDir);
  if (!manifest) throw UsageError{manifest.error().toString()};
  if (manifest->shards != s.shard->count)
    throw UsageError{"--shard " + s.shard->toString() + ": the split in " + s.splitDir + " has " +
                     std::to_string(manifest->shards) + " shards: give --shard K/" + std::to_string(manifest->shards)};
  const SplitManifest::File& f = manifest->files[s.shard->index - 1];
  const std::string file = (std::filesystem::path(s.splitDir) / f.file).string();
  if (!std::filesystem::exists(file))
    throw UsageError{file + ": missing (shard " + s.shard->toString() + " of the split in " + s.splitDir +
                     "): the split is incomplete; run it again"};
  if (manifest->flowLog) {
    // An empty shard file has no first line to tell its format by (the reader refuses it): it holds no record.
    std::vector<std::unique_ptr<FlowLogReader>> readers;
    if (f.frames > 0) {
      auto reader = FlowLogReader::open(file, 0);
      if (!reader) throw UsageError{reader.error().toString()};
      (*reader)->readSplitIds();
      readers.push_back(std::move(*reader));
    }
    s.logs = std::make_unique<MergedFlowLog>(std::move(readers));
  } else {
    s.captures = openCapturesOrThrow({file});
    if (!s.captures->readers()[0]->readSplitIds(f.captures))
      throw UsageError{file + ": not a pcapng file, as every shard file `sgsim split` writes is: run the split again"};
  }
  s.paths = manifest->inputs;
  s.split = std::move(*manifest);
  return s;
}

// --index DIR --shard K/N: the captures read through the shard's index (pipeline/split.h, "Indexes"), or in place
// where the index cannot be used (said on stderr: the report is the same either way).
Sources openIndex(const po::variables_map& vm, Sources s) {
  const std::string dir = vm["index"].as<std::string>();
  const std::string named = "--index " + dir;
  if (!s.shard) throw UsageError{named + " goes with --shard K/N: the shard of the index this run reads"};
  if (vm.count("split")) throw UsageError{named + " and --split " + vm["split"].as<std::string>() + ": give one"};
  if (!capturePaths(vm).empty() || vm.count("flow-log"))
    throw UsageError{named + ": the index names the captures it was made from; leave out capture files and --flow-log"};
  if (vm.count("decap"))
    throw UsageError{named +
                     ": an index holds no decapsulated frames; with --decap give the captures (--shard K/N "
                     "reads them in place)"};
  if (isFlowLogIndex(dir)) {
    auto x = readFlowLogIndex(dir, *s.shard);
    if (!x) throw UsageError{x.error().toString()};
    s.paths = x->index.whole.inputs;
    s.indexDir = dir;
    if (!x->inPlace.empty()) {
      std::cerr << "sgsim: note: " << named << ": " << x->inPlace << "; the flow logs are read in place\n";
      auto logs = MergedFlowLog::open(s.paths);
      if (!logs) throw UsageError{logs.error().toString()};
      s.logs = std::move(*logs);
      return s;
    }
    auto logs = MergedFlowLog::openIndexed(s.paths, std::move(x->entries), x->texts);
    if (!logs) throw UsageError{logs.error().toString()};
    s.logs = std::move(*logs);
    s.flowIndex = std::move(*x);  // runSources checks its interfaces against the run's
    return s;
  }
  auto index = readShardIndex(dir, *s.shard);
  if (!index) throw UsageError{index.error().toString()};
  s.paths = index->inputs;
  for (std::size_t i = 0; i < s.paths.size(); ++i)
    if (!index->inPlace[i].empty())
      std::cerr << "sgsim: note: " << named << ": " << s.paths[i] << ": " << index->inPlace[i] << "; "
                << (s.paths.size() == 1 ? "the capture is" : "this capture is") << " read in place\n";
  if (!index->used()) {
    s.captures = openCapturesOrThrow(s.paths);
    return s;
  }
  auto captures = MergedCapture::openIndexed(s.paths, std::move(index->records));
  if (!captures) throw UsageError{captures.error().toString()};
  s.captures = std::move(*captures);
  s.indexedWhole = index->span;
  s.readWhole = index->readWhole();
  return s;
}

Sources openSources(const po::variables_map& vm) {
  Sources s;
  s.shard = shardOption(vm);
  if (vm.count("index")) return openIndex(vm, std::move(s));
  if (vm.count("split")) return openSplit(vm, std::move(s));
  const auto captures = capturePaths(vm);
  if (vm.count("flow-log")) {
    if (!captures.empty())
      throw UsageError{"--flow-log and capture files (" + captures.front() +
                       ") cannot be read in one run: give either captures or flow logs"};
    s.paths = vm["flow-log"].as<std::vector<std::string>>();
    auto logs = MergedFlowLog::open(s.paths);
    if (!logs) throw UsageError{logs.error().toString()};
    s.logs = std::move(*logs);
    return s;
  }
  s.paths = captures;
  s.captures = openCapturesOrThrow(captures);
  return s;
}

// --threads: the stream is read, decoded and planned on a second thread (2, the default) or on this one.
CaptureStreamOptions streamOptions(const po::variables_map& vm, bool copyBytes, DecapOptions decap) {
  const unsigned threads = vm["threads"].as<unsigned>();
  if (threads != 1 && threads != 2) throw UsageError{"--threads: expected 1 or 2"};
  return CaptureStreamOptions{threads == 2, copyBytes, std::move(decap), std::nullopt, std::nullopt, {}};
}

// Runs a pass to the end of its stream, with progress on a terminal and `afterBatch` (the command's own output
// checks) between batches. An evaluation that refuses to go on is bad usage or input.
template <class P, class AfterBatch>
void runPass(P& pass, AfterBatch afterBatch) {
  Progress progress;
  for (;;) {
    auto more = pass.step();
    if (!more) {
      progress.done();
      throw UsageError{more.error().toString()};
    }
    if (!*more) break;
    afterBatch();
    progress.tick(pass.stats().frames);
  }
  progress.done();
}

// What shard K of a split or a flow-log index knows of the whole input (the manifest's facts; the sources' own are
// shard 1's).
PassScope::Whole wholeOf(const SplitManifest& m, const Shard& shard) {
  PassScope::Whole w;
  w.names = m.inputs;
  w.span = m.span;
  w.firstLinkType = m.firstLinkType;
  w.errors = m.errors;
  w.sourceFacts = shard.index == 1;
  w.warnings = m.warnings;
  w.skippedBlocks = m.skippedBlocks;
  w.noData = m.noData;
  w.skipData = m.skipData;
  w.badRecords = m.badRecords;
  return w;
}

// One pass of an evaluation over the run's sources (captures or flow logs) to the end: the evaluation's refusal
// (if any) and the accounting.
struct PassOutcome {
  std::optional<Error> refused;
  ReplayStats stats;
};
template <class E, class AfterBatch>
PassOutcome runSources(const po::variables_map& vm, Sources& sources, E& evaluation, const Network& network,
                       DecapOptions decap, AfterBatch afterBatch) {
  if (sources.logs && decap.vxlanPort != 0)
    throw UsageError{
        "--decap reads VXLAN packets inside captures; flow-log records hold no packets to decapsulate "
        "(leave out --decap and --mirror with --flow-log)"};
  PassScope scope;
  scope.shard = sources.shard;
  if (sources.split) {
    // The split chose each frame's shard by the addresses --decap gives; a run that decapsulates otherwise would
    // count frames in a shard they do not belong to.
    const SplitManifest& m = *sources.split;
    auto decapText = [](std::uint16_t port) {
      return port == 0 ? std::string("no --decap") : "--decap vxlan:" + std::to_string(port);
    };
    std::vector<std::string> mirror =
        vm.count("mirror") ? vm["mirror"].as<std::vector<std::string>>() : std::vector<std::string>{};
    std::vector<std::string> splitMirror = m.mirror;
    std::sort(mirror.begin(), mirror.end());
    std::sort(splitMirror.begin(), splitMirror.end());
    if (m.vxlanPort != decap.vxlanPort || mirror != splitMirror) {
      std::string splitMirrorText;
      for (const auto& x : m.mirror) splitMirrorText += " --mirror " + x;
      throw UsageError{"--split " + sources.splitDir + ": the split was made with " + decapText(m.vxlanPort) +
                       splitMirrorText + ", this run has " + decapText(decap.vxlanPort) +
                       (mirror.empty() ? std::string() : " and other --mirror sessions") +
                       ": give the split's --decap and --mirror (they decide the addresses that chose each frame's "
                       "shard)"};
    }
    scope.shard.reset();  // the shard's file holds only its frames
    scope.whole = wholeOf(m, *sources.shard);
  }
  if (sources.flowIndex) {
    // The index counted the records not placed at their ENI with its model's interfaces and direction: used only
    // when they are this run's (else the logs are read in place: the same report).
    const auto& planner = evaluation.planner();
    if (sources.flowIndex->index.placement != placementDigest(planner.topology(), planner.options())) {
      std::cerr << "sgsim: note: --index " << sources.indexDir
                << ": made with other interfaces or another --host or --direction than this run's (they decide which "
                   "records are not placed at their interface); the flow logs are read in place\n";
      auto logs = MergedFlowLog::open(sources.paths);
      if (!logs) throw UsageError{logs.error().toString()};
      sources.logs = std::move(*logs);
      sources.flowIndex.reset();
    } else {
      scope.shard.reset();  // the index lists only the shard's records
      scope.whole = wholeOf(sources.flowIndex->index.whole, *sources.shard);
    }
  }
  CaptureStreamOptions options = streamOptions(vm, evaluation.wantsFrameBytes(), std::move(decap));
  options.shard = scope.shard;  // in place: other shards' frames dropped on the reading thread (stage.h, "Shards")
  options.indexedWhole = sources.indexedWhole;
  options.readWhole = sources.readWhole;
  PassOutcome out;
  if (sources.logs) {
    RecordStream<E::kSides> stream(*sources.logs, network, evaluation.planner(), options.thread);
    if (sources.split) stream.setNames(sources.split->inputs);
    if (sources.flowIndex) stream.setCountUnplaced(false);  // the index's count is shard 1's warning
    Pass pass(stream, evaluation, std::move(scope));
    runPass(pass, afterBatch);
    out.refused = pass.finish();
    out.stats = std::move(pass.stats());
  } else {
    CaptureStream<E::kSides> stream(*sources.captures, evaluation.planner(), options);
    Pass pass(stream, evaluation, std::move(scope));
    runPass(pass, afterBatch);
    out.refused = pass.finish();
    out.stats = std::move(pass.stats());
  }
  return out;
}

// The captures' errors (a truncated or corrupt record), on stderr: bad input.
// After a pass: the sources' errors (exit 2, the report of what was read still printed) and warnings (stderr
// now, every report later; under --strict they make the exit status 2 as well). The model's and the requests'
// warnings, known before the pass, go first in the report.
int captureErrors(const Common& c, ReplayStats& stats) {
  // Every warning the reports list, the full flow table's and the drift rows' cut included (allWarnings).
  const std::vector<Error> warnings = allWarnings(stats);
  for (const Error& w : warnings) std::cerr << "sgsim: " << (c.strict ? "" : "warning: ") << w.toString() << '\n';
  for (const Error& e : stats.captureErrors) std::cerr << "sgsim: " << e.toString() << '\n';
  const bool strictFails = c.strict && !warnings.empty();
  stats.warnings.insert(stats.warnings.begin(), c.warnings.begin(), c.warnings.end());
  return stats.captureErrors.empty() && !strictFails ? kExitOk : kExitUsage;
}

void printHelp(const char* cmd, const char* synopsis, const po::options_description& d) {
  std::cout << "usage: sgsim " << cmd << " " << synopsis << "\n\n" << d << '\n';
}

// --output FILE of the reports made whole in memory (show, whatif, audit), opened before the work so that an
// unwritable path is refused before a long pass; null: standard output.
void addOutput(po::options_description& d) {
  d.add_options()("output,o", po::value<std::string>(),
                  "write the report to this file (atomically) instead of standard output");
}

std::unique_ptr<AtomicFile> openOutput(const po::variables_map& vm) {
  if (!vm.count("output")) return nullptr;
  auto f = AtomicFile::create(vm["output"].as<std::string>());
  if (!f) throw UsageError{f.error().toString()};
  return std::move(*f);
}

// "--format: expected text, json, csv or html, not \"htm\"; did you mean html?"
UsageError formatError(const std::string& given, const std::vector<std::string>& formats) {
  std::string list;
  for (std::size_t i = 0; i < formats.size(); ++i)
    list += (i == 0 ? "" : i + 1 == formats.size() ? " or " : ", ") + formats[i];
  const std::string near = nearestName(given, formats);
  return UsageError{"--format: expected " + list + ", not \"" + given + "\"" +
                    (near.empty() ? "" : "; did you mean " + near + "?")};
}

// A report written by `write` to the output as it is made (a report too large to build whole first), then `tail`: a
// JSON report's last newline, without a copy of the report to add it (fl3m's is 39 MB).
void emitReportWith(std::unique_ptr<AtomicFile>& file, const std::function<void(std::ostream&)>& write,
                    std::string_view tail = {}) {
  std::ostream& os = file ? file->stream() : std::cout;
  write(os);
  os << tail;
  if (!file) return;
  if (auto err = file->commit()) throw UsageError{err->toString()};
}
void emitReport(std::unique_ptr<AtomicFile>& file, const std::string& text, std::string_view tail = {}) {
  emitReportWith(
      file, [&](std::ostream& os) { os << text; }, tail);
}

// ---- commands --------------------------------------------------------------------------------------------

int cmdShow(int argc, char** argv) {
  po::options_description d("show options");
  d.add_options()("help,h", "this help");
  addCommon(d);
  d.add_options()("eni", po::value<std::string>(), "only this interface")(
      "format", po::value<std::string>()->default_value("text"), "text, json or html");
  addOutput(d);
  addRequests(d);
  const Parsed p = parseCommand(argc, argv, d, nullptr);
  if (p.help) return printHelp("show", "--model FILE [--eni ID] [--format text|json|html] [--output FILE]", d), kExitOk;
  Common c = p.common;
  const po::variables_map& vm = p.vm;
  Model model = loadModelOrThrow(c);
  const Applied applied = applyRequests(model, c, true);
  std::optional<std::string> eni;
  if (vm.count("eni")) eni = vm["eni"].as<std::string>();
  if (!eni && c.host) {
    Network net(model);
    eni = net.eni(static_cast<std::size_t>(selectEni(net, c))).id;
  }
  const std::string fmt = vm["format"].as<std::string>();
  if (fmt != "text" && fmt != "json" && fmt != "html") throw formatError(fmt, {"text", "json", "html"});
  auto out = fmt == "text"   ? renderShowText(model, eni, c.warnings)
             : fmt == "json" ? renderShowJson(model, eni, c.warnings)
                             : renderShowHtml(model, eni, c.warnings);
  if (!out) throw UsageError{out.error().toString()};
  auto file = openOutput(vm);
  emitReport(file, *out);
  return noopGate(vm, applied.noops);
}

int cmdApi(int argc, char** argv, bool revoke) {
  const char* name = revoke ? "revoke" : "authorize";
  po::options_description d(std::string(name) + " options");
  d.add_options()("help,h", "this help");
  addCommon(d);
  d.add_options()("request,r", po::value<std::string>()->required(),
                  "the request: a file, '-' for stdin, or the text itself (JSON, RPC query string or aliyun line)")(
      "write,w", po::value<std::string>(), "write the changed model here (atomically; nothing on error)")(
      "quiet,q", "no human report on stderr");
  addFailOnNoop(d);
  po::positional_options_description pos;
  pos.add("request", 1);
  const Parsed p = parseCommand(argc, argv, d, &pos);
  if (p.help) return printHelp(name, "--model FILE --request REQ [--write NEW.json] [--fail-on-noop]", d), kExitOk;
  Common c = p.common;
  const po::variables_map& vm = p.vm;
  Model model = loadModelOrThrow(c);
  const std::string text = vm["request"].as<std::string>();
  auto req = loadRequestArg(text);
  if (!req) throw UsageError{req.error().toString()};
  ApiAction action{};
  if (!actionFromName(req->action, action))
    throw UsageError{"request: unsupported Action \"" + req->action +
                     "\" (RevokeSecurityGroup, RevokeSecurityGroupEgress, AuthorizeSecurityGroup, "
                     "AuthorizeSecurityGroupEgress)"};
  if (isRevoke(action) != revoke)
    throw UsageError{std::string("`sgsim ") + name + "` was given a " + req->action + " request"};
  ApiOutcome o = applyRequest(model, *req);
  std::cout << o.bodyJson() << '\n' << std::flush;
  checkOutput(std::cout, nullptr);  // a response that cannot be delivered changes no file
  if (!vm.count("quiet")) std::cerr << renderOutcomeText(o, model);
  if (!o.ok()) return kExitApiError;
  warn(c, addedRuleWarnings(model, o.addedRuleIds, "request"));
  if (vm.count("write")) {
    if (auto err = writeModel(vm["write"].as<std::string>(), model)) throw UsageError{err->toString()};
    if (!vm.count("quiet")) std::cerr << "model written to " << vm["write"].as<std::string>() << '\n';
  }
  if (const std::string why = noopReason(o); !why.empty())
    return noopGate(vm, {"the request " + why},
                    vm.count("quiet") ? "run without --quiet for its notes" : "see its notes");
  return kExitOk;
}

int cmdReplay(int argc, char** argv) {
  po::options_description d("replay options");
  d.add_options()("help,h", "this help");
  addCommon(d);
  addRequests(d);
  d.add_options()("format,f", po::value<std::string>()->default_value("text"),
                  "text, jsonl, csv, summary, json (the summary as one JSON document) or html (the summary as a page)")(
      "output,o", po::value<std::string>(), "write the records to this file (atomically) instead of stdout");
  po::positional_options_description pos;
  addCaptureOptions(d, pos);
  const Parsed p = parseCommand(argc, argv, d, &pos);
  const po::variables_map& vm = p.vm;
  if (p.help)
    return printHelp(
               "replay",
               "--model FILE [--host IP] [--revoke REQ]... [--authorize REQ]... [--direction auto|ingress|egress] "
               "[--format text|jsonl|csv|summary|json|html] [--output FILE] [--decap vxlan[:PORT] [--mirror "
               "VNI=ENI]...] [--shard K/N] (CAPTURE... | --flow-log FILE... | --split DIR)",
               d),
           kExitOk;
  Common c = p.common;
  const std::string fmt = vm["format"].as<std::string>();
  ReplayFormat format;
  if (fmt == "text")
    format = ReplayFormat::Text;
  else if (fmt == "jsonl")
    format = ReplayFormat::Jsonl;
  else if (fmt == "csv")
    format = ReplayFormat::Csv;
  else if (fmt == "summary" || fmt == "html")
    format = ReplayFormat::Summary;
  else if (fmt == "json")
    format = ReplayFormat::Json;
  else
    throw formatError(fmt, {"text", "jsonl", "csv", "summary", "json", "html"});

  Model model = loadModelOrThrow(c);
  const Applied applied = applyRequests(model, c, true);
  auto net = std::make_shared<const Network>(std::move(model));
  const EvalOptions eval = evalOptions(vm, *net, c);
  DecapOptions decap = decapOptions(vm, *net, eval);
  Sources sources = openSources(vm);
  const auto& paths = sources.paths;

  // --output streams into a temporary file renamed into place at the end: the output may be far larger than
  // memory, and a failed run leaves no half-written file.
  std::unique_ptr<AtomicFile> outFile;
  if (vm.count("output")) {
    auto f = AtomicFile::create(vm["output"].as<std::string>());
    if (!f) throw UsageError{f.error().toString()};
    outFile = std::move(*f);
  }
  std::ostream& out = outFile ? outFile->stream() : std::cout;
  auto writer = fmt == "html" ? makeReplayHtmlWriter(out, analyzeNetwork(*net)) : makeReplayWriter(format, out);
  ReplayContext ctx;
  ctx.network = net.get();
  ctx.captureNames = paths;
  ctx.warnings = c.warnings;
  ctx.vxlanPort = decap.vxlanPort;
  ctx.shard = sources.shard;
  ReplayEvaluation replay(net, eval, *writer, std::move(ctx));
  PassOutcome passed =
      runSources(vm, sources, replay, *net, std::move(decap), [&] { checkOutput(out, outFile.get()); });
  const std::optional<Error>& refused = passed.refused;
  ReplayStats& stats = passed.stats;
  const int rc = captureErrors(c, stats);
  if (refused) throw UsageError{refused->toString()};
  writer->finish(stats);
  // The drift rows follow the text summary in the same output (stdout or --output); the HTML page and the
  // streamed formats carry them themselves (CSV and JSON Lines per record, the page in its flow-log section).
  if (stats.flowLog && fmt != "html" && format != ReplayFormat::Jsonl && format != ReplayFormat::Csv &&
      format != ReplayFormat::Json && !stats.drift.empty())
    out << "drift, most bytes first:\n" << renderDriftText(stats, *net, 50);
  out.flush();  // the records are out (or failed) before the summary goes to stderr
  checkOutput(out, outFile.get());
  if (format == ReplayFormat::Jsonl || format == ReplayFormat::Csv) {
    std::cerr << renderSummary(stats);
  }
  if (outFile) {
    if (auto err = outFile->commit()) throw UsageError{err->toString()};
  }
  if (rc != kExitOk) return rc;  // bad input outranks the gate
  return noopGate(vm, applied.noops);
}

int cmdWhatIf(int argc, char** argv) {
  po::options_description d("whatif options");
  d.add_options()("help,h", "this help");
  addCommon(d);
  addRequests(d);
  d.add_options()("at", po::value<std::string>(),
                  "apply the change at this instant: +SECONDS after the first frame, @EPOCH, or RFC 3339")(
      "at-outside-capture", "with --at: accept an instant before the first or after the last frame")(
      "keep-established", "with --at: live connections keep flowing")(
      "format,f", po::value<std::string>()->default_value("text"), "text, json, csv or html")(
      "limit", po::value<std::size_t>()->default_value(50), "text and html: show at most N flows (0 = all)")(
      "write-affected", po::value<std::string>(), "write the packets whose verdict changes to this pcap")(
      "fail-on-change", "exit 3 when any traffic changes fate (--fail-on-noop's exit 4 comes first)")(
      "no-space", "leave out the headers beyond the capture whose verdict the change flips");
  addOutput(d);
  po::positional_options_description pos;
  addCaptureOptions(d, pos);
  const Parsed p = parseCommand(argc, argv, d, &pos);
  const po::variables_map& vm = p.vm;
  if (p.help)
    return printHelp("whatif",
                     "--model FILE [--host IP] --revoke REQ... [--authorize REQ]... [--at TIME] [--at-outside-capture] "
                     "[--keep-established] "
                     "[--format text|json|csv|html] [--output FILE] [--write-affected OUT.pcap] [--fail-on-change] "
                     "[--fail-on-noop] [--no-space] [--decap vxlan[:PORT] [--mirror VNI=ENI]...] "
                     "[--shard K/N] (CAPTURE... | --flow-log FILE... | --split DIR)",
                     d),
           kExitOk;
  Common c = p.common;
  if (c.requests.empty()) throw UsageError{"whatif needs at least one --revoke or --authorize request"};
  const std::string fmt = vm["format"].as<std::string>();
  if (fmt != "text" && fmt != "json" && fmt != "csv" && fmt != "html")
    throw formatError(fmt, {"text", "json", "csv", "html"});
  if (vm.count("keep-established") && !vm.count("at")) throw UsageError{"--keep-established goes with --at"};
  if (vm.count("at-outside-capture") && !vm.count("at")) throw UsageError{"--at-outside-capture goes with --at"};
  // The instant is parsed before any work; where it falls in the capture is checked by the evaluation at the first
  // frame (before it) and after the pass (after the last frame: only then is the last frame known).
  std::optional<TimeSpec> at;
  if (vm.count("at")) {
    auto spec = parseTimeSpec(vm["at"].as<std::string>(), "--at");
    if (!spec) throw UsageError{spec.error().toString()};
    at = std::move(*spec);
  }

  Model model = loadModelOrThrow(c);
  auto before = std::make_shared<const Network>(model);
  WhatIfReport report;
  Applied applied = applyRequests(model, c, fmt == "csv");
  report.requests = std::move(applied.requests);
  auto after = std::make_shared<const Network>(std::move(model));
  Sources sources = openSources(vm);
  if (sources.logs && vm.count("write-affected"))
    throw UsageError{"--write-affected writes packets: flow-log records hold none (give a capture)"};
  report.captures = sources.paths;
  report.shard = sources.shard;
  report.limit = vm["limit"].as<std::size_t>();
  report.keepEstablished = vm.count("keep-established") > 0;

  // Beyond the capture: where the change flips the verdict over every header (verdict/header_space.h).
  std::optional<HsSpaceDiff> space;
  if (!vm.count("no-space")) {
    space = diffSpace(*before, *after);
    std::vector<Error> notProven;
    for (const HsTableStatus& t : space->notProven)
      notProven.push_back(Error{before->eni(t.eni).id + " " + toString(t.direction),
                                "where the change flips verdicts beyond the capture was not proven (" + t.notProven +
                                    "): the report lists no region there"});
    warn(c, notProven);
  }

  WhatIfRunOptions opt;
  opt.space = space ? &*space : nullptr;
  opt.eval = evalOptions(vm, *before, c);
  DecapOptions decap = decapOptions(vm, *before, opt.eval);
  opt.keepEstablished = report.keepEstablished;
  opt.at = std::move(at);
  opt.atOutsideCapture = vm.count("at-outside-capture") > 0;
  if (vm.count("write-affected")) opt.writeAffected = vm["write-affected"].as<std::string>();
  auto outFile = openOutput(vm);
  WhatIfEvaluation whatif(before, after, std::move(opt));
  PassOutcome passed = runSources(vm, sources, whatif, *before, std::move(decap), [] {});
  const int rc = captureErrors(c, passed.stats);
  if (passed.refused) throw UsageError{passed.refused->toString()};
  report.stats = std::move(passed.stats);
  report.network = before.get();
  report.originNs = whatif.originNs();
  report.atNs = whatif.atNs();
  report.totals = whatif.totals();
  report.flows = whatif.ranked();
  if (space) report.space = WhatIfSpace{&*space, before.get(), after.get(), whatif.touched()};
  for (const auto& file : whatif.affectedFiles())
    std::cerr << "wrote " << whatif.affectedFrames() << " affected packets to " << file << '\n';
  if (fmt == "text")
    emitReport(outFile, renderWhatIfText(report));
  else if (fmt == "json")
    emitReportWith(
        outFile, [&](std::ostream& os) { writeWhatIfJson(report, os); }, "\n");
  else if (fmt == "csv")
    emitReport(outFile, renderWhatIfCsv(report));
  else
    emitReport(outFile, renderWhatIfHtml(report, *before, *after, analyzeNetwork(*after)));
  // A request that changed no rule means the traffic compared is not the change the user meant: that answers
  // first, then a change of fate. Bad input (a truncated capture) outranks both.
  if (rc != kExitOk) return rc;
  if (const int noop = noopGate(vm, applied.noops); noop != kExitOk) return noop;
  if (vm.count("fail-on-change") && !report.flows.empty()) return kExitChanged;
  return kExitOk;
}

int cmdAudit(int argc, char** argv) {
  po::options_description d("audit options");
  d.add_options()("help,h", "this help");
  addCommon(d);
  addRequests(d);
  d.add_options()("eni", po::value<std::vector<std::string>>()->composing(),
                  "audit the groups of this interface (repeatable; default: every group an interface holds)")(
      "group", po::value<std::vector<std::string>>()->composing(), "audit this security group (repeatable)")(
      "format,f", po::value<std::string>()->default_value("text"), "text, json, csv or html")(
      "sort", po::value<std::string>()->default_value("impact"), "impact, rule or hits")(
      "fail-on", po::value<std::vector<std::string>>()->composing(),
      "exit 3 when a rule has this finding: unused, shadowed, redundant, broad or conflict (repeatable)");
  addOutput(d);
  po::positional_options_description pos;
  addCaptureOptions(d, pos);
  const Parsed p = parseCommand(argc, argv, d, &pos);
  const po::variables_map& vm = p.vm;
  if (p.help)
    return printHelp("audit",
                     "--model FILE [--host IP] [--eni ID]... [--group SG]... [--format text|json|csv|html] "
                     "[--output FILE] [--sort impact|rule|hits] [--fail-on unused|shadowed|redundant|broad|conflict]"
                     "... [--decap vxlan[:PORT] [--mirror VNI=ENI]...] [--shard K/N] (CAPTURE... | --flow-log FILE... "
                     "| --split DIR)",
                     d),
           kExitOk;
  Common c = p.common;
  const std::string fmt = vm["format"].as<std::string>();
  if (fmt != "text" && fmt != "json" && fmt != "csv" && fmt != "html")
    throw UsageError{"--format: expected text, json, csv or html, not \"" + fmt + "\""};
  const std::string sortName = vm["sort"].as<std::string>();
  AuditSort sort = AuditSort::Impact;
  if (sortName == "rule")
    sort = AuditSort::Rule;
  else if (sortName == "hits")
    sort = AuditSort::Hits;
  else if (sortName != "impact")
    throw UsageError{"--sort: expected impact, rule or hits, not \"" + sortName + "\""};
  std::vector<AuditFinding> failOn;
  if (vm.count("fail-on")) {
    static const std::pair<const char*, AuditFinding> kFindings[] = {{"unused", AuditFinding::Unused},
                                                                     {"shadowed", AuditFinding::Shadowed},
                                                                     {"redundant", AuditFinding::Redundant},
                                                                     {"broad", AuditFinding::Broad},
                                                                     {"conflict", AuditFinding::Conflict}};
    for (const std::string& name : vm["fail-on"].as<std::vector<std::string>>()) {
      auto it =
          std::find_if(std::begin(kFindings), std::end(kFindings), [&](const auto& f) { return name == f.first; });
      if (it == std::end(kFindings)) {
        const std::string near = nearestName(name, {"unused", "shadowed", "redundant", "broad", "conflict"});
        throw UsageError{"--fail-on: \"" + name +
                         "\" is not a finding (unused, shadowed, redundant, broad or conflict)" +
                         (near.empty() ? "" : "; did you mean " + near + "?")};
      }
      failOn.push_back(it->second);
    }
  }
  auto eniIds = vm.count("eni") ? vm["eni"].as<std::vector<std::string>>() : std::vector<std::string>{};
  const auto groupIds = vm.count("group") ? vm["group"].as<std::vector<std::string>>() : std::vector<std::string>{};

  Model model = loadModelOrThrow(c);
  Applied applied = applyRequests(model, c, fmt == "csv");
  auto net = std::make_shared<const Network>(std::move(model));
  // --host picks the interface whose traffic is checked; without --eni or --group its groups are the ones audited.
  if (c.host && eniIds.empty() && groupIds.empty())
    eniIds.push_back(net->eni(static_cast<std::size_t>(selectEni(*net, c))).id);
  auto groups = auditedGroups(net->model(), eniIds, groupIds);
  if (!groups) throw UsageError{groups.error().toString()};
  // The static findings first: they need no traffic, and a table the analysis cannot prove is a warning that
  // reaches every report (and an error under --strict) before the capture is read.
  const std::vector<HsTableAnalysis> analyses = analyzeNetwork(*net);
  std::vector<Error> notProven;
  for (const HsTableAnalysis& a : analyses)
    if (a.status != HsStatus::Exact)
      notProven.push_back(Error{net->eni(a.eni).id + " " + toString(a.direction),
                                "the static analysis of this table was not proven (" + a.notProven +
                                    "): its rules' shadowed/redundant/conflict findings are left out"});
  warn(c, notProven);

  AuditOptions options;
  options.eval = evalOptions(vm, *net, c);
  options.groups = *groups;
  DecapOptions decap = decapOptions(vm, *net, options.eval);
  Sources sources = openSources(vm);
  auto outFile = openOutput(vm);
  AuditEvaluation audit(net, options);
  PassOutcome passed = runSources(vm, sources, audit, *net, std::move(decap), [] {});
  const int rc = captureErrors(c, passed.stats);
  if (passed.refused) throw UsageError{passed.refused->toString()};

  AuditReport report;
  report.captures = sources.paths;
  report.shard = sources.shard;
  report.network = net.get();
  report.stats = std::move(passed.stats);
  report.originNs = audit.originNs();
  report.rules = auditRows(*net, audit.audit().results(), analyses);
  sortAuditRows(report.rules, sort);
  std::set<std::string> enis;
  for (const auto& row : report.rules) enis.insert(row.traffic.enis.begin(), row.traffic.enis.end());
  report.enis = enis.size();
  if (fmt == "text")
    emitReport(outFile, renderAuditText(report));
  else if (fmt == "json")
    emitReportWith(
        outFile, [&](std::ostream& os) { writeAuditJson(os, report); }, "\n");
  else if (fmt == "csv")
    emitReport(outFile, renderAuditCsv(report));
  else
    emitReport(outFile, renderAuditHtml(report, *net));
  if (rc != kExitOk) return rc;
  if (const int noop = noopGate(vm, applied.noops); noop != kExitOk) return noop;
  bool failed = false;
  for (AuditFinding f : failOn) {
    std::vector<std::string> ids;
    for (const auto& row : report.rules)
      if (hasFinding(row, f)) ids.push_back(row.traffic.ruleId);
    if (ids.empty()) continue;
    failed = true;
    std::string list;
    for (std::size_t i = 0; i < ids.size() && i < 10; ++i) list += (i ? ", " : "") + ids[i];
    if (ids.size() > 10) list += ", …";
    std::cerr << "sgsim: --fail-on " << toString(f) << ": " << ids.size() << (ids.size() == 1 ? " rule" : " rules")
              << " (" << list << ")\n";
  }
  return failed ? kExitChanged : kExitOk;
}

// split's --shards N.
std::uint32_t shardCount(const po::variables_map& vm) {
  const std::string text = vm["shards"].as<std::string>();
  auto shards = parseShard("1/" + text);
  if (!shards)
    throw UsageError{"--shards: \"" + text + "\" is not a number of shards: give N from 1 to " +
                     std::to_string(kMaxShards)};
  return shards->count;
}

// What split prints of each shard's count: the first 8, then "…".
std::string firstCounts(const std::vector<std::uint64_t>& perShard) {
  std::string counts;
  for (std::size_t k = 0; k < perShard.size() && k < 8; ++k) counts += (k ? ", " : "") + std::to_string(perShard[k]);
  if (perShard.size() > 8) counts += ", …";
  return counts;
}
std::string shardCounts(const SplitManifest& m) {
  std::vector<std::uint64_t> perShard;
  for (const SplitManifest::File& f : m.files) perShard.push_back(f.frames);
  return firstCounts(perShard);
}

// split's --model, --host, --direction and --allow-unknown-fields serve a flow-log index only.
void refuseModelOptions(const po::variables_map& vm, const char* why) {
  if (vm.count("model") || vm.count("host") || vm.count("direction") || vm.count("allow-unknown-fields"))
    throw UsageError{std::string("--model, --host and --direction go with --index --flow-log: ") + why};
}

// sgsim split --index --flow-log F... --model M: the flow logs' index (pipeline/split.h, "Flow-log indexes"), one
// pass; the model's interfaces count the records not placed at their ENI for the whole input, as a run does.
int splitIndexFlowLogs(const po::variables_map& vm) {
  if (vm.count("part"))
    throw UsageError{"--part: a flow-log index is made in one pass (the whole input's order needs every record)"};
  if (!capturePaths(vm).empty())
    throw UsageError{"--flow-log and capture files (" + capturePaths(vm).front() +
                     ") cannot be indexed together: a run reads either captures or flow logs"};
  if (!vm.count("model"))
    throw UsageError{
        "--index --flow-log needs --model (and the runs' --host and --direction): the index counts the records "
        "not logged at an interface of the model for the whole input, which shard 1 reports"};
  Common c = commonFrom(vm);
  Model model = loadModelOrThrow(c);
  const Network net(std::move(model));
  const EvalOptions eval = evalOptions(vm, net, c);
  const BasicPlanner<1> planner(std::shared_ptr<const Network>(std::shared_ptr<const Network>{}, &net), {nullptr},
                                eval);
  EniIndex enis(net);
  FlowLogIndexOptions options;
  options.shards = shardCount(vm);
  options.outDir = vm["out"].as<std::string>();
  options.progress = isatty(STDERR_FILENO) == 1;
  options.placement = placementDigest(net, eval);
  options.placed = [&](const FlowRecord& r) {
    const auto [src, dst] = planner.ends(r.src, r.dst);
    return placedAt(r, enis, src, dst);
  };
  const auto logs = vm["flow-log"].as<std::vector<std::string>>();
  auto x = indexFlowLogs(logs, options);
  if (!x) throw UsageError{x.error().toString()};
  const SplitManifest& m = x->whole;
  if (!x->refused.empty()) {
    std::cerr << "sgsim: note: " << x->refused << "\n";
    std::cout << "not indexed: the " << m.shards << (m.shards == 1 ? " shard reads" : " shards read") << " the "
              << (logs.size() == 1 ? "flow log" : "flow logs") << " in place (--index " << options.outDir
              << " --shard K/" << m.shards << " says so)\n";
    return kExitOk;
  }
  for (const Error& w : m.warnings) std::cerr << "sgsim: warning: " << w.toString() << '\n';
  for (const Error& e : m.errors) std::cerr << "sgsim: " << e.toString() << '\n';
  const std::string counts = shardCounts(m);
  std::cout << "indexed " << m.span.frames << (m.span.frames == 1 ? " record" : " records") << " of " << logs.size()
            << (logs.size() == 1 ? " flow log" : " flow logs") << " for " << m.shards
            << (m.shards == 1 ? " shard" : " shards") << " (" << counts << ") in " << options.outDir;
  std::size_t copies = 0;
  std::uint64_t copied = 0;
  for (const FlowLogIndex::File& f : x->files)
    if (!f.text.empty()) {
      ++copies;
      copied += f.textSize;
    }
  if (copies > 0)
    std::cout << ", with a plain copy of the text of " << (copies == 1 ? "the gzip log" : "each gzip log") << " ("
              << copied << " bytes)";
  std::cout << '\n';
  return m.errors.empty() ? kExitOk : kExitUsage;
}

// sgsim split --index [--part I/M] (pipeline/split.h, "Indexes"): part I of the captures' index, or the flow logs'.
int splitIndex(const po::variables_map& vm) {
  if (vm.count("flow-log")) {
    if (vm.count("decap") || vm.count("mirror"))
      throw UsageError{"--decap reads VXLAN packets inside captures; flow-log records hold no packets to decapsulate"};
    return splitIndexFlowLogs(vm);
  }
  refuseModelOptions(vm, "a capture index needs no model");
  if (vm.count("decap") || vm.count("mirror"))
    throw UsageError{
        "--index indexes captures as they are: leave out --decap and --mirror (their shards read the inputs in "
        "place)"};
  IndexOptions options;
  options.shards = shardCount(vm);
  if (vm.count("part")) {
    // Parts are written as shards are (K/N), but the words of parseShard's errors are about shards.
    const std::string text = vm["part"].as<std::string>();
    auto part = parseShard(text);
    if (!part)
      throw UsageError{"--part: \"" + text + "\" is not a part: write I/M, part I of M counted from 1, M at most " +
                       std::to_string(kMaxShards) + " (e.g. 2/4)"};
    options.part = part->index;
    options.parts = part->count;
  }
  options.outDir = vm["out"].as<std::string>();
  const auto captures = capturePaths(vm);
  auto p = indexPart(captures, options);
  if (!p) throw UsageError{p.error().toString()};
  std::uint64_t frames = 0;
  std::vector<std::uint64_t> perShard(options.shards, 0);
  for (std::size_t i = 0; i < p->files.size(); ++i) {
    const IndexPart::File& f = p->files[i];
    frames += f.frames;
    for (std::uint32_t k = 0; k < options.shards; ++k) perShard[k] += f.entries[k];
    if (!f.refused.empty())
      std::cerr << "sgsim: note: " << captures[i] << ": " << f.refused
                << ": not indexed (the shards read it in place)\n";
  }
  const std::string counts = firstCounts(perShard);
  std::cout << "indexed part " << options.part << "/" << options.parts << ": " << frames
            << (frames == 1 ? " frame" : " frames") << " of " << captures.size()
            << (captures.size() == 1 ? " capture" : " captures") << " for " << options.shards
            << (options.shards == 1 ? " shard" : " shards") << " (" << counts << ") in " << options.outDir
            << (p->kept ? " (there already, of these captures as they are now: kept)" : "") << '\n';
  return kExitOk;
}

// sgsim split (issue 13, pipeline/split.h): the captures' frames into N shard files and a manifest, one pass.
int cmdSplit(int argc, char** argv) {
  po::options_description d("split options");
  d.add_options()("help,h", "this help")("shards,n", po::value<std::string>()->required(),
                                         "N: how many shards (1 to 65536)")(
      "out,o", po::value<std::string>()->required(),
      "DIR: where the shard files and manifest.json go (new or empty); with --index of captures, where the parts' "
      "files go (made if absent; every part of one index into one DIR); with --index of flow logs, new or empty")(
      "decap", po::value<std::string>(),
      "vxlan[:PORT]: shard mirrored traffic by the inner packets' addresses, as the commands evaluate them with the "
      "same option")("mirror", po::value<std::vector<std::string>>()->composing(),
                     "VNI=ENI: recorded in the manifest, so that the shard runs are given the same sessions")(
      "flow-log", po::value<std::vector<std::string>>()->composing(),
      "VPC flow logs instead of captures (CSV or JSON Lines, gzip or not; repeatable)")(
      "index",
      "write an index of where each shard's frames (or flow-log records, with --model) are in the inputs, not "
      "copies of them (read with --index DIR --shard K/N)")(
      "part", po::value<std::string>(),
      "I/M: with --index, index part I of M of the captures' bytes (the M parts may run at once, into one DIR)")(
      "model,m", po::value<std::string>(),
      "with --index --flow-log: the model the shard runs use (its interfaces count the records not logged at one)")(
      "host", po::value<std::string>(), "with --index --flow-log: the shard runs' --host")(
      "direction", po::value<std::string>(), "with --index --flow-log: the shard runs' --direction")(
      "allow-unknown-fields", "with --index --flow-log: read the model as the shard runs do")(
      "capture", po::value<std::vector<std::string>>(), "pcap or pcapng files (merged in time order)");
  po::positional_options_description pos;
  pos.add("capture", -1);
  po::variables_map vm = parseArgs(argc, argv, d, &pos, nullptr);
  if (vm.count("help"))
    return printHelp("split",
                     "--shards N --out DIR ([--decap vxlan[:PORT] [--mirror VNI=ENI]...] CAPTURE... | --flow-log "
                     "FILE... | --index [--part I/M] CAPTURE... | --index --model FILE [--host IP] [--direction D] "
                     "--flow-log FILE...)",
                     d),
           kExitOk;
  if (vm.count("part") && !vm.count("index"))
    throw UsageError{"--part goes with --index: a split that copies frames is one pass"};
  if (vm.count("index")) return splitIndex(vm);
  refuseModelOptions(vm, "a split copies records as they are");
  SplitOptions options;
  options.shards = shardCount(vm);
  options.outDir = vm["out"].as<std::string>();
  options.vxlanPort = decapPort(vm);
  if (vm.count("mirror")) {
    if (options.vxlanPort == 0)
      throw UsageError{"--mirror goes with --decap vxlan: the mirror sessions' VNIs are read from the VXLAN headers"};
    for (const std::string& m : vm["mirror"].as<std::vector<std::string>>()) {
      const auto eq = m.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == m.size())
        throw UsageError{"--mirror: \"" + m + "\" is not VNI=ENI: give it as the shard runs will"};
      options.mirror.push_back(m);
    }
  }
  const bool flowLog = vm.count("flow-log") > 0;
  if (flowLog && !capturePaths(vm).empty())
    throw UsageError{"--flow-log and capture files (" + capturePaths(vm).front() +
                     ") cannot be split together: a run reads either captures or flow logs"};
  if (flowLog && options.vxlanPort != 0)
    throw UsageError{"--decap reads VXLAN packets inside captures; flow-log records hold no packets to decapsulate"};
  options.progress = isatty(STDERR_FILENO) == 1;
  auto m = flowLog ? splitFlowLogs(vm["flow-log"].as<std::vector<std::string>>(), options)
                   : splitCaptures(capturePaths(vm), options);
  if (!m) throw UsageError{m.error().toString()};
  for (const Error& w : m->warnings) std::cerr << "sgsim: warning: " << w.toString() << '\n';
  for (const Error& e : m->errors) std::cerr << "sgsim: " << e.toString() << '\n';
  const std::string counts = shardCounts(*m);
  const char* unit =
      m->flowLog ? (m->span.frames == 1 ? " record" : " records") : (m->span.frames == 1 ? " frame" : " frames");
  const char* input = m->flowLog ? (m->inputs.size() == 1 ? " flow log" : " flow logs")
                                 : (m->inputs.size() == 1 ? " capture" : " captures");
  std::cout << "split " << m->span.frames << unit << " of " << m->inputs.size() << input << " into " << m->shards
            << (m->shards == 1 ? " shard" : " shards") << " (" << counts << ") in " << options.outDir << '\n';
  // A capture that ended on a bad record: the split of what was read is complete, and each shard's run reports the
  // error (exit 2), as the run over the captures does.
  return m->errors.empty() ? kExitOk : kExitUsage;
}

// explain --flow-log F... --record N: the records before record N through the evaluator replay uses, then record N
// with the state it meets (pipeline/explain_evaluation.h). A line that is no record the stream delivers (NODATA,
// SKIPDATA, a bad record, the header, beyond the file) is looked up on its own and said so.
int explainFlowLogRecord(const po::variables_map& vm, Common& c, std::shared_ptr<const Network> before,
                         std::shared_ptr<const Network> after, const ExplainOptions& eo, ExplainRunOptions run,
                         const Applied& applied) {
  const auto paths = vm["flow-log"].as<std::vector<std::string>>();
  const std::string recordText = vm["record"].as<std::string>();
  auto target = parseRecordTarget(recordText, paths);
  if (!target) throw UsageError{target.error().toString()};
  const std::string& path = paths[target->file];
  auto logs = MergedFlowLog::open(paths);
  if (!logs) throw UsageError{logs.error().toString()};
  run.frame = target->line;
  run.file = target->file;
  ExplainEvaluation explain(before, c.requests.empty() ? nullptr : after, std::move(run));
  RecordStream<1> stream(**logs, *before, explain.planner(), streamOptions(vm, false, DecapOptions{}).thread);
  Pass pass(stream, explain);
  while (!explain.done() || target->line == 0) {
    auto more = pass.step();
    if (!more) throw UsageError{more.error().toString()};
    if (!*more) break;
  }
  // The file's records, for the messages (read to its end for that).
  auto drain = [&]() {
    for (;;) {
      auto more = pass.step();
      if (!more || !*more) break;
    }
    const std::optional<Error> refused = pass.finish();
    for (const Error& e : pass.stats().captureErrors) std::cerr << "sgsim: " << e.toString() << '\n';
    if (refused) throw UsageError{refused->toString()};
  };
  auto counts = [&]() {
    const FlowLogReader& r = *(*logs)->readers()[target->file];
    const std::uint64_t all = r.records() + r.noData() + r.skipData() + r.badRecords();
    return std::to_string(all) + (all == 1 ? " record" : " records") + " (" + std::to_string(r.records()) + " OK, " +
           std::to_string(r.noData()) + " NODATA, " + std::to_string(r.skipData()) + " SKIPDATA, " +
           std::to_string(r.badRecords()) + " bad)";
  };
  const std::string named = path + ": --record " + recordText;
  if (explain.done()) {
    FrameFacts facts = explain.facts();
    facts.capture = path;
    facts.files = paths;
    auto text = explainRecord(explain.network(), facts, eo);
    if (!text) {
      drain();
      throw UsageError{text.error().toString() + "; the file holds " + counts()};
    }
    std::cout << issuesText(IssueKind::Warning, c.warnings) << *text;
    return noopGate(vm, applied.noops);
  }
  drain();
  if (target->line == 0)
    throw UsageError{named +
                     ": records are named by their line in the file, from 1 (a CSV flow log's line 1 is its "
                     "header), as replay and the drift rows name them; the file holds " +
                     counts()};
  auto line = readFlowLogLine(path, target->line);
  if (!line) throw UsageError{line.error().toString()};
  const std::string at = path + ": line " + std::to_string(target->line);
  switch (line->kind) {
    case FlowLogLine::Kind::NoData:
    case FlowLogLine::Kind::SkipData:
      std::cout << issuesText(IssueKind::Warning, c.warnings) << explainNoVerdictLine(path, target->line, *line);
      return noopGate(vm, applied.noops);
    case FlowLogLine::Kind::Beyond:
      if (line->lines == 0 && target->line > 0)  // read once already: a pipe gives nothing the second time
        throw UsageError{named + ": the flow log could not be read a second time to look this line up (a pipe?): " +
                         "give it as a file; the records read: " + counts()};
      throw UsageError{named + ": beyond the flow log, which has " + std::to_string(line->lines) +
                       (line->lines == 1 ? " line" : " lines") + " holding " + counts()};
    case FlowLogLine::Kind::Header:
      throw UsageError{at + ": the CSV header, not a record: the records are the lines after it; the file holds " +
                       counts()};
    case FlowLogLine::Kind::Blank:
      throw UsageError{at + ": an empty line, not a record; the file holds " + counts()};
    case FlowLogLine::Kind::Bad:
      throw UsageError{at + ": a bad record, skipped by every report: " + line->why + "; the file holds " + counts()};
    case FlowLogLine::Kind::Record:
      break;
  }
  throw UsageError{named + ": the flow log could be read only up to an error before this line (see the error above); " +
                   "the records read: " + counts()};
}

int cmdExplain(int argc, char** argv) {
  po::options_description d("explain options");
  d.add_options()("help,h", "this help");
  addCommon(d);
  addRequests(d);
  d.add_options()("direction", po::value<std::string>()->default_value("auto"), "auto, ingress or egress")(
      "capture", po::value<std::string>(), "explain a real frame of this pcap or pcapng file (with --frame)")(
      "frame", po::value<std::string>(), "the frame's number, from 1 as tcpdump and Wireshark number them")(
      "at", po::value<std::string>(),
      "with --capture or --flow-log and requests: apply them at this instant (+SECONDS, @EPOCH or RFC 3339), as whatif "
      "--at")("keep-established", "with --at: connections live at the instant survive the change")(
      "at-outside-capture", "with --at: accept an instant before the capture's first frame")(
      "max-flows", po::value<std::size_t>(), "cap on live tracked flows (default 4000000)")(
      "threads", po::value<unsigned>()->default_value(2),
      "with --capture: 2 reads the capture on a second thread, 1 on this one")(
      "flow-log", po::value<std::vector<std::string>>()->composing(),
      "explain a record of this VPC flow log (with --record; repeatable: the logs are merged as replay merges them)")(
      "record", po::value<std::string>(),
      "the record's line in its file, as replay and the drift rows name it: N, or FILE:N with several flow logs")(
      "decap", po::value<std::string>(),
      "with --capture: vxlan[:PORT]: explain the frame inside a VXLAN packet to UDP PORT (default 4789), as replay "
      "--decap evaluates it")(
      "mirror", po::value<std::vector<std::string>>()->composing(),
      "VNI=ENI: with --decap, check the inner packets of this mirror session's VNI at the interface it copies")(
      "packet", po::value<std::vector<std::string>>(),
      "\"tcp 203.0.113.7:51514 > 10.0.0.5:22\", or a line of `tcpdump -n`");
  po::positional_options_description pos;
  pos.add("packet", -1);
  const Parsed p = parseCommand(argc, argv, d, &pos);
  const po::variables_map& vm = p.vm;
  if (p.help)
    return printHelp(
               "explain",
               "--model FILE [--host IP] [--direction ingress|egress] [--revoke REQ]... [--authorize REQ]... "
               "(\"PROTO SRC:PORT > DST:PORT\" | \"TCPDUMP LINE\" | (--capture FILE --frame N [--decap vxlan[:PORT] "
               "[--mirror VNI=ENI]...] | --flow-log FILE... "
               "--record [FILE:]LINE) [--at TIME [--keep-established] [--at-outside-capture]])",
               d),
           kExitOk;
  Common c = p.common;
  const bool flowLog = vm.count("flow-log") > 0;
  if (flowLog && vm.count("capture"))
    throw UsageError{"explain takes --capture FILE --frame N or --flow-log FILE --record N, not both"};
  if (flowLog && vm.count("packet")) throw UsageError{"explain takes a packet or --flow-log FILE --record N, not both"};
  if (vm.count("record") && !flowLog) throw UsageError{"--record goes with --flow-log FILE"};
  if (flowLog && vm.count("frame"))
    throw UsageError{"--frame goes with --capture; a flow-log record is named with --record (its line in its file)"};
  if (flowLog && !vm.count("record"))
    throw UsageError{
        "--flow-log needs --record N: the record's line in its file, as replay and the drift rows name "
        "it (FILE:N with several flow logs)"};
  const bool capture = vm.count("capture") > 0;
  if (capture && vm.count("packet")) throw UsageError{"explain takes a packet or --capture FILE --frame N, not both"};
  if (vm.count("frame") && !capture) throw UsageError{"--frame goes with --capture FILE"};
  if (capture && !vm.count("frame"))
    throw UsageError{"--capture needs --frame N (frames are numbered from 1, as tcpdump and Wireshark number them)"};
  if ((vm.count("decap") || vm.count("mirror")) && !capture)
    throw UsageError{std::string(vm.count("decap") ? "--decap" : "--mirror") +
                     " goes with --capture FILE --frame N: it reads VXLAN packets inside a capture" +
                     (flowLog ? "; flow-log records hold no packets to decapsulate" : "")};
  if (vm.count("at") && !capture && !flowLog)
    throw UsageError{"--at goes with --capture FILE --frame N or --flow-log FILE --record N"};
  if (vm.count("at") && c.requests.empty())
    throw UsageError{"--at goes with --revoke or --authorize: it is the instant the change applies"};
  if (vm.count("keep-established") && !vm.count("at")) throw UsageError{"--keep-established goes with --at"};
  if (vm.count("at-outside-capture") && !vm.count("at")) throw UsageError{"--at-outside-capture goes with --at"};
  std::optional<PacketText> packet;
  if (!capture && !flowLog) {
    if (!vm.count("packet"))
      throw UsageError{
          "explain needs a packet: \"tcp 203.0.113.7:51514 > 10.0.0.5:22\", a line of `tcpdump -n`, or "
          "--capture FILE --frame N"};
    std::string spec;
    for (const auto& w : vm["packet"].as<std::vector<std::string>>()) spec += (spec.empty() ? "" : " ") + w;
    auto parsed = parsePacketText(spec);
    if (!parsed) throw UsageError{parsed.error().toString()};
    packet = std::move(*parsed);
  }
  std::optional<TimeSpec> at;
  if (vm.count("at")) {
    auto spec = parseTimeSpec(vm["at"].as<std::string>(), "--at");
    if (!spec) throw UsageError{spec.error().toString()};
    at = std::move(*spec);
  }
  Model model = loadModelOrThrow(c);
  auto before = std::make_shared<const Network>(model);
  const Applied applied = applyRequests(model, c, true);
  auto after = std::make_shared<const Network>(std::move(model));
  ExplainOptions eo;
  EvalOptions ev = evalOptions(vm, *after, c);
  eo.eni = ev.eni;
  if (ev.mode == DirectionMode::Ingress) eo.forced = Direction::Ingress;
  if (ev.mode == DirectionMode::Egress) eo.forced = Direction::Egress;
  if (packet) {
    eo.icmpTypeKnown = packet->icmpTypeKnown;
    eo.notes = packet->notes;
    auto text = explainPacket(*after, packet->key, eo);
    if (!text) throw UsageError{text.error().toString()};
    std::cout << issuesText(IssueKind::Warning, c.warnings) << *text;
    return noopGate(vm, applied.noops);
  }

  if (flowLog) {
    ExplainRunOptions run;
    run.eval = ev;
    run.at = std::move(at);
    run.keepEstablished = vm.count("keep-established") > 0;
    run.atOutsideCapture = vm.count("at-outside-capture") > 0;
    return explainFlowLogRecord(vm, c, before, after, eo, std::move(run), applied);
  }

  // A real frame: frames 1..N-1 through the evaluator replay uses, then frame N with the state it meets.
  const std::string path = vm["capture"].as<std::string>();
  // Parsed here rather than by program_options, which reads "-1" as 2^64-1.
  const std::string frameText = vm["frame"].as<std::string>();
  const auto frameNumber = parseInt(frameText);
  if (!frameNumber)
    throw UsageError{"--frame: \"" + frameText +
                     "\" is not a frame number (frames are numbered from 1, as tcpdump and Wireshark number them)"};
  const std::uint64_t frame = *frameNumber < 1 ? 0 : static_cast<std::uint64_t>(*frameNumber);
  DecapOptions decap = decapOptions(vm, *before, ev);
  auto cap = openCapturesOrThrow({path});
  ExplainRunOptions run;
  run.frame = frame;
  run.eval = ev;
  run.at = std::move(at);
  run.keepEstablished = vm.count("keep-established") > 0;
  run.atOutsideCapture = vm.count("at-outside-capture") > 0;
  ExplainEvaluation explain(before, c.requests.empty() ? nullptr : after, std::move(run));
  CaptureStream<1> stream(*cap, explain.planner(), streamOptions(vm, explain.wantsFrameBytes(), std::move(decap)));
  Pass pass(stream, explain);
  // Read until frame N (all of the capture when it has no frame N: its frames are then counted for the message).
  while (!explain.done() || frame == 0) {
    auto more = pass.step();
    if (!more) throw UsageError{more.error().toString()};
    if (!*more) break;
  }
  if (!explain.done()) {
    const std::optional<Error> refused = pass.finish();
    const ReplayStats& stats = pass.stats();
    for (const Error& e : stats.captureErrors) std::cerr << "sgsim: " << e.toString() << '\n';
    if (refused) throw UsageError{refused->toString()};
    const std::string count = std::to_string(stats.frames) + (stats.frames == 1 ? " frame" : " frames");
    if (frame == 0)
      throw UsageError{path + ": --frame " + frameText +
                       ": frames are numbered from 1, as tcpdump and Wireshark number them; the capture has " + count};
    if (!stats.captureErrors.empty())
      throw UsageError{path + ": --frame " + std::to_string(frame) + ": the capture could be read only to frame " +
                       std::to_string(stats.frames) + " (see the error above)"};
    throw UsageError{path + ": --frame " + std::to_string(frame) + ": beyond the capture, which has " + count +
                     (stats.frames > 0 ? " (1 to " + std::to_string(stats.frames) + ")" : "")};
  }
  FrameFacts facts = explain.facts();
  facts.capture = path;
  auto text = explainFrame(explain.network(), facts, eo);
  if (!text) {
    // A frame explain cannot walk: the message says how many frames the capture has (read to its end for that).
    for (;;) {
      auto more = pass.step();
      if (!more || !*more) break;
    }
    (void)pass.finish();
    const std::uint64_t n = pass.stats().frames;
    throw UsageError{text.error().toString() + "; the capture has " + std::to_string(n) +
                     (n == 1 ? " frame" : " frames")};
  }
  std::cout << issuesText(IssueKind::Warning, c.warnings) << *text;
  return noopGate(vm, applied.noops);
}

// sgsim merge (issue 13): the shards' JSON reports into the unsharded run's (report/merge.h holds the rules).
int cmdMerge(int argc, char** argv) {
  po::options_description d("merge options");
  d.add_options()("help,h", "this help")("format,f", po::value<std::string>()->default_value("json"),
                                         "json (the merged report, as the unsharded run prints it)")(
      "sort", po::value<std::string>()->default_value("impact"), "audit: the --sort the audits ran with")(
      "partial", "merge some of the shards: the result keeps a \"shard\" member listing them, to merge later")(
      "fail-on-change", "whatif: exit 3 when the merged report has a changed flow, as whatif --fail-on-change")(
      "limit", po::value<std::size_t>(), "not taken: JSON reports list every flow (--limit cuts text and HTML)")(
      "report", po::value<std::vector<std::string>>()->composing(), "a shard's JSON report (positional)");
  addOutput(d);
  po::positional_options_description pos;
  pos.add("report", -1);
  const po::variables_map vm = parseArgs(argc, argv, d, &pos, nullptr);
  if (vm.count("help"))
    return printHelp("merge",
                     "[--format json] [--sort impact|rule|hits] [--partial] [--fail-on-change] [--output FILE] "
                     "REPORT.json...",
                     d),
           kExitOk;
  const std::string fmt = vm["format"].as<std::string>();
  if (fmt != "json")
    throw UsageError{"--format: merge prints JSON only, not \"" + fmt +
                     "\" (text, CSV and HTML need the model: run the command unsharded for them)"};
  if (vm.count("limit"))
    throw UsageError{
        "--limit: merge prints JSON, which lists every flow whatever --limit says (whatif's --limit "
        "cuts only text and HTML): leave it out"};
  MergeOptions options;
  options.partial = vm.count("partial") > 0;
  const std::string sortName = vm["sort"].as<std::string>();
  if (sortName == "rule")
    options.sort = AuditSort::Rule;
  else if (sortName == "hits")
    options.sort = AuditSort::Hits;
  else if (sortName != "impact")
    throw UsageError{"--sort: expected impact, rule or hits, not \"" + sortName + "\""};
  if (!vm.count("report")) throw UsageError{"merge needs the JSON reports of the shards (REPORT.json...)"};
  std::vector<ReportFile> files;
  for (const std::string& path : vm["report"].as<std::vector<std::string>>()) {
    struct stat st {};
    const bool known = ::stat(path.c_str(), &st) == 0;
    if (known && S_ISDIR(st.st_mode))
      throw UsageError{path + ": is a directory, not a report (give the JSON reports of the shards)"};
    // A regular file is read mapped, where the page cache holds it: read into memory, the reports' text was the
    // kernel zeroing pages before it was a copy (merging fl3m's two reports of 27 MB each).
    if (known && S_ISREG(st.st_mode)) {
      auto mapped = MappedFile::open(path, "not a regular file");
      if (!mapped) throw UsageError{mapped.error().toString()};
      files.push_back(ReportFile{path, "", std::move(*mapped)});
      continue;
    }
    std::ifstream in(path, std::ios::binary);  // a pipe
    if (!in) throw UsageError{path + ": cannot read (" + std::strerror(errno) + ")"};
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw UsageError{path + ": cannot read (" + std::strerror(errno) + ")"};
    files.push_back(ReportFile{path, std::move(text).str(), nullptr});
  }
  auto outFile = openOutput(vm);
  auto merged = mergeReports(files, options);
  for (const ReportFile& f : files)  // what was read of it past its new end was zeros
    if (f.mapped && f.mapped->cutShort()) throw UsageError{f.name + ": cut short while it was read"};
  if (!merged) throw UsageError{merged.error().toString()};
  if (vm.count("fail-on-change") && merged->kind != ReportKind::WhatIf)
    throw UsageError{std::string("--fail-on-change: the reports are ") + toString(merged->kind) +
                     " reports; it goes with whatif's"};
  for (const Error& w : merged->notes) std::cerr << "sgsim: warning: " << w.toString() << '\n';
  emitReport(outFile, merged->json, "\n");
  if (vm.count("fail-on-change") && merged->changedFlows > 0) return kExitChanged;
  return kExitOk;
}

int run(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kTopUsage;
    return kExitUsage;
  }
  const std::string cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    std::cout << kTopUsage;
    return kExitOk;
  }
  if (cmd == "--version") {
    std::cout << "sgsim " << SGSIM_VERSION << '\n';
    return kExitOk;
  }
  // Each command parses argv[1..] (its own name stands in for the program name).
  int subArgc = argc - 1;
  char** subArgv = argv + 1;
  if (cmd == "show") return cmdShow(subArgc, subArgv);
  if (cmd == "revoke") return cmdApi(subArgc, subArgv, true);
  if (cmd == "authorize") return cmdApi(subArgc, subArgv, false);
  if (cmd == "replay") return cmdReplay(subArgc, subArgv);
  if (cmd == "whatif") return cmdWhatIf(subArgc, subArgv);
  if (cmd == "audit") return cmdAudit(subArgc, subArgv);
  if (cmd == "explain") return cmdExplain(subArgc, subArgv);
  if (cmd == "split") return cmdSplit(subArgc, subArgv);
  if (cmd == "merge") return cmdMerge(subArgc, subArgv);
  std::cerr << "sgsim: unknown command \"" << cmd << "\"\n\n" << kTopUsage;
  return kExitUsage;
}

}  // namespace
}  // namespace sgsim

int main(int argc, char** argv) {
  using namespace sgsim;
  std::signal(SIGPIPE, SIG_IGN);  // a reader that closed its end is EPIPE from write(), handled below
  CheckedStdout stdoutChecked;
  const int rc = [&] {
    try {
      return run(argc, argv);
    } catch (const UsageError& e) {
      std::cerr << "sgsim: " << e.message << '\n';
      return kExitUsage;
    } catch (const StdoutFailed&) {
      return kExitUsage;  // reported below
    } catch (const ApiFailure& f) {
      std::cout << f.body << '\n';
      std::cerr << "sgsim: request " << f.source << " was rejected:\n" << f.report;
      return kExitApiError;
    } catch (const po::error& e) {
      std::cerr << "sgsim: " << e.what() << " (see `sgsim " << (argc > 1 ? argv[1] : "") << " --help`)\n";
      return kExitUsage;
    } catch (const std::exception& e) {
      std::cerr << "sgsim: internal error: " << e.what() << '\n';
      return kExitInternal;
    }
  }();
  // Output that did not reach standard output makes the run fail (exit 2), whatever it found, with one line
  // (issue 8): a reader that closed its end early (`sgsim … | head`) stops the run at the next write, and the
  // line says the output is incomplete rather than a storm of errors.
  if (auto err = stdoutChecked.finish()) {
    if (stdoutChecked.readerClosed())
      std::cerr << "sgsim: standard output was closed by its reader; output stopped early\n";
    else
      std::cerr << "sgsim: " << err->toString() << '\n';
    return rc == kExitInternal ? rc : kExitUsage;
  }
  return rc;
}
