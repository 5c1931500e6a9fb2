// SPDX-License-Identifier: MIT

#include "core/scope_registry.h"

namespace medunet {

ScopedHandle::~ScopedHandle() {
  if (registry_ != nullptr) registry_->Remove(this);
}

ScopeRegistry::~ScopeRegistry() {
  for (ScopedHandle* handle = head_; handle != nullptr;) {
    ScopedHandle* next = handle->next_;
    handle->registry_ = nullptr;
    handle->prev_ = handle->next_ = nullptr;
    handle = next;
  }
}

void ScopeRegistry::Add(ScopedHandle* handle) {
  handle->registry_ = this;
  handle->serial_ = next_serial_++;
  handle->prev_ = tail_;
  handle->next_ = nullptr;
  if (tail_ != nullptr) {
    tail_->next_ = handle;
  } else {
    head_ = handle;
  }
  tail_ = handle;
  ++size_;
}

void ScopeRegistry::Remove(ScopedHandle* handle) {
  if (handle->registry_ != this) return;
  if (handle->prev_ != nullptr) {
    handle->prev_->next_ = handle->next_;
  } else {
    head_ = handle->next_;
  }
  if (handle->next_ != nullptr) {
    handle->next_->prev_ = handle->prev_;
  } else {
    tail_ = handle->prev_;
  }
  handle->registry_ = nullptr;
  handle->prev_ = handle->next_ = nullptr;
  --size_;
}

void ScopeRegistry::ScopeEnd(uint64_t marker, const std::unordered_set<const ScopedHandle*>& keep) {
  // Serials grow along the list, so the scope's handles are exactly the tail past the marker.
  ScopedHandle* handle = tail_;
  while (handle != nullptr && handle->serial_ >= marker) {
    ScopedHandle* previous = handle->prev_;
    if (!handle->pinned_ && keep.count(handle) == 0) {
      handle->DisposeFromScope();
      Remove(handle);
    }
    handle = previous;
  }
}

void ScopeRegistry::Pin(ScopedHandle* handle) {
  if (handle->registry_ == this) handle->pinned_ = true;
}

}  // namespace medunet
