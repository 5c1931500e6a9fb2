// SPDX-License-Identifier: MIT
//
// Memory scopes (native/core/scope_registry.h) and storage byte counts (storage_ledger.h).

#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "core/scope_registry.h"
#include "core/storage_ledger.h"

namespace medunet {
namespace {

// A handle that records whether a scope disposed it.
class FakeHandle : public ScopedHandle {
 public:
  void DisposeFromScope() override {
    disposed = true;
    if (registry() != nullptr) registry()->Remove(this);
  }
  bool disposed = false;
};

std::vector<std::unique_ptr<FakeHandle>> AddHandles(ScopeRegistry& registry, int count) {
  std::vector<std::unique_ptr<FakeHandle>> handles;
  for (int i = 0; i < count; ++i) {
    handles.push_back(std::make_unique<FakeHandle>());
    registry.Add(handles.back().get());
  }
  return handles;
}

TEST(ScopeRegistryTest, DisposesOnlyHandlesCreatedInTheScope) {
  ScopeRegistry registry;
  auto before = AddHandles(registry, 2);
  const uint64_t marker = registry.ScopeBegin();
  auto inside = AddHandles(registry, 3);
  registry.ScopeEnd(marker, {});
  for (const auto& handle : before) EXPECT_FALSE(handle->disposed);
  for (const auto& handle : inside) EXPECT_TRUE(handle->disposed);
  EXPECT_EQ(registry.size(), 2u);
}

TEST(ScopeRegistryTest, KeptHandlesMoveToTheEnclosingScope) {
  ScopeRegistry registry;
  const uint64_t outer = registry.ScopeBegin();
  const uint64_t inner = registry.ScopeBegin();
  auto inside = AddHandles(registry, 2);
  registry.ScopeEnd(inner, {inside[1].get()});
  EXPECT_TRUE(inside[0]->disposed);
  EXPECT_FALSE(inside[1]->disposed);
  registry.ScopeEnd(outer, {});
  EXPECT_TRUE(inside[1]->disposed);
  EXPECT_EQ(registry.size(), 0u);
}

TEST(ScopeRegistryTest, PinnedHandlesOutliveEveryScope) {
  ScopeRegistry registry;
  const uint64_t outer = registry.ScopeBegin();
  const uint64_t inner = registry.ScopeBegin();
  auto inside = AddHandles(registry, 2);
  registry.Pin(inside[0].get());
  registry.ScopeEnd(inner, {});
  registry.ScopeEnd(outer, {});
  EXPECT_FALSE(inside[0]->disposed);
  EXPECT_TRUE(inside[1]->disposed);
  EXPECT_EQ(registry.size(), 1u);
}

TEST(ScopeRegistryTest, RemovalKeepsTheListConsistent) {
  ScopeRegistry registry;
  auto handles = AddHandles(registry, 5);
  registry.Remove(handles[0].get());  // head
  registry.Remove(handles[2].get());  // middle
  registry.Remove(handles[4].get());  // tail
  registry.Remove(handles[4].get());  // a second removal does nothing
  EXPECT_EQ(registry.size(), 2u);
  registry.ScopeEnd(0, {});
  EXPECT_TRUE(handles[1]->disposed);
  EXPECT_TRUE(handles[3]->disposed);
  EXPECT_FALSE(handles[0]->disposed);
  EXPECT_EQ(registry.size(), 0u);
}

TEST(ScopeRegistryTest, DestroyedHandlesLeaveTheRegistry) {
  ScopeRegistry registry;
  auto handles = AddHandles(registry, 3);
  handles[1].reset();
  EXPECT_EQ(registry.size(), 2u);
  registry.ScopeEnd(0, {});
  EXPECT_EQ(registry.size(), 0u);
}

TEST(ScopeRegistryTest, DestroyedRegistryDetachesHandles) {
  auto registry = std::make_unique<ScopeRegistry>();
  auto handles = AddHandles(*registry, 2);
  registry.reset();
  EXPECT_EQ(handles[0]->registry(), nullptr);
  handles.clear();  // Must not touch the destroyed registry.
}

TEST(StorageLedgerTest, CountsSharedStorageOnce) {
  StorageLedger ledger;
  const at::Tensor base = at::zeros({4, 4}, at::kFloat);
  const void* first = ledger.Retain(base);
  const void* view = ledger.Retain(base.narrow(0, 0, 2));
  const void* alias = ledger.Retain(base.detach());
  EXPECT_EQ(ledger.cpu_bytes(), 64);
  EXPECT_EQ(first, view);
  EXPECT_EQ(first, alias);
  ledger.Release(view);
  ledger.Release(alias);
  EXPECT_EQ(ledger.cpu_bytes(), 64);
  ledger.Release(first);
  EXPECT_EQ(ledger.cpu_bytes(), 0);
}

TEST(StorageLedgerTest, AddsSeparateStorages) {
  StorageLedger ledger;
  // Handles keep their tensors alive; so do these, or a freed storage's address could be reused.
  const at::Tensor doubles = at::zeros({10}, at::kDouble);
  const at::Tensor bytes = at::zeros({3}, at::kByte);
  const void* a = ledger.Retain(doubles);
  const void* b = ledger.Retain(bytes);
  EXPECT_EQ(ledger.cpu_bytes(), 83);
  EXPECT_EQ(ledger.cuda_bytes(), 0);
  ledger.Release(a);
  EXPECT_EQ(ledger.cpu_bytes(), 3);
  ledger.Release(b);
  ledger.Release(nullptr);
  EXPECT_EQ(ledger.cpu_bytes(), 0);
}

TEST(StorageLedgerTest, IgnoresUndefinedTensors) {
  StorageLedger ledger;
  EXPECT_EQ(ledger.Retain(at::Tensor()), nullptr);
  EXPECT_EQ(ledger.cpu_bytes(), 0);
}

}  // namespace
}  // namespace medunet
