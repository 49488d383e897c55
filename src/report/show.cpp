#include "sgsim/report/show.h"

#include <algorithm>
#include <boost/json.hpp>
#include <vector>

#include "sgsim/model/assumptions.h"
#include "sgsim/model/describe.h"
#include "sgsim/model/model_json.h"
#include "sgsim/model/order.h"
#include "sgsim/report/issues.h"

namespace sgsim {

namespace json = boost::json;

namespace {

constexpr const char* kOrderText =
    "Evaluation order: intra-group accept first (basic groups with InnerAccessPolicy Accept); then the custom "
    "rules of all the ENI's groups together: priority 1..100 ascending, drop before accept at equal priority, "
    "then group order on the ENI, then rule order; the first match decides; no match: the implicit default.";

struct Entry {
  enum class Kind { Rule, IntraGroup, Default };
  Kind kind = Kind::Rule;
  int rank = 0;  // 1-based position in the evaluation
  Policy policy = Policy::Accept;
  const SecurityGroup* group = nullptr;  // Rule, IntraGroup
  const Rule* rule = nullptr;            // Rule
  int shadowedBy = 0;                    // rank of an earlier rule covering this one; 0 = none proven
  int tieLosesTo = 0;                    // accept: rank of a drop rule of the same priority overlapping it
  std::vector<int> tieBeats;             // drop: ranks of the accept rules of its priority it overlaps
  bool missesEni = false;                // the narrowing contains none of the ENI's addresses
  bool peerMissing = false;              // a group peer the model lacks: the rule matches nothing
};

struct Table {
  Direction direction = Direction::Ingress;
  std::vector<Entry> entries;
  std::vector<std::string> notes;
};

// What a group, prefix-list or port-list id in the tables stands for, so that a reader sees why a rule matches.
struct Reference {
  enum class Kind { Group, PrefixList, PortRangeList };
  Kind kind = Kind::Group;
  std::string id;
  bool inModel = false;
  std::vector<const Eni*> members;  // Group
  std::vector<std::string> values;  // PrefixList: CIDRs; PortRangeList: ranges
};

struct EniView {
  const Eni* eni = nullptr;
  GroupType type = GroupType::Normal;
  std::vector<Table> tables;  // ingress, egress
  std::vector<Reference> references;
};

bool rangeCovers(const PortRange& outer, const PortRange& inner) {
  return outer.low() <= inner.low() && inner.high() <= outer.high();
}

// Whether every packet `later` matches is matched by `earlier` too. Only the simple, provable case: CIDR peers
// and explicit port ranges; anything else (groups, prefix lists, port lists) answers false.
bool covers(const Rule& earlier, const Rule& later) {
  if (earlier.peer.kind != Peer::Kind::Cidr || later.peer.kind != Peer::Kind::Cidr) return false;
  if (!earlier.peer.cidr.contains(later.peer.cidr)) return false;  // contains() also compares the family
  if (earlier.protocol != Protocol::All && earlier.protocol != later.protocol) return false;
  if (!earlier.portRange || !later.portRange || !rangeCovers(*earlier.portRange, *later.portRange)) return false;
  if (earlier.sourcePortRange && !earlier.sourcePortRange->isAny() &&
      (!later.sourcePortRange || !rangeCovers(*earlier.sourcePortRange, *later.sourcePortRange)))
    return false;
  if (earlier.local && (!later.local || !earlier.local->contains(*later.local))) return false;
  return true;
}

bool rangesMeet(const PortRange& a, const PortRange& b) { return a.low() <= b.high() && b.low() <= a.high(); }

bool cidrsMeet(const Cidr& a, const Cidr& b) { return a.contains(b) || b.contains(a); }

// Whether some packet matches both rules (a tie when their priorities are equal and their policies differ). Only
// the simple, provable case, as covers(): CIDR peers and explicit port ranges; anything else answers false.
bool overlaps(const Rule& a, const Rule& b) {
  if (a.peer.kind != Peer::Kind::Cidr || b.peer.kind != Peer::Kind::Cidr) return false;
  if (!cidrsMeet(a.peer.cidr, b.peer.cidr)) return false;  // contains() also compares the family
  if (a.protocol != Protocol::All && b.protocol != Protocol::All && a.protocol != b.protocol) return false;
  if (!a.portRange || !b.portRange || !rangesMeet(*a.portRange, *b.portRange)) return false;
  if (a.sourcePortRange && b.sourcePortRange && !rangesMeet(*a.sourcePortRange, *b.sourcePortRange)) return false;
  if (a.local && b.local && !cidrsMeet(*a.local, *b.local)) return false;
  return true;
}

bool narrowingMissesEni(const Rule& r, const Eni& eni) {
  if (!r.local) return false;
  return std::none_of(eni.addresses.begin(), eni.addresses.end(),
                      [&](const IpAddr& a) { return r.local->contains(a); });
}

Table buildTable(const Model& model, const Eni& eni, GroupType type, Direction direction) {
  Table t;
  t.direction = direction;
  int rank = 0;
  // SEMANTICS §3 step 4: only basic groups have an intra-group policy; enterprise members are isolated.
  if (type == GroupType::Normal) {
    for (const auto& id : eni.groupIds) {
      const SecurityGroup* g = model.findGroup(id);
      if (g == nullptr) continue;
      if (g->innerAccessPolicy == Policy::Accept) {
        Entry e;
        e.kind = Entry::Kind::IntraGroup;
        e.rank = ++rank;
        e.group = g;
        t.entries.push_back(e);
      } else {
        t.notes.push_back("members of " + g->id +
                          " are treated as strangers (InnerAccessPolicy Drop): the custom rules and the default "
                          "decide their traffic");
      }
    }
  }
  const std::size_t firstRule = t.entries.size();
  for (const OrderedRule& o : evaluationOrder(model, eni, direction)) {
    Entry e;
    e.kind = Entry::Kind::Rule;
    e.rank = ++rank;
    e.policy = o.rule->policy;
    e.group = o.group;
    e.rule = o.rule;
    e.missesEni = narrowingMissesEni(*o.rule, eni);
    e.peerMissing = o.rule->peer.kind == Peer::Kind::Group && model.findGroup(o.rule->peer.groupId) == nullptr;
    for (std::size_t i = firstRule; i < t.entries.size(); ++i) {
      if (covers(*t.entries[i].rule, *o.rule)) {
        e.shadowedBy = t.entries[i].rank;
        break;
      }
    }
    // Drop comes before accept at equal priority: an accept rule meeting such a drop rule loses where both match.
    // (A shadowed rule decides nothing: its note says so, and it is nobody's tie.)
    for (std::size_t i = firstRule; i < t.entries.size() && e.policy == Policy::Accept && e.shadowedBy == 0; ++i) {
      Entry& earlier = t.entries[i];
      if (earlier.rule->priority != o.rule->priority || earlier.policy != Policy::Drop) continue;
      if (earlier.shadowedBy > 0 || !overlaps(*earlier.rule, *o.rule)) continue;
      e.tieLosesTo = earlier.rank;
      earlier.tieBeats.push_back(e.rank);
      break;
    }
    t.entries.push_back(e);
  }
  Entry d;
  d.kind = Entry::Kind::Default;
  d.rank = ++rank;
  d.policy = (type == GroupType::Normal && direction == Direction::Egress) ? Policy::Accept : Policy::Drop;
  t.entries.push_back(d);
  return t;
}

void addReference(const Model& model, Reference::Kind kind, const std::string& id, std::vector<Reference>& out) {
  if (id.empty()) return;
  for (const auto& r : out)
    if (r.kind == kind && r.id == id) return;
  Reference ref;
  ref.kind = kind;
  ref.id = id;
  switch (kind) {
    case Reference::Kind::Group:
      ref.inModel = model.findGroup(id) != nullptr;
      ref.members = model.membersOf(id);
      break;
    case Reference::Kind::PrefixList:
      if (const PrefixList* pl = model.findPrefixList(id)) {
        ref.inModel = true;
        for (const auto& c : pl->entries) ref.values.push_back(c.toString());
      }
      break;
    case Reference::Kind::PortRangeList:
      if (const PortRangeList* prl = model.findPortRangeList(id)) {
        ref.inModel = true;
        for (const auto& p : prl->entries) ref.values.push_back(p.toString());
      }
      break;
  }
  out.push_back(std::move(ref));
}

std::vector<Reference> referencesOf(const Model& model, const std::vector<Table>& tables) {
  std::vector<Reference> out;
  for (const Table& t : tables)
    for (const Entry& e : t.entries) {
      if (e.kind == Entry::Kind::IntraGroup) addReference(model, Reference::Kind::Group, e.group->id, out);
      if (e.rule == nullptr) continue;
      if (e.rule->peer.kind == Peer::Kind::Group)
        addReference(model, Reference::Kind::Group, e.rule->peer.groupId, out);
      if (e.rule->peer.kind == Peer::Kind::PrefixList)
        addReference(model, Reference::Kind::PrefixList, e.rule->peer.prefixListId, out);
      addReference(model, Reference::Kind::PortRangeList, e.rule->portRangeListId, out);
    }
  return out;
}

Result<std::vector<EniView>> buildViews(const Model& model, const std::optional<std::string>& eniId) {
  std::vector<const Eni*> enis;
  if (eniId) {
    const Eni* e = model.findEni(*eniId);
    if (e == nullptr) {
      std::string known;
      for (const auto& x : model.enis) known += (known.empty() ? "" : ", ") + x.id;
      return Error{*eniId, "no such ENI in the model; known ENIs: " + (known.empty() ? "none" : known)};
    }
    enis.push_back(e);
  } else {
    for (const auto& e : model.enis) enis.push_back(&e);
  }
  std::vector<EniView> views;
  for (const Eni* e : enis) {
    EniView v;
    v.eni = e;
    // The loader guarantees one type per ENI; a hand-built model falls back to the basic defaults.
    for (const auto& id : e->groupIds)
      if (const SecurityGroup* g = model.findGroup(id)) {
        v.type = g->type;
        break;
      }
    for (Direction d : {Direction::Ingress, Direction::Egress}) v.tables.push_back(buildTable(model, *e, v.type, d));
    v.references = referencesOf(model, v.tables);
    views.push_back(std::move(v));
  }
  return views;
}

std::vector<std::string> unattachedGroups(const Model& model) {
  std::vector<std::string> out;
  for (const auto& g : model.groups)
    if (model.membersOf(g.id).empty()) out.push_back(g.id);
  return out;
}

std::string defaultReason(GroupType type, Direction d) {
  const bool accept = type == GroupType::Normal && d == Direction::Egress;
  return std::string(type == GroupType::Normal ? "basic" : "enterprise") + " groups " + (accept ? "allow " : "deny ") +
         toString(d) + " by default";
}

std::string joined(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& x : items) s += (s.empty() ? "" : ", ") + x;
  return s;
}

std::string portsText(const Rule& r) {
  std::string s = describePorts(r);
  if (r.sourcePortRange) s += " (src " + r.sourcePortRange->toString() + ")";
  return s;
}

std::string entryNote(const Entry& e, Direction d, GroupType type) {
  switch (e.kind) {
    case Entry::Kind::IntraGroup:
      return "intra-group, evaluated before custom rules";
    case Entry::Kind::Default:
      return "implicit default: " + defaultReason(type, d);
    case Entry::Kind::Rule:
      break;
  }
  std::string note;
  if (e.shadowedBy > 0) note = "shadowed by #" + std::to_string(e.shadowedBy);
  if (e.tieLosesTo > 0)
    note = "tie: #" + std::to_string(e.tieLosesTo) + " (drop, same priority) decides where both match";
  if (!e.tieBeats.empty()) {
    std::string ranks;
    for (int r : e.tieBeats) ranks += (ranks.empty() ? "#" : ", #") + std::to_string(r);
    note += std::string(note.empty() ? "" : "; ") + "tie: decides before " + ranks +
            " (accept, same priority) where both match";
  }
  if (e.missesEni) note += (note.empty() ? "" : "; ") + std::string("narrowing matches no address of this ENI");
  if (e.peerMissing)
    note += (note.empty() ? "" : "; ") + std::string("peer group not in the model: matches nothing (see where)");
  return note;
}

std::vector<std::string> textRow(const Entry& e, Direction d, GroupType type) {
  const std::string note = entryNote(e, d, type);
  if (e.kind == Entry::Kind::IntraGroup)
    return {"#" + std::to_string(e.rank), "-", "accept",    "all", "all",
            "members of " + e.group->id,  "-", e.group->id, "-",   note};
  if (e.kind == Entry::Kind::Default)
    return {"#" + std::to_string(e.rank), "-", toString(e.policy), "all", "all", "anything else", "-", "-", "-", note};
  const Rule& r = *e.rule;
  return {"#" + std::to_string(e.rank),
          std::to_string(r.priority),
          toString(r.policy),
          toString(r.protocol, e.group->product),
          portsText(r),
          describePeer(r.peer),
          r.local ? r.local->toString() : "-",
          e.group->id,
          r.id,
          note};
}

void appendTable(std::string& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], row[i].size());
    }
  for (const auto& row : rows) {
    std::string line = "    ";
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
}

