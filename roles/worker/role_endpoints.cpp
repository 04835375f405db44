#include "roles/worker/role_endpoints.h"

#include "flow/assert.h"

namespace roles {

namespace {

// kTokenBase + kind + index (the storage server's are its own, from 0x5353'0000).
constexpr uint64_t kTokenBase = 0x4442'0000;
constexpr uint64_t kMasterTokens = kTokenBase;
constexpr uint64_t kGrvTokens = kTokenBase + 0x100;
constexpr uint64_t kProxyTokens = kTokenBase + 0x200;
constexpr uint64_t kResolverTokens = kTokenBase + 0x300;
constexpr uint64_t kLogTokens = kTokenBase + 0x400;

template <class Stream>
Stream stream(const flow::NetworkAddress* at, uint64_t n) {
  if (at == nullptr) return Stream::well_known(net::well_known_token(n));
  return Stream(net::Endpoint{*at, net::well_known_token(n)});
}

}  // namespace

MasterInterface master_endpoints(const flow::NetworkAddress* at) {
  return {stream<GetCommitVersionStream>(at, kMasterTokens),
          stream<ReportCommittedStream>(at, kMasterTokens + 1),
          stream<GetLiveCommittedVersionStream>(at, kMasterTokens + 2)};
}

GrvProxyInterface grv_proxy_endpoints(const flow::NetworkAddress* at, uint32_t index) {
  ASSERT_LT(index, kRoleIndexMax);
  return {stream<GetReadVersionStream>(at, kGrvTokens + index)};
}

CommitProxyInterface commit_proxy_endpoints(const flow::NetworkAddress* at, uint32_t index) {
  ASSERT_LT(index, kRoleIndexMax);
  const uint64_t t = kProxyTokens + 2 * uint64_t{index};
  return {stream<CommitTransactionStream>(at, t), stream<GetKeyServerLocationsStream>(at, t + 1)};
}

ResolverInterface resolver_endpoints(const flow::NetworkAddress* at, uint32_t index) {
  ASSERT_LT(index, kRoleIndexMax);
  return {stream<ResolveBatchStream>(at, kResolverTokens + index)};
}

TLogInterface tlog_endpoints(const flow::NetworkAddress* at, uint32_t index) {
  ASSERT_LT(index, kRoleIndexMax);
  const uint64_t t = kLogTokens + 3 * uint64_t{index};
  return {stream<TLogCommitStream>(at, t), stream<TLogPeekStream>(at, t + 1),
          stream<TLogPopStream>(at, t + 2)};
}

}  // namespace roles
