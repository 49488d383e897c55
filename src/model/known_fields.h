#pragma once
// The keys a model document may hold, object kind by object kind, and the pass that finds every other key
// (docs/MODEL_FORMAT.md "Fields"). Kept apart from the loader, which reads the keys it needs and ignores the
// rest: a key the loader does not read is either documented (a field of a Describe* response sgsim does not use,
// kept on write) or unknown, and an unknown key is most often a typo that would silently become a default.

#include <boost/json/value.hpp>
#include <string>
#include <vector>

namespace sgsim::detail {

struct FieldNote {
  enum class Kind {
    Unknown,     // no documented response and no sgsim field has this key
    NotModeled,  // a documented field whose meaning sgsim does not model (said, not refused)
  };
  Kind kind = Kind::Unknown;
  std::string path;     // JSON path in the document ("SecurityGroups[0].Permissions.Permission[2].Polcy")
  std::string message;  // "unknown field (did you mean \"Policy\"?)"
};

// Walks the document the way the loader reads it (a full model, or a bare DescribeSecurityGroupAttribute
// document when it has "SecurityGroupId" and no "SecurityGroups") and lists, in document order, every key that
// is not known for its kind of object, and the known fields sgsim reads but does not model. Shapes the loader
// refuses (a list that is neither an array nor its wrapper object, an item that is not an object) are skipped:
// the loader reports them.
std::vector<FieldNote> checkFields(const boost::json::value& document);

}  // namespace sgsim::detail