json::object entryJson(const Entry& e, Direction d, GroupType type, const Model& model) {
  json::object o;
  o["rank"] = e.rank;
  switch (e.kind) {
    case Entry::Kind::IntraGroup: {
      o["kind"] = "intra-group";
      o["policy"] = "accept";
      o["group"] = e.group->id;
      json::array members;
      for (const Eni* m : model.membersOf(e.group->id)) members.push_back(json::string(m->id));
      o["members"] = std::move(members);
      o["note"] = entryNote(e, d, type);
      return o;
    }
    case Entry::Kind::Default:
      o["kind"] = "default";
      o["policy"] = toString(e.policy);
      o["note"] = entryNote(e, d, type);
      return o;
    case Entry::Kind::Rule:
      break;
  }
  const Rule& r = *e.rule;
  o["kind"] = "rule";
  o["ruleId"] = r.id;
  o["group"] = e.group->id;
  o["priority"] = r.priority;
  o["policy"] = toString(r.policy);
  o["protocol"] = toString(r.protocol, e.group->product);
  if (r.portRange) o["portRange"] = r.portRange->toString();
  if (!r.portRangeListId.empty()) o["portRangeListId"] = r.portRangeListId;
  if (r.sourcePortRange) o["sourcePortRange"] = r.sourcePortRange->toString();
  json::object peer;
  switch (r.peer.kind) {
    case Peer::Kind::Cidr:
      peer = {{"kind", "cidr"}, {"cidr", r.peer.cidr.toString()}};
      break;
    case Peer::Kind::Group:
      peer = {{"kind", "group"}, {"groupId", r.peer.groupId}};
      break;
    case Peer::Kind::PrefixList:
      peer = {{"kind", "prefix-list"}, {"prefixListId", r.peer.prefixListId}};
      break;
  }
  o["peer"] = std::move(peer);
  o["narrowing"] = r.local ? json::value(r.local->toString()) : json::value(nullptr);
  if (!r.description.empty()) o["description"] = r.description;
  o["summary"] = describeRule(r, e.group->product);
  o["shadowedBy"] = e.shadowedBy > 0 ? json::value(e.shadowedBy) : json::value(nullptr);
  if (e.tieLosesTo > 0) o["tieLosesTo"] = e.tieLosesTo;
  if (!e.tieBeats.empty()) {
    json::array beats;
    for (int r : e.tieBeats) beats.push_back(r);
    o["tieBeats"] = std::move(beats);
  }
  if (e.missesEni) o["narrowingMissesEni"] = true;
  if (e.peerMissing) o["peerMissing"] = true;
  return o;
}

