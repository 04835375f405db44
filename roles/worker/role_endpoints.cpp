#include "roles/worker/role_endpoints.h"

#include <fmt/format.h>

#include "flow/assert.h"

namespace roles {

namespace {

// epoch << 32 | (kTokenBase + kind + index) (the storage server's are its own, from 0x5353'0000).
constexpr uint64_t kTokenBase = 0x4442'0000;
constexpr uint64_t kMasterTokens = kTokenBase;
constexpr uint64_t kGrvTokens = kTokenBase + 0x100;
constexpr uint64_t kProxyTokens = kTokenBase + 0x200;
constexpr uint64_t kResolverTokens = kTokenBase + 0x300;
constexpr uint64_t kLogTokens = kTokenBase + 0x400;

template <class Stream>
Stream stream(const flow::NetworkAddress* at, uint64_t epoch, uint64_t n) {
  ASSERT(epoch >= 1 && epoch <= kEpochMax);
  n |= epoch << 32;
  if (at == nullptr) return Stream::well_known(net::well_known_token(n));
  return Stream(net::Endpoint{*at, net::well_known_token(n)});
}

}  // namespace

std::string role_name(std::string_view kind, std::optional<uint32_t> index, uint64_t epoch) {
  if (!index) return fmt::format("{}.e{}", kind, epoch);
  return fmt::format("{}{}.e{}", kind, *index, epoch);
}

MasterInterface master_endpoints(const flow::NetworkAddress* at, uint64_t epoch) {
  return {stream<GetCommitVersionStream>(at, epoch, kMasterTokens),
          stream<ReportCommittedStream>(at, epoch, kMasterTokens + 1),
          stream<GetLiveCommittedVersionStream>(at, epoch, kMasterTokens + 2)};
}

GrvProxyInterface grv_proxy_endpoints(const flow::NetworkAddress* at, uint64_t epoch, uint32_t index) {
  ASSERT_LT(index, kRoleIndexMax);
  return {stream<GetReadVersionStream>(at, epoch, kGrvTokens + index)};
}

CommitProxyInterface commit_proxy_endpoints(const flow::NetworkAddress* at, uint64_t epoch, uint32_t index) {
  ASSERT_LT(index, kRoleIndexMax);
  const uint64_t t = kProxyTokens + 2 * uint64_t{index};
  return {stream<CommitTransactionStream>(at, epoch, t), stream<GetKeyServerLocationsStream>(at, epoch, t + 1)};
}

ResolverInterface resolver_endpoints(const flow::NetworkAddress* at, uint64_t epoch, uint32_t index) {
  ASSERT_LT(index, kRoleIndexMax);
  return {stream<ResolveBatchStream>(at, epoch, kResolverTokens + index)};
}

TLogInterface tlog_endpoints(const flow::NetworkAddress* at, uint64_t epoch, uint32_t index) {
  ASSERT_LT(index, kRoleIndexMax);
  const uint64_t t = kLogTokens + 5 * uint64_t{index};
  return {stream<TLogCommitStream>(at, epoch, t), stream<TLogPeekStream>(at, epoch, t + 1),
          stream<TLogPopStream>(at, epoch, t + 2), stream<TLogLockStream>(at, epoch, t + 3),
          stream<TLogConfirmStream>(at, epoch, t + 4)};
}

}  // namespace roles
