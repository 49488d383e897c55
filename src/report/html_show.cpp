// `show --format html`: each interface's tables in evaluation order, built from show's own JSON document (whose
// structures are private to show.cpp), so that the page and `show --format json` cannot disagree (report/html.h).

#include <boost/json.hpp>

#include "html_page.h"
#include "sgsim/report/html.h"
#include "sgsim/report/show.h"

namespace sgsim {

namespace json = boost::json;

namespace {

std::string str(const json::object& o, const char* k) {
  const json::value* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string peerText(const json::object& peer) {
  const std::string kind = str(peer, "kind");
  if (kind == "cidr") return str(peer, "cidr");
  if (kind == "group") return "group " + str(peer, "groupId");
  if (kind == "prefix-list") return "prefix list " + str(peer, "prefixListId");
  return kind;
}

html::Table tableOf(const json::object& eni, const json::object& dir) {
  html::Table t;
  t.eni = str(eni, "eni");
  t.direction = str(dir, "direction");
  std::string groups;
  for (const auto& g : eni.at("groups").as_array()) groups += (groups.empty() ? "" : ", ") + str(g.as_object(), "id");
  const std::string type = str(eni, "groupType");
  t.heading =
      t.eni + " " + t.direction + " (" + (type == "enterprise" ? "enterprise" : "basic") + " groups: " + groups + ")";
  const json::array& entries = dir.at("entries").as_array();
  auto ruleAt = [&](std::int64_t rank) {
    for (const auto& e : entries) {
      const json::object& o = e.as_object();
      if (o.at("rank").to_number<std::int64_t>() == rank)
        return str(o, "ruleId").empty() ? "#" + std::to_string(rank) : str(o, "ruleId");
    }
    return "#" + std::to_string(rank);
  };
  for (const auto& v : entries) {
    const json::object& o = v.as_object();
    html::Entry e;
    e.kind = str(o, "kind");
    e.rank = static_cast<int>(o.at("rank").to_number<std::int64_t>());
    e.policy = str(o, "policy");
    e.groupId = str(o, "group");
    e.note = str(o, "note");
    if (e.kind == "intra-group") {
      e.priority = "-";
      e.what = "members of " + e.groupId + " (checked before any custom rule)";
    } else if (e.kind == "default") {
      e.priority = "-";
      e.what = "anything else (implicit default)";
      e.note = str(o, "note");
    } else {
      e.ruleId = str(o, "ruleId");
      e.priority = std::to_string(o.at("priority").to_number<std::int64_t>());
      std::string ports = str(o, "portRange");
      if (ports.empty()) ports = "ports " + str(o, "portRangeListId");
      e.what = str(o, "protocol") + " " + ports + (t.direction == "ingress" ? " from " : " to ") +
               peerText(o.at("peer").as_object());
      if (!str(o, "sourcePortRange").empty()) e.what += " sport " + str(o, "sourcePortRange");
      if (!str(o, "narrowing").empty()) e.what += " at " + str(o, "narrowing");
      e.description = str(o, "description");
      if (const json::value* by = o.if_contains("shadowedBy"); by && !by->is_null())
        e.shadowedBy.push_back(ruleAt(by->to_number<std::int64_t>()));
      e.note.clear();
      auto addNote = [&](const std::string& n) { e.note += (e.note.empty() ? "" : "; ") + n; };
      if (o.if_contains("narrowingMissesEni")) addNote("narrowing matches no address of this ENI");
      if (const json::value* to = o.if_contains("tieLosesTo"))
        addNote("tie: " + ruleAt(to->to_number<std::int64_t>()) + " (drop, same priority) decides where both match");
      if (const json::value* beats = o.if_contains("tieBeats")) {
        std::string ids;
        for (const auto& r : beats->as_array()) ids += (ids.empty() ? "" : ", ") + ruleAt(r.to_number<std::int64_t>());
        addNote("tie: decides before " + ids + " (accept, same priority) where both match");
      }
    }
    t.entries.push_back(std::move(e));
  }
  for (const auto& n : dir.at("notes").as_array()) t.notes.push_back(std::string(n.as_string()));
  return t;
}

std::string referencesHtml(const json::array& refs) {
  if (refs.empty()) return "";
  std::string s = "<ul class=\"references\">\n";
  for (const auto& v : refs) {
    const json::object& r = v.as_object();
    const std::string kind = str(r, "kind");
    const bool in = r.at("inModel").as_bool();
    std::string what;
    if (kind == "group") {
      for (const auto& m : r.at("members").as_array()) {
        std::string addrs;
        for (const auto& a : m.as_object().at("addresses").as_array())
          addrs += (addrs.empty() ? "" : ", ") + std::string(a.as_string());
        what += (what.empty() ? "" : "; ") + str(m.as_object(), "eni") + " (" + addrs + ")";
      }
      if (what.empty()) what = in ? "no ENI in the model: matches no address" : "not in the model: matches no address";
    } else {
      for (const auto& x : r.at("entries").as_array()) what += (what.empty() ? "" : ", ") + std::string(x.as_string());
      if (!in) what = std::string("not in the model: matches no ") + (kind == "prefix-list" ? "address" : "port");
    }
    s += std::string("<li") + (in ? "" : " class=\"missing\" style=\"color:#c0392b\"") + " data-reference=\"" +
         htmlEscape(str(r, "id")) + "\" data-in-model=\"" + (in ? "true" : "false") + "\"><span class=\"mono\">" +
         htmlEscape(kind + " " + str(r, "id")) + "</span>: " + htmlEscape(what) + "</li>\n";
  }
  return s + "</ul>\n";
}

}  // namespace

Result<std::string> renderShowHtml(const Model& model, const std::optional<std::string>& eniId,
                                   const std::vector<Error>& warnings) {
  auto doc = renderShowJson(model, eniId, warnings);
  if (!doc) return doc.error();
  const json::value root = json::parse(*doc);
  const json::object& r = root.as_object();
  html::Page page(eniId ? "Rule tables of " + *eniId : "Rule tables of " + model.source.name);
  page.add(html::para(str(r, "order"), "lead"));
  page.add(html::issues(warnings, {}));
  const json::array& enis = r.at("enis").as_array();
  if (enis.empty()) page.add(html::para("The model has no network interfaces: no rule is evaluated anywhere."));
  for (const auto& v : enis) {
    const json::object& e = v.as_object();
    std::string addrs;
    for (const auto& a : e.at("addresses").as_array())
      addrs += (addrs.empty() ? "" : ", ") + std::string(a.as_string());
    page.add(html::heading("ENI " + str(e, "eni") + " (" + addrs + ")"));
    std::vector<html::Table> list;
    for (const auto& d : e.at("directions").as_array()) list.push_back(tableOf(e, d.as_object()));
    page.add(html::tables({}, list));
    const std::string refs = referencesHtml(e.at("references").as_array());
    if (!refs.empty()) page.add("<h3>where</h3>\n" + refs);
  }
  if (const json::value* loose = r.if_contains("unattachedGroups"); loose && !loose->as_array().empty()) {
    std::string ids;
    for (const auto& g : loose->as_array()) ids += (ids.empty() ? "" : ", ") + std::string(g.as_string());
    page.add(html::para("Groups on no ENI (their rules are never evaluated): " + ids, "note"));
  }
  return page.finish(json::serialize(root));
}

}  // namespace sgsim