std::vector<std::string> addressTexts(const Eni& eni) {
  std::vector<std::string> out;
  for (const auto& a : eni.addresses) out.push_back(a.toString());
  return out;
}

std::string referenceText(const Reference& r) {
  switch (r.kind) {
    case Reference::Kind::Group: {
      std::vector<std::string> members;
      for (const Eni* m : r.members) members.push_back(m->id + " (" + joined(addressTexts(*m)) + ")");
      if (!r.inModel)
        return "group " + r.id +
               ": missing from the model, so the rules naming it match no address (the cloud would match its members): "
               "add its DescribeSecurityGroupAttribute under SecurityGroups and its members under NetworkInterfaces";
      return "group " + r.id + ": " + (members.empty() ? "no ENI in the model, matches no address" : joined(members));
    }
    case Reference::Kind::PrefixList:
      return "prefix list " + r.id + ": " + (r.inModel ? joined(r.values) : "not in the model, matches no address");
    case Reference::Kind::PortRangeList:
      return "port list " + r.id + ": " + (r.inModel ? joined(r.values) : "not in the model, matches no port");
  }
  return {};
}

json::object referenceJson(const Reference& r) {
  static constexpr const char* kKinds[] = {"group", "prefix-list", "port-range-list"};
  json::object o{{"kind", kKinds[static_cast<int>(r.kind)]}, {"id", r.id}, {"inModel", r.inModel}};
  if (r.kind == Reference::Kind::Group) {
    json::array members;
    for (const Eni* m : r.members) {
      json::array addresses;
      for (const auto& a : addressTexts(*m)) addresses.push_back(json::string(a));
      members.push_back(json::object{{"eni", m->id}, {"addresses", std::move(addresses)}});
    }
    o["members"] = std::move(members);
  } else {
    json::array values;
    for (const auto& x : r.values) values.push_back(json::string(x));
    o["entries"] = std::move(values);
  }
  return o;
}

}  // namespace

