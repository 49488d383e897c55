#pragma once
// What the loader took as a default because the user's document did not say it (SEMANTICS §1: an empty string is
// an absent field), so that `explain` and `show` can say so instead of assuming silently (issue 12): a group
// without SecurityGroupType is basic, a basic group without InnerAccessPolicy accepts its members, NicType
// internet is read as intranet, and a bare DescribeSecurityGroupAttribute document becomes one interface.
// Read from Model::source.document; a model built in code has no document and assumes nothing.

#include <string>
#include <vector>

#include "sgsim/model/model.h"

namespace sgsim {

struct ModelAssumption {
  std::string groupId;  // the group it is about ("" for the model as a whole)
  std::string text;     // "SecurityGroupType is not given: taken as basic (normal)"
};

std::vector<ModelAssumption> modelAssumptions(const Model& model);

}  // namespace sgsim
