#pragma once
// IntrusiveList — a doubly-linked list whose links live inside the elements.
//
// An element derives from ListNode<Tag> once per list it can be on, so one object can sit on
// several lists (the ready queue, its process's actor list, ...) without allocating. Order is
// insertion order, never address order. Not thread-safe; flow is single-threaded.

#include <cstddef>

#include "flow/assert.h"

namespace flow::detail {

template <class Tag>
struct ListNode {
  ListNode* prev_ = nullptr;
  ListNode* next_ = nullptr;
  bool linked() const { return next_ != nullptr; }
};

template <class T, class Tag>
class IntrusiveList {
  using Node = ListNode<Tag>;

 public:
  IntrusiveList() { head_.prev_ = head_.next_ = &head_; }
  IntrusiveList(const IntrusiveList&) = delete;
  IntrusiveList& operator=(const IntrusiveList&) = delete;
  ~IntrusiveList() { ASSERT(empty()); }

  bool empty() const { return head_.next_ == &head_; }
  size_t size() const { return size_; }

  void push_back(T* item) {
    Node* n = item;
    ASSERT(!n->linked());
    n->prev_ = head_.prev_;
    n->next_ = &head_;
    head_.prev_->next_ = n;
    head_.prev_ = n;
    ++size_;
  }

  // REQUIRES: item is on this list.
  void remove(T* item) {
    Node* n = item;
    ASSERT(n->linked());
    n->prev_->next_ = n->next_;
    n->next_->prev_ = n->prev_;
    n->prev_ = n->next_ = nullptr;
    --size_;
  }

  T* front() { return empty() ? nullptr : static_cast<T*>(head_.next_); }
  T* pop_front() {
    T* item = front();
    if (item) remove(item);
    return item;
  }
  // The element after `item`, or nullptr at the end.
  T* next(T* item) {
    Node* n = static_cast<Node*>(item)->next_;
    return n == &head_ ? nullptr : static_cast<T*>(n);
  }

  // Moves every element of `other` to the end of this list, keeping their order.
  void splice_back(IntrusiveList& other) {
    while (T* item = other.pop_front())
      push_back(item);
  }

 private:
  Node head_;
  size_t size_ = 0;
};

}  // namespace flow::detail