Result<std::string> renderShowText(const Model& model, const std::optional<std::string>& eniId,
                                   const std::vector<Error>& warnings) {
  auto views = buildViews(model, eniId);
  if (!views) return views.error();
  std::string out = std::string(kOrderText) + "\n";
  if (!warnings.empty()) out += "\n" + issuesText(IssueKind::Warning, warnings);
  const auto assumed = modelAssumptions(model);
  if (!assumed.empty()) out += "\n";
  for (const ModelAssumption& a : assumed)
    out += "Assumed: " + (a.groupId.empty() ? "" : a.groupId + ": ") + a.text + "\n";
  if (views->empty()) out += "\nThe model has no network interfaces: no rule is evaluated anywhere.\n";
  for (const EniView& v : *views) {
    out += "\nENI " + v.eni->id + "  " + joined(addressTexts(*v.eni)) + "  groups " + joined(v.eni->groupIds) + " (" +
           (v.type == GroupType::Normal ? "basic" : "enterprise") + ")\n";
    for (const Table& t : v.tables) {
      out += std::string("\n  ") + toString(t.direction) + "\n";
      std::vector<std::vector<std::string>> rows{
          {"#", "prio", "policy", "proto", "ports", "peer", "narrowing", "group", "rule", ""}};
      for (const Entry& e : t.entries) rows.push_back(textRow(e, t.direction, v.type));
      appendTable(out, rows);
      for (const auto& n : t.notes) out += "    note: " + n + "\n";
    }
    if (!v.references.empty()) out += "\n  where\n";
    for (const Reference& r : v.references) out += "    " + referenceText(r) + "\n";
  }
  if (!eniId) {
    const auto loose = unattachedGroups(model);
    if (!loose.empty()) out += "\nGroups on no ENI (their rules are never evaluated): " + joined(loose) + "\n";
  }
  return out;
}

