#pragma once
// Every API error the request engine can answer, in ONE X-macro list: enum name, the API's Code string,
// HTTP status and message, spelled exactly as the pages spell them (typos such as `InvalidParamter.Conflict`
// and `Discription` included). A `%s` in the code or message is filled with the offending parameter name
// (e.g. `Permissions.1.PortRange`).
//
// Sources: ECS RevokeSecurityGroup (seeds/ecs-RevokeSecurityGroup.zh.txt), ENS RevokeSecurityGroupEgress
// (seeds/ens-RevokeSecurityGroupEgress.txt), and for the egress-only codes the ECS
// Authorize/RevokeSecurityGroupEgress error tables (MissingParameter.Dest, InvalidDestGroupId.*,
// InvalidSecurityGroup.IsSame). Entries marked "sgsim" are not in any table we have: the closest code the
// API family uses, chosen where a check has no documented code.

#include <string>
#include <string_view>

namespace sgsim {

// X(name, code, httpStatus, message)
#define SGSIM_API_ERRORS(X)                                                                                            \
  /* ECS, seed table */                                                                                                \
  X(SecurityGroupIdMalformed, "InvalidSecurityGroupId.Malformed", 400,                                                 \
    "The specified parameter SecurityGroupId is not valid.")                                                           \
  X(IpProtocolNotSupported, "InvalidIpProtocol.ValueNotSupported", 400,                                                \
    "The parameter IpProtocol must be specified with case insensitive TCP, UDP, ICMP, GRE or All.")                    \
  X(IpPortRangeMalformed, "InvalidIpPortRange.Malformed", 400, "The specified parameter PortRange is not valid.")      \
  X(SourceCidrIpMalformed, "InvalidSourceCidrIp.Malformed", 400, "The specified parameter SourceCidrIp is not valid.") \
  X(MissingSourceOrGroup, "MissingParameter", 400,                                                                     \
    "The input parameter SourceGroupId or SourceCidrIp cannot be both blank.")                                         \
  X(PolicyMalformed, "InvalidPolicy.Malformed", 400, "The specified parameter %s is not valid.")                       \
  X(NicTypeNotSupported, "InvalidNicType.ValueNotSupported", 400, "The specified parameter %s is not valid.")          \
  X(SourceGroupMismatch, "InvalidSourceGroupId.Mismatch", 400,                                                         \
    "Specified security group and source group are not in the same VPC.")                                              \
  X(MissingSource, "MissingParameter.Source", 400,                                                                     \
    "One of the parameters SourceCidrIp, Ipv6SourceCidrIp, SourceGroupId or SourcePrefixListId in %s must be "         \
    "specified.")                                                                                                      \
  X(ParamPortRange, "InvalidParam.PortRange", 400,                                                                     \
    "The specified parameter %s is not valid. It should be two integers less than 65535 in ?/? format.")               \
  X(PriorityMalformed, "InvalidPriority.Malformed", 400, "The parameter Priority is invalid.")                         \
  X(PriorityNotSupported, "InvalidPriority.ValueNotSupported", 400, "The specified parameter %s is invalid.")          \
  X(SourceGroupIsSelf, "InvalidParamter.Conflict", 400,                                                                \
    "The specified SecurityGroupId should be different from the SourceGroupId.")                                       \
  X(DestCidrIpMalformed, "InvalidDestCidrIp.Malformed", 400, "The specified parameter DestCidrIp is not valid.")       \
  X(ParamSourceIp, "InvalidParam.SourceIp", 400,                                                                       \
    "The Parameters SourceCidrIp and Ipv6SourceCidrIp in %s cannot be set at the same time.")                          \
  X(ParamDestIp, "InvalidParam.DestIp", 400,                                                                           \
    "The Parameters DestCidrIp and Ipv6DestCidrIp in %s cannot be set at the same time.")                              \
  X(ParamIpv6DestCidrIp, "InvalidParam.Ipv6DestCidrIp", 400, "The specified parameter %s is not valid.")               \
  X(ParamIpv6SourceCidrIp, "InvalidParam.Ipv6SourceCidrIp", 400, "The specified parameter %s is not valid.")           \
  X(Ipv4ProtocolWithIpv6, "InvalidParam.Ipv4ProtocolConflictWithIpv6Address", 400,                                     \
    "IPv6 address cannot be specified for IPv4-specific protocol.")                                                    \
  X(Ipv6ProtocolWithIpv4, "InvalidParam.Ipv6ProtocolConflictWithIpv4Address", 400,                                     \
    "IPv4 address cannot be specified for IPv6-specific protocol.")                                                    \
  X(Ipv6CidrIpInvalid, "InvalidParameter.Ipv6CidrIp", 400, "The specified Ipv6CidrIp is not valid.")                   \
  X(GroupAuthDenied, "InvalidGroupAuthParameter.OperationDenied", 400,                                                 \
    "The security group can not authorize to enterprise level security group.")                                        \
  X(PortRangeMustSet, "InvalidPortRange.Malformed", 400, "The specified parameter PortRange must set.")                \
  X(SourcePortRangeMalformed, "InvalidSourcePortRange.Malformed", 400,                                                 \
    "The specified parameter SourcePortRange is not valid.")                                                           \
  X(DescriptionMalformed, "InvalidSecurityGroupDiscription.Malformed", 400,                                            \
    "The specified security group rule description is not valid.")                                                     \
  X(ClassicNetworkPrefixList, "NotSupported.ClassicNetworkPrefixList", 400,                                            \
    "The prefix list is not supported when the network type of security group is classic.")                            \
  X(ParamSourceCidrIp, "InvalidParam.SourceCidrIp", 400, "The specified parameter %s is not valid.")                   \
  X(ParamDestCidrIp, "InvalidParam.DestCidrIp", 400, "The specified parameter %s is not valid.")                       \
  X(ParamPermissions, "InvalidParam.Permissions", 400,                                                                 \
    "The specified parameter Permissions cannot coexist with other parameters.")                                       \
  X(DuplicatePermissions, "InvalidParam.DuplicatePermissions", 400,                                                    \
    "There are duplicate permissions in the specified parameter Permissions.")                                         \
  X(ParamSecurityGroupRuleId, "InvalidParam.SecurityGroupRuleId", 400,                                                 \
    "The specified parameter SecurityGroupRuleId is not valid.")                                                       \
  X(RuleIdRepeated, "InvalidParam.SecurityGroupRuleIdRepeated", 400,                                                   \
    "The specified parameter SecurityGroupRuleId is repeated.")                                                        \
  X(GroupParameterDenied, "InvalidGroupParameter.OperationDenied", 400,                                                \
    "The attributes Policy, SourceGroupId, DestGroupId of enterprise level security groups are not allowed to be "     \
    "set or modified.")                                                                                                \
  X(RuleNotExist, "InvalidSecurityGroupRule.RuleNotExist", 400, "The specified rule does not exist.")                  \
  X(ProtocolNoPortRangeList, "InvalidParam.ProtocolNotSupportPortRangeList", 400,                                      \
    "The specified protocol does not support the port range list.")                                                    \
  X(PortRangeListNotFound, "InvalidPortRangeListId.NotFound", 400, "The specified port range list was not found.")     \
  X(InvalidNetworkType, "InvalidSecurityGroup.InvalidNetworkType", 400,                                                \
    "The specified security group network type is not support this operation, please check the security group "        \
    "network types. For VPC security groups, ClassicLink must be enabled.")                                            \
  X(SecurityGroupNotAuthorized, "InvalidOperation.SecurityGroupNotAuthorized", 401,                                    \
    "The specified security group is not authorized to operate.")                                                      \
  X(InternalError, "InternalError", 500, "The request processing has failed due to some unknown error.")               \
  X(NicTypeMismatch, "InvalidNicType.Mismatch", 403, "The specified NicType conflicts with the authorization record.") \
  X(GroupAuthItemNotFound, "InvalidGroupAuthItem.NotFound", 403,                                                       \
    "Specified group authorized item does not exist in our records.")                                                  \
  X(ManagedByCloudProduct, "InvalidOperation.ResourceManagedByCloudProduct", 403, "%s")                                \
  X(SecurityGroupNotFound, "InvalidSecurityGroupId.NotFound", 404, "The specified SecurityGroupId does not exist.")    \
  X(SourceGroupNotFound, "InvalidSourceGroupId.NotFound", 404,                                                         \
    "The SourceGroupId provided does not exist in our records.")                                                       \
  X(PrefixListNotFound, "InvalidPrefixListId.NotFound", 404, "The specified prefix list was not found.")               \
  X(RuleIdNotFound, "InvalidSecurityGroupRuleId.NotFound", 404, "The specified SecurityGroupRuleId is not exists.")    \
  /* ECS egress twins (Authorize/RevokeSecurityGroupEgress tables) */                                                  \
  X(MissingDestOrGroup, "MissingParameter", 403,                                                                       \
    "The input parameter DestGroupId or DestCidrIp cannot be both blank.")                                             \
  X(MissingDest, "MissingParameter.Dest", 400,                                                                         \
    "One of the parameters DestCidrIp, Ipv6DestCidrIp, DestGroupId or DestPrefixListId in %s must be specified.")      \
  X(DestGroupMismatch, "InvalidDestGroupId.Mismatch", 400,                                                             \
    "Specified security group and destination group are not in the same VPC.")                                         \
  X(DestGroupNotFound, "InvalidDestGroupId.NotFound", 404, "The DestGroupId provided does not exist in our records.")  \
  X(DestGroupIsSelf, "InvalidSecurityGroup.IsSame", 403,                                                               \
    "The authorized SecurityGroupId should be different from the DestGroupId.")                                        \
  /* ECS, both directions */                                                                                           \
  X(AuthorizationLimitExceed, "AuthorizationLimitExceed", 400,                                                         \
    "The limit of authorization records in the security group reaches.")                                               \
  X(IdempotentParameterMismatch, "IdempotentParameterMismatch", 400,                                                   \
    "The request uses the same client token as a previous, but non-identical request.")                                \
  /* sgsim: ECS's common code for a bad ClientToken; not in the seed's table */                                        \
  X(ClientTokenInvalid, "InvalidClientToken.ValueNotSupported", 400, "The ClientToken provided is invalid.")           \
  /* sgsim: the RPC gateway's answer to an action the engine does not implement (only reachable from code) */          \
  X(ActionNotFound, "InvalidAction.NotFound", 400, "Specified api is not found, please check your url and method.")    \
  /* ENS, seed table */                                                                                                \
  X(EnsMissingParameter, "MissingParameter", 400,                                                                      \
    "The input parameter that is mandatory for processing this request is not supplied.")                              \
  X(EnsNoPermission, "NoPermission", 400, "Permission denied.")                                                        \
  X(EnsInvalidField, "InvalidParameter.%s", 400, "The specified field %s invalid. Please check it again.")             \
  X(EnsInvalidParameter, "InvalidParameter", 400, "The errorMessage is %s. Please check it again.")                    \
  X(EnsSecurityGroupNotFound, "InvalidSecurityGroupId.NotFound", 400, "The specified SecurityGroupId does not exist.") \
  X(EnsRuleDuplicated, "SecurityGroupRuleConflict.Duplicated", 400, "The SecurityGroup rule already exists.")          \
  X(EnsRuleNotFound, "SecurityGroupRule.NotFound", 400, "The input security group rule does not exist.")               \
  X(EnsInterfaceError, "ens.interface.error", 400, "An error occurred while calling the API.")                         \
  X(EnsCallInterface, "CallInterface", 400, "Call Interface Happen Error.")

enum class ApiErrorCode {
#define SGSIM_API_ERROR_ENUM(name, code, status, message) name,
  SGSIM_API_ERRORS(SGSIM_API_ERROR_ENUM)
#undef SGSIM_API_ERROR_ENUM
};

#define SGSIM_API_ERROR_COUNT(name, code, status, message) +1
inline constexpr int kApiErrorCodeCount = 0 SGSIM_API_ERRORS(SGSIM_API_ERROR_COUNT);
#undef SGSIM_API_ERROR_COUNT

struct ApiErrorInfo {
  const char* code;
  int httpStatus;
  const char* message;
};

inline const ApiErrorInfo& errorInfo(ApiErrorCode c) {
  static constexpr ApiErrorInfo kInfo[] = {
#define SGSIM_API_ERROR_INFO(name, code, status, message) {code, status, message},
      SGSIM_API_ERRORS(SGSIM_API_ERROR_INFO)
#undef SGSIM_API_ERROR_INFO
  };
  return kInfo[static_cast<int>(c)];
}

// One API error as answered: the code plus the parameter name that fills its `%s`.
struct ApiError {
  ApiErrorCode code;
  std::string arg;

  int httpStatus() const { return errorInfo(code).httpStatus; }
  std::string codeString() const { return fill(errorInfo(code).code); }
  std::string message() const { return fill(errorInfo(code).message); }

 private:
  std::string fill(std::string_view pattern) const {
    const auto pos = pattern.find("%s");
    if (pos == std::string_view::npos) return std::string(pattern);
    return std::string(pattern.substr(0, pos)) + arg + std::string(pattern.substr(pos + 2));
  }
};

}  // namespace sgsim
