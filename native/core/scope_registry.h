// SPDX-License-Identifier: MIT
//
// The live handles of one JavaScript environment, in creation order, for memory scopes:
// ScopeEnd(marker) disposes every handle registered after ScopeBegin() returned `marker`,
// except the handles it is asked to keep and the pinned ones. Insertion and removal are O(1)
// (an intrusive doubly linked list), and ScopeEnd visits only the handles newer than the marker.

#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_set>

namespace medunet {

class ScopeRegistry;

/// Base class of an object that a ScopeRegistry can track and dispose.
class ScopedHandle {
 public:
  ScopedHandle() = default;
  ScopedHandle(const ScopedHandle&) = delete;
  ScopedHandle& operator=(const ScopedHandle&) = delete;
  virtual ~ScopedHandle();

  /// Releases the handle's resources when its scope ends, without destroying the object.
  /// ScopeEnd unlinks the handle afterwards if the implementation did not.
  virtual void DisposeFromScope() = 0;

  /// The registry holding this handle, or null once removed.
  ScopeRegistry* registry() const { return registry_; }

 private:
  friend class ScopeRegistry;

  ScopeRegistry* registry_ = nullptr;
  ScopedHandle* prev_ = nullptr;
  ScopedHandle* next_ = nullptr;
  uint64_t serial_ = 0;
  bool pinned_ = false;
};

/// Creation-ordered list of live handles with scope markers.
class ScopeRegistry {
 public:
  ScopeRegistry() = default;
  ScopeRegistry(const ScopeRegistry&) = delete;
  ScopeRegistry& operator=(const ScopeRegistry&) = delete;
  /// Detaches the handles still registered, without disposing them.
  ~ScopeRegistry();

  /// Appends `handle`, which must not be registered yet.
  void Add(ScopedHandle* handle);
  /// Unlinks `handle`; does nothing when it is not registered here.
  void Remove(ScopedHandle* handle);

  /// Returns a marker: every handle added from now on belongs to the new scope.
  uint64_t ScopeBegin() const { return next_serial_; }
  /// Disposes the handles added since ScopeBegin() returned `marker`, except pinned handles and
  /// those in `keep`. Kept handles stay registered, so the enclosing scope owns them now.
  void ScopeEnd(uint64_t marker, const std::unordered_set<const ScopedHandle*>& keep);
  /// Exempts `handle` from every scope, as keep() does; it stays registered and counted.
  void Pin(ScopedHandle* handle);

  /// Number of registered handles.
  size_t size() const { return size_; }

 private:
  ScopedHandle* head_ = nullptr;
  ScopedHandle* tail_ = nullptr;
  size_t size_ = 0;
  uint64_t next_serial_ = 1;
};

}  // namespace medunet