Result<std::string> renderShowJson(const Model& model, const std::optional<std::string>& eniId,
                                   const std::vector<Error>& warnings) {
  auto views = buildViews(model, eniId);
  if (!views) return views.error();
  json::array enis;
  for (const EniView& v : *views) {
    json::object e;
    e["eni"] = v.eni->id;
    json::array addresses, groups, directions;
    for (const auto& a : addressTexts(*v.eni)) addresses.push_back(json::string(a));
    for (const auto& id : v.eni->groupIds) {
      const SecurityGroup* g = model.findGroup(id);
      json::object go{{"id", id}};
      if (g != nullptr) {
        go["type"] = toString(g->type);
        if (g->type == GroupType::Normal) go["innerAccessPolicy"] = toString(g->innerAccessPolicy);
      }
      groups.push_back(std::move(go));
    }
    for (const Table& t : v.tables) {
      json::array entries, notes;
      for (const Entry& en : t.entries) entries.push_back(entryJson(en, t.direction, v.type, model));
      for (const auto& n : t.notes) notes.push_back(json::string(n));
      directions.push_back(json::object{
          {"direction", toString(t.direction)}, {"entries", std::move(entries)}, {"notes", std::move(notes)}});
    }
    e["addresses"] = std::move(addresses);
    e["groups"] = std::move(groups);
    e["groupType"] = toString(v.type);
    e["directions"] = std::move(directions);
    json::array references;
    for (const Reference& r : v.references) references.push_back(referenceJson(r));
    e["references"] = std::move(references);
    enis.push_back(std::move(e));
  }
  json::array assumptions;
  for (const ModelAssumption& a : modelAssumptions(model))
    assumptions.push_back(
        json::object{{"group", a.groupId.empty() ? json::value(nullptr) : json::value(a.groupId)}, {"text", a.text}});
  json::object root{{"order", kOrderText}, {"warnings", issuesJson(warnings)}, {"enis", std::move(enis)}};
  root["assumptions"] = std::move(assumptions);
  if (!eniId) {
    json::array loose;
    for (const auto& id : unattachedGroups(model)) loose.push_back(json::string(id));
    root["unattachedGroups"] = std::move(loose);
  }
  return toPrettyJson(root);
}

}  // namespace sgsim
